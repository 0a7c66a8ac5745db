import Foundation

/// An Ed25519 key pair held in memory for signing; the secret half is wiped when released.
///
/// `@unchecked Sendable`: both fields are `let`; the secret bytes are written once, by
/// `Sodium.keypair` before `init` returns, only read while the key lives (libsodium's sign reads
/// them) and wiped in `deinit`, when no other thread can hold the key. Threads signing at once share no write.
public final class SigningKey: @unchecked Sendable {
    public let publicKey: PublicKey
    private let secretKey: SecretBytes

    public var id: KeyID { publicKey.id }

    /// A new key pair from 32 random seed bytes.
    public static func generate() -> SigningKey {
        Sodium.protectProcess()
        var seed = Sodium.randomBytes(Sodium.seedBytes)
        return SigningKey(seed: SecretBytes(taking: &seed))
    }

    init(seed: SecretBytes) {
        let pair = Sodium.keypair(seed: seed)
        publicKey = PublicKey(bytes: pair.publicKey)
        secretKey = pair.secretKey
    }

    /// The Ed25519 signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        Sodium.sign(message, secretKey: secretKey)
    }

    /// The 32-byte seed, the first half of libsodium's 64-byte secret key.
    fileprivate func seed() -> SecretBytes {
        let seed = SecretBytes(count: Sodium.seedBytes)
        secretKey.withBytes { source in
            seed.withMutableBytes { target in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<Sodium.seedBytes])) }
        }
        return seed
    }
}

/// GigaLedger's secret-key file (schema/FORMAT.md, "Secret key file"): a few text lines,
/// the seed sealed with `crypto_secretbox` under a key derived by Argon2id from a passphrase,
/// or stored plainly when made with `--unencrypted`.
public enum SecretKeyFile {
    static let tag = "gigaledger-secret-key/v1"
    /// The largest secret-key file read, in bytes.
    public static let fileBytesMax = 4096

    /// The file's text for `key`; `passphrase` nil writes the seed unencrypted.
    public static func encode(_ key: SigningKey, passphrase: SecretBytes?, strength: Sodium.KDFStrength) throws(KeyError) -> String {
        let seed = key.seed()
        var lines = [
            "untrusted comment: gigaledger secret key \(key.id)", tag, "key-id \(key.id)",
            "public \(Encoding.base64(key.publicKey.bytes))",
        ]
        if let passphrase {
            let salt = Sodium.randomBytes(Sodium.saltBytes)
            let nonce = Sodium.randomBytes(Sodium.nonceBytes)
            guard let boxKey = Sodium.deriveBoxKey(passphrase: passphrase, salt: salt, opsLimit: strength.opsLimit, memLimit: strength.memLimit)
            else { throw .kdfFailed }
            let sealed = Sodium.seal(seed, nonce: nonce, key: boxKey)
            lines += [
                "kdf argon2id13 \(strength.opsLimit) \(strength.memLimit) \(Encoding.base64(salt))",
                "nonce \(Encoding.base64(nonce))", "sealed \(Encoding.base64(sealed))",
            ]
        } else {
            let plain = seed.withBytes { Encoding.base64(Array($0)) }
            lines += ["kdf none", "seed \(plain)"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What a secret-key file says before it is opened: its key and whether it needs a passphrase.
    public struct Parsed {
        public let publicKey: PublicKey
        public let isEncrypted: Bool
        fileprivate let fields: [String: String]
        fileprivate let path: String
    }

    /// Parses the file's text strictly: these lines, in this order, nothing else.
    public static func parse(_ text: String, path: String) throws(KeyError) -> Parsed {
        guard text.utf8.count <= fileBytesMax else { throw .malformed(path: path, "larger than \(fileBytesMax) bytes; not a gigaledger secret key") }
        guard text.hasSuffix("\n") else { throw .malformed(path: path, "truncated (no final newline)") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 2, lines[0].hasPrefix("untrusted comment: "), lines[1] == tag else {
            throw .malformed(path: path, "not a gigaledger secret key (expected \(tag) on line 2)")
        }
        var fields = [String: String]()
        var order = [String]()
        for line in lines.dropFirst(2) {
            guard let space = line.firstIndex(of: " ") else { throw .malformed(path: path, "line \"\(line.prefix(20))\" has no value") }
            let name = String(line[..<space])
            guard fields[name] == nil else { throw .malformed(path: path, "field \(name) appears twice") }
            fields[name] = String(line[line.index(after: space)...])
            order.append(name)
        }
        let expected = fields["kdf"] == "none" ? ["key-id", "public", "kdf", "seed"] : ["key-id", "public", "kdf", "nonce", "sealed"]
        guard order == expected else { throw .malformed(path: path, "truncated or reordered: expected fields \(expected.joined(separator: ", "))") }
        guard let publicBytes = Encoding.unbase64(fields["public"]!), publicBytes.count == Sodium.publicKeyBytes else {
            throw .malformed(path: path, "public key is not 32 bytes of base64")
        }
        let publicKey = PublicKey(bytes: publicBytes)
        guard fields["key-id"] == publicKey.id.description else { throw .malformed(path: path, "key-id does not match the public key") }
        return Parsed(publicKey: publicKey, isEncrypted: fields["kdf"] != "none", fields: fields, path: path)
    }

    /// The signing key, decrypting with `passphrase` when the file is encrypted.
    /// Checks that the seed gives the recorded public key, so a changed file is refused.
    public static func open(_ parsed: Parsed, passphrase: SecretBytes?) throws(KeyError) -> SigningKey {
        let seed: SecretBytes
        if parsed.isEncrypted {
            guard let passphrase else { throw .passphraseNeeded(path: parsed.path) }
            seed = try unseal(parsed, passphrase: passphrase)
        } else {
            guard var bytes = Encoding.unbase64(parsed.fields["seed"]!), bytes.count == Sodium.seedBytes else {
                throw .malformed(path: parsed.path, "seed is not 32 bytes of base64")
            }
            seed = SecretBytes(taking: &bytes)
        }
        let key = SigningKey(seed: seed)
        guard key.publicKey == parsed.publicKey else {
            throw .malformed(path: parsed.path, "secret key does not match its public key; the file was changed")
        }
        return key
    }

    private static func unseal(_ parsed: Parsed, passphrase: SecretBytes) throws(KeyError) -> SecretBytes {
        let kdf = parsed.fields["kdf"]!.split(separator: " ").map(String.init)
        guard kdf.count == 4, kdf[0] == "argon2id13", let ops = UInt64(kdf[1]), let mem = UInt64(kdf[2]),
            String(ops) == kdf[1], String(mem) == kdf[2], let salt = Encoding.unbase64(kdf[3]), salt.count == Sodium.saltBytes
        else { throw .malformed(path: parsed.path, "kdf line is not `argon2id13 OPSLIMIT MEMLIMIT SALT`") }
        guard ops >= 1, ops <= opsLimitMax, mem >= memLimitMin, mem <= memLimitMax else {
            throw .malformed(path: parsed.path, "kdf limits are outside what gigaledger accepts")
        }
        guard let nonce = Encoding.unbase64(parsed.fields["nonce"]!), nonce.count == Sodium.nonceBytes,
            let sealed = Encoding.unbase64(parsed.fields["sealed"]!), sealed.count == Sodium.seedBytes + Sodium.macBytes
        else { throw .malformed(path: parsed.path, "nonce or sealed seed has the wrong length") }
        guard let boxKey = Sodium.deriveBoxKey(passphrase: passphrase, salt: salt, opsLimit: ops, memLimit: mem) else { throw .kdfFailed }
        guard let seed = Sodium.open(sealed, nonce: nonce, key: boxKey) else { throw .wrongPassphrase(path: parsed.path) }
        return seed
    }

    /// Bounds on the Argon2id limits a file may ask for, so a hostile file cannot make us
    /// allocate more than 1 GiB (libsodium's "sensitive" level) or loop for minutes.
    static let opsLimitMax: UInt64 = 16
    static let memLimitMin: UInt64 = 8 * 1024 * 1024
    static let memLimitMax: UInt64 = 1024 * 1024 * 1024
}
