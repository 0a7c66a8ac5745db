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
        SHA256State.hash(hashTag, prevHash, body)
    }

    /// What the signer signs: "gigaledger/entry-signature/v1\n" || hash. Signing the hash, not the
    /// body, lets a bulk import chain in order and sign in parallel.
    public static func signedMessage(hash: [UInt8]) -> [UInt8] {
        signatureTag + hash
    }

    /// What `verify` checks of a stored entry by itself, before the rules: its body reads back (size,
    /// canonical form, every value in range) and the columns outside the body say what it says.
    /// Returns the body read, or why it cannot be read; `append` runs this on the entry it is about
    /// to commit, so that nothing the ledger accepts fails verification later.
    package static func readBody(_ entry: Entry) -> Result<EntryBody, VerificationFailure> {
        let body: EntryBody
        do { body = try EntryBody.decode(entry.body) } catch {
            if case .newerFormat = error { return .failure(VerificationFailure(seq: entry.seq, reason: error.description, isNewerFormat: true)) }
            return .failure(VerificationFailure(seq: entry.seq, reason: "body cannot be read: \(error)"))
        }
        if let mismatch = entry.columnMismatch(body) { return .failure(VerificationFailure(seq: entry.seq, reason: mismatch)) }
        return .success(body)
    }

    /// Why this entry, about to be written for `body`, would not verify; nil when it will.
    package func checkStored(as body: EntryBody) -> String? {
        switch Self.readBody(self) {
        case .failure(let failure): return failure.reason
        case .success(let read): return read == body ? nil : "its body reads back as other values"
        }
    }

    /// The columns outside the body must say what the body says, byte for byte.
    package func columnMismatch(_ body: EntryBody) -> String? {
        if body.seq != seq { return "body says sequence \(body.seq), the row is \(seq)" }
        if !body.type.sameBytes(as: type) { return "type column \(InputError.quoted(type)) differs from the body's \(body.type)" }
        if !body.signer.description.sameBytes(as: signer) {
            return "signer column \(InputError.quoted(signer)) differs from the body's \(body.signer)"
        }
        if !body.recordedAt.sameBytes(as: recordedAt) {
            return "recorded_at column \(InputError.quoted(recordedAt)) differs from the body's \(body.recordedAt)"
        }
        return nil
    }

    /// Builds and signs the entry for `body` after `prevHash`.
    package static func make(body: EntryBody, prevHash: [UInt8], key: any Signer) throws -> Entry {
        precondition(body.signer == key.id, "Entry.make: body names another signer")
        let bytes = body.encoded()
        let hash = hash(prevHash: prevHash, body: bytes)
        return Entry(
            seq: body.seq, type: body.type, body: bytes, prevHash: prevHash, hash: hash, signer: key.id.description,
            signature: try key.sign(signedMessage(hash: hash)), recordedAt: body.recordedAt)
    }
}
