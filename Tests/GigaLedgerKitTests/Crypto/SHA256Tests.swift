import CSodium
import Testing

@testable import GigaLedgerCore

/// `SHA256State` (swift-crypto) against FIPS 180-4's examples and against libsodium's
/// `crypto_hash_sha256`, which it replaced: every length across the block and padding edges, taken
/// whole and in pieces, and copies taken after a shared prefix.
@Suite struct SHA256Tests {
    /// libsodium's SHA-256 of `bytes`.
    static func sodium(_ bytes: [UInt8]) -> [UInt8] {
        precondition(sodium_init() >= 0)
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }

    @Test func fipsExamples() {
        // printf 'abc' | sha256sum
        #expect(Encoding.hex(SHA256State.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // printf '' | sha256sum
        #expect(Encoding.hex(SHA256State.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // printf 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq' | sha256sum
        #expect(
            Encoding.hex(SHA256State.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func everyLengthIsLibsodiumsDigestWholeAndInPieces() {
        var random = SeededRandom(state: 35)
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let expected = Self.sodium(bytes)
            #expect(SHA256State.hash(bytes) == expected, "length \(length)")
            // In three pieces, cut anywhere, and through a prefix's copy.
            let cut1 = Int.random(in: 0...length, using: &random), cut2 = Int.random(in: cut1...length, using: &random)
            var state = SHA256State()
            state.update(bytes[..<cut1])
            let prefix = state
            state.update(bytes[cut1..<cut2])
            state.update(bytes[cut2...])
            #expect(state.digest() == expected, "length \(length), cut at \(cut1) and \(cut2)")
            var other = prefix
            other.update(bytes[cut1...])
            #expect(other.digest() == expected, "length \(length), a copy after \(cut1) bytes")
            #expect(prefix.digest() == Self.sodium(Array(bytes[..<cut1])), "the prefix unchanged by its copy's updates")
            let first8 = expected.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(state.firstInt64() == Int64(bitPattern: first8))
            // Bytes not stored contiguously are copied first, not dropped.
            var lazy = SHA256State()
            lazy.update(bytes.lazy.map { $0 })
            #expect(lazy.digest() == expected, "length \(length), not contiguous")
        }
    }

    @Test func aStreamIsTheWholeDigest() {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = SHA256Stream()
        for start in stride(from: 0, to: bytes.count, by: 4_097) {
            bytes[start..<min(start + 4_097, bytes.count)].withUnsafeBytes { stream.update($0) }
        }
        #expect(stream.finish() == Self.sodium(bytes))
    }
}
