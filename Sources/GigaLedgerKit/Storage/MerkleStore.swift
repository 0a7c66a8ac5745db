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

    static func insert(level: Int, index: Int64, hash: [UInt8], db: Database) throws {
        try RawInsert.run(db, sql: "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", [.integer(Int64(level)), .integer(index), .blob(hash)])
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

/// Stores the leaves of appended entries and the subtrees they complete: O(log n) writes per leaf.
/// The left sibling a new node needs is the last node written at its level, so a run of appends
/// (an import) reads each from memory; the first append of a run reads it from the table.
struct MerkleAppender {
    private var lastAtLevel = [Int: (index: Int64, hash: [UInt8])]()

    /// Leaf index = seq - 1; leaf bytes = the entry hash.
    mutating func appendLeaf(entryHash: [UInt8], seq: Int64, db: Database) throws {
        var level = 0, index = seq - 1, hash = Merkle.leafHash(entryHash)
        while true {
            // The sibling first: storing this node replaces the last one known at its level.
            let sibling = index & 1 == 1 ? try leftSibling(level: level, index: index, db: db) : nil
            try store(level: level, index: index, hash: hash, db: db)
            guard let sibling else { return }
            hash = Merkle.nodeHash(sibling, hash)
            level += 1
            index >>= 1
        }
    }

    private func leftSibling(level: Int, index: Int64, db: Database) throws -> [UInt8] {
        if let last = lastAtLevel[level], last.index == index - 1 { return last.hash }
        return try MerkleStore.nodeSource(db)(level, index - 1)
    }

    private mutating func store(level: Int, index: Int64, hash: [UInt8], db: Database) throws {
        try MerkleStore.insert(level: level, index: index, hash: hash, db: db)
        lastAtLevel[level] = (index, hash)
    }
}
