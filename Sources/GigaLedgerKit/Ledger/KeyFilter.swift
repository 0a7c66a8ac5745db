/// A Bloom filter of the duplicate rule's index keys (facts digests, amount keys, reference keys):
/// says a key is certainly not held, or may be. An import that is large beside its ledger reads
/// every key the ledger holds once (`StoreReader.forEachDuplicateKey`) and adds its own rows' keys
/// as it goes, instead of asking the ledger about each batch's keys (`DuplicateRule.Held`); a row
/// whose keys may be held is then looked up as before, so a false "may" costs a look-up and
/// never a wrong answer. The keys are SHA-256 prefixes, spread evenly already: they are their own hash.
struct KeyFilter {
    private var words: [UInt64]
    /// The filter's bits less one (a power of two less one).
    private let mask: UInt64

    /// Bits per key it is sized for: with `probes` 4, about 1 key in 400 not held reads as "may be".
    static let bitsPerKey = 16
    static let probes: UInt64 = 4
    /// The most keys a filter is made for: 16 MiB of bits.
    static let keysMax = 8_000_000

    /// A filter for about `keys` keys.
    init(keys: Int) {
        var bits = 64
        while bits < max(1, keys) * Self.bitsPerKey { bits *= 2 }
        words = [UInt64](repeating: 0, count: bits / 64)
        mask = UInt64(bits - 1)
    }

    mutating func insert(_ key: Int64) {
        let (first, step) = Self.start(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    /// False when `key` was certainly never inserted.
    func mayContain(_ key: Int64) -> Bool {
        let (first, step) = Self.start(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Double hashing: the key's two halves give the first bit and an odd step.
    private static func start(_ key: Int64) -> (UInt64, UInt64) {
        let bits = UInt64(bitPattern: key)
        return (bits, (bits >> 32 | bits << 32) | 1)
    }

    /// Whether a record with these keys may repeat one the filter holds (`DuplicateRule.Held.mayHold`).
    func mayHold(_ keys: DuplicateRule.Keys) -> Bool {
        keys.anyHeld(digest: mayContain, amount: mayContain, ref: mayContain)
    }

    /// The keys a record written adds to the index tables (`DuplicateRule.Keys.forEachWritten`).
    mutating func add(_ keys: DuplicateRule.Keys) {
        keys.forEachWritten(digest: { insert($0) }, amount: { insert($0) }, ref: { insert($0) })
    }
}
