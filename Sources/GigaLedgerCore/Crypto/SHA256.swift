import Crypto

/// SHA-256 (FIPS 180-4), every hash the format names (FORMAT.md): entry hashes, Merkle nodes, the
/// index tables' keys, files. Through swift-crypto, whose BoringSSL uses the CPU's SHA extensions
/// where it has them: about three times libsodium's portable code here, which made SHA-256 a sixth
/// of an import's work besides its signatures (BENCHMARKS.md, issue 35). swift-crypto was already
/// built and linked for postgres-nio; `SHA256Tests` compares this with libsodium's on every length.
///
/// Taken in parts, as a value: a copy made after a shared prefix finishes each of several messages
/// that begin with it, and the prefix is hashed once.
public struct SHA256State {
    /// swift-crypto's hasher: a copy shares its context until one of them is updated (copy on
    /// write), and `finalize` hashes a copy of the context, so the state can go on or be finished
    /// again. Its documentation asks callers not to rely on that; `SHA256Tests` does, on every
    /// length (a digest, then the first 8 bytes, of one state; a copy finished after its prefix).
    private var hasher = Crypto.SHA256()

    public init() {}

    /// SHA-256 of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var state = SHA256State()
        for part in parts { state.update(part) }
        return state.digest()
    }

    /// Absorbs `bytes` (copied first only when they are not stored contiguously).
    public mutating func update<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        let absorbed: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if absorbed == nil { update(Array(bytes)) }
    }

    /// The whole digest of what was absorbed.
    public func digest() -> [UInt8] { hasher.finalize().withUnsafeBytes { Array($0) } }

    /// The first 8 bytes of the digest, big-endian, as a signed integer: how every index key
    /// (facts digest, amount key, reference key) is made of a SHA-256 (FORMAT.md, "Index tables").
    public func firstInt64() -> Int64 {
        hasher.finalize().withUnsafeBytes { digest in
            Int64(bitPattern: digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }
}

/// SHA-256 over data that arrives in pieces (a file read in chunks).
public final class SHA256Stream {
    private var state = SHA256State()

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        state.update(UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    public func finish() -> [UInt8] { state.digest() }
}
