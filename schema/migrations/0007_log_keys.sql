-- GigaLedger schema, migration 0007: the `log` role (schema/FORMAT.md sections 5 and 12), a key
-- the authority enrols to sign checkpoints only, which the server holds so that the authority key
-- can stay offline. The CHECK on keys.role names the roles, and SQLite cannot change a CHECK, so the
-- table is rebuilt as migration 0004 rebuilt `entries`: a new table, every row copied unchanged,
-- the old one dropped, the new one renamed, the triggers made again, in the migration's transaction.
CREATE TABLE keys_0007 (
    key_id     TEXT    PRIMARY KEY,
    public_key BLOB    NOT NULL CHECK (length(public_key) = 32),
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('authority', 'officer', 'auditor', 'log')),
    scopes     TEXT    NOT NULL,
    seq        INTEGER NOT NULL UNIQUE REFERENCES entries(seq)
) STRICT;
INSERT INTO keys_0007 (key_id, public_key, name, role, scopes, seq)
    SELECT key_id, public_key, name, role, scopes, seq FROM keys ORDER BY seq;
DROP TABLE keys;
ALTER TABLE keys_0007 RENAME TO keys;

CREATE TRIGGER keys_no_update BEFORE UPDATE ON keys
BEGIN SELECT RAISE(ABORT, 'gigaledger: keys are append-only; record a key-revoke entry instead'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys
BEGIN SELECT RAISE(ABORT, 'gigaledger: keys are append-only; record a key-revoke entry instead'); END;
