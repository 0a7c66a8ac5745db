/// The Merkle tree of RFC 9162 section 2.1 (the same as RFC 6962's and C2SP's merkle-tree.md)
/// over the ledger's entries: leaf n is entry n + 1, and its leaf bytes are that entry's
/// 32-byte hash (schema/FORMAT.md, "Merkle tree").
///
/// Trees are read through `NodeSource`: the hash of a complete subtree, named by its level
/// (0 for leaves) and its index within that level. Complete subtrees never change once the
/// tree has grown past them, which is why they can be stored once and looked up by key.
public enum Merkle {
    public typealias Hash = [UInt8]

    /// The hash of a complete subtree: level `level`, covering leaves `index << level ..< (index + 1) << level`.
    public typealias NodeSource = (_ level: Int, _ index: Int64) throws -> Hash

    /// SHA-256(""): the root of the empty tree (RFC 9162 section 2.1.1).
    public static let emptyRoot = SHA256State.hash([])

    /// SHA-256(0x00 || data): leaves and interior nodes can never be confused.
    public static func leafHash(_ data: [UInt8]) -> Hash { SHA256State.hash([0x00], data) }

    /// SHA-256(0x01 || left || right).
    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash { SHA256State.hash([0x01], left, right) }

    /// The largest power of two strictly less than `n`. Requires n > 1.
    static func split(_ n: Int64) -> Int64 {
        precondition(n > 1, "Merkle.split: n must be > 1")
        var k: Int64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// MTH(D[lo:hi]) for a range whose start is aligned to a power of two at least as large as
    /// the range's largest complete subtree (every range the RFC's recursions produce is).
    /// Folds the range's complete subtrees, largest first, from the right: O(log n) lookups.
    static func rangeHash(_ lo: Int64, _ hi: Int64, node: NodeSource) throws -> Hash {
        precondition(lo < hi, "Merkle.rangeHash: empty range")
        var parts = [Hash]()
        var start = lo
        while start < hi {
            var level = 0
            while start % (Int64(1) << (level + 1)) == 0 && start + (Int64(1) << (level + 1)) <= hi { level += 1 }
            parts.append(try node(level, start >> level))
            start += Int64(1) << level
        }
        var hash = parts.removeLast()
        while let left = parts.popLast() { hash = nodeHash(left, hash) }
        return hash
    }

    /// The root of the tree of the first `size` leaves.
    public static func root(size: Int64, node: NodeSource) throws -> Hash {
        size == 0 ? emptyRoot : try rangeHash(0, size, node: node)
    }

    /// PATH(m, D[n]) of RFC 9162 section 2.1.3.1, leaf first. Requires 0 <= index < size.
    public static func proveInclusion(index: Int64, size: Int64, node: NodeSource) throws -> [Hash] {
        precondition(index >= 0 && index < size, "Merkle.proveInclusion: index out of range")
        var lo: Int64 = 0, hi = size
        var siblings = [(Int64, Int64)]()  // the siblings' ranges, from the root down
        while hi - lo > 1 {
            let k = split(hi - lo)
            if index - lo < k {
                siblings.append((lo + k, hi))
                hi = lo + k
            } else {
                siblings.append((lo, lo + k))
                lo += k
            }
        }
        return try siblings.reversed().map { (siblingLo, siblingHi) in try rangeHash(siblingLo, siblingHi, node: node) }
    }

    /// PROOF(m, D[n]) of RFC 9162 section 2.1.4.1. Requires 0 < old <= new.
    public static func proveConsistency(old: Int64, new: Int64, node: NodeSource) throws -> [Hash] {
        precondition(old > 0 && old <= new, "Merkle.proveConsistency: sizes out of range")
        var reversed = [Hash]()
        var lo: Int64 = 0, hi = new, m = old
        var startsAtRoot = true
        while m != hi - lo {
            let k = split(hi - lo)
            if m <= k {
                reversed.append(try rangeHash(lo + k, hi, node: node))
                hi = lo + k
            } else {
                reversed.append(try rangeHash(lo, lo + k, node: node))
                lo += k
                m -= k
                startsAtRoot = false
            }
        }
        if !startsAtRoot { reversed.append(try rangeHash(lo, hi, node: node)) }
        return reversed.reversed()
    }
}

/// Why a proof does not check out.
public struct ProofError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .notVerified }
    public let message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}

extension Merkle {
    /// Checks an inclusion proof by the algorithm of RFC 9162 section 2.1.3.2: every step is
    /// recomputed, and the path must be used up exactly when the root is reached.
    public static func checkInclusion(index: Int64, size: Int64, leafHash: Hash, proof: [Hash], root: Hash) throws(ProofError) {
        guard index >= 0, index < size else { throw ProofError("leaf index \(index) is not below the tree size \(size)") }
        guard proof.allSatisfy({ $0.count == 32 }), leafHash.count == 32, root.count == 32 else { throw ProofError("a hash is not 32 bytes") }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw ProofError("the proof is longer than the path to the root") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError("the proof is shorter than the path to the root") }
        guard r == root else { throw ProofError("the proof leads to another root") }
    }

    /// Checks a consistency proof by the algorithm of RFC 9162 section 2.1.4.2.
    /// Sizes equal: the proof must be empty and the roots equal. Old size 0: the proof must be empty.
    public static func checkConsistency(old: Int64, new: Int64, oldRoot: Hash, newRoot: Hash, proof: [Hash]) throws(ProofError) {
        guard old >= 0, old <= new else { throw ProofError("old size \(old) is larger than new size \(new)") }
        guard proof.allSatisfy({ $0.count == 32 }), oldRoot.count == 32, newRoot.count == 32 else { throw ProofError("a hash is not 32 bytes") }
        if old == new {
            guard proof.isEmpty else { throw ProofError("a proof between equal sizes must be empty") }
            guard oldRoot == newRoot else { throw ProofError("equal sizes with different roots") }
            return
        }
        if old == 0 {
            guard proof.isEmpty else { throw ProofError("a proof from the empty tree must be empty") }
            return
        }
        guard !proof.isEmpty else { throw ProofError("the proof is empty") }
        var path = proof
        if old & (old - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = old - 1, sn = new - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw ProofError("the proof is longer than needed") }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError("the proof is shorter than needed") }
        guard fr == oldRoot else { throw ProofError("the proof does not lead to the old root") }
        guard sr == newRoot else { throw ProofError("the proof does not lead to the new root") }
    }
}

/// The right edge of a growing tree (a "compact range"): the complete subtrees that make up the
/// tree so far, O(log n) of them. Appending reports each complete subtree it finishes, so the
/// whole tree is recomputed in one pass, as `verify` does, without holding it.
public struct MerkleFrontier {
    public private(set) var size: Int64 = 0
    private var stack = [(level: Int, hash: Merkle.Hash)]()
    /// For a stored tree: the leaves covered by complete subtrees not read yet (the high bits of its
    /// size, all left of `stack`), and how to read them. An append reads one only when it merges
    /// with it, so a single append reads as few nodes as it combines (one on average).
    private var unread: Int64 = 0
    private var node: Merkle.NodeSource?

    /// A complete subtree: `level` 0 is a leaf; its leaves are `index << level` to `((index + 1) << level) - 1`.
    public typealias Node = (level: Int, index: Int64, hash: Merkle.Hash)

    public init() {}

    /// The right edge of a stored tree of `size` leaves (one complete subtree per bit set in
    /// `size`), read through `node` as appends need its subtrees.
    public init(size: Int64, node: @escaping Merkle.NodeSource) {
        precondition(size >= 0, "MerkleFrontier.init: negative size")
        self.size = size
        unread = size
        self.node = node
    }

    /// The left sibling a merge at `level` needs: the top of `stack`, or else the rightmost
    /// subtree not read yet when it is at that level; nil when there is none (no merge).
    private mutating func sibling(at level: Int) throws -> Merkle.Hash? {
        if let top = stack.last {
            guard top.level == level else { return nil }
            stack.removeLast()
            return top.hash
        }
        guard unread != 0, unread.trailingZeroBitCount == level, let node else { return nil }
        unread -= 1 << level
        return try node(level, unread >> level)
    }

    /// Adds the next leaf; returns every complete subtree this finishes, leaf first.
    @discardableResult
    public mutating func append(leafHash: Merkle.Hash) throws -> [Node] {
        var finished = [Node]()
        var level = 0, hash = leafHash, index = size
        finished.append((0, index, hash))
        while let left = try sibling(at: level) {
            hash = Merkle.nodeHash(left, hash)
            level += 1
            index >>= 1
            finished.append((level, index, hash))
        }
        stack.append((level, hash))
        size += 1
        return finished
    }

    /// The root of the tree so far. Requires every subtree to be in memory (a frontier built by
    /// appends from empty, as `verify` builds it).
    public var root: Merkle.Hash {
        precondition(unread == 0, "MerkleFrontier.root: subtrees of a stored tree are not read")
        guard var hash = stack.last?.hash else { return Merkle.emptyRoot }
        for part in stack.dropLast().reversed() { hash = Merkle.nodeHash(part.hash, hash) }
        return hash
    }
}
