-- GigaLedger schema, migration 0008: keys that find the earlier contribution or access records a
-- new one may repeat with other facts (another reference, a few days apart, a reference in other
-- case), for the duplicate rule (schema/FORMAT.md, "Index tables", `near_facts`). One row per
-- contribution or access entry; the rows of a ledger made before this migration are written by
-- the migration itself (in Swift, in the same transaction).
CREATE TABLE near_facts (
    seq        INTEGER PRIMARY KEY REFERENCES entries(seq),
    amount_key INTEGER NOT NULL,
    ref_key    INTEGER NOT NULL
) STRICT;
CREATE INDEX near_facts_by_amount ON near_facts (amount_key);
CREATE INDEX near_facts_by_ref ON near_facts (ref_key);

CREATE TRIGGER near_facts_no_update BEFORE UPDATE ON near_facts
BEGIN SELECT RAISE(ABORT, 'gigaledger: near_facts is append-only'); END;
CREATE TRIGGER near_facts_no_delete BEFORE DELETE ON near_facts
BEGIN SELECT RAISE(ABORT, 'gigaledger: near_facts is append-only'); END;
