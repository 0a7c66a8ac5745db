-- GigaLedger schema on PostgreSQL: the same tables, columns and rows as a SQLite ledger after its
-- migrations through 0008_near_facts (schema/migrations), so that every statement of the store reads
-- and writes both alike, and `gigaledger copy` moves a ledger between them byte for byte.
-- Types: SQLite's INTEGER is bigint, BLOB is bytea, TEXT is text compared and ordered by bytes
-- (COLLATE "C"), as SQLite compares text. `init` runs this in one transaction (schema/FORMAT.md,
-- "A ledger on PostgreSQL"); `verify` compares the database's catalog with schema/postgres/catalog.txt.

CREATE TABLE schema_version (
    version text COLLATE "C" PRIMARY KEY
);
INSERT INTO schema_version (version) VALUES ('0008_near_facts');

CREATE TABLE entries (
    seq         bigint PRIMARY KEY CHECK (seq >= 1),
    type        text COLLATE "C" NOT NULL,
    body        bytea  NOT NULL,
    prev_hash   bytea  NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea  NOT NULL CHECK (length(hash) = 32),
    signer      text COLLATE "C" NOT NULL CHECK (length(signer) = 16),
    signature   bytea  NOT NULL CHECK (length(signature) = 64),
    recorded_at text COLLATE "C" NOT NULL
);

-- Every entry follows the head: seq = the last seq + 1 and prev_hash = the hash of the entry before
-- it (32 zero bytes for the first), as SQLite's trigger entries_follow_head. Writers take the
-- ledger's advisory lock first, so the head they read is the head when they insert.
CREATE FUNCTION gigaledger_follow_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
       OR NEW.prev_hash IS DISTINCT FROM COALESCE((SELECT hash FROM entries WHERE seq = NEW.seq - 1), '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) THEN
        RAISE EXCEPTION 'gigaledger: an entry must follow the head of the chain';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER entries_follow_head BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION gigaledger_follow_head();

-- Nothing is updated, deleted or truncated, in any table.
CREATE FUNCTION gigaledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gigaledger: % is append-only; record a correction instead', TG_TABLE_NAME;
END
$$;

CREATE TABLE keys (
    key_id     text COLLATE "C" PRIMARY KEY,
    public_key bytea  NOT NULL CHECK (length(public_key) = 32),
    name       text COLLATE "C" NOT NULL,
    role       text COLLATE "C" NOT NULL CHECK (role IN ('authority', 'officer', 'auditor', 'log')),
    scopes     text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL UNIQUE REFERENCES entries(seq)
);

CREATE TABLE key_revocations (
    key_id text COLLATE "C" PRIMARY KEY REFERENCES keys(key_id),
    seq    bigint NOT NULL UNIQUE REFERENCES entries(seq)
);

CREATE TABLE factories (
    id  text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL UNIQUE REFERENCES entries(seq)
);

CREATE TABLE partners (
    id  text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL UNIQUE REFERENCES entries(seq)
);

CREATE TABLE corrections (
    corrected_seq bigint PRIMARY KEY REFERENCES entries(seq),
    seq           bigint NOT NULL UNIQUE REFERENCES entries(seq)
);

CREATE TABLE merkle_nodes (
    level bigint NOT NULL CHECK (level >= 0 AND level < 64),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TABLE checkpoints (
    size      bigint PRIMARY KEY CHECK (size >= 1),
    root      bytea NOT NULL CHECK (length(root) = 32),
    note      text COLLATE "C" NOT NULL,
    signed_at text COLLATE "C" NOT NULL
);

CREATE TABLE imports (
    seq         bigint PRIMARY KEY REFERENCES entries(seq),
    file_sha256 text COLLATE "C" NOT NULL CHECK (length(file_sha256) = 64)
);
CREATE INDEX imports_by_file ON imports (file_sha256);

CREATE TABLE cosignatures (
    size   bigint NOT NULL REFERENCES checkpoints(size),
    key_id text COLLATE "C" NOT NULL CHECK (length(key_id) = 16),
    line   text COLLATE "C" NOT NULL,
    PRIMARY KEY (size, key_id)
);

CREATE TABLE facts (
    seq    bigint PRIMARY KEY REFERENCES entries(seq),
    digest bigint NOT NULL
);
CREATE INDEX facts_by_digest ON facts (digest);

CREATE TABLE near_facts (
    seq        bigint PRIMARY KEY REFERENCES entries(seq),
    amount_key bigint NOT NULL,
    ref_key    bigint NOT NULL
);
CREATE INDEX near_facts_by_amount ON near_facts (amount_key);
CREATE INDEX near_facts_by_ref ON near_facts (ref_key);

CREATE TRIGGER schema_version_append_only BEFORE UPDATE OR DELETE ON schema_version FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER schema_version_no_truncate BEFORE TRUNCATE ON schema_version FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER keys_append_only BEFORE UPDATE OR DELETE ON keys FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER keys_no_truncate BEFORE TRUNCATE ON keys FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER key_revocations_append_only BEFORE UPDATE OR DELETE ON key_revocations FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER key_revocations_no_truncate BEFORE TRUNCATE ON key_revocations FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER factories_append_only BEFORE UPDATE OR DELETE ON factories FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER factories_no_truncate BEFORE TRUNCATE ON factories FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER partners_append_only BEFORE UPDATE OR DELETE ON partners FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER partners_no_truncate BEFORE TRUNCATE ON partners FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER corrections_append_only BEFORE UPDATE OR DELETE ON corrections FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER corrections_no_truncate BEFORE TRUNCATE ON corrections FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER imports_append_only BEFORE UPDATE OR DELETE ON imports FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER imports_no_truncate BEFORE TRUNCATE ON imports FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON cosignatures FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER cosignatures_no_truncate BEFORE TRUNCATE ON cosignatures FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER facts_append_only BEFORE UPDATE OR DELETE ON facts FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER facts_no_truncate BEFORE TRUNCATE ON facts FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER near_facts_append_only BEFORE UPDATE OR DELETE ON near_facts FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only();
CREATE TRIGGER near_facts_no_truncate BEFORE TRUNCATE ON near_facts FOR EACH STATEMENT EXECUTE FUNCTION gigaledger_append_only();
