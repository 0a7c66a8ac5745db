-- GigaLedger schema, migration 0004: `entries` without the UNIQUE indexes on prev_hash and hash.
-- The trigger entries_follow_head makes every entry follow the head (seq = the last seq + 1 and
-- prev_hash = the hash of the entry before it); with seq as the primary key, no two entries can
-- share a predecessor, so the two indexes added nothing to that floor. Being on random 32-byte
-- keys, they cost every append B-tree writes at random places: a third of a large import's time.
-- SQLite cannot drop a column constraint, so the table is rebuilt as sqlite.org/lang_altertable.html
-- describes: a new table, every row copied unchanged, the old one dropped, the new one renamed,
-- the triggers made again; all in the migration's transaction (foreign keys checked at its end).
CREATE TABLE entries_0004 (
    seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
    type        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    prev_hash   BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash        BLOB    NOT NULL CHECK (length(hash) = 32),
    signer      TEXT    NOT NULL CHECK (length(signer) = 16),
    signature   BLOB    NOT NULL CHECK (length(signature) = 64),
    recorded_at TEXT    NOT NULL
) STRICT;
INSERT INTO entries_0004 (seq, type, body, prev_hash, hash, signer, signature, recorded_at)
    SELECT seq, type, body, prev_hash, hash, signer, signature, recorded_at FROM entries ORDER BY seq;
DROP TABLE entries;
ALTER TABLE entries_0004 RENAME TO entries;

CREATE TRIGGER entries_follow_head BEFORE INSERT ON entries
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM entries WHERE seq = NEW.seq - 1), zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'gigaledger: an entry must follow the head of the chain');
END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'gigaledger: entries are append-only; record a correction instead'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'gigaledger: entries are append-only; record a correction instead'); END;
