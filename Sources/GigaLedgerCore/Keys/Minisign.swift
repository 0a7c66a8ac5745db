/// Signatures that Debian's stock `minisign -Vm FILE -p KEY.pub` accepts
/// (minisign's signature format, jedisct1.github.io/minisign): algorithm `ED`, Ed25519 over BLAKE2b-512 of
/// the file, and a global signature over the signature and the trusted comment.
public enum Minisign {
    /// The `.minisig` text for `file`. Deterministic: the same file, key and comment give the same bytes.
    public static func sign(_ file: [UInt8], key: any Signer, trustedComment: String) throws -> String {
        precondition(!trustedComment.contains("\n"), "Minisign.sign: the trusted comment is one line")
        let signature = try key.sign(Sodium.blake2b512(file))
        let global = try key.sign(signature + Array(trustedComment.utf8))
        return "untrusted comment: gigaledger signature from key \(key.id)\n"
            + Encoding.base64(Array("ED".utf8) + key.id.bytes + signature) + "\n"
            + "trusted comment: \(trustedComment)\n"
            + Encoding.base64(global) + "\n"
    }

    /// What a `.minisig` text says: the key ID that signed, and the trusted comment; nil when it is
    /// not one signature in this format.
    public struct Parsed: Sendable {
        public let keyID: KeyID
        public let trustedComment: String
        let signature: [UInt8]
        let global: [UInt8]
    }

    public static func parse(_ text: String) -> Parsed? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 5, lines[4].isEmpty, lines[0].hasPrefix("untrusted comment: "), lines[2].hasPrefix("trusted comment: "),
            let first = Encoding.unbase64(lines[1]), first.count == 74, first.starts(with: Array("ED".utf8)),
            let global = Encoding.unbase64(lines[3]), global.count == 64
        else { return nil }
        return Parsed(
            keyID: KeyID(bytes: Array(first[2..<10])), trustedComment: String(lines[2].dropFirst("trusted comment: ".count)),
            signature: Array(first[10...]), global: global)
    }

    /// Whether `parsed` is `key`'s signature of `file` and of its trusted comment.
    public static func isValid(_ parsed: Parsed, of file: [UInt8], by key: PublicKey) -> Bool {
        parsed.keyID == key.id
            && Sodium.verify(signature: parsed.signature, message: Sodium.blake2b512(file), publicKey: key.bytes)
            && Sodium.verify(signature: parsed.global, message: parsed.signature + Array(parsed.trustedComment.utf8), publicKey: key.bytes)
    }
}
