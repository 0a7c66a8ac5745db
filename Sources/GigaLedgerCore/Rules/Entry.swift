/// One stored entry, column for column (schema/FORMAT.md, "The entries table").
public struct Entry: Equatable, Sendable {
    public let seq: Int64
    public let type: String
    public let body: [UInt8]
    public let prevHash: [UInt8]
    public let hash: [UInt8]
    public let signer: String
    public let signature: [UInt8]
    public let recordedAt: String

    package init(seq: Int64, type: String, body: [UInt8], prevHash: [UInt8], hash: [UInt8], signer: String, signature: [UInt8], recordedAt: String) {
        self.seq = seq
        self.type = type
        self.body = body
        self.prevHash = prevHash
        self.hash = hash
        self.signer = signer
        self.signature = signature
        self.recordedAt = recordedAt
    }

    /// The `prev_hash` of entry 1: 32 zero bytes.
    public static let genesisPrevHash = [UInt8](repeating: 0, count: 32)

    static let hashTag = Array("gigaledger/entry/v1\n".utf8)
    static let signatureTag = Array("gigaledger/entry-signature/v1\n".utf8)

    /// SHA-256("gigaledger/entry/v1\n" || prev_hash || body): the chain link.
    /// Shell: `{ printf 'gigaledger/entry/v1\n'; printf %s "$PREV_HEX$BODY_HEX" | xxd -r -p; } | sha256sum`
    public static func hash(prevHash: [UInt8], body: [UInt8]) -> [UInt8] {
        Sodium.sha256(hashTag, prevHash, body)
    }

    /// What the signer signs: "gigaledger/entry-signature/v1\n" || hash. Signing the hash, not the
    /// body, lets a bulk import chain in order and sign in parallel.
    public static func signedMessage(hash: [UInt8]) -> [UInt8] {
        signatureTag + hash
    }

    /// Builds and signs the entry for `body` after `prevHash`.
    package static func make(body: EntryBody, prevHash: [UInt8], key: SigningKey) -> Entry {
        precondition(body.signer == key.id, "Entry.make: body names another signer")
        let bytes = body.encoded()
        let hash = hash(prevHash: prevHash, body: bytes)
        return Entry(seq: body.seq, type: body.type, body: bytes, prevHash: prevHash, hash: hash, signer: key.id.description,
                     signature: key.sign(signedMessage(hash: hash)), recordedAt: body.recordedAt)
    }
}
