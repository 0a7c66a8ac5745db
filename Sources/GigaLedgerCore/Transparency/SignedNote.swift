import Foundation

/// A C2SP signed note: a text whose lines each end in a newline, a blank line, then one
/// or more signature lines `— <key name> <base64(key ID || signature)>` (U+2014, a space).
/// What is signed is the text, final newline included (schema/FORMAT.md, "Checkpoints").
public struct SignedNote: Equatable {
    public struct Signature: Equatable {
        public let name: String
        public let keyID: [UInt8]
        /// The bytes after the key ID: a 64-byte signature, or a timestamp and a signature for cosignatures.
        public let payload: [UInt8]

        var line: String { text + "\n" }
        /// The signature line without its newline.
        public var text: String { "— \(name) \(Encoding.base64(keyID + payload))" }
    }

    public let text: String
    public var signatures: [Signature]

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// The largest note read, in bytes, and the most signature lines.
    public static let bytesMax = 16 * 1024
    public static let signaturesMax = 100

    public var encoded: String { text + "\n" + signatures.map(\.line).joined() }

    /// The keys among `witnesses` whose C2SP cosignature lines of this note verify, each once
    /// (a key that cosigned under two names counts once).
    public func cosigners(among witnesses: [PublicKey]) -> [PublicKey] {
        var found = [PublicKey]()
        for line in signatures {
            if let key = NoteKey.cosigner(of: line, text: text, among: witnesses), !found.contains(key) { found.append(key) }
        }
        return found
    }

    /// Parses a note strictly: text, one blank line, signature lines, nothing after.
    public static func parse(_ note: String) throws(NoteError) -> SignedNote {
        guard note.utf8.count <= bytesMax else { throw .malformed("the note is larger than \(bytesMax) bytes") }
        guard let split = note.range(of: "\n\n") else { throw .malformed("no blank line between the text and the signatures") }
        let text = String(note[..<split.lowerBound]) + "\n"
        let rest = note[split.upperBound...]
        guard rest.hasSuffix("\n") else { throw .malformed("the last signature line does not end in a newline") }
        var signatures = [Signature]()
        for line in rest.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            signatures.append(try parseSignature(String(line)))
        }
        guard !signatures.isEmpty else { throw .malformed("the note has no signature lines") }
        guard signatures.count <= signaturesMax else { throw .malformed("more than \(signaturesMax) signatures") }
        return SignedNote(text: text, signatures: signatures)
    }

    /// One signature line, without its newline.
    /// Read by code points, not characters: a name that starts with a combining mark would
    /// otherwise join the space before it into one character, and the line would not split.
    public static func parseSignature(_ line: String) throws(NoteError) -> Signature {
        let scalars = Array(line.unicodeScalars)
        guard scalars.count > 2, scalars[0] == "\u{2014}", scalars[1] == " " else { throw .malformed("a signature line does not start with \"— \"") }
        let parts = scalars[2...].split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { throw .malformed("a signature line is not `— NAME SIGNATURE`") }
        func text(_ part: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(part)) }
        guard let blob = Encoding.unbase64(text(parts[1])), blob.count >= 5 else { throw .malformed("a signature is not base64 of at least 5 bytes") }
        return Signature(name: text(parts[0]), keyID: Array(blob.prefix(4)), payload: Array(blob.dropFirst(4)))
    }
}

public enum NoteError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .refused }
    case malformed(String)
    case notSigned(String)
    case badSignature(String)

    public var description: String {
        switch self {
        case .malformed(let why): return "not a valid signed note: \(why)"
        case .notSigned(let why): return "no trusted signature: \(why)"
        case .badSignature(let why): return "bad signature: \(why)"
        }
    }
}

/// An Ed25519 key as signed notes name it: a key name and a 4-byte key ID,
/// SHA-256(name || 0x0A || type || public key)[0..<4], with type 0x01 for note signatures
/// and 0x04 for tlog cosignatures (C2SP signed-note, tlog-cosignature).
public struct NoteKey: Equatable {
    public let name: String
    public let publicKey: PublicKey

    public static let signatureType: UInt8 = 0x01
    public static let cosignatureType: UInt8 = 0x04

    public init(name: String, publicKey: PublicKey) throws(NoteError) {
        guard Codes.isNoteKeyName(name) else {
            throw .malformed("key name \(InputError.quoted(name)) is empty or has white space or +")
        }
        self.name = name
        self.publicKey = publicKey
    }

    public func keyID(type: UInt8) -> [UInt8] {
        Array(SHA256State.hash(Array(name.utf8), [0x0a, type], publicKey.bytes).prefix(4))
    }

    /// `<name>+<key ID hex>+<base64(0x01 || public key)>`: the verifier key string of C2SP signed-note.
    public var verifierKey: String {
        "\(name)+\(Encoding.hex(keyID(type: Self.signatureType)))+\(Encoding.base64([Self.signatureType] + publicKey.bytes))"
    }

    /// Signs `text` as a note signature line.
    public static func sign(_ text: String, name: String, key: any Signer) throws -> SignedNote.Signature {
        let noteKey = try NoteKey(name: name, publicKey: key.publicKey)
        return SignedNote.Signature(name: name, keyID: noteKey.keyID(type: signatureType), payload: try key.sign(Array(text.utf8)))
    }

    /// Whether `signature` is this key's note signature of `text`. Lines for other keys are not this key's.
    public func isSignature(_ signature: SignedNote.Signature, of text: String) -> Bool {
        signature.name == name && signature.keyID == keyID(type: Self.signatureType) && signature.payload.count == 64
            && publicKey.verify(signature: signature.payload, message: Array(text.utf8))
    }

    static func cosignedMessage(_ text: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(text.utf8)
    }

    /// A C2SP tlog-cosignature line: key ID (type 0x04) || 8-byte big-endian time || signature of
    /// "cosignature/v1\ntime <time>\n" followed by the note text.
    public static func cosign(_ text: String, name: String, key: any Signer, timestamp: UInt64) throws -> SignedNote.Signature {
        let noteKey = try NoteKey(name: name, publicKey: key.publicKey)
        let time = (0..<8).map { UInt8(truncatingIfNeeded: timestamp >> (56 - 8 * $0)) }
        return SignedNote.Signature(
            name: name, keyID: noteKey.keyID(type: cosignatureType),
            payload: try time + key.sign(cosignedMessage(text, timestamp: timestamp)))
    }

    /// The key among `keys` whose cosignature `signature` is, over `text`; nil when none. The line's
    /// name is part of its key ID, so a key cosigns under any name it was given.
    public static func cosigner(of signature: SignedNote.Signature, text: String, among keys: [PublicKey]) -> PublicKey? {
        keys.first { key in (try? NoteKey(name: signature.name, publicKey: key))?.isCosignature(signature, of: text) == true }
    }

    public func isCosignature(_ signature: SignedNote.Signature, of text: String) -> Bool {
        guard signature.name == name, signature.keyID == keyID(type: Self.cosignatureType), signature.payload.count == 72 else { return false }
        let timestamp = signature.payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return publicKey.verify(signature: Array(signature.payload.dropFirst(8)), message: Self.cosignedMessage(text, timestamp: timestamp))
    }
}

/// A C2SP tlog-checkpoint: origin, tree size, root hash; the text of a signed note.
public struct Checkpoint: Equatable, Sendable {
    public let origin: String
    public let size: Int64
    public let root: [UInt8]

    public init(origin: String, size: Int64, root: [UInt8]) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var text: String { "\(origin)\n\(size)\n\(Encoding.base64(root))\n" }

    /// Parses a checkpoint text: exactly three lines, size in decimal without leading zeros.
    public static func parse(_ text: String) throws(NoteError) -> Checkpoint {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 4, lines[3].isEmpty else { throw .malformed("a checkpoint has exactly three lines: origin, size, root") }
        guard !lines[0].isEmpty else { throw .malformed("the checkpoint's origin is empty") }
        guard let size = Int64(lines[1]), size >= 0, String(size) == lines[1] else {
            throw .malformed("the checkpoint's size \(InputError.quoted(lines[1])) is not a decimal number without leading zeros")
        }
        guard let root = Encoding.unbase64(lines[2]), root.count == 32 else { throw .malformed("the checkpoint's root is not 32 bytes of base64") }
        return Checkpoint(origin: lines[0], size: size, root: root)
    }

    /// Parses a signed checkpoint and checks it carries a valid signature by one of `keys`
    /// (each named by the checkpoint's origin). Signature lines from other keys are ignored.
    public static func open(_ note: String, trusting keys: [PublicKey]) throws(NoteError) -> (Checkpoint, SignedNote) {
        let signed = try SignedNote.parse(note)
        let checkpoint = try parse(signed.text)
        var candidates = [NoteKey]()
        for key in keys { candidates.append(try NoteKey(name: checkpoint.origin, publicKey: key)) }
        let known = signed.signatures.filter { line in
            candidates.contains { $0.keyID(type: NoteKey.signatureType) == line.keyID && $0.name == line.name }
        }
        guard !known.isEmpty else { throw .notSigned("no signature line is from the ledger's key for \(checkpoint.origin)") }
        for line in known {
            guard candidates.contains(where: { $0.isSignature(line, of: signed.text) }) else {
                throw .badSignature("the signature by \(line.name) does not verify")
            }
        }
        return (checkpoint, signed)
    }
}
