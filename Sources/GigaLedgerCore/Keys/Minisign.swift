/// Signatures that Debian's stock `minisign -Vm FILE -p KEY.pub` accepts
/// (minisign's signature format, jedisct1.github.io/minisign): algorithm `ED`, Ed25519 over BLAKE2b-512 of
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
}
