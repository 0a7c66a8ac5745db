/// A consistency proof that can be checked offline, like a receipt: both signed checkpoints and
/// the RFC 9162 proof that the newer tree extends the older (schema/FORMAT.md, "Consistency proofs").
public struct ConsistencyFile: Equatable, Sendable {
    public static let tag = "gigaledger-consistency/v2"
    /// The tag of a file that carries key entries (a checkpoint signed by a log key or a later
    /// authority key): the key paths of both checkpoints, proven in the newer one.
    public static let tagWithKeyPath = "gigaledger-consistency/v3"
    /// The largest file read, in bytes: two notes and a proof of at most 64 hashes.
    public static let bytesMax = 2 * SignedNote.bytesMax + 8 * 1024 + Receipt.keyPathEntriesMax * 4 * 1024

    public let oldNote: String
    public let newNote: String
    public let proof: [Merkle.Hash]
    /// The key entries from the genesis to each checkpoint's signer (FORMAT.md section 14), in
    /// sequence order, each proven in the newer checkpoint; empty when the genesis authority signed both.
    public let keyPath: [Receipt.CheckpointKeyEnrolment]

    public init(oldNote: String, newNote: String, proof: [Merkle.Hash], keyPath: [Receipt.CheckpointKeyEnrolment] = []) {
        self.oldNote = oldNote
        self.newNote = newNote
        self.proof = proof
        self.keyPath = keyPath.sorted { $0.entry.seq < $1.entry.seq }
    }

    /// The tag, the proof's hashes in hex one a line, the key entries, then each note after a line
    /// giving its length in bytes.
    public var encoded: String {
        ([keyPath.isEmpty ? Self.tag : Self.tagWithKeyPath, "proof \(proof.count)"] + proof.map(Encoding.hex) + keyPath.flatMap(\.lines))
            .joined(separator: "\n") + "\n"
            + "old-checkpoint \(oldNote.utf8.count)\n" + oldNote + "new-checkpoint \(newNote.utf8.count)\n" + newNote
    }

    /// Parses a file strictly: these parts in this order, each note exactly as long as it says, nothing after.
    public static func parse(_ text: String) throws(ReceiptError) -> ConsistencyFile {
        guard text.utf8.count <= bytesMax else { throw .malformed("larger than \(bytesMax) bytes") }
        var rest = Substring(text)
        func line() throws(ReceiptError) -> Substring {
            guard let end = rest.firstIndex(of: "\n") else { throw .malformed("a line is not ended") }
            defer { rest = rest[rest.index(after: end)...] }
            return rest[..<end]
        }
        func count(_ prefix: String, max: Int) throws(ReceiptError) -> Int {
            let text = try line()
            guard text.hasPrefix(prefix + " "), let value = Int(text.dropFirst(prefix.count + 1)), value >= 0, value <= max,
                String(value) == text.dropFirst(prefix.count + 1)
            else { throw .malformed("expected `\(prefix) N`") }
            return value
        }
        func note(_ name: String) throws(ReceiptError) -> String {
            let length = try count(name, max: SignedNote.bytesMax)
            let bytes = Array(rest.utf8)
            guard bytes.count >= length, let note = String(validating: bytes[0..<length], as: UTF8.self) else {
                throw .malformed("\(name) is cut short")
            }
            rest = Substring(String(decoding: bytes[length...], as: UTF8.self))
            return note
        }
        let first = try line()
        guard first == tag || first == tagWithKeyPath else { throw .malformed("not a \(tag) or \(tagWithKeyPath) file") }
        var proof = [Merkle.Hash]()
        for _ in 0..<(try count("proof", max: 64)) {
            guard let hash = Encoding.unhex(String(try line())), hash.count == 32 else { throw .malformed("a proof line is not 32 bytes of hex") }
            proof.append(hash)
        }
        var keyLines = [Substring]()
        while first == tagWithKeyPath && !rest.hasPrefix("old-checkpoint ") && !rest.isEmpty { keyLines.append(try line()) }
        var slice = ReceiptLines(keyLines[...])
        var keyPath = [Receipt.CheckpointKeyEnrolment]()
        while !slice.lines.isEmpty {
            guard keyPath.count < Receipt.keyPathEntriesMax else { throw .malformed("more than \(Receipt.keyPathEntriesMax) key entries") }
            keyPath.append(try Receipt.CheckpointKeyEnrolment.parse(&slice, after: keyPath.last?.entry.seq ?? 0))
        }
        guard first == tag || !keyPath.isEmpty else { throw .malformed("a \(tagWithKeyPath) file carries key entries") }
        let old = try note("old-checkpoint"), new = try note("new-checkpoint")
        guard rest.isEmpty else { throw .malformed("bytes after the new checkpoint") }
        return ConsistencyFile(oldNote: old, newNote: new, proof: proof, keyPath: keyPath)
    }

    /// The keys among `witnesses` that cosigned the new checkpoint (lines of its note), each once.
    public func cosigners(among witnesses: [PublicKey]) -> [PublicKey] {
        (try? SignedNote.parse(newNote))?.cosigners(among: witnesses) ?? []
    }

    /// Checks both checkpoints' signatures under the ledger's key (any authority key of it) or the
    /// keys the key path gives from it at each one's size, their origin, and the proof.
    public func check(ledgerKey: PublicKey) throws(ReceiptError) -> (old: Checkpoint, new: Checkpoint) {
        let old: Checkpoint, new: Checkpoint
        do {
            old = try Checkpoint.parse(try SignedNote.parse(oldNote).text)
            new = try Checkpoint.parse(try SignedNote.parse(newNote).text)
        } catch { throw .checkpoint(error) }
        let newSigners = try Receipt.CheckpointKeyEnrolment.signers(trusting: ledgerKey, path: keyPath, size: new.size, in: new)
        do { _ = try Checkpoint.open(newNote, trusting: newSigners) } catch { throw .checkpoint(error) }
        // The newer checkpoint holds: the key entries proven in it are the ledger's, and say which
        // keys signed checkpoints at the older one's size (the genesis authority, before a rotation).
        let asTrusted = (try? Receipt.CheckpointKeyEnrolment.signers(trusting: ledgerKey, path: keyPath, size: old.size, in: new)) ?? []
        let asFacts = (try? Receipt.CheckpointKeyEnrolment.signers(trusting: nil, path: keyPath, size: old.size, in: new)) ?? []
        let oldSigners = asTrusted + asFacts
        do { _ = try Checkpoint.open(oldNote, trusting: oldSigners) } catch { throw .checkpoint(error) }
        guard old.origin == new.origin else { throw .entry("the checkpoints are of \(old.origin) and \(new.origin)") }
        guard old.size <= new.size else { throw .entry("the old checkpoint (size \(old.size)) is larger than the new (size \(new.size))") }
        do { try Merkle.checkConsistency(old: old.size, new: new.size, oldRoot: old.root, newRoot: new.root, proof: proof) } catch {
            throw .proof(error)
        }
        return (old, new)
    }
}
