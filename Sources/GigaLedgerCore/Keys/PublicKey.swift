/// An 8-byte key ID, bound to its public key: the first 8 bytes of
/// SHA-256("gigaledger/key-id/v1\n" || public key). Shown as minisign shows key IDs:
/// the 8 bytes read as a little-endian 64-bit number, in 16 upper-case hex digits.
public struct KeyID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 8, "KeyID.init: 8 bytes required")
        self.bytes = bytes
    }

    static let derivationTag = Array("gigaledger/key-id/v1\n".utf8)

    public init(publicKey: [UInt8]) {
        self.init(bytes: Array(SHA256State.hash(Self.derivationTag, publicKey).prefix(8)))
    }

    /// 16 upper-case hex digits, most significant first (the bytes reversed).
    public var description: String { Encoding.hex(bytes.reversed()).uppercased() }

    /// Parses the 16-hex-digit form (upper case, as `description` writes it).
    public static func parse(_ text: String, field: String) throws(InputError) -> KeyID {
        guard text.utf8.count == 16, text == text.uppercased(), let reversed = Encoding.unhex(text.lowercased()) else {
            throw InputError(field: field, value: text, problem: "is not a key ID (16 hex digits, as `gigaledger key generate` prints)")
        }
        return KeyID(bytes: reversed.reversed())
    }

    public static func < (a: KeyID, b: KeyID) -> Bool { a.description < b.description }
}

/// An Ed25519 public key with its key ID, as enrolled in the ledger and written to `NAME.pub`.
public struct PublicKey: Hashable, Sendable {
    public let bytes: [UInt8]
    public let id: KeyID

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Sodium.publicKeyBytes, "PublicKey.init: 32 bytes required")
        self.bytes = bytes
        self.id = KeyID(publicKey: bytes)
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        Sodium.verify(signature: signature, message: message, publicKey: bytes)
    }

    /// The two-line minisign public-key file (minisign's public-key format):
    /// `untrusted comment: minisign public key <ID>` and base64("Ed" || key ID || public key).
    public func minisignFile() -> String {
        "untrusted comment: minisign public key \(id)\n" + Encoding.base64(Array("Ed".utf8) + id.bytes + bytes) + "\n"
    }

    /// The largest public-key file read, in bytes.
    public static let fileBytesMax = 1024

    /// Reads a minisign public-key file written by `minisignFile()`. Refuses other algorithms,
    /// wrong lengths, and a key ID that does not match the key (keys are made by gigaledger).
    public static func decodeMinisign(_ text: String, path: String) throws(KeyError) -> PublicKey {
        guard text.utf8.count <= fileBytesMax else { throw .malformed(path: path, "public key file is larger than \(fileBytesMax) bytes") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == 2, lines[0].hasPrefix("untrusted comment: ") else {
            throw .malformed(path: path, "not a minisign public key file (expected an untrusted comment line and a key line)")
        }
        guard let blob = Encoding.unbase64(lines[1]) else { throw .malformed(path: path, "key line is not base64") }
        guard blob.count == 42 else { throw .malformed(path: path, "key is \(blob.count) bytes, expected 42") }
        guard blob[0] == UInt8(ascii: "E"), blob[1] == UInt8(ascii: "d") else {
            throw .malformed(path: path, "key algorithm is not Ed25519 (\"Ed\")")
        }
        let key = PublicKey(bytes: Array(blob[10..<42]))
        guard key.id.bytes == Array(blob[2..<10]) else {
            throw .malformed(path: path, "key ID does not belong to this key (keys must be made with `gigaledger key generate`)")
        }
        return key
    }
}
