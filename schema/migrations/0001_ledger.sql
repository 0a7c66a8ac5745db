-- GigaLedger schema, migration 0001: the entries and the index tables derived from them.
-- Every table is append-only: the triggers below reject UPDATE and DELETE.
-- The byte layout of what is hashed and signed is in schema/FORMAT.md.

-- One row per entry, in sequence order. Every column but `hash` and `signature` is inside
-- `body` or `prev_hash`, which the hash covers; the signature covers the hash.
CREATE TABLE entries (
    seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
    type        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    prev_hash   BLOB    NOT NULL UNIQUE CHECK (length(prev_hash) = 32),
    hash        BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    signer      TEXT    NOT NULL CHECK (length(signer) = 16),
    signature   BLOB    NOT NULL CHECK (length(signature) = 64),
    recorded_at TEXT    NOT NULL
) STRICT;

-- An entry may only be added right after the head, pointing at the head's hash
-- (the genesis entry at 32 zero bytes). The application checks this too; this is the floor.
CREATE TRIGGER entries_follow_head BEFORE INSERT ON entries
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM entries WHERE seq = NEW.seq - 1), zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'gigaledger: an entry must follow the head of the chain');
END;

-- Index tables: what appends need to look up quickly. Each row names the entry it comes
-- from; `gigaledger verify` rebuilds them from the entries and compares.
CREATE TABLE keys (
    key_id     TEXT    PRIMARY KEY,
    public_key BLOB    NOT NULL CHECK (length(public_key) = 32),
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('authority', 'officer', 'auditor')),
    scopes     TEXT    NOT NULL,
    seq        INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;

CREATE TABLE key_revocations (
    key_id TEXT    PRIMARY KEY REFERENCES keys(key_id),
    seq    INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;

CREATE TABLE factories (
    id  TEXT    PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;

CREATE TABLE partners (
    id  TEXT    PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;

CREATE TABLE corrections (
    corrected_seq INTEGER PRIMARY KEY REFERENCES entries(seq),
    seq           INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'gigaledger: entries are append-only; record a correction instead'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'gigaledger: entries are append-only; record a correction instead'); END;
CREATE TRIGGER keys_no_update BEFORE UPDATE ON keys
BEGIN SELECT RAISE(ABORT, 'gigaledger: keys are append-only; record a key-revoke entry instead'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys
BEGIN SELECT RAISE(ABORT, 'gigaledger: keys are append-only; record a key-revoke entry instead'); END;
CREATE TRIGGER key_revocations_no_update BEFORE UPDATE ON key_revocations
BEGIN SELECT RAISE(ABORT, 'gigaledger: key_revocations is append-only'); END;
CREATE TRIGGER key_revocations_no_delete BEFORE DELETE ON key_revocations
BEGIN SELECT RAISE(ABORT, 'gigaledger: key_revocations is append-only'); END;
CREATE TRIGGER factories_no_update BEFORE UPDATE ON factories
BEGIN SELECT RAISE(ABORT, 'gigaledger: factories is append-only'); END;
CREATE TRIGGER factories_no_delete BEFORE DELETE ON factories
BEGIN SELECT RAISE(ABORT, 'gigaledger: factories is append-only'); END;
CREATE TRIGGER partners_no_update BEFORE UPDATE ON partners
BEGIN SELECT RAISE(ABORT, 'gigaledger: partners is append-only'); END;
CREATE TRIGGER partners_no_delete BEFORE DELETE ON partners
BEGIN SELECT RAISE(ABORT, 'gigaledger: partners is append-only'); END;
CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections
BEGIN SELECT RAISE(ABORT, 'gigaledger: corrections is append-only'); END;
CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
BEGIN SELECT RAISE(ABORT, 'gigaledger: corrections is append-only'); END;
