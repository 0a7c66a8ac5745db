import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// A checkpoint row as a server keeps it, for a replica to keep the same.
public struct ReplicatedCheckpoint: Sendable, Equatable {
    public let size: Int64
    public let root: [UInt8]
    public let note: String
    public let signedAt: String

    public init(size: Int64, root: [UInt8], note: String, signedAt: String) {
        self.size = size
        self.root = root
        self.note = note
        self.signedAt = signedAt
    }
}

/// A cosignature row as a server keeps it: the stored row itself.
public typealias ReplicatedCosignature = StoredCosignature

/// Replicas: a ledger that takes in, verified, what another copy of it holds (`gigaledger sync`).
extension Ledger {
    /// An empty ledger file for a replica: the schema, no entry yet; its genesis comes from the
    /// server, checked against the authority key the auditor gives.
    public static func createReplica(path: String) throws -> Ledger {
        Ledger(store: try LedgerStore.create(path: path))
    }

    /// Removes a ledger file made by this command and its `-wal` and `-shm` files (a replica whose
    /// first sync failed).
    public static func removeFiles(path: String) {
        LedgerStore.removeFiles(path: path)
    }

    /// Appends `entries` fetched from a server, all or none, in one transaction: each must follow
    /// this ledger's head (else the server's history has forked from this copy's) and pass `admit`
    /// with the rules `verify` applies, against this ledger's own state: O(new entries). The tree
    /// must then give `through`'s root (the server's checked checkpoint). The server's checkpoint
    /// and cosignature rows up to the new size are kept too, each checked as `verify` checks them,
    /// so that the copy is the server's row for row. Returns the new size.
    @discardableResult
    public func replicate(
        _ entries: [Entry], checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature],
        through: Checkpoint
    ) throws -> Int64 {
        var batches = [entries].makeIterator()
        return try replicate(batches: { batches.next() }, checkpoints: checkpoints, cosignatures: cosignatures, through: through)
    }

    /// `replicate` of entries that arrive in batches (`next` gives each in order, nil after the
    /// last; it may block while a batch is fetched): all or none, in one transaction, with only a
    /// few batches in memory at a time.
    /// `note`: the signed note of `through` when it is not one of `checkpoints` (a server's head
    /// answer): it must be signed by a log or authority key of the ledger active at its size.
    /// `rootOfTrust`: called with the copy's origin, its genesis authority and a function giving
    /// the checkpoint by which a later authority key vouches for it, once everything is in and
    /// before anything is kept: a copy's root of trust may be a later authority key, whose
    /// checkpoint comes with the entries; what it throws leaves the copy as it was.
    @discardableResult
    public func replicate(
        batches next: () throws -> [Entry]?, checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature],
        through: Checkpoint, note: String? = nil,
        rootOfTrust: ((_ origin: String, _ genesis: KeyID, _ vouching: (KeyID) throws -> Int64?) throws -> Void)? = nil
    ) throws -> Int64 {
        try store.write { writer in
            let size = try Self.replicate(batches: next, checkpoints: checkpoints, cosignatures: cosignatures, through: through, writer: writer)
            if let rootOfTrust, size > 0 {
                let reader = writer.reader
                guard let bytes = try reader.body(1), case .genesis(let genesis) = try EntryBody.decode(bytes).data else {
                    throw LedgerError.damaged("the copy has no genesis entry")
                }
                try rootOfTrust(genesis.origin, genesis.authority.publicKey.id) { try Self.vouchingCheckpoint(of: $0, reader: reader) }
            }
            if let note, (try? Checkpoint.open(note, trusting: try Self.checkpointSigners(writer.reader, size: through.size))) == nil {
                throw VerificationFailure(
                    seq: through.size,
                    reason:
                        "the checkpoint of \(through.size) entries offered is not signed by a log or authority key of this ledger active at that size; nothing was taken in"
                )
            }
            return size
        }
    }

    /// `replicate` in the open transaction; without `through` (a copy between stores, `copy`), the
    /// tree is not matched against a checkpoint from elsewhere, but every stored checkpoint taken in
    /// is still checked against the tree the entries give. `source` names where the entries come
    /// from in messages ("the server's", "the original's").
    static func replicate(
        _ entries: [Entry], checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature],
        through: Checkpoint?, source: String = "the server's", writer: StoreWriter
    ) throws -> Int64 {
        var batches = [entries].makeIterator()
        return try replicate(
            batches: { batches.next() }, checkpoints: checkpoints, cosignatures: cosignatures, through: through, source: source, writer: writer)
    }

    static func replicate(
        batches next: () throws -> [Entry]?, checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature],
        through: Checkpoint?, source: String = "the server's", writer: StoreWriter
    ) throws -> Int64 {
        let reader = writer.reader
        var previous = try Self.checkedHead(reader)
        var tree = TreeAppender()
        while let entries = try next() {
            for entry in entries {
                guard entry.seq == (previous?.seq ?? 0) + 1, entry.prevHash == (previous?.hash ?? Entry.genesisPrevHash) else {
                    throw ForkFound(
                        seq: entry.seq,
                        reason:
                            "\(source) entry \(entry.seq) does not follow this copy's entry \(previous?.seq ?? 0): its history has forked from this copy's (a fork)"
                    )
                }
                previous = entry
            }
            do {
                try Self.admitAll(entries, checks: nil, reader: reader) { _, entry, body in
                    try writer.append(entry, body: body, tree: &tree, settle: false)
                }
            } catch let refusal as SubmissionRefusal {
                // The server's entry does not verify here: what it serves is not a valid ledger.
                throw VerificationFailure(
                    seq: entries[refusal.index].seq,
                    reason: "\(source) entry \(entries[refusal.index].seq) does not verify: \(refusal.underlying); nothing was taken in")
            }
        }
        let size = previous?.seq ?? 0
        if let through {
            guard through.size == size, try Merkle.root(size: size, node: reader.treeNode) == through.root else {
                throw ForkFound(
                    seq: through.size,
                    reason:
                        "the entries taken in give another root than \(source) checkpoint of \(through.size) entries: its history has forked from this copy's (a fork)"
                )
            }
        }
        let stored = Set(try reader.checkpoints().map(\.size))
        var texts = [Int64: String]()
        for row in checkpoints.sorted(by: { $0.size < $1.size }) where row.size <= size && !stored.contains(row.size) {
            texts[row.size] = try Self.checkReplicated(row, source: source, reader: reader)
            try writer.insertCheckpoint(size: row.size, root: row.root, note: row.note, signedAt: row.signedAt)
        }
        let storedCosignatures = Set(try reader.cosignatures().map { "\($0.size) \($0.keyID)" })
        for row in cosignatures where !storedCosignatures.contains("\(row.size) \(row.keyID)") {
            guard let text = try texts[row.size] ?? (reader.checkpoint(size: row.size)).flatMap({ try? SignedNote.parse($0.note).text }) else {
                continue
            }
            if let problem = try row.problem(checkpointText: text, facts: reader.facts) {
                throw LedgerError.checkpointMismatch("\(source) cosignature of checkpoint \(row.size) by \(row.keyID) \(problem)")
            }
            try writer.insertCosignature(row)
        }
        return size
    }

    /// A server's checkpoint row, checked as `verify` checks a stored one: signed by a log or
    /// authority key active at its size, for this origin, its columns what its note says, its root
    /// the entries' root, `signed_at` a UTC time. Returns the note's text.
    /// The keys whose signature makes a checkpoint of `size` entries count (FORMAT.md section 12):
    /// the log and authority keys enrolled at or before `size` and not revoked at or before it.
    static func checkpointSigners(_ reader: StoreReader, size: Int64) throws -> [PublicKey] {
        // A key row no entry made (written outside GigaLedger) is no key: not one that signs checkpoints.
        try reader.keyIDs().compactMap { try? KeyID.parse($0, field: "key_id") }
            .compactMap { id in
                do { return try reader.facts.key(id) } catch LedgerError.unmadeIndexRow { return nil }
            }
            .filter { $0.enrolment.role.signsCheckpoints && $0.enrolledAt <= size && ($0.revokedAt.map { $0 > size } ?? true) }
            .map(\.enrolment.publicKey)
    }

    private static func checkReplicated(_ row: ReplicatedCheckpoint, source: String, reader: StoreReader) throws -> String {
        let signers = try checkpointSigners(reader, size: row.size)
        func fail(_ why: String) -> LedgerError { .checkpointMismatch("\(source) checkpoint of \(row.size) entries \(why); nothing was taken in") }
        guard let (checkpoint, signed) = try? Checkpoint.open(row.note, trusting: signers) else {
            throw fail("is not signed by a log or authority key of this ledger")
        }
        guard checkpoint.origin == (try origin(reader)) else { throw fail("is for \(checkpoint.origin)") }
        guard checkpoint.size == row.size, checkpoint.root == row.root else { throw fail("has columns that differ from its signed note") }
        // Signed by a key of this ledger valid at its size, over other entries: that key signed two histories.
        guard try Merkle.root(size: row.size, node: reader.treeNode) == row.root else {
            throw ForkFound(
                seq: row.size,
                reason:
                    "\(source) lists a checkpoint of \(row.size) entries, signed by a checkpoint key of this ledger, whose root is not the root of the entries it serves: the key signed two histories (a split view, a fork)"
            )
        }
        guard Timestamp.isValid(row.signedAt) else { throw fail("has a signed_at that is not a UTC time") }
        return signed.text
    }
}
