import GigaLedgerCore
import Synchronization

/// Tree nodes read in committed snapshots, kept in memory for the answers a server makes on every
/// append (a checkpoint's root, the head's inclusion proof, a consistency proof from the size an
/// office saw last): consecutive sizes ask for nearly the same nodes, and each read through SQL
/// costs microseconds where a lookup here costs nanoseconds. A stored node never changes once
/// written (its subtree is complete, and the ledger's triggers refuse UPDATE and DELETE), so a node
/// read from committed state stays right for the life of the process. Nodes read in a write
/// transaction (not committed yet) are never kept, and `verify` never reads through it: it checks
/// every stored node itself.
final class NodeCache: Sendable {
    /// At most this many nodes (about 6 MB with the table); when full, it starts again.
    static let nodesMax = 65_536

    private struct Key: Hashable {
        let level: Int
        let index: Int64
    }
    private let nodes = Mutex<[Key: Merkle.Hash]>([:])

    func node(level: Int, index: Int64) -> Merkle.Hash? {
        nodes.withLock { $0[Key(level: level, index: index)] }
    }

    func keep(_ hash: Merkle.Hash, level: Int, index: Int64) {
        nodes.withLock { nodes in
            if nodes.count >= Self.nodesMax { nodes.removeAll(keepingCapacity: true) }
            nodes[Key(level: level, index: index)] = hash
        }
    }

    /// `stored` through the cache: a node kept is answered from memory, another read and kept.
    func source(over stored: @escaping Merkle.NodeSource) -> Merkle.NodeSource {
        { level, index in
            if let hash = self.node(level: level, index: index) { return hash }
            let hash = try stored(level, index)
            self.keep(hash, level: level, index: index)
            return hash
        }
    }

    /// Only the nodes kept: a missing one throws `NotKept` (nothing is read).
    var keptOnly: Merkle.NodeSource {
        { level, index in
            guard let hash = self.node(level: level, index: index) else { throw NotKept() }
            return hash
        }
    }

    struct NotKept: Error {}
}
