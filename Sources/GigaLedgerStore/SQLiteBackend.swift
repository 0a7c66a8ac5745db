import Foundation
import GRDB
import GigaLedgerCore

/// A ledger in a SQLite file (through GRDB), with its writer lock (`FileWriterLock`).
final class SQLiteBackend: StoreBackend {
    let path: String
    let queue: DatabaseQueue
    /// Held while the file is open for writing (`WriterRole`).
    private let writerLock: FileWriterLock?
    /// For a file opened as immutable (read-only media): its size and modification time then.
    /// SQLite takes no lock on such a file, so a read that sees it changed is refused, not trusted.
    private let immutableStamp: FileStamp?

    private init(path: String, queue: DatabaseQueue, writerLock: FileWriterLock? = nil, immutableStamp: FileStamp? = nil) {
        self.path = path
        self.queue = queue
        self.writerLock = writerLock
        self.immutableStamp = immutableStamp
    }

    deinit {
        // The connection first: closing the lock's descriptor drops the process's locks on the file.
        if let writerLock {
            try? queue.close()
            writerLock.release()
        }
    }

    static func exists(at path: String) throws -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Refuses a path where one of the database's files exists, or whose folder does not.
    static func checkCreatable(at path: String) throws {
        try LedgerDatabase.refuseExisting(path: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LedgerError.notFound(path: path, "its folder \(folder) does not exist")
        }
    }

    /// Makes the file with the schema, then writes `body` in a first transaction; the file is
    /// removed when either fails (a caller that must survive a kill writes it under a temporary name first).
    static func create<T>(at path: String, bulk: Bool, firstWrite body: (any StoreConnection) throws -> T) throws -> (SQLiteBackend, T) {
        try checkCreatable(at: path)
        let backend: SQLiteBackend
        do {
            let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.writeWithoutTransaction { db in
                // First: `journal_mode = WAL` writes the file's first page, and a file's page size
                // cannot change once it is in WAL mode.
                try db.execute(sql: "PRAGMA page_size = \(LedgerStore.sqlitePageSizeBytes)")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA application_id = \(LedgerDatabase.applicationID)")
            }
            try LedgerDatabase.migrator().migrate(queue)
            backend = SQLiteBackend(path: path, queue: queue)
        } catch {
            removeFiles(at: path)
            throw LedgerDatabase.map(error, path: path)
        }
        do {
            return (backend, try backend.write(commit: true, bulk: bulk, body))
        } catch {
            removeFiles(at: path)
            throw error
        }
    }

    static func open(at path: String, forWriting: Bool, lockWaitSeconds: TimeInterval, role: WriterRole) throws -> SQLiteBackend {
        try LedgerDatabase.checkIsSQLiteFile(path: path)
        if forWriting { try LedgerDatabase.checkWritable(path: path) }
        let writerLock = forWriting && role != .dryRun ? try FileWriterLock.acquire(ledger: path, role: role, waitSeconds: lockWaitSeconds) : nil
        do {
            let queue =
                forWriting
                ? try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false, lockWaitSeconds: lockWaitSeconds))
                : try openForReading(path: path, lockWaitSeconds: lockWaitSeconds)
            let (applicationID, hasEntries) = try queue.read { db in
                (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0, try db.tableExists("entries"))
            }
            guard applicationID == LedgerDatabase.applicationID, hasEntries else {
                throw LedgerError.notALedger(path: path, "it is an SQLite database of another application")
            }
            // A writer never writes under a schema it does not know, nor re-runs a migration whose record was deleted.
            if forWriting, let problem = Schema.migrationsProblem(try queue.read(Schema.applied)) {
                throw LedgerError.notALedger(path: path, "its schema cannot be written by this version: \(problem)")
            }
            if forWriting, try !queue.read({ try LedgerDatabase.migrator().hasCompletedMigrations($0) }) {
                try LedgerDatabase.migrator().migrate(queue)
            }
            let stamp = !forWriting && queue.path.hasPrefix("file:") ? FileStamp(path: path) : nil
            return SQLiteBackend(path: path, queue: queue, writerLock: writerLock, immutableStamp: stamp)
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Opens a ledger read-only. On read-only media (a read-only folder, a read-only mount), SQLite
    /// cannot make the shared-memory file a WAL database needs: the file is then opened as
    /// immutable (sqlite.org/uri.html, `immutable=1`), which is right only because nothing can
    /// write it there. A WAL file with transactions not yet merged would be ignored that way, so
    /// such a ledger is refused with what to do instead.
    static func openForReading(path: String, lockWaitSeconds: TimeInterval) throws -> DatabaseQueue {
        let configuration = LedgerDatabase.configuration(readOnly: true, lockWaitSeconds: lockWaitSeconds)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            _ = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
            return queue
        } catch let error as DatabaseError where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) {
            let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
            guard wal == 0 else {
                throw LedgerError.readOnly(
                    path: path,
                    "it is on read-only media with a -wal file of transactions not merged into it; "
                        + "copy the ledger with its -wal file to a writable folder, or make a backup where it is written")
            }
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "?#%")
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let uri = "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?mode=ro&immutable=1"
            return try DatabaseQueue(path: uri, configuration: configuration)
        }
    }

    static func removeFiles(at path: String) {
        try? FileManager.default.removeItem(atPath: FileWriterLock.file(of: path))
        LedgerDatabase.removeFiles(path: path)
    }

    func read<T>(_ body: (any StoreConnection) throws -> T) throws -> T {
        let result: T
        do {
            result = try queue.inDatabase { db in
                try Self.inReadTransaction(db) { try body(SQLiteConnection(db: db, location: queue.path)) }
            }
        } catch {
            try checkUnchanged()
            throw LedgerDatabase.map(error, path: path)
        }
        try checkUnchanged()
        return result
    }

    /// `body` in a deferred transaction begun and ended by cached statements. Not GRDB's `read`:
    /// it turns `PRAGMA query_only` on and off around each read, and SQLite expires every prepared
    /// statement after a flag pragma, so every cached statement was compiled again at its next use
    /// (measured: a sixth of the server's CPU under officers' appends). The store's readers hold
    /// only reading statements.
    static func inReadTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK TRANSACTION") }
            throw error
        }
    }

    /// Refuses a read of an immutable file that was written meanwhile (it would be a mix of two states).
    private func checkUnchanged() throws {
        guard let immutableStamp, FileStamp(path: path) != immutableStamp else { return }
        throw LedgerError.readOnly(
            path: path,
            "it was written by another process while it was read as read-only media (opened as immutable, without locks); "
                + "verify it where it is written, or a backup of it")
    }

    /// `body` in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before anything
    /// is read, so two writers queue up instead of both building on the same head. `bulk` gives the
    /// transaction a large page cache (an import dirties many pages).
    func write<T>(commit: Bool, bulk: Bool, _ body: (any StoreConnection) throws -> T) throws -> T {
        do {
            return try queue.writeWithoutTransaction { db in
                if bulk { try db.execute(sql: "PRAGMA cache_size = -\(Self.bulkCacheKiB)") }
                defer { if bulk { try? db.execute(sql: "PRAGMA cache_size = -\(Self.defaultCacheKiB)") } }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(SQLiteConnection(db: db))
                    return commit ? .commit : .rollback
                }
                guard let result else { preconditionFailure("SQLiteBackend.write: a finished transaction has no result") }
                return result
            }
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// SQLite's page cache in a bulk write: 64 MiB (measured: a 100,000-row import a quarter faster than with the default).
    static let bulkCacheKiB = 65_536
    /// SQLite's default page cache (sqlite.org/pragma.html#pragma_cache_size), restored after a bulk write.
    static let defaultCacheKiB = 2_000

    /// A SQLite ledger's lock cannot be lost while the process lives.
    func holdWriterLock(waitSeconds: TimeInterval) throws {}

    /// In the lock file beside the ledger.
    func announce(server url: String) { writerLock?.announce(url) }

    /// `PRAGMA user_version` of a copy kept by `sync` ("COPY"): in the file's header, so every name
    /// of the file (a hard link) sees it; covered by no verification (schema/FORMAT.md section 17).
    static let copyMark: Int32 = 0x434F_5059

    func isMarkedCopy() throws -> Bool {
        do { return try queue.read { try Int32.fetchOne($0, sql: "PRAGMA user_version") } == Self.copyMark } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    func markCopy(_ on: Bool) throws {
        do { try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = \(on ? Self.copyMark : 0)") } } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Copies the ledger with SQLite's online backup API (sqlite.org/backup.html), a consistent
    /// snapshot while others may be appending, to a new file beside `target` (its path is
    /// returned), with the ledger's own permissions.
    func backupCopy(for target: String) throws -> String {
        try Self.checkCreatable(at: target)
        let partial = target + ".partial-\(getpid())"
        Files.removeLeftovers(of: target, markers: [".partial-"])  // a killed backup's copy
        LedgerDatabase.removeFiles(path: partial)
        do {
            let copy = try DatabaseQueue(path: partial, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.backup(to: copy)
            try copy.close()
            if let mode = try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber {
                chmod(partial, mode_t(mode.uint16Value))
            }
        } catch {
            LedgerDatabase.removeFiles(path: partial)
            throw LedgerDatabase.map(error, path: target)
        }
        return partial
    }

    /// Moves a checked copy made by `backupCopy` to `target`, which must still not exist.
    static func publishCopy(_ partial: String, to target: String) throws {
        do { try checkCreatable(at: target) } catch {
            LedgerDatabase.removeFiles(path: partial)
            throw error
        }
        guard link(partial, target) == 0 else {  // link, not rename: never replaces a file that appeared meanwhile
            let why = String(cString: strerror(errno))
            LedgerDatabase.removeFiles(path: partial)
            throw LedgerError.notFound(path: target, why)
        }
        LedgerDatabase.removeFiles(path: partial)
    }
}

/// A SQLite transaction's connection: cached statements, blobs and texts read in place.
struct SQLiteConnection: StoreConnection {
    let db: Database
    /// The path or URI the connection was opened with, for a check on a connection of its own
    /// (`startStorageCheck`); nil where none may be opened (a write transaction's, a migration's).
    var location: String? = nil

    private func arguments(_ values: [ColumnValue]) -> StatementArguments { StatementArguments(values.map(\.databaseValue)) }

    func rows(_ sql: String, _ values: [ColumnValue]) throws -> [[ColumnValue]] {
        try RawRows.all(db, sql: sql, values) { $0.values() }
    }

    func integer(_ sql: String, _ values: [ColumnValue]) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: arguments(values))
    }

    func integers(_ sql: String, _ values: [ColumnValue]) throws -> [Int64] {
        try Int64.fetchAll(db.cachedStatement(sql: sql), arguments: arguments(values))
    }

    func blobs(_ sql: String, _ values: [ColumnValue]) throws -> [[UInt8]] {
        try Data.fetchAll(db.cachedStatement(sql: sql), arguments: arguments(values)).map { [UInt8]($0) }
    }

    func entries(_ sql: String, _ values: [ColumnValue]) throws -> [Entry] {
        try RawRows.all(db, sql: sql, values) { $0.entry() }
    }

    func scanEntries() throws -> EntryCursor {
        let rows = try RawRows(db, sql: "SELECT \(StoreReader.entryColumns) FROM entries ORDER BY seq")
        return EntryCursor { try rows.step() ? rows.entry() : nil }
    }

    /// An index that is not an integer reads as -1, which no node has.
    func scanTreeLevel(_ level: Int) throws -> TreeLevelScan {
        let rows = try RawRows(db, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = ? ORDER BY idx", arguments: [.integer(Int64(level))])
        return TreeLevelScan {
            guard try rows.step() else { return nil }
            return (rows.integer(0) ?? -1, rows.bytes(1))
        }
    }

    func scanIndex(_ table: IndexRow.Table) throws -> IndexScan {
        let rows = try RawRows(db, sql: "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY seq")
        return IndexScan { try rows.step() ? rows.values() : nil }
    }

    /// Only the columns asked for, read as integers where they are stored, in the order SQLite
    /// finds cheapest: about a third of the cost of `scanIndex`'s values, for millions of keys.
    func forEachIntegerPair(in table: IndexRow.Table, columns: Int, _ body: (Int64?, Int64?) -> Void) throws {
        precondition((1...2).contains(columns), "SQLiteConnection.forEachIntegerPair: one or two columns")
        let rows = try RawRows(db, sql: "SELECT \(table.columns.prefix(columns).joined(separator: ", ")) FROM \(table.name)")
        while try rows.step() { body(rows.integer(0), columns == 2 ? rows.integer(1) : nil) }
    }

    func hasTable(_ name: String) throws -> Bool { try db.tableExists(name) }

    func schemaDifference() throws -> SchemaDifference? {
        let applied = try Schema.applied(db)
        return try Schema.difference(db).map { SchemaDifference(reason: $0, isNewer: Schema.isNewer(applied)) }
    }

    /// `PRAGMA quick_check` (pages, b-trees, an index pointed at another's storage).
    func storageProblem() throws -> String? {
        let findings = try String.fetchAll(db, sql: "PRAGMA quick_check(1)")
        return findings == ["ok"] ? nil : (findings.first ?? "no answer")
    }

    /// `storageProblem` on a read-only connection of its own, on a thread of its own: `verify`
    /// replays the entries meanwhile. It reads the file as committed when it begins, which is the
    /// snapshot of this transaction unless a writer committed since (the storage is checked either way).
    func startStorageCheck() -> StorageCheck {
        guard let location else { return StorageCheck(finished: Result { try storageProblem() }) }
        let configuration = LedgerDatabase.configuration(readOnly: true)
        return StorageCheck {
            let aside = try DatabaseQueue(path: location, configuration: configuration)
            defer { try? aside.close() }
            return try aside.read { try SQLiteConnection(db: $0).storageProblem() }
        }
    }

    /// None: a file's permissions are the operating system's.
    func privilegeWarnings() throws -> [String] { [] }

    /// Through SQLite's C interface (`RawInsert`).
    func insert(_ sql: String, _ values: [ColumnValue]) throws { try RawInsert.run(db, sql: sql, values) }

    /// Nothing waits: each insert is done when it returns.
    func flush() throws {}
}
