import Foundation
import GRDB

/// The Merkle tree's complete subtrees in the `merkle_nodes` table (schema/FORMAT.md, "Merkle tree").
enum MerkleStore {
    /// Looks nodes up by primary key; a missing node means the table does not match the entries.
    static func nodeSource(_ db: Database) -> Merkle.NodeSource {
        { level, index in
            guard let data = try Data.fetchOne(db, sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", arguments: [level, index]) else {
                throw LedgerError.treeIncomplete(level: level, index: index)
            }
            return [UInt8](data)
        }
    }

    /// Stores the leaf for the entry `seq` and every subtree it completes: O(log n) reads and writes,
    /// in the append's transaction. Leaf index = seq - 1; leaf bytes = the entry hash.
    static func appendLeaf(entryHash: [UInt8], seq: Int64, db: Database) throws {
        let node = nodeSource(db)
        var level = 0, index = seq - 1, hash = Merkle.leafHash(entryHash)
        try insert(level: level, index: index, hash: hash, db: db)
        while index & 1 == 1 {
            hash = Merkle.nodeHash(try node(level, index - 1), hash)
            level += 1
            index >>= 1
            try insert(level: level, index: index, hash: hash, db: db)
        }
    }

    static func insert(level: Int, index: Int64, hash: [UInt8], db: Database) throws {
        try db.execute(sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", arguments: [level, index, Data(hash)])
    }

    /// Builds the tree for a ledger made before migration 0002, in the migration's transaction.
    static func backfill(_ db: Database) throws {
        var frontier = MerkleFrontier()
        let rows = try Row.fetchCursor(db, sql: "SELECT hash FROM entries ORDER BY seq")
        while let row = try rows.next() {
            for node in frontier.append(leafHash: Merkle.leafHash([UInt8](row["hash"] as Data))) {
                try insert(level: node.level, index: node.index, hash: node.hash, db: db)
            }
        }
    }
}
