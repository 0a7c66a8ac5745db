-- GigaLedger schema, migration 0005: auditors' cosignatures of the checkpoints the ledger keeps
-- (schema/FORMAT.md, "Checkpoints and cosignatures"). One row per checkpoint and auditor key:
-- the C2SP cosignature line, checked before it is stored and again by every verify.
CREATE TABLE cosignatures (
    size   INTEGER NOT NULL REFERENCES checkpoints(size),
    key_id TEXT    NOT NULL CHECK (length(key_id) = 16),
    line   TEXT    NOT NULL,
    PRIMARY KEY (size, key_id)
) STRICT;

CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'gigaledger: cosignatures is append-only'); END;
CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'gigaledger: cosignatures is append-only'); END;
