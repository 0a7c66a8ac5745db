import Foundation
import GigaLedgerCore

/// A ledger in a PostgreSQL database: the schema and the first rows in one transaction, reads in
/// `REPEATABLE READ` snapshots, writes behind the ledger's advisory lock (`PostgresSession.transaction`).
extension PostgresBackend: StoreBackend {
    var path: String { location.description }

    static func exists(at path: String) throws -> Bool {
        let backend = PostgresBackend(location: try PostgresLocation(url: path))
        return try backend.transaction(readOnly: true, lockWaitSeconds: LedgerStore.lockWaitSecondsDefault) {
            try PostgresSchema.hasTable($0, "entries")
        }
    }

    static func checkCreatable(at path: String) throws {
        let backend = PostgresBackend(location: try PostgresLocation(url: path))
        try backend.transaction(readOnly: true, lockWaitSeconds: LedgerStore.lockWaitSecondsDefault) { try refuseOccupied($0, backend.path) }
    }

    /// The schema and the rows in one transaction, so a failure or a kill leaves the database as it was.
    static func create<T>(at path: String, bulk: Bool, firstWrite body: (any StoreConnection) throws -> T) throws -> (PostgresBackend, T) {
        let backend = PostgresBackend(location: try PostgresLocation(url: path))
        let result = try backend.transaction(readOnly: false, lockWaitSeconds: LedgerStore.lockWaitSecondsDefault) { pg in
            try refuseOccupied(pg, backend.path)
            try PostgresSchema.create(pg)
            return try body(pg)
        }
        return (backend, result)
    }

    /// Refuses a database whose schema holds any table: a ledger's, or another application's (whose
    /// tables the verifier would find not to be the ledger's schema).
    private static func refuseOccupied(_ pg: PostgresSession, _ path: String) throws {
        if let table = try PostgresSchema.existingTables(pg).first {
            throw LedgerError.exists(path: "\(path) (its schema has the table \(table); give the ledger a database of its own)")
        }
    }

    static func open(at path: String, forWriting: Bool, lockWaitSeconds: TimeInterval, role: WriterRole) throws -> PostgresBackend {
        let backend = PostgresBackend(location: try PostgresLocation(url: path), role: role)
        backend.lockWaitSeconds = lockWaitSeconds
        try backend.transaction(readOnly: true, lockWaitSeconds: lockWaitSeconds) { pg in
            guard try PostgresSchema.hasTable(pg, "entries"), try PostgresSchema.hasTable(pg, "schema_version") else {
                throw LedgerError.notALedger(path: backend.path, "the database has no ledger tables (make one with `gigaledger init --ledger URL`)")
            }
            // A writer never writes under a schema it does not know.
            let versions = try pg.rows("SELECT version FROM schema_version").map { $0[0].textValue }
            if forWriting, versions != [PostgresSchema.version] {
                throw LedgerError.notALedger(
                    path: backend.path,
                    "its schema version \(versions.joined(separator: ", ")) cannot be written by this version (\(PostgresSchema.version))"
                        + (PostgresSchema.older[versions.joined(separator: ", ")] != nil
                            ? ": copy it to a new database with `gigaledger copy --from URL --to NEW_URL`, which makes the current schema and checks every entry, and write to that one"
                            : ""))
            }
        }
        if forWriting, role == .server { try backend.holdServerLock(waitSeconds: lockWaitSeconds) }
        return backend
    }

    /// Removes the tables of a ledger that holds at most its genesis entry (one just made), never more.
    static func removeFiles(at path: String) {
        guard let location = try? PostgresLocation(url: path) else { return }
        try? PostgresBackend(location: location).transaction(readOnly: false, lockWaitSeconds: LedgerStore.lockWaitSecondsDefault) { pg in
            guard try PostgresSchema.hasTable(pg, "entries"),
                (try pg.rows("SELECT COUNT(*) FROM entries").first?.first?.integer ?? 2) <= 1
            else { return }
            try PostgresSchema.drop(pg)
        }
    }

    func read<T>(_ body: (any StoreConnection) throws -> T) throws -> T {
        try transaction(readOnly: true, lockWaitSeconds: lockWaitSeconds) { try body($0) }
    }

    func write<T>(commit: Bool, bulk: Bool, _ body: (any StoreConnection) throws -> T) throws -> T {
        try transaction(readOnly: false, commit: commit, lockWaitSeconds: lockWaitSeconds) { try body($0) }
    }

    /// The server's session lock is probed with a `SELECT 1` and taken again when its session was lost.
    func holdWriterLock(waitSeconds: TimeInterval) throws {
        guard role == .server else { return }
        try holdServerLock(waitSeconds: waitSeconds, probe: true)
    }

    func announce(server url: String) { announce(url) }

    /// A copy kept by `sync` is marked inside the database, where every connection and role sees
    /// it: this comment on the `entries` table (schema/FORMAT.md section 17), covered by no
    /// verification; set and cleared by the tables' owner (the role that made the copy), never by
    /// a role that may only SELECT and INSERT.
    static let copyComment = "gigaledger: a copy kept by gigaledger sync; write through its server"

    func isMarkedCopy() throws -> Bool {
        try transaction(readOnly: true, lockWaitSeconds: lockWaitSeconds) { pg in
            try pg.rows("SELECT obj_description('entries'::regclass, 'pg_class')").first?.first?.textValue == Self.copyComment
        }
    }

    func markCopy(_ on: Bool) throws {
        try transaction(readOnly: false, lockWaitSeconds: lockWaitSeconds) { pg in
            // Only the tables' owner may: said as such, not as a role that may not read.
            let owns = try pg.rows(
                "SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'entries'::regclass), 'USAGE')"
            ).first?.first
            guard owns == .integer(1) else {
                throw LedgerError.readOnly(
                    path: path,
                    "this role may not \(on ? "mark it as a copy kept by sync" : "detach it"): only the owner of its tables may (sync as the role that made the copy); nothing was taken in or changed"
                )
            }
            try pg.execute("COMMENT ON TABLE entries IS " + (on ? "'\(Self.copyComment)'" : "NULL"))
        }
    }
}

/// A PostgreSQL transaction's connection: statements pipelined, scans in pages.
extension PostgresSession: StoreConnection {
    /// Rows a scan (every entry, a tree level, an index table) fetches per statement.
    static let scanRowsPerFetch = 5_000

    func integer(_ sql: String, _ values: [ColumnValue]) throws -> Int64? { try rows(sql, values).first?.first?.integer }

    func integers(_ sql: String, _ values: [ColumnValue]) throws -> [Int64] { try rows(sql, values).compactMap { $0.first?.integer } }

    func blobs(_ sql: String, _ values: [ColumnValue]) throws -> [[UInt8]] { try rows(sql, values).map { $0[0].bytesValue } }

    func entries(_ sql: String, _ values: [ColumnValue]) throws -> [Entry] { try rows(sql, values).map(Self.entry(fromValues:)) }

    func scanEntries() throws -> EntryCursor {
        let pages = PagedScan(
            self, sql: "SELECT \(StoreReader.entryColumns) FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", key: { $0[0].integer ?? 0 })
        return EntryCursor { try pages.next().map(Self.entry(fromValues:)) }
    }

    func scanTreeLevel(_ level: Int) throws -> TreeLevelScan {
        let pages = PagedScan(
            self, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = \(level) AND idx > ? ORDER BY idx LIMIT ?",
            key: { $0[0].integer ?? 0 }, after: -1)
        return TreeLevelScan { try pages.next().map { ($0[0].integer ?? -1, $0[1].bytesValue) } }
    }

    func scanIndex(_ table: IndexRow.Table) throws -> IndexScan {
        // Each index table's last column is `seq`, unique: the key the pages follow.
        let columns = table.columns.joined(separator: ", ")
        let pages = PagedScan(self, sql: "SELECT \(columns) FROM \(table.name) WHERE seq > ? ORDER BY seq LIMIT ?", key: { $0.last?.integer ?? 0 })
        return IndexScan { try pages.next() }
    }

    /// Through `scanIndex`'s pages: memory holds a page, not the table.
    func forEachIntegerPair(in table: IndexRow.Table, columns: Int, _ body: (Int64?, Int64?) -> Void) throws {
        let scan = try scanIndex(table)
        while let row = try scan.next() { body(row.first?.integer, columns == 2 && row.count > 1 ? row[1].integer : nil) }
    }

    func hasTable(_ name: String) throws -> Bool { try PostgresSchema.hasTable(self, name) }

    func schemaDifference() throws -> SchemaDifference? { try PostgresSchema.difference(self).map { SchemaDifference(reason: $0) } }

    /// None to read: PostgreSQL keeps its own checksums and write-ahead log; its pages are not for an application to read.
    func storageProblem() throws -> String? { nil }

    func startStorageCheck() -> StorageCheck { StorageCheck(finished: .success(nil)) }

    /// A role that may update, delete or truncate, or that owns the tables and so may drop their triggers.
    func privilegeWarnings() throws -> [String] { try PostgresSchema.privilegeWarnings(self) }

    /// An entry from PostgreSQL's values; a value of another kind than the column's reads as SQLite's
    /// would (an empty text or blob, 0), which no check accepts.
    static func entry(fromValues row: [ColumnValue]) -> Entry {
        Entry(
            seq: row[0].integer ?? 0, type: row[1].textValue, body: row[2].bytesValue, prevHash: row[3].bytesValue, hash: row[4].bytesValue,
            signer: row[5].textValue, signature: row[6].bytesValue, recordedAt: row[7].textValue)
    }
}

/// A PostgreSQL scan in pages of `PostgresSession.scanRowsPerFetch` rows, each page's statement taking
/// up after the last row's key (`sql` has two placeholders: the key to start after and the page's
/// size). In a read transaction (one snapshot) the pages are one consistent scan.
final class PagedScan {
    private let pg: PostgresSession
    private let sql: String
    private let key: ([ColumnValue]) -> Int64
    private var after: Int64
    private var page: [[ColumnValue]] = []
    private var position = 0
    private var finished = false

    init(_ pg: PostgresSession, sql: String, key: @escaping ([ColumnValue]) -> Int64, after: Int64 = 0) {
        self.pg = pg
        self.sql = sql
        self.key = key
        self.after = after
    }

    func next() throws -> [ColumnValue]? {
        if position == page.count {
            guard !finished else { return nil }
            page = try pg.rows(sql, [.integer(after), .integer(Int64(PostgresSession.scanRowsPerFetch))])
            position = 0
            finished = page.count < PostgresSession.scanRowsPerFetch
            guard let last = page.last else { return nil }
            after = key(last)
        }
        position += 1
        return page[position - 1]
    }
}
