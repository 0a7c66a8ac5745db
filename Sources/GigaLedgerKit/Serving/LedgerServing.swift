import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// What the server (`gigaledger serve`) may do with the ledger it holds once it is open, and
/// nothing more: read entries and keys, prove, serve tiles and bundles, admit entries signed
/// elsewhere (`submit`, with the rules of a local append), keep the log key's checkpoints and the
/// checkpoints and cosignatures others signed, and hold its writer lock. A route cannot reach a
/// local append, an import, a backup or a report through it.
///
/// The ledger's callers each see their part, as Tessera's appender, reader and driver do: officers'
/// commands append (`Ledger.append`, `importFile`), auditors' read and verify (`verify`, reports,
/// `Ledger+Transparency`), replicas take in (`Ledger+Replica`), and the server serves (this).
/// `Ledger` is the one implementation of them all.
public protocol LedgerServing: AnyObject {
    // Reading
    func size() throws -> Int64
    /// The RFC 9162 root of the first `size` entries.
    func root(size: Int64) throws -> [UInt8]
    func entries(from seq: Int64, limit: Int) throws -> [Entry]
    func entry(_ reference: EntryReference) throws -> Entry?
    func enrolmentEntry(of id: KeyID) throws -> Entry?
    func keys() throws -> [KeyRecord]
    func checkpointKeyEntries() throws -> [Entry]
    func publicSite(reports reportsDirectory: String?, lists: EntryLists) throws -> PublicSite?
    func entry(_ seq: Int64) throws -> Entry?

    // The read path: tlog tiles, bundles, checkpoints, proofs
    func tile(level: Int, index: Int64, width: Int, size: Int64) throws -> [UInt8]?
    func entryBundle(index: Int64, width: Int, size: Int64) throws -> [UInt8]?
    func fullEntryBundle(index: Int64, width: Int, size: Int64) throws -> [UInt8]?
    func checkpointsDocument(above size: Int64) throws -> [UInt8]
    /// `ledger/v1/key-entries` at the latest kept checkpoint; nil when none is kept.
    func keysDocument() throws -> [UInt8]?
    func latestCheckpointCosigned() throws -> String?
    func inclusionProof(seq: Int64, size: Int64) throws -> [Merkle.Hash]
    func consistencyProof(old: Int64, new: Int64) throws -> [Merkle.Hash]
    func keptConsistencyProof(old: Int64, new: Int64) -> [Merkle.Hash]?
    func headProofs(size: Int64, head: Bool, known: Int64, proving seq: Int64?, signing key: (any Signer)?) throws -> Ledger.HeadProofs

    // Writing: entries signed elsewhere, checkpoints and cosignatures
    func submit(
        _ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool, now: Date, verifiedHead: Entry?,
        written: (ClosedRange<Int64>) -> Void
    ) throws -> SubmissionOutcome
    func signCheckpoint(key: any Signer, verifiedSize size: Int64) throws -> String
    func keepCheckpoint(_ note: String, verifiedSize: Int64) throws -> (note: String, isNew: Bool)
    func keepCosignature(_ cosignature: StoredCosignature) throws -> Bool
    func witnessRequest(size: Int64, old: Int64) throws -> [UInt8]?
    func keepWitnessCosignature(_ lines: String, size: Int64, witness: PublicKey) throws -> Bool

    // The one writer
    func announce(server url: String)
    func holdWriterLock(waitSeconds: TimeInterval) throws
}

extension Ledger: LedgerServing {}
