import Foundation
import GRDB
import GigaLedgerCore

/// The Merkle tree's complete subtrees in the `merkle_nodes` table (schema/FORMAT.md, "Merkle tree").
enum TreeStore {
    /// Looks nodes up by primary key; a missing node means the table does not match the entries.
    static let selectNode = "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?"

    static func nodeSource(_ connection: any StoreConnection) -> Merkle.NodeSource {
        { level, index in
            // One statement per node, cached on SQLite: proofs and appends look nodes up one at a time.
            guard let hash = try connection.blobs(selectNode, [.integer(Int64(level)), .integer(index)]).first else {
                throw LedgerError.treeIncomplete(level: level, index: index)
            }
            return hash
        }
    }

    static func insert(_ node: MerkleFrontier.Node, connection: any StoreConnection) throws {
        try connection.insert(
            "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", [.integer(Int64(node.level)), .integer(node.index), .blob(node.hash)])
    }

    /// Builds the tree for a ledger made before migration 0002, in the migration's transaction.
    static func backfill(_ db: Database) throws {
        var tree = TreeAppender()
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, hash FROM entries ORDER BY seq")
        while let row = try rows.next() {
            try tree.append(entryHash: [UInt8](row["hash"] as Data), seq: row["seq"], connection: SQLiteConnection(db: db))
        }
    }
}

/// Stores the leaves of appended entries and the subtrees they complete: O(log n) writes per leaf.
/// The tree's right edge (`MerkleFrontier`, the same code `verify` recomputes the tree with) is
/// read from the table once, at the first append of a transaction, and kept for the rest of it.
public struct TreeAppender {
    private var frontier: MerkleFrontier?

    public init() {}

    /// Leaf index = seq - 1; leaf bytes = the entry hash.
    mutating func append(entryHash: [UInt8], seq: Int64, connection: any StoreConnection) throws {
        // Taken out of `frontier` so that appending changes the one copy in place (no copy-on-write per leaf).
        var edge = frontier.take() ?? MerkleFrontier(size: seq - 1, node: TreeStore.nodeSource(connection))
        // A gap in the stored sequence (a damaged file being migrated) must not crash the process.
        guard edge.size == seq - 1 else { throw LedgerError.damaged("entry \(seq) does not follow a Merkle tree of \(edge.size) entries") }
        for node in try edge.append(leafHash: Merkle.leafHash(entryHash)) { try TreeStore.insert(node, connection: connection) }
        frontier = edge
    }
}
