-- GigaLedger schema, migration 0006: the facts of each contribution and access record, by digest
-- (schema/FORMAT.md, "Index tables"), so that recording the same facts twice is caught at once.
-- One row per contribution or access entry; the rows of a ledger made before this migration are
-- written by the migration itself (in Swift, in the same transaction).
CREATE TABLE facts (
    seq    INTEGER PRIMARY KEY REFERENCES entries(seq),
    digest INTEGER NOT NULL
) STRICT;
CREATE INDEX facts_by_digest ON facts (digest);

CREATE TRIGGER facts_no_update BEFORE UPDATE ON facts
BEGIN SELECT RAISE(ABORT, 'gigaledger: facts is append-only'); END;
CREATE TRIGGER facts_no_delete BEFORE DELETE ON facts
BEGIN SELECT RAISE(ABORT, 'gigaledger: facts is append-only'); END;
