import Foundation
import GigaLedgerCore
import GigaLedgerStore

#if canImport(Glibc)
import Glibc
#endif

/// Why an auditor's cosignature is withheld: the ledger, or the checkpoint, is not what it claims.
public struct CosignRefusal: GigaLedgerError, Equatable {
    public let reason: String
    /// Not verified when the ledger or the checkpoint is not what it claims; refused when the
    /// checkpoint is only older than the last one cosigned.
    public let kind: FailureKind
    public var description: String { "not cosigning: \(reason)" }
}

/// Where an auditor keeps the last checkpoint it cosigned (the text of a C2SP checkpoint), so
/// that it never cosigns one that does not extend it.
public struct CosignState {
    public let path: String

    public init(path: String) { self.path = path }

    /// The last checkpoint cosigned; nil before the first. A file that is not one is refused, named.
    public func last() throws -> Checkpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try OutputFiles.readText(path, what: "cosign state", bytesMax: SignedNote.bytesMax)
        do { return try Checkpoint.parse(text) } catch { throw FileRefusal("cosign state \(path)", "is not a checkpoint: \(error)") }
    }

    /// Refuses, before anything is signed, a state that could not be written afterwards.
    public func checkWritable() throws(OutputError) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else { throw OutputError(path: path, why: "its folder \(folder) does not exist or is not writable") }
    }

    /// Keeps `checkpoint` as the last one cosigned, atomically.
    public func record(_ checkpoint: Checkpoint) throws(OutputError) {
        try OutputFiles.replace(checkpoint.text, at: path)
    }
}

extension Ledger {
    /// As an auditor: checks a signed checkpoint against the ledger and, when it holds, adds a C2SP
    /// cosignature by `key` under `name`. It holds when the checkpoint is signed by one of the
    /// ledger's authority keys, the ledger verifies, its first `size` entries give the checkpoint's
    /// root, and it extends `lastCosigned` (the last checkpoint this auditor cosigned: same origin,
    /// no larger, and the root the same entries give). Returns the cosigned note and the checkpoint.
    /// Only an enrolled, unrevoked auditor key cosigns. When the ledger keeps this checkpoint and
    /// was opened for writing, the cosignature is also stored with it (`recorded` says so), after
    /// it is checked as `verify` will check it.
    public func cosign(
        _ note: String, key: any Signer, name: String, lastCosigned last: Checkpoint?,
        timestamp: UInt64
    ) throws -> (cosigned: String, checkpoint: Checkpoint, recorded: Bool) {
        guard let auditor = try keys().first(where: { $0.enrolment.publicKey == key.publicKey }), auditor.enrolment.role == .auditor,
            auditor.isActive
        else {
            throw Refusal("key \(key.id) is not an enrolled, unrevoked auditor key of this ledger; only those cosign")
        }
        let (target, signed) = try openWithKeysOfItsSize(note)
        guard auditor.enrolledAt <= target.size else {
            throw Refusal(
                "key \(key.id) was enrolled at entry \(auditor.enrolledAt), after this checkpoint of \(target.size) entries: an auditor key cosigns only checkpoints of at least \(auditor.enrolledAt) entries (`gigaledger cosign --server URL --ledger COPY --key KEY` cosigns the server's latest)"
            )
        }
        let report = try verify(rootsAt: [target.size, last?.size ?? 0])
        if let failure = report.failure { throw CosignRefusal(reason: "the ledger does not verify: \(failure)", kind: .notVerified) }
        guard report.roots[target.size] == target.root else {
            throw CosignRefusal(reason: "the verified ledger does not have the checkpoint's root at size \(target.size)", kind: .notVerified)
        }
        if let last {
            guard last.origin == target.origin else {
                throw CosignRefusal(reason: "the checkpoint is for \(target.origin), the last one cosigned for \(last.origin)", kind: .refused)
            }
            guard last.size <= target.size else {
                throw CosignRefusal(
                    reason: "the checkpoint (size \(target.size)) is older than the last one cosigned (size \(last.size))", kind: .refused)
            }
            guard report.roots[last.size] == last.root else {
                throw CosignRefusal(
                    reason: "the ledger does not extend the checkpoint last cosigned (size \(last.size)): its root differs", kind: .notVerified)
            }
        }
        let line = try NoteKey.cosign(signed.text, name: name, key: key, timestamp: timestamp)
        let recorded = try record(StoredCosignature(size: target.size, keyID: key.id.description, line: line.text), text: signed.text)
        return (SignedNote(text: signed.text, signatures: signed.signatures + [line]).encoded, target, recorded)
    }

    /// Stores a cosignature of the checkpoint with `text` when the ledger keeps that checkpoint and
    /// is writable; a later cosignature by the same key of the same checkpoint replaces nothing.
    private func record(_ cosignature: StoredCosignature, text: String) throws -> Bool {
        guard store.isWritable else { return false }
        return try store.write { writer in
            guard let stored = try writer.reader.checkpoint(size: cosignature.size), stored.note.hasPrefix(text + "\n"),
                try !writer.reader.cosignatures().contains(where: { $0.size == cosignature.size && $0.keyID == cosignature.keyID })
            else { return false }
            // Checked before it is stored by the function verify checks it with.
            if let problem = try cosignature.problem(checkpointText: text, facts: writer.reader.facts) {
                preconditionFailure("Ledger.cosign: a fresh cosignature \(problem)")
            }
            // One that would not count is not kept (a witness enrolled after the checkpoint asked of it).
            if try cosignature.enrolledAfterItsSize(facts: writer.reader.facts) != nil { return false }
            try writer.insertCosignature(cosignature)
            return true
        }
    }

    /// Keeps an auditor's cosignature submitted to the server (`cosign --server`): a line of an
    /// enrolled, unrevoked auditor key over a checkpoint the ledger keeps, checked by the function
    /// `verify` checks a stored one with. Returns false when the same key's cosignature of that
    /// checkpoint is kept already (the first one stands); refuses any line that is not such a
    /// cosignature, kept one or not.
    public func keepCosignature(_ cosignature: StoredCosignature) throws -> Bool {
        try store.write { writer in
            let reader = writer.reader
            guard let stored = try reader.checkpoint(size: cosignature.size), let signed = try? SignedNote.parse(stored.note) else {
                throw Refusal("the ledger keeps no checkpoint of \(cosignature.size) entries to cosign; sync and cosign a kept one")
            }
            guard let id = try? KeyID.parse(cosignature.keyID, field: "key_id"), let key = try reader.facts.key(id), key.isActive else {
                throw Refusal("key \(cosignature.keyID) is not an enrolled, unrevoked auditor key of this ledger; only those cosign")
            }
            if let problem = try cosignature.problem(checkpointText: signed.text, facts: reader.facts) {
                throw Refusal("the cosignature of checkpoint \(cosignature.size) by \(cosignature.keyID) \(problem)")
            }
            if let enrolled = try cosignature.enrolledAfterItsSize(facts: reader.facts) {
                throw Refusal(
                    "key \(cosignature.keyID) was enrolled at entry \(enrolled), after the checkpoint of \(cosignature.size) entries: it cosigns only checkpoints of at least \(enrolled) entries"
                )
            }
            // A valid cosignature by a key whose cosignature of this checkpoint is kept: the first stands.
            if try reader.cosignatures().contains(where: { $0.size == cosignature.size && $0.keyID == cosignature.keyID }) { return false }
            try writer.insertCosignature(cosignature)
            return true
        }
    }

    /// The add-checkpoint request (C2SP tlog-witness) for the kept checkpoint of `size` entries
    /// from `old`, the size the witness last cosigned: `old N`, the consistency proof in base64
    /// lines, a blank line, the checkpoint note. Nil when the ledger keeps no checkpoint of that size.
    public func witnessRequest(size: Int64, old: Int64) throws -> [UInt8]? {
        guard old >= 0, old <= size else { throw Refusal("a witness's old size \(old) is not from 0 to \(size)") }
        return try store.read { reader in
            guard let kept = try reader.checkpoint(size: size) else { return nil }
            let proof = old == 0 || old == size ? [] : try Merkle.proveConsistency(old: old, new: size, node: reader.treeNode)
            return Array(("old \(old)\n" + proof.map { Encoding.base64($0) + "\n" }.joined() + "\n" + kept.note).utf8)
        }
    }

    /// Keeps a witness's cosignature of the kept checkpoint of `size` entries from its answer
    /// (`lines`, note signature lines): the one line that is `witness`'s cosignature of that
    /// checkpoint, stored as `cosign` stores an auditor's (the witness key must be an enrolled
    /// auditor key). Returns whether one was stored now.
    public func keepWitnessCosignature(_ lines: String, size: Int64, witness: PublicKey) throws -> Bool {
        guard let kept = try store.read({ try $0.checkpoint(size: size) }), let signed = try? SignedNote.parse(kept.note) else { return false }
        for text in lines.split(separator: "\n") {
            guard let line = try? SignedNote.parseSignature(String(text)), NoteKey.cosigner(of: line, text: signed.text, among: [witness]) != nil
            else { continue }
            return try record(StoredCosignature(size: size, keyID: witness.id.description, line: line.text), text: signed.text)
        }
        return false
    }

    /// The latest kept checkpoint with the cosignatures kept for it, as `checkpoint` is served and
    /// published; nil when none is kept.
    public func latestCheckpointCosigned() throws -> String? {
        guard let latest = try store.read({ try $0.latestCheckpoint() }) else { return nil }
        return try withCosignatures(latest.note, size: latest.size)
    }

    /// How many of `witnesses` cosigned the latest checkpoint the ledger keeps, by its stored
    /// cosignatures (which `verify` checks), and that checkpoint's size.
    public func witnessCount(of witnesses: [PublicKey]) throws -> (size: Int64, count: Int) {
        try store.read { reader in
            guard let latest = try reader.latestCheckpoint(), let signed = try? SignedNote.parse(latest.note) else { return (0, 0) }
            let lines = try reader.cosignatures().filter { $0.size == latest.size }.compactMap { try? SignedNote.parseSignature($0.line) }
            return (latest.size, SignedNote(text: signed.text, signatures: lines).cosigners(among: witnesses).count)
        }
    }
}

extension StoredCosignature {
    /// Why this stored cosignature of the checkpoint with `checkpointText` does not hold: its key is
    /// not an enrolled auditor key in `facts`, or its line is not that key's cosignature of the text.
    /// nil when it holds. The one check `cosign` makes before storing a row and `verify` after.
    func problem(checkpointText text: String, facts: LedgerFacts) throws -> String? {
        guard let id = try? KeyID.parse(keyID, field: "key_id"), let key = try facts.key(id), key.enrolment.role == .auditor else {
            return "is not by an enrolled auditor key"
        }
        guard let line = try? SignedNote.parseSignature(self.line), NoteKey.cosigner(of: line, text: text, among: [key.enrolment.publicKey]) != nil
        else {
            return "does not verify"
        }
        if let revoked = key.revokedAt, revoked <= size {
            return "is by an auditor key revoked at entry \(revoked), at or before the checkpoint's \(size) entries"
        }
        return nil
    }

    /// The entry that enrolled this cosignature's auditor key, when it comes after the checkpoint's
    /// size: such a cosignature does not count (FORMAT.md section 12). Never stored now; one stored
    /// by an earlier version is named by `verify` as not counting, and the ledger still verifies.
    func enrolledAfterItsSize(facts: LedgerFacts) throws -> Int64? {
        guard let id = try? KeyID.parse(keyID, field: "key_id"), let key = try facts.key(id), key.enrolledAt > size else { return nil }
        return key.enrolledAt
    }
}

extension Ledger {
    /// The stored cosignatures that do not count because their auditor key was enrolled after the
    /// checkpoint's size (kept by versions before the rule), in words, for `verify` to list.
    public func cosignaturesThatDoNotCount() throws -> [String] {
        try store.read { reader in
            let facts = reader.facts
            return try reader.cosignatures().compactMap { row in
                guard let enrolled = try? row.enrolledAfterItsSize(facts: facts) else { return nil }
                return
                    "the cosignature of checkpoint \(row.size) by \(row.keyID) does not count: that auditor key was enrolled at entry \(enrolled), after the checkpoint's \(row.size) entries (kept by an earlier version)"
            }
        }
    }
}
