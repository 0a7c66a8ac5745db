/// Signatures that Debian's stock `minisign -Vm FILE -p KEY.pub` accepts
/// (../shared/reference/formats.md, "minisign"): algorithm `ED`, Ed25519 over BLAKE2b-512 of
/// the file, and a global signature over the signature and the trusted comment.
public enum Minisign {
    /// The `.minisig` text for `file`. Deterministic: the same file, key and comment give the same bytes.
    public static func sign(_ file: [UInt8], key: SigningKey, trustedComment: String) -> String {
        precondition(!trustedComment.contains("\n"), "Minisign.sign: the trusted comment is one line")
        let signature = key.sign(Sodium.blake2b512(file))
        let global = key.sign(signature + Array(trustedComment.utf8))
        return "untrusted comment: gigaledger signature from key \(key.id)\n"
            + Encoding.base64(Array("ED".utf8) + key.id.bytes + signature) + "\n"
            + "trusted comment: \(trustedComment)\n"
            + Encoding.base64(global) + "\n"
    }

    /// Checks a `.minisig` text for `file` against `key`: the same checks as `minisign -V`.
    public static func verify(_ file: [UInt8], signature text: String, key: PublicKey) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 5, lines[4].isEmpty, lines[2].hasPrefix("trusted comment: "),
              let blob = Encoding.unbase64(lines[1]), blob.count == 74, blob[0] == UInt8(ascii: "E"), blob[1] == UInt8(ascii: "D"),
              Array(blob[2..<10]) == key.id.bytes, let global = Encoding.unbase64(lines[3]) else { return false }
        let signature = Array(blob[10...])
        let comment = String(lines[2].dropFirst("trusted comment: ".count))
        return key.verify(signature: signature, message: Sodium.blake2b512(file)) && key.verify(signature: global, message: signature + Array(comment.utf8))
    }
}
