/// A consistency proof that can be checked offline, like a receipt: both signed checkpoints and
/// the RFC 9162 proof that the newer tree extends the older (schema/FORMAT.md, "Consistency proofs").
public struct ConsistencyFile: Equatable, Sendable {
    public static let tag = "gigaledger-consistency/v2"
    /// The largest file read, in bytes: two notes and a proof of at most 64 hashes.
    public static let bytesMax = 2 * SignedNote.bytesMax + 8 * 1024

    public let oldNote: String
    public let newNote: String
    public let proof: [Merkle.Hash]

    public init(oldNote: String, newNote: String, proof: [Merkle.Hash]) {
        self.oldNote = oldNote
        self.newNote = newNote
        self.proof = proof
    }

    /// The tag, the proof's hashes in hex one a line, then each note after a line giving its length in bytes.
    public var encoded: String {
        ([Self.tag, "proof \(proof.count)"] + proof.map(Encoding.hex)).joined(separator: "\n") + "\n"
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
        guard try line() == tag else { throw .malformed("not a \(tag) file") }
        var proof = [Merkle.Hash]()
        for _ in 0..<(try count("proof", max: 64)) {
            guard let hash = Encoding.unhex(String(try line())), hash.count == 32 else { throw .malformed("a proof line is not 32 bytes of hex") }
            proof.append(hash)
        }
        let old = try note("old-checkpoint"), new = try note("new-checkpoint")
        guard rest.isEmpty else { throw .malformed("bytes after the new checkpoint") }
        return ConsistencyFile(oldNote: old, newNote: new, proof: proof)
    }

    /// The keys among `witnesses` that cosigned the new checkpoint (lines of its note), each once.
    public func cosigners(among witnesses: [PublicKey]) -> [PublicKey] {
        (try? SignedNote.parse(newNote))?.cosigners(among: witnesses) ?? []
    }

    /// Checks both checkpoints' signatures under the ledger's key, their origin, and the proof.
    public func check(ledgerKey: PublicKey) throws(ReceiptError) -> (old: Checkpoint, new: Checkpoint) {
        let old: Checkpoint, new: Checkpoint
        do {
            (old, _) = try Checkpoint.open(oldNote, trusting: [ledgerKey])
            (new, _) = try Checkpoint.open(newNote, trusting: [ledgerKey])
        } catch { throw .checkpoint(error) }
        guard old.origin == new.origin else { throw .entry("the checkpoints are of \(old.origin) and \(new.origin)") }
        guard old.size <= new.size else { throw .entry("the old checkpoint (size \(old.size)) is larger than the new (size \(new.size))") }
        do { try Merkle.checkConsistency(old: old.size, new: new.size, oldRoot: old.root, newRoot: new.root, proof: proof) } catch {
            throw .proof(error)
        }
        return (old, new)
    }
}
