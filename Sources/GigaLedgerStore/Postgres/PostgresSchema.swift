import Foundation
import GigaLedgerCore

/// A PostgreSQL ledger's schema: made from schema/postgres/ledger.sql, checked against
/// schema/postgres/catalog.txt (schema/FORMAT.md, "A ledger on PostgreSQL").
enum PostgresSchema {
    static func file(_ name: String) -> String {
        guard let text = EmbeddedPostgresSchema.all.first(where: { $0.0 == name })?.1 else {
            preconditionFailure("schema/postgres/\(name) is not embedded")
        }
        return text
    }

    static var creationSQL: String { file("ledger.sql") }
    static var catalogQuery: String { file("catalog.sql") }
    /// What the catalog query returns for a ledger made by `creationSQL`, a line each.
    static var expectedCatalog: [String] { file("catalog.txt").split(separator: "\n").map(String.init) }
    /// The schema version a ledger made by this code records (the SQLite migration it matches).
    static let version = "0008_near_facts"
    /// Older schema versions this code still reads (verify, reports, copy), each with the tables
    /// its catalog lacks: a ledger made by an older GigaLedger keeps verifying. It is written to
    /// after a `gigaledger copy` to a new database, which makes the current schema.
    static let older: [String: [String]] = ["0007_log_keys": ["near_facts"]]
    /// Every table the schema makes, for the grants an administrator gives the application's role.
    static let tables = [
        "schema_version", "entries", "keys", "key_revocations", "factories", "partners", "corrections",
        "merkle_nodes", "checkpoints", "imports", "cosignatures", "facts", "near_facts",
    ]

    /// Whether the connected database already holds a ledger (or anything named like one of its tables).
    static func existingTables(_ pg: PostgresSession) throws -> [String] {
        try pg.rows("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1").map { $0[0].textValue }
    }

    static func hasTable(_ pg: PostgresSession, _ name: String) throws -> Bool {
        try pg.rows("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?)", [.text(name)]).first?.first
            == .integer(1)
    }

    /// Makes the schema, in the caller's transaction.
    static func create(_ pg: PostgresSession) throws {
        try pg.script(creationSQL)
    }

    /// Removes what `create` made (a ledger whose genesis could not be written), in the caller's transaction.
    static func drop(_ pg: PostgresSession) throws {
        try pg.execute("DROP TABLE IF EXISTS \(tables.reversed().joined(separator: ", ")) CASCADE")
        try pg.execute("DROP FUNCTION IF EXISTS gigaledger_follow_head(), gigaledger_append_only()")
    }

    /// How the database's schema differs from what `create` makes; nil when it does not.
    static func difference(_ pg: PostgresSession) throws -> String? {
        let versions = try pg.rows("SELECT version FROM schema_version").map { $0[0].textValue }
        let lacking: [String]
        if versions == [version] {
            lacking = []
        } else if versions.count == 1, let tables = older[versions[0]] {
            lacking = tables
        } else {
            return "schema_version holds \(versions.map { InputError.quoted($0) }.joined(separator: ", ")), not \(InputError.quoted(version)) alone"
        }
        let stored = try pg.rows(catalogQuery).map { $0[0].textValue }
        let expected = expectedCatalog.filter { line in !lacking.contains { Self.names(line, table: $0) } }
        if let missing = expected.first(where: { !stored.contains($0) }) {
            let name = missing.split(separator: " ").prefix(2).joined(separator: " ")
            let present = stored.contains { $0.split(separator: " ").prefix(2).joined(separator: " ") == name }
            return "\(name) is \(present ? "not defined as the schema defines it" : "missing") (expected: \(missing))"
        }
        if let extra = stored.first(where: { !expected.contains($0) }) { return "\(extra) is not part of the schema" }
        return nil
    }

    /// Whether a catalog line is about `table`: the table, its columns, constraints, indexes and triggers.
    static func names(_ line: String, table: String) -> Bool {
        let words = line.split(separator: " ")
        guard words.count >= 2 else { return false }
        switch words[0] {
        case "table", "constraint": return words[1] == table
        case "column": return words[1].hasPrefix(table + ".")
        case "index": return line.contains(" ON \(table) USING ")
        case "trigger": return line.contains(" ON \(table) FOR EACH ")
        default: return false
        }
    }

    /// What the connected role may do that only the ledger's administrator should (schema/FORMAT.md,
    /// "A ledger on PostgreSQL": the application's role is granted SELECT and INSERT only).
    static func privilegeWarnings(_ pg: PostgresSession) throws -> [String] {
        let rows = try pg.rows(
            """
            SELECT c.relname::text, pg_get_userbyid(c.relowner) = current_user,
                   has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE')
            FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' ORDER BY 1
            """)
        var owned: [String] = [], changeable: [String] = []
        for row in rows {
            if row[1] == .integer(1) { owned.append(row[0].textValue) }
            if row[2] == .integer(1) || row[3] == .integer(1) || row[4] == .integer(1) { changeable.append(row[0].textValue) }
        }
        var warnings: [String] = []
        let role = try pg.rows("SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user").first
        let user = role?[0].textValue ?? "?"
        if role?[1] == .integer(1) {
            warnings.append(
                "PostgreSQL role \(user) is a superuser: it can change anything, the triggers included; give the server and the officers a role granted SELECT and INSERT only (the SQL `gigaledger init` and `gigaledger copy` print)"
            )
        } else if !owned.isEmpty {
            warnings.append(
                "PostgreSQL role \(user) owns the ledger's tables, so it can drop their append-only triggers: give the server and the officers a role granted SELECT and INSERT only (the SQL `gigaledger init` and `gigaledger copy` print)"
            )
        } else if !changeable.isEmpty {
            warnings.append(
                "PostgreSQL role \(user) may UPDATE, DELETE or TRUNCATE \(changeable.joined(separator: ", ")): grant it SELECT and INSERT only")
        }
        return warnings
    }

    /// The SQL an administrator runs to let `role` use the ledger as the server and officers do:
    /// SELECT and INSERT on every table, nothing else.
    static func grantSQL(role: String) -> String {
        let list = tables.joined(separator: ", ")
        return """
            CREATE ROLE \(role) LOGIN PASSWORD '...';
            REVOKE ALL ON \(list) FROM PUBLIC, \(role);
            GRANT SELECT, INSERT ON \(list) TO \(role);
            """
    }
}
