-- GigaLedger schema, migration 0003: bulk imports (schema/FORMAT.md, "Entry types", `import`).
-- One row per `import` entry, so that the same file imported twice is caught by its SHA-256.
CREATE TABLE imports (
    seq         INTEGER PRIMARY KEY REFERENCES entries(seq),
    file_sha256 TEXT    NOT NULL CHECK (length(file_sha256) = 64)
) STRICT;
CREATE INDEX imports_by_file ON imports (file_sha256);

CREATE TRIGGER imports_no_update BEFORE UPDATE ON imports
BEGIN SELECT RAISE(ABORT, 'gigaledger: imports is append-only'); END;
CREATE TRIGGER imports_no_delete BEFORE DELETE ON imports
BEGIN SELECT RAISE(ABORT, 'gigaledger: imports is append-only'); END;
