import Foundation
import GigaLedgerCore
import GigaLedgerStore
import Synchronization

/// Checkpoints, proofs and receipts from a ledger's stored Merkle tree.
extension Ledger {
    /// The ledger's origin name, from its genesis entry.
    public func origin() throws -> String {
        try store.read { try Self.origin($0) }
    }

    static func origin(_ reader: StoreReader) throws -> String {
        guard let bytes = try reader.body(1) else { throw LedgerError.damaged("the ledger has no genesis entry") }
        if let origin = decodedOrigin.withLock({ $0?.body == bytes ? $0?.origin : nil }) { return origin }
        guard case .genesis(let genesis) = try EntryBody.decode(bytes).data else {
            throw LedgerError.damaged("the ledger has no genesis entry")
        }
        decodedOrigin.withLock { $0 = (bytes, genesis.origin) }
        return genesis.origin
    }

    /// The origin decoded from a genesis body, by the body's bytes: a pure function's memo, so
    /// never stale (a server signs a checkpoint per append, and decoding the genesis cost more
    /// than signing).
    private static let decodedOrigin = Mutex<(body: [UInt8], origin: String)?>(nil)

    /// Every key ever enrolled as an authority or log key.
    public func checkpointKeys() throws -> [PublicKey] {
        try keys().filter { $0.enrolment.role.signsCheckpoints }.map(\.enrolment.publicKey)
    }

    /// The keys whose signature on a checkpoint of `size` entries counts (FORMAT.md section 12):
    /// authority or log keys enrolled at or before entry `size` and not revoked at or before it.
    public func checkpointKeys(at size: Int64) throws -> [PublicKey] {
        try store.read { try Self.checkpointSigners($0, size: size) }
    }

    /// Opens a signed checkpoint with the keys valid at the size it names.
    func openWithKeysOfItsSize(_ note: String) throws -> (checkpoint: Checkpoint, note: SignedNote) {
        let size = (try? Checkpoint.parse(SignedNote.parse(note).text))?.size ?? 0
        return try Checkpoint.open(note, trusting: try checkpointKeys(at: size))
    }

    /// The number of entries.
    public func size() throws -> Int64 {
        try store.read { try $0.size() }
    }

    public func root(size: Int64) throws -> Merkle.Hash {
        try store.read { try Merkle.root(size: size, node: $0.treeNode) }
    }

    public func inclusionProof(seq: Int64, size: Int64) throws -> [Merkle.Hash] {
        guard seq >= 1, seq <= size else { throw Refusal("entry \(seq) is not in a tree of size \(size)") }
        return try store.read { reader in
            try Self.requireEntries(reader, size: size)
            return try Merkle.proveInclusion(index: seq - 1, size: size, node: reader.treeNode)
        }
    }

    /// Refuses a size beyond the ledger: it has no tree to prove in (and must not send a proof walking).
    static func requireEntries(_ reader: StoreReader, size: Int64) throws {
        let entries = try reader.size()
        guard size <= entries else { throw Refusal("the ledger has \(entries) entries, fewer than the size \(size) asked for") }
    }

    public func consistencyProof(old: Int64, new: Int64) throws -> [Merkle.Hash] {
        guard old >= 1, old <= new else {
            throw Refusal("no consistency proof from size \(old) to size \(new): the older, smaller checkpoint goes in --from, the newer in --to")
        }
        return try store.read { reader in
            try Self.requireEntries(reader, size: new)
            return try Merkle.proveConsistency(old: old, new: new, node: reader.treeNode)
        }
    }

    /// Verifies the whole ledger, then signs a checkpoint of the entries verified with `key`, which
    /// must be an active authority key, and keeps it. A signed root thus stands for verified entries
    /// (reports rely on it: `verify(trustingLatestCheckpoint:)`). The verification runs outside the
    /// write lock, so officers keep appending meanwhile; the checkpoint covers the entries verified,
    /// whose stored tree must still give the root the verification computed. Refuses when the tree
    /// no longer gives the root of the last checkpoint kept: the ledger never signs two checkpoints
    /// that are inconsistent with each other.
    /// `deliver` hands the signed note out (to a file, to standard output) inside the transaction
    /// that keeps it: when it throws, nothing is kept, so a checkpoint is never kept unhanded.
    public func signCheckpoint(key: any Signer, deliver: (String) throws -> Void = { _ in }) throws -> String {
        let verification = try verify()
        if let failure = verification.failure { throw LedgerError.notVerified(failure) }
        return try store.write { writer in
            let note = try Self.signCheckpoint(writer, key: key, size: verification.verifiedCount, root: verification.root)
            try deliver(note)
            return note
        }
    }

    private static func signCheckpoint(_ writer: StoreWriter, key: any Signer, size: Int64, root: [UInt8]) throws -> String {
        let reader = writer.reader
        guard let signer = try reader.facts.key(key.id), signer.enrolment.role.signsCheckpoints, signer.isActive,
            signer.enrolment.publicKey == key.publicKey
        else { throw Refusal("key \(key.id) is not an active authority or log key of this ledger; only those sign checkpoints") }
        // `verify` requires a checkpoint's signer to be active at the checkpoint's size.
        guard signer.enrolledAt <= size else {
            throw Refusal("key \(key.id) was enrolled at entry \(signer.enrolledAt), after the \(size) entries verified; run checkpoint again")
        }
        guard try Merkle.root(size: size, node: reader.treeNode) == root else {
            throw LedgerError.checkpointMismatch("the first \(size) entries changed after they were verified; refusing to sign")
        }
        if let last = try reader.latestCheckpoint() {
            guard try Merkle.root(size: last.size, node: reader.treeNode) == last.root else {
                throw LedgerError.checkpointMismatch(
                    "the ledger no longer matches the checkpoint it signed at size \(last.size); refusing to sign another")
            }
            // One as recent was signed meanwhile (or before): that one stands.
            if last.size >= size { return last.note }
        }
        let checkpoint = Checkpoint(origin: try origin(reader), size: size, root: root)
        let note = SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: checkpoint.origin, key: key)]).encoded
        try writer.insertCheckpoint(size: size, root: checkpoint.root, note: note, signedAt: try Timestamp.now())
        return note
    }

    /// Verifies the whole ledger and signs a checkpoint of it with `key`, as `signCheckpoint` does,
    /// without keeping it: for a copy (`checkpoint --server`), whose server keeps it
    /// (`keepCheckpoint`) and the copy takes it in at its next sync.
    public func signedCheckpoint(key: any Signer) throws -> String {
        let verification = try verify()
        if let failure = verification.failure { throw LedgerError.notVerified(failure) }
        // Signed as `signCheckpoint` signs, in a transaction rolled back: nothing is kept here.
        return try store.write(commit: false) { writer in
            try Self.signCheckpoint(writer, key: key, size: verification.verifiedCount, root: verification.root)
        }
    }

    /// Keeps a checkpoint signed elsewhere (an authority's, through the server): exactly one
    /// signature, by a log or authority key of this ledger active at its size (as `verify` requires
    /// of a stored one), this origin, at most `verifiedSize` entries (those the caller verified or
    /// admitted), the root its first `size` entries give. When one as recent is kept already, that
    /// one stands: it is returned, and nothing is kept.
    public func keepCheckpoint(_ note: String, verifiedSize: Int64) throws -> (note: String, isNew: Bool) {
        let signed: SignedNote
        let checkpoint: Checkpoint
        do {
            signed = try SignedNote.parse(note)
            checkpoint = try Checkpoint.parse(signed.text)
        } catch {
            throw FileRefusal("the checkpoint", "is not a signed C2SP checkpoint: \(error)")
        }
        guard signed.signatures.count == 1 else {
            throw FileRefusal("the checkpoint", "carries \(signed.signatures.count) signatures; submit it with its signer's only")
        }
        return try store.write { writer in
            let reader = writer.reader
            guard checkpoint.origin == (try Self.origin(reader)) else {
                throw Refusal("the checkpoint is of \(checkpoint.origin), not of this ledger, \(try Self.origin(reader))")
            }
            guard checkpoint.size >= 1, checkpoint.size <= verifiedSize else {
                throw Refusal("the checkpoint covers \(checkpoint.size) entries; this ledger has \(verifiedSize)")
            }
            guard (try? Checkpoint.open(note, trusting: try Self.checkpointSigners(reader, size: checkpoint.size))) != nil else {
                throw Refusal(
                    "the checkpoint of \(checkpoint.size) entries is not signed by a log or authority key of this ledger active at that size")
            }
            guard try Merkle.root(size: checkpoint.size, node: reader.treeNode) == checkpoint.root else {
                throw Refusal(
                    "the checkpoint's root is not the root of this ledger's first \(checkpoint.size) entries: it was signed over another history")
            }
            if let last = try reader.latestCheckpoint(), last.size >= checkpoint.size { return (last.note, false) }
            try writer.insertCheckpoint(size: checkpoint.size, root: checkpoint.root, note: note, signedAt: try Timestamp.now())
            return (note, true)
        }
    }

    /// The checkpoint the ledger signed at exactly `size` entries, if any.
    public func checkpoint(size: Int64) throws -> String? {
        try store.read { try $0.checkpoint(size: size)?.note }
    }

    /// The consistency proof file (schema/FORMAT.md section 14) from checkpoint `old` to `new`,
    /// checked before it is returned.
    func consistencyFile(from old: (note: String, checkpoint: Checkpoint), to new: (note: String, checkpoint: Checkpoint)) throws -> String {
        let (oldSize, newSize) = (old.checkpoint.size, new.checkpoint.size)
        let proof = oldSize == 0 || oldSize == newSize ? [] : try consistencyProof(old: oldSize, new: newSize)
        try Merkle.checkConsistency(old: oldSize, new: newSize, oldRoot: old.checkpoint.root, newRoot: new.checkpoint.root, proof: proof)
        // The key entries each checkpoint's signer needs, proven in the newer one (FORMAT.md section 14).
        var entries = [Int64: Receipt.CheckpointKeyEnrolment]()
        for (note, size) in [(old.note, oldSize), (new.note, newSize)] {
            for key in try keyPath(note: note, size: size, proofSize: newSize) { entries[key.entry.seq] = key }
        }
        // With the genesis, which says who signed before any enrolment (the older checkpoint's signer, say).
        if !entries.isEmpty, newSize >= 1, let genesis = try entry(1) {
            entries[1] = Receipt.CheckpointKeyEnrolment(entry: genesis, proof: try inclusionProof(seq: 1, size: newSize))
        }
        return ConsistencyFile(oldNote: old.note, newNote: new.note, proof: proof, keyPath: Array(entries.values)).encoded
    }

    /// A stored checkpoint's note with the cosignatures the ledger keeps for it appended (C2SP
    /// tlog-cosignature lines), as receipts carry it.
    func withCosignatures(_ note: String, size: Int64) throws -> String {
        try store.read { try Self.withCosignatures(note, size: size, reader: $0) }
    }

    static func withCosignatures(_ note: String, size: Int64, reader: StoreReader) throws -> String {
        let lines = try reader.cosignatures().filter { $0.size == size }.compactMap { try? SignedNote.parseSignature($0.line) }
        guard !lines.isEmpty, let signed = try? SignedNote.parse(note) else { return note }
        return SignedNote(text: signed.text, signatures: signed.signatures + lines).encoded
    }

    /// The latest checkpoint the ledger keeps, opened: a stored note that does not open is damage
    /// (an auditor's finding), not refused input. Refuses when there is none yet.
    func latestStoredCheckpoint() throws -> (note: String, checkpoint: Checkpoint) {
        guard let note = try latestCheckpoint() else {
            throw Refusal("the ledger has signed no checkpoint yet: run `gigaledger checkpoint --key AUTHORITY_KEY` first")
        }
        do { return (note, try openCheckpoint(note)) } catch let error as NoteError {
            throw LedgerError.damaged("its latest stored checkpoint does not open: \(error)")
        }
    }

    /// The consistency proof file from the signed checkpoint `oldNote` to `newNote`, or else to
    /// the latest checkpoint the ledger keeps.
    public func consistencyFile(fromNote oldNote: String, toNote newNote: String?) throws -> String {
        let old = (oldNote, try openCheckpoint(oldNote))
        let new =
            try newNote.map { ($0, try openCheckpoint($0)) }
            ?? {
                let latest = try latestStoredCheckpoint()
                return (try withCosignatures(latest.note, size: latest.checkpoint.size), latest.checkpoint)  // with the auditors' cosignatures
            }()
        return try consistencyFile(from: old, to: (new.0, new.1))
    }

    /// The latest checkpoint the ledger signed, if any.
    public func latestCheckpoint() throws -> String? {
        try store.read { try $0.latestCheckpoint()?.note }
    }

    /// Reads a signed checkpoint and checks it against this ledger: signed by one of its authority
    /// keys, for its origin, no larger than the ledger, with the root the stored tree gives.
    public func openCheckpoint(_ note: String) throws -> Checkpoint {
        let (checkpoint, _) = try openWithKeysOfItsSize(note)
        let origin = try origin()
        guard checkpoint.origin == origin else { throw Refusal("the checkpoint is for \(checkpoint.origin), this ledger is \(origin)") }
        let size = try size()
        guard checkpoint.size <= size else {
            throw LedgerError.checkpointMismatch(
                "size mismatch: the ledger has \(size) entries, fewer than the checkpoint's \(checkpoint.size) (truncated?)")
        }
        guard try root(size: checkpoint.size) == checkpoint.root else {
            throw LedgerError.checkpointMismatch("the ledger's first \(checkpoint.size) entries do not have the checkpoint's root (rewritten?)")
        }
        return checkpoint
    }

    /// A receipt for entry `seq` against `checkpointNote`, or else the latest checkpoint signed.
    public func receipt(seq: Int64, checkpointNote: String? = nil) throws -> Receipt {
        let note: String
        if let checkpointNote {
            note = checkpointNote
        } else {
            let latest = try latestStoredCheckpoint()
            note = try withCosignatures(latest.note, size: latest.checkpoint.size)
        }
        return try receiptMaker(checkpointNote: note)(seq)
    }

    /// Receipts against one checkpoint, each made by the function returned: the checkpoint opened
    /// (and checked against this ledger), the signers' keys and the checkpoint key's enrolment read
    /// once (the public pages make one receipt per entry).
    public func receiptMaker(checkpointNote note: String) throws -> (Int64) throws -> Receipt {
        let checkpoint = try openCheckpoint(note)
        let keys = Dictionary(
            try keys().map { ($0.enrolment.publicKey.id.description, $0.enrolment.publicKey) }, uniquingKeysWith: { first, _ in first })
        let keyPath = try keyPath(note: note, size: checkpoint.size)
        return { seq in
            guard seq >= 1, seq <= checkpoint.size else {
                throw Refusal("entry \(seq) is not covered by the checkpoint of size \(checkpoint.size): run `gigaledger checkpoint` first")
            }
            guard let entry = try self.entry(seq) else { throw Refusal("entry \(seq) does not exist") }
            guard let signer = keys[entry.signer] else { throw Refusal("entry \(seq)'s signer \(entry.signer) is not enrolled") }
            return Receipt(
                seq: seq, prevHash: entry.prevHash, body: entry.body, hash: entry.hash, signerKey: signer,
                signature: entry.signature, proof: try self.inclusionProof(seq: seq, size: checkpoint.size),
                keyPath: keyPath, checkpointNote: note)
        }
    }

    /// For a checkpoint not signed by the genesis authority (a log key's, a server's, a later
    /// authority's): the key entries on the path from the genesis to the key that signed it, each
    /// with its inclusion proof (FORMAT.md section 13). The signer's enrolment, the enrolment of
    /// the authority that signed it, and so on back to the genesis; and the revocations, up to
    /// `size`, of the keys on that path. A receipt or a consistency file carries them, so that any
    /// authority key on the path checks it: the genesis key and the later ones alike.
    public func keyPath(note: String, size: Int64) throws -> [Receipt.CheckpointKeyEnrolment] {
        try keyPath(note: note, size: size, proofSize: size)
    }

    /// `keyPath` with the inclusion proofs in the tree of `proofSize` entries (a consistency file
    /// proves the older checkpoint's key entries in the newer one).
    func keyPath(note: String, size: Int64, proofSize: Int64) throws -> [Receipt.CheckpointKeyEnrolment] {
        let keys = try keys()
        guard let genesis = keys.first, (try? Checkpoint.open(note, trusting: [genesis.enrolment.publicKey])) == nil else { return [] }
        let byID = Dictionary(keys.map { ($0.enrolment.publicKey.id, $0) }, uniquingKeysWith: { first, _ in first })
        guard
            var record = keys.first(where: {
                $0.enrolment.role.signsCheckpoints && $0.enrolledAt <= size && ($0.revokedAt.map { $0 > size } ?? true)
                    && (try? Checkpoint.open(note, trusting: [$0.enrolment.publicKey])) != nil
            })
        else { return [] }
        var seqs = Set<Int64>()
        for _ in 0..<Self.enrolmentChainMax {
            if let revoked = record.revokedAt, revoked <= size { seqs.insert(revoked) }
            guard record.enrolledAt > 1 else { break }
            seqs.insert(record.enrolledAt)
            guard let enrolling = try entry(record.enrolledAt), let signer = try? KeyID.parse(enrolling.signer, field: "signer"),
                let authority = byID[signer]
            else { throw LedgerError.damaged("the entry that enrolled key \(record.enrolment.publicKey.id) names no enrolled signer") }
            record = authority
        }
        return try seqs.sorted().map { seq in
            guard let entry = try entry(seq) else { throw LedgerError.damaged("key entry \(seq) is missing") }
            return Receipt.CheckpointKeyEnrolment(entry: entry, proof: try inclusionProof(seq: seq, size: proofSize))
        }
    }

    /// Verifies the whole ledger, then that it extends the checkpoint `note` published earlier
    /// (`named` says which file, for messages): signed by one of its authority keys, for its
    /// origin, no larger than the ledger, and with the root its first entries give. This catches
    /// a truncated or rewritten ledger even when its own chain is consistent.
    public func verify(extending note: String, named: String) throws -> VerificationReport {
        let checkpoint: Checkpoint
        do {
            (checkpoint, _) = try openWithKeysOfItsSize(note)
        } catch let error as NoteError {
            if case .malformed = error { throw error }
            let report = try verify()
            // Size 0 (the empty tree's root): no key is enrolled before the genesis, entry 1, so none signs it (FORMAT.md section 12).
            if let empty = try? Checkpoint.parse(SignedNote.parse(note).text), empty.size == 0 {
                return report.failing(
                    VerificationFailure(
                        seq: 1,
                        reason: "checkpoint \(named) is of size 0: no key of this ledger is enrolled before its genesis, entry 1, "
                            + "so none signs a checkpoint of no entries"))
            }
            return report.failing(
                VerificationFailure(
                    seq: 1,
                    reason:
                        "checkpoint \(named) is not signed by an authority or log key of this ledger enrolled at its size and not revoked by then (rewritten from genesis?)"
                ))
        }
        let stored = try size()
        if checkpoint.size > stored {
            // Reported first: a cut tail is the finding, whatever else the cut left behind.
            return try verify().failing(
                VerificationFailure(
                    seq: stored + 1,
                    reason: "size mismatch: checkpoint \(named) has size \(checkpoint.size), the ledger only \(stored) entries (truncated)"))
        }
        let report = try verify(rootsAt: [checkpoint.size])
        guard report.isVerified else { return report }
        guard checkpoint.origin == report.origin else {
            return report.failing(
                VerificationFailure(seq: 1, reason: "checkpoint \(named) is for \(checkpoint.origin), this ledger is \(report.origin)"))
        }
        guard report.roots[checkpoint.size] == checkpoint.root else {
            return report.failing(
                VerificationFailure(
                    seq: checkpoint.size,
                    reason: "root mismatch: the ledger's first \(checkpoint.size) entries do not give checkpoint \(named)'s root (rewritten)"))
        }
        return report
    }
}
