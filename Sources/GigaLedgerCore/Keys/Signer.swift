/// What signs: a key held in memory, read from a key file (`SigningKey`), or a key that never
/// leaves a token (`TokenKey`, through PKCS#11). The library signs through this alone (entries,
/// imports, checkpoints, cosignatures, reports); the CLI and the server never ask which they hold.
/// Both give the same bytes: an Ed25519 signature (RFC 8032) of the message.
public protocol Signer: AnyObject, Sendable {
    var publicKey: PublicKey { get }
    /// The Ed25519 signature of `message`. A key in memory never fails; a token may (removed,
    /// not answering: `TokenError`), and then nothing signed is used.
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

extension Signer {
    public var id: KeyID { publicKey.id }
}

extension SigningKey: Signer {}
