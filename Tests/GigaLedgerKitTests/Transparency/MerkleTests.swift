import Foundation
import Testing
@testable import GigaLedgerKit

/// A tree held in memory, computed the slow way straight from RFC 9162's definition of MTH.
struct ReferenceTree {
    let leaves: [[UInt8]]

    func mth(_ lo: Int, _ hi: Int) -> [UInt8] {
        if hi - lo == 0 { return Merkle.emptyRoot }
        if hi - lo == 1 { return Merkle.leafHash(leaves[lo]) }
        let k = Int(Merkle.split(Int64(hi - lo)))
        return Merkle.nodeHash(mth(lo, lo + k), mth(lo + k, hi))
    }

    var node: Merkle.NodeSource {
        { level, index in
            let lo = Int(index) << level
            return mth(lo, lo + (1 << level))
        }
    }

    static func numbered(_ count: Int) -> ReferenceTree {
        ReferenceTree(leaves: (0..<count).map { Array("leaf \($0)".utf8) })
    }
}

@Suite struct MerkleTests {
    struct Vectors: Decodable {
        let leaves_hex: [String]
        let root_hashes_hex: [String]
        let level_1_node_hashes_hex: [String]
    }

    /// ../shared/reference/rfc6962-vectors.json: the transparency-dev/merkle RFC 6962 test data.
    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("rfc6962-vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    @Test func publishedRootsAndLevelOneNodes() throws {
        let tree = ReferenceTree(leaves: Self.vectors.leaves_hex.map { Encoding.unhex($0)! })
        for (size, expected) in Self.vectors.root_hashes_hex.enumerated() {
            #expect(Encoding.hex(try Merkle.root(size: Int64(size), node: tree.node)) == expected, "size \(size)")
            var frontier = MerkleFrontier()
            for leaf in tree.leaves.prefix(size) { frontier.append(leafHash: Merkle.leafHash(leaf)) }
            #expect(Encoding.hex(frontier.root) == expected, "frontier size \(size)")
        }
        for (index, expected) in Self.vectors.level_1_node_hashes_hex.enumerated() {
            #expect(Encoding.hex(try tree.node(1, Int64(index))) == expected)
        }
        // The empty tree: `printf '' | sha256sum`
        #expect(Encoding.hex(Merkle.emptyRoot) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// RFC 9162 section 2.1.5's 7-leaf example: leaves a b c d e f j; g = H(a,b), h = H(c,d),
    /// i = H(e,f), k = H(g,h), l = H(i,j). (C2SP merkle-tree.md draws the same tree.)
    @Test func sevenLeafExample() throws {
        let tree = ReferenceTree(leaves: Self.vectors.leaves_hex.prefix(7).map { Encoding.unhex($0)! })
        let a = try tree.node(0, 0), b = try tree.node(0, 1), c = try tree.node(0, 2), d = try tree.node(0, 3)
        let f = try tree.node(0, 5), j = try tree.node(0, 6)
        let g = try tree.node(1, 0), h = try tree.node(1, 1), i = try tree.node(1, 2), k = try tree.node(2, 0)
        let l = Merkle.nodeHash(i, j)
        #expect(try Merkle.proveInclusion(index: 0, size: 7, node: tree.node) == [b, h, l])
        #expect(try Merkle.proveInclusion(index: 3, size: 7, node: tree.node) == [c, g, l])
        #expect(try Merkle.proveInclusion(index: 4, size: 7, node: tree.node) == [f, j, k])
        #expect(try Merkle.proveInclusion(index: 6, size: 7, node: tree.node) == [i, k])
        #expect(try Merkle.proveConsistency(old: 3, new: 7, node: tree.node) == [c, d, g, l])
        #expect(try Merkle.proveConsistency(old: 4, new: 7, node: tree.node) == [l])
        #expect(try Merkle.proveConsistency(old: 6, new: 7, node: tree.node) == [i, j, k])
        _ = a
    }

    /// Every tree size from 1 to 100: every leaf's inclusion proof, and every pair of sizes' consistency proof.
    @Test func exhaustiveUpTo100() throws {
        let tree = ReferenceTree.numbered(100)
        var memo = [String: [UInt8]]()
        let node: Merkle.NodeSource = { level, index in
            if let hash = memo["\(level)/\(index)"] { return hash }
            let hash = try tree.node(level, index)
            memo["\(level)/\(index)"] = hash
            return hash
        }
        var roots = [Merkle.emptyRoot]
        for size in 1...100 { roots.append(try Merkle.root(size: Int64(size), node: node)) }
        #expect(roots[100] == tree.mth(0, 100))
        for size in 1...100 {
            for index in 0..<size {
                let proof = try Merkle.proveInclusion(index: Int64(index), size: Int64(size), node: node)
                try Merkle.checkInclusion(index: Int64(index), size: Int64(size), leafHash: try node(0, Int64(index)), proof: proof, root: roots[size])
            }
            for old in 1...size {
                let proof = try Merkle.proveConsistency(old: Int64(old), new: Int64(size), node: node)
                try Merkle.checkConsistency(old: Int64(old), new: Int64(size), oldRoot: roots[old], newRoot: roots[size], proof: proof)
            }
        }
    }

    @Test func hostileInclusionProofsAreRejected() throws {
        let tree = ReferenceTree.numbered(13)
        let root = try Merkle.root(size: 13, node: tree.node)
        let leaf = try tree.node(0, 5)
        let proof = try Merkle.proveInclusion(index: 5, size: 13, node: tree.node)
        try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: proof, root: root)
        for hashIndex in proof.indices {
            for bit in 0..<256 {
                var bad = proof
                bad[hashIndex][bit / 8] ^= UInt8(1 << (bit % 8))
                #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: bad, root: root) }
            }
        }
        for length in 0..<proof.count {
            #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: Array(proof.prefix(length)), root: root) }
        }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: proof + [root], root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 6, size: 13, leafHash: leaf, proof: proof, root: root) }
        // A size with another path shape fails. (Sizes 9 to 16 share leaf 5's path shape, so the
        // proof alone does not pin the size: the signed checkpoint, which binds size and root, does.)
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 6, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 40, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 13, size: 13, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: [Array(proof[0].prefix(31))] + proof.dropFirst(), root: root) }
    }

    @Test func hostileConsistencyProofsAreRejected() throws {
        let tree = ReferenceTree.numbered(21)
        let old = try Merkle.root(size: 6, node: tree.node), new = try Merkle.root(size: 21, node: tree.node)
        let proof = try Merkle.proveConsistency(old: 6, new: 21, node: tree.node)
        try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: proof)
        for hashIndex in proof.indices {
            for bit in 0..<256 {
                var bad = proof
                bad[hashIndex][bit / 8] ^= UInt8(1 << (bit % 8))
                #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: bad) }
            }
        }
        for length in 0..<proof.count {
            #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: Array(proof.prefix(length))) }
        }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: proof + [old]) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: new, newRoot: old, proof: proof) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 21, new: 6, oldRoot: new, newRoot: old, proof: proof) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 6, oldRoot: old, newRoot: new, proof: []) }
    }
}
