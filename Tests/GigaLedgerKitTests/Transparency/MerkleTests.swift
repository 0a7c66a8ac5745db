import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

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

    /// rfc6962-vectors.json beside this file: the RFC 6962 test data of github.com/transparency-dev/merkle.
    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("rfc6962-vectors.json")
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    /// A frontier resumed over a stored tree of every size from 0 to 100 finishes the same nodes as
    /// one built from empty, and reads only the subtrees its appends merge with.
    @Test func aResumedFrontierReadsOnlyWhatItMerges() throws {
        let leaves = (0..<130).map { SHA256State.hash(Array("leaf \($0)".utf8)) }
        let tree = ReferenceTree(leaves: leaves)
        for size in 0...100 {
            var reads = 0
            var resumed = MerkleFrontier(size: Int64(size)) { level, index in
                reads += 1
                return try tree.node(level, index)
            }
            var fresh = MerkleFrontier()
            for leaf in leaves.prefix(size) { try fresh.append(leafHash: Merkle.leafHash(leaf)) }
            for (offset, leaf) in leaves[size..<(size + 30)].enumerated() {
                let expected = try fresh.append(leafHash: Merkle.leafHash(leaf))
                defer { if offset == 0 { #expect(reads == (~size).trailingZeroBitCount, "size \(size): the first append read \(reads)") } }
                let got = try resumed.append(leafHash: Merkle.leafHash(leaf))
                #expect(
                    got.map { "\($0.level)/\($0.index)/\(Encoding.hex($0.hash))" }
                        == expected.map { "\($0.level)/\($0.index)/\(Encoding.hex($0.hash))" },
                    "size \(size)")
            }
            #expect(reads <= size.nonzeroBitCount, "size \(size): \(reads) reads")  // each stored subtree read at most once
        }
    }

    @Test func publishedRootsAndLevelOneNodes() throws {
        let tree = ReferenceTree(leaves: Self.vectors.leaves_hex.map { Encoding.unhex($0)! })
        for (size, expected) in Self.vectors.root_hashes_hex.enumerated() {
            #expect(Encoding.hex(try Merkle.root(size: Int64(size), node: tree.node)) == expected, "size \(size)")
            var frontier = MerkleFrontier()
            for leaf in tree.leaves.prefix(size) { try frontier.append(leafHash: Merkle.leafHash(leaf)) }
            #expect(Encoding.hex(frontier.root) == expected, "frontier size \(size)")
        }
        for (index, expected) in Self.vectors.level_1_node_hashes_hex.enumerated() {
            #expect(Encoding.hex(try tree.node(1, Int64(index))) == expected)
        }
        // The empty tree: `printf '' | sha256sum`
        #expect(Encoding.hex(Merkle.emptyRoot) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    struct SevenLeaf: Decodable {
        struct Inclusion: Decodable {
            let index: Int64
            let proof: [String]
        }
        struct Consistency: Decodable {
            let old: Int64
            let proof: [String]
        }
        let nodes: [String: [Int64]]
        let inclusion: [Inclusion]
        let consistency: [Consistency]
    }

    /// c2sp-7-leaf.json: C2SP merkle-tree.md's worked example, proofs given as node labels.
    @Test func c2spSevenLeafExample() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("c2sp-7-leaf.json")
        let example = try JSONDecoder().decode(SevenLeaf.self, from: Data(contentsOf: url))
        let tree = ReferenceTree(leaves: Self.vectors.leaves_hex.prefix(7).map { Encoding.unhex($0)! })
        var labels = [String: [UInt8]]()
        for (offset, name) in ["a", "b", "c", "d", "e", "f", "g"].enumerated() { labels[name] = try tree.node(0, Int64(offset)) }
        for (name, at) in example.nodes { labels[name] = try tree.node(Int(at[0]), at[1]) }
        labels["l"] = Merkle.nodeHash(labels["j"]!, labels["g"]!)
        let root = try Merkle.root(size: 7, node: tree.node)
        #expect(root == Merkle.nodeHash(labels["k"]!, labels["l"]!))
        for item in example.inclusion {
            let proof = try Merkle.proveInclusion(index: item.index, size: 7, node: tree.node)
            #expect(proof == item.proof.map { labels[$0]! }, "inclusion of \(item.index)")
            try Merkle.checkInclusion(index: item.index, size: 7, leafHash: try tree.node(0, item.index), proof: proof, root: root)
        }
        for item in example.consistency {
            let proof = try Merkle.proveConsistency(old: item.old, new: 7, node: tree.node)
            #expect(proof == item.proof.map { labels[$0]! }, "consistency from \(item.old)")
            try Merkle.checkConsistency(old: item.old, new: 7, oldRoot: try Merkle.root(size: item.old, node: tree.node), newRoot: root, proof: proof)
        }
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
                try Merkle.checkInclusion(
                    index: Int64(index), size: Int64(size), leafHash: try node(0, Int64(index)), proof: proof, root: roots[size])
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
            #expect(throws: ProofError.self) {
                try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: Array(proof.prefix(length)), root: root)
            }
        }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: proof + [root], root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 6, size: 13, leafHash: leaf, proof: proof, root: root) }
        // A size with another path shape fails. (Sizes 9 to 16 share leaf 5's path shape, so the
        // proof alone does not pin the size: the signed checkpoint, which binds size and root, does.)
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 6, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 5, size: 40, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) { try Merkle.checkInclusion(index: 13, size: 13, leafHash: leaf, proof: proof, root: root) }
        #expect(throws: ProofError.self) {
            try Merkle.checkInclusion(index: 5, size: 13, leafHash: leaf, proof: [Array(proof[0].prefix(31))] + proof.dropFirst(), root: root)
        }
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
            #expect(throws: ProofError.self) {
                try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: Array(proof.prefix(length)))
            }
        }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: old, newRoot: new, proof: proof + [old]) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 21, oldRoot: new, newRoot: old, proof: proof) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 21, new: 6, oldRoot: new, newRoot: old, proof: proof) }
        #expect(throws: ProofError.self) { try Merkle.checkConsistency(old: 6, new: 6, oldRoot: old, newRoot: new, proof: []) }
    }
}
