import CSodium
import Foundation

/// The only place that calls libsodium: Ed25519, BLAKE2b, random bytes and wiping (SHA-256 is
/// `SHA256State`'s).
///
/// Everything else in the package goes through these small functions, so that the
/// C surface stays in one file. See ../../../schema/FORMAT.md for what is hashed and signed.
public enum Sodium {
    /// Initialises libsodium once; safe to call from any thread, any number of times.
    static let ready: Bool = {
        precondition(sodium_init() >= 0, "Sodium.ready: sodium_init failed")
        return true
    }()

    public static let publicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)
    public static let seedBytes = Int(crypto_sign_SEEDBYTES)
    public static let signatureBytes = Int(crypto_sign_BYTES)

    /// BLAKE2b-512 of `message` (`crypto_generichash` with a 64-byte output), as minisign's prehash.
    public static func blake2b512(_ message: [UInt8]) -> [UInt8] {
        _ = ready
        var out = [UInt8](repeating: 0, count: 64)
        message.withUnsafeBufferPointer { buffer in
            _ = crypto_generichash(&out, 64, buffer.baseAddress, UInt64(buffer.count), nil, 0)
        }
        return out
    }

    /// `count` bytes from the operating system's random source.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        _ = ready
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// Overwrites `bytes` with zeros in a way the compiler may not remove.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { sodium_memzero(base, raw.count) }
        }
    }

    /// The Ed25519 public key and the 64-byte libsodium secret key for a 32-byte seed.
    static func keypair(seed: SecretBytes) -> (publicKey: [UInt8], secretKey: SecretBytes) {
        _ = ready
        precondition(seed.count == seedBytes, "Sodium.keypair: seed must be 32 bytes")
        var publicKey = [UInt8](repeating: 0, count: publicKeyBytes)
        let secretKey = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        seed.withBytes { seedBuffer in
            secretKey.withMutableBytes { skBuffer in
                _ = crypto_sign_seed_keypair(
                    &publicKey, skBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), seedBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        return (publicKey, secretKey)
    }

    /// A detached Ed25519 signature (RFC 8032) of `message` with a 64-byte libsodium secret key.
    static func sign(_ message: [UInt8], secretKey: SecretBytes) -> [UInt8] {
        _ = ready
        var signature = [UInt8](repeating: 0, count: signatureBytes)
        secretKey.withBytes { skBuffer in
            message.withUnsafeBufferPointer { buffer in
                _ = crypto_sign_detached(
                    &signature, nil, buffer.baseAddress, UInt64(buffer.count), skBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return signature
    }

    /// Whether `bytes` is an Ed25519 public key a signature can be trusted under: a canonical
    /// encoding of a point on the curve, in the prime-order subgroup, not of small order
    /// (libsodium's `crypto_core_ed25519_is_valid_point`). The identity point, for one, is refused:
    /// libsodium rejects every signature under it, but other verifiers accept one anyone can make.
    public static func isValidPublicKey(_ bytes: [UInt8]) -> Bool {
        _ = ready
        return bytes.count == publicKeyBytes && crypto_core_ed25519_is_valid_point(bytes) == 1
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` under `publicKey`.
    /// libsodium's strict verification: it also refuses a non-canonical S, a small-order R and a
    /// small-order public key (schema/FORMAT.md, "Keys and key files").
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        _ = ready
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        return message.withUnsafeBufferPointer { buffer in
            crypto_sign_verify_detached(signature, buffer.baseAddress, UInt64(buffer.count), publicKey) == 0
        }
    }
}

extension Sodium {
    public static let saltBytes = Int(crypto_pwhash_SALTBYTES)
    public static let nonceBytes = Int(crypto_secretbox_NONCEBYTES)
    public static let boxKeyBytes = Int(crypto_secretbox_KEYBYTES)
    public static let macBytes = Int(crypto_secretbox_MACBYTES)

    /// Argon2id work limits, as libsodium names them (`crypto_pwhash_*LIMIT_*`).
    public enum KDFStrength: String, CaseIterable, Sendable {
        case interactive, moderate, sensitive

        public var opsLimit: UInt64 {
            switch self {
            case .interactive: return UInt64(crypto_pwhash_opslimit_interactive())
            case .moderate: return UInt64(crypto_pwhash_opslimit_moderate())
            case .sensitive: return UInt64(crypto_pwhash_opslimit_sensitive())
            }
        }

        public var memLimit: UInt64 {
            switch self {
            case .interactive: return UInt64(crypto_pwhash_memlimit_interactive())
            case .moderate: return UInt64(crypto_pwhash_memlimit_moderate())
            case .sensitive: return UInt64(crypto_pwhash_memlimit_sensitive())
            }
        }
    }

    /// A 32-byte secretbox key derived from a passphrase with Argon2id v1.3 (`crypto_pwhash`,
    /// `crypto_pwhash_ALG_ARGON2ID13`). Returns nil when libsodium refuses (out of memory).
    static func deriveBoxKey(passphrase: SecretBytes, salt: [UInt8], opsLimit: UInt64, memLimit: UInt64) -> SecretBytes? {
        _ = ready
        precondition(salt.count == saltBytes, "Sodium.deriveBoxKey: salt must be 16 bytes")
        let key = SecretBytes(count: boxKeyBytes)
        let rc = key.withMutableBytes { keyBuffer in
            passphrase.withBytes { pass in
                crypto_pwhash(
                    keyBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(boxKeyBytes),
                    pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(passphrase.count),
                    salt, opsLimit, Int(memLimit), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        return rc == 0 ? key : nil
    }

    /// `crypto_secretbox_easy`: XSalsa20-Poly1305; the result is the 16-byte MAC then the ciphertext.
    static func seal(_ plaintext: SecretBytes, nonce: [UInt8], key: SecretBytes) -> [UInt8] {
        _ = ready
        var out = [UInt8](repeating: 0, count: plaintext.count + macBytes)
        plaintext.withBytes { message in
            key.withBytes { keyBuffer in
                _ = crypto_secretbox_easy(
                    &out, message.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                    nonce, keyBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return out
    }

    /// `crypto_secretbox_open_easy`: the plaintext, or nil when the MAC does not match
    /// (a wrong passphrase or a changed file).
    static func open(_ box: [UInt8], nonce: [UInt8], key: SecretBytes) -> SecretBytes? {
        _ = ready
        guard box.count >= macBytes, nonce.count == nonceBytes else { return nil }
        let plaintext = SecretBytes(count: box.count - macBytes)
        let rc = plaintext.withMutableBytes { out in
            key.withBytes { keyBuffer in
                crypto_secretbox_open_easy(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), box, UInt64(box.count),
                    nonce, keyBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return rc == 0 ? plaintext : nil
    }
}

extension Sodium {
    /// Makes this process non-dumpable (prctl PR_SET_DUMPABLE 0): a crash writes no core file that
    /// could hold a secret key or a passphrase. And gives the crash signals back their default
    /// action: Swift's crash backtracer prints the memory its registers point at, which could be a
    /// secret, to standard error. Called before any secret is read. Idempotent.
    public static func protectProcess() {
        _ = gigaledger_set_non_dumpable()
        for crash in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGQUIT] { signal(crash, SIG_DFL) }
    }
}

/// Bytes that must not outlive their use: in libsodium's guarded memory (`sodium_malloc`: locked,
/// between guard pages, checked by a canary), overwritten with zeros when released (`sodium_free`).
public final class SecretBytes {
    /// Never empty, so that `baseAddress` is never nil; `count` is what the caller asked for.
    private let pointer: UnsafeMutableRawBufferPointer
    public let count: Int

    public init(count: Int) {
        _ = Sodium.ready
        self.count = count
        guard let memory = sodium_malloc(max(count, 1)) else { preconditionFailure("SecretBytes.init: sodium_malloc failed (out of memory)") }
        pointer = UnsafeMutableRawBufferPointer(start: memory, count: max(count, 1))
        sodium_memzero(pointer.baseAddress!, pointer.count)
    }

    /// Copies `bytes` in, then wipes the caller's array.
    public convenience init(taking bytes: inout [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { pointer.baseAddress!.copyMemory(from: base, byteCount: source.count) }
        }
        Sodium.wipe(&bytes)
    }

    deinit {
        sodium_free(pointer.baseAddress!)  // zeroes, unlocks and releases
    }

    /// How many Unicode code points the bytes hold when they are UTF-8 (bytes that do not begin
    /// a code point are not counted), read in place: for a passphrase's length rule.
    public var codePointCount: Int {
        withBytes { bytes in bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
    }

    /// Whether any byte is an ASCII control character (a line break inside a passphrase, say).
    public var hasControlBytes: Bool { withBytes { bytes in bytes.contains { $0 < 0x20 || $0 == 0x7f } } }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: pointer[0..<count]))
    }

    func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: pointer[0..<count]))
    }

    /// Whether both hold the same bytes, compared in constant time.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withBytes { a in other.withBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, count) == 0 } }
    }
}
