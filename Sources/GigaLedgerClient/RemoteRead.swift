import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Reading a server's entries as `log` and `show` do, each checked against the server's checked
/// checkpoint: an entry by its inclusion proof, the whole list by its hash chain ending in the
/// checkpoint's last entry. (Signatures and rules are `sync` and `verify`'s: a replica checks all.)
public struct RemoteRead: Sendable {
    public let client: LedgerClient
    public let trust: HeadTrust
    /// Entries asked for per request by `forEachEntry`.
    static let pageEntries = 1_000

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// Entry `seq`, proven in the server's checked checkpoint; nil when the ledger has no such entry.
    public func entry(_ seq: Int64) async throws -> Entry? {
        try await entry(.seq(seq))
    }

    /// The entry a sequence number or hash names, proven in the server's checked checkpoint; nil
    /// when the ledger has no such entry.
    public func entry(_ reference: EntryReference) async throws -> Entry? {
        try await provenEntry(reference, in: try await trust.checkedHead(client))
    }

    private func provenEntry(_ reference: EntryReference, in checked: HeadTrust.Checked) async throws -> Entry? {
        if case .seq(let seq) = reference, seq > checked.checkpoint.size { return nil }
        guard let entry = try await client.entry(reference), entry.seq <= checked.checkpoint.size else { return nil }
        let seq = entry.seq
        switch reference {
        case .seq(let asked) where asked != seq:
            throw VerificationFailure(seq: asked, reason: "the server answered entry \(seq) when asked for entry \(asked)")
        case .hash(let asked) where asked != entry.hash:
            throw VerificationFailure(seq: seq, reason: "the server answered an entry of another hash when asked for \(reference)")
        default: break
        }
        guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
            throw VerificationFailure(seq: seq, reason: "the server's entry \(seq) does not hash to its hash")
        }
        let proof = try await client.inclusionProof(seq: seq, size: checked.checkpoint.size)
        do {
            try Merkle.checkInclusion(
                index: seq - 1, size: checked.checkpoint.size, leafHash: Merkle.leafHash(entry.hash), proof: proof, root: checked.checkpoint.root)
        } catch {
            throw VerificationFailure(
                seq: seq, reason: "the server's entry \(seq) is not in its checkpoint of \(checked.checkpoint.size) entries (\(error))")
        }
        return entry
    }

    /// A receipt for entry `seq` (schema/FORMAT.md section 13) against the server's checked
    /// checkpoint, made here from what the server serves and checked as `check-receipt` checks it
    /// with the authority key the ledger's genesis names (the one the client trusts); nil when
    /// there is no such entry.
    public func receipt(_ seq: Int64) async throws -> Receipt? {
        let (checked, answer) = try await trust.checkedHeadAnswer(client)
        guard let genesis = answer.checkpointKeyEntries.first(where: { $0.seq == 1 }),
            case .genesis(let declared)? = (try? EntryBody.decode(genesis.body))?.data
        else {
            throw ClientError.malformed("the head answer carries no genesis entry")
        }
        let authority = declared.authority.publicKey
        guard let entry = try await provenEntry(.seq(seq), in: checked) else { return nil }
        let body: EntryBody
        do { body = try EntryBody.decode(entry.body) } catch {
            throw VerificationFailure(seq: seq, reason: "the server's entry \(seq) cannot be read: \(error)")
        }
        guard let enrolment = try await client.enrolmentEntry(of: body.signer), let signerKey = Self.enrolledKey(enrolment, id: body.signer) else {
            throw VerificationFailure(seq: seq, reason: "the server does not give the enrolment of entry \(seq)'s signer \(body.signer)")
        }
        // The latest kept checkpoint, with its witnesses' cosignatures, when it covers the entry and
        // the checked one extends it; else the checked one (signed for the head, not kept).
        let (note, checkpoint) =
            try await cosignedCheckpoint(
                covering: seq, checked: checked, keys: try trust.checkpointKeys(answer, size: checked.checkpoint.size))
            ?? (checked.note, checked.checkpoint)
        let receipt = Receipt(
            seq: seq, prevHash: entry.prevHash, body: entry.body, hash: entry.hash, signerKey: signerKey, signature: entry.signature,
            proof: try await client.inclusionProof(seq: seq, size: checkpoint.size),
            keyPath: try await keyPath(answer, note: note, size: checkpoint.size, authority: authority),
            checkpointNote: note)
        _ = try receipt.check(ledgerKey: authority)
        return receipt
    }

    /// The server's `checkpoint` (the latest kept, with the cosignatures kept for it) when it opens
    /// under `keys`, covers entry `seq`, and the checked checkpoint extends it (a consistency proof).
    private func cosignedCheckpoint(covering seq: Int64, checked: HeadTrust.Checked, keys: [PublicKey]) async throws -> (String, Checkpoint)? {
        guard let bytes = try await client.file("checkpoint") else { return nil }
        let note = String(decoding: bytes, as: UTF8.self)
        guard let (kept, _) = try? Checkpoint.open(note, trusting: keys), kept.origin == checked.checkpoint.origin,
            kept.size >= seq, kept.size <= checked.checkpoint.size
        else { return nil }
        let proof = kept.size == checked.checkpoint.size ? [] : try await client.consistencyProof(from: kept.size, to: checked.checkpoint.size)
        do {
            try Merkle.checkConsistency(
                old: kept.size, new: checked.checkpoint.size, oldRoot: kept.root, newRoot: checked.checkpoint.root, proof: proof)
        } catch {
            throw VerificationFailure(
                seq: kept.size,
                reason:
                    "the server's kept checkpoint of \(kept.size) entries is not consistent with its checked one of \(checked.checkpoint.size) (\(error))"
            )
        }
        return (note, kept)
    }

    /// The key an enrolment entry (a genesis or a key-enroll) enrols, when it is key `id`'s.
    static func enrolledKey(_ entry: Entry, id: KeyID) -> PublicKey? {
        guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, let body = try? EntryBody.decode(entry.body) else { return nil }
        switch body.data {
        case .genesis(let genesis) where genesis.authority.publicKey.id == id: return genesis.authority.publicKey
        case .keyEnroll(let enrolment) where enrolment.publicKey.id == id: return enrolment.publicKey
        default: return nil
        }
    }

    /// The key path a receipt against `note` carries (FORMAT.md section 13): from this user's own
    /// verified copy, whose tree is the server's (its sync checked the root); without one, the
    /// enrolment of the log key that signed, among the answer's checkpoint keys.
    private func keyPath(
        _ answer: LedgerClient.Head, note: String, size: Int64, authority: PublicKey
    ) async throws -> [Receipt.CheckpointKeyEnrolment] {
        if let copy = try trust.copies?.ledger(origin: answer.origin) { return try copy.keyPath(note: note, size: size) }
        return [try await checkpointKeyEnrolment(answer.checkpointKeyEntries, note: note, size: size, authority: authority)].compactMap { $0 }
    }

    /// For a checkpoint signed by a log key rather than by `authority`: the enrolment entry of
    /// that key among the answer's checkpoint keys, with its inclusion proof.
    private func checkpointKeyEnrolment(
        _ keyEntries: [Entry], note: String, size: Int64, authority: PublicKey
    ) async throws -> Receipt.CheckpointKeyEnrolment? {
        if (try? Checkpoint.open(note, trusting: [authority])) != nil { return nil }
        for entry in keyEntries where entry.seq <= size {
            guard let body = try? EntryBody.decode(entry.body), case .keyEnroll(let enrolment) = body.data, enrolment.role.signsCheckpoints,
                (try? Checkpoint.open(note, trusting: [enrolment.publicKey])) != nil
            else { continue }
            return Receipt.CheckpointKeyEnrolment(entry: entry, proof: try await client.inclusionProof(seq: entry.seq, size: size))
        }
        return nil
    }

    /// Whether the server's ledger still holds what a receipt proves: its checked checkpoint
    /// extends the receipt's (a consistency proof). Returns the server's checkpoint size; throws
    /// `VerificationFailure` when it does not extend it.
    public func stillHolds(_ checkpoint: Checkpoint) async throws -> Int64 {
        guard try await client.servesAPI() else {
            throw ClientError.malformed(
                "\(client.base) is not a GigaLedger server (a publication's files answer no proofs): keep a copy with `gigaledger sync --from \(client.base) --ledger COPY.sqlite`, then `gigaledger verify --ledger COPY.sqlite` checks that it holds what the receipt proves"
            )
        }
        let checked = try await trust.checkedHead(client)
        let current = checked.checkpoint
        guard current.origin == checkpoint.origin else {
            throw VerificationFailure(seq: checkpoint.size, reason: "the server serves \(current.origin), the receipt is of \(checkpoint.origin)")
        }
        guard current.size >= checkpoint.size else {
            throw VerificationFailure(
                seq: current.size + 1,
                reason:
                    "the server's ledger has \(current.size) entries, fewer than the receipt's checkpoint of \(checkpoint.size): history was removed")
        }
        let proof = current.size == checkpoint.size ? [] : try await client.consistencyProof(from: checkpoint.size, to: current.size)
        do {
            try Merkle.checkConsistency(old: checkpoint.size, new: current.size, oldRoot: checkpoint.root, newRoot: current.root, proof: proof)
        } catch {
            throw VerificationFailure(
                seq: checkpoint.size,
                reason:
                    "the server's checkpoint of \(current.size) entries does not extend the receipt's of \(checkpoint.size) (\(error)): its history was rewritten"
            )
        }
        return current.size
    }

    /// Every entry up to the server's checked head, in order, a page at a time: each hashes to its
    /// hash and links to the one before, and the last is the checkpoint's head. `body` gets each
    /// entry and the checkpoint's size.
    public func forEachEntry(_ body: (Entry, Int64) throws -> Void) async throws -> Int64 {
        let checked = try await trust.checkedHead(client)
        var previous = Entry.genesisPrevHash
        var next: Int64 = 1
        while next <= checked.checkpoint.size {
            let page = try await client.entries(from: next, count: min(Self.pageEntries, Int(checked.checkpoint.size - next + 1)))
            guard !page.isEmpty else { throw ClientError.malformed("the server sent no entries from \(next)") }
            for entry in page {
                guard entry.seq == next, entry.prevHash == previous, Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
                    throw VerificationFailure(
                        seq: next, reason: "the server's entry \(next) does not follow entry \(next - 1) or does not hash to its hash")
                }
                try body(entry, checked.checkpoint.size)
                previous = entry.hash
                next += 1
            }
        }
        guard next == 1 || previous == checked.head.hash else {
            throw VerificationFailure(seq: checked.checkpoint.size, reason: "the server's entries do not end in the head its checkpoint holds")
        }
        return checked.checkpoint.size
    }
}
