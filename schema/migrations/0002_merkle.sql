-- GigaLedger schema, migration 0002: the Merkle tree over the entries, and the checkpoints signed.
-- schema/FORMAT.md, "Merkle tree" and "Checkpoints".

-- Every complete subtree of the tree, stored once when the append that completes it commits:
-- level 0 holds leaf hashes (leaf idx is entry idx + 1), level L node idx covers leaves
-- idx * 2^L to (idx + 1) * 2^L - 1. About two rows per entry; any proof is O(log n) lookups.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- Checkpoints this ledger signed, as C2SP signed notes, by tree size.
CREATE TABLE checkpoints (
    size       INTEGER PRIMARY KEY CHECK (size >= 1),
    root       BLOB    NOT NULL CHECK (length(root) = 32),
    note       TEXT    NOT NULL,
    signed_at  TEXT    NOT NULL
) STRICT;

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'gigaledger: merkle_nodes is append-only'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'gigaledger: merkle_nodes is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gigaledger: checkpoints is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'gigaledger: checkpoints is append-only'); END;
