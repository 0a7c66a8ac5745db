import Foundation
import GRDB
import GigaLedgerCore

/// A ledger's store, and the one place that holds SQL (schema/FORMAT.md, "Tables"): a SQLite file,
/// or a PostgreSQL database (`postgres://` URL) with the same tables, rows and bytes.
///
/// The services above it read through `read` and write through `write`, one transaction each, and
/// see entries, bodies, tree nodes, index rows and checkpoints, never a statement. The database's
/// errors become `LedgerError`s here, once.
public final class LedgerStore {
    /// The newest schema migration this code knows (what `--version` names).
    public static var latestMigration: String { Schema.latestMigration }

    enum Backend {
        case sqlite(DatabaseQueue)
        case postgres(PostgresBackend)
    }

    /// The file's path, or the PostgreSQL URL without its password.
    public let path: String
    let backend: Backend
    /// How long a PostgreSQL writer waits for the ledger's lock (SQLite's is in its queue's configuration).
    private var lockWaitSeconds: TimeInterval = lockWaitSecondsDefault
    /// Whether the ledger was opened for writing.
    public private(set) var isWritable = false
    /// For a file opened as immutable (read-only media): its size and modification time then.
    /// SQLite takes no lock on such a file, so a read that sees it changed is refused, not trusted.
    private var immutableStamp: FileStamp?
    /// Tree nodes read in this process's committed snapshots (`StoreReader.committedTreeNode`).
    let nodeCache = NodeCache()
    /// A SQLite ledger's writer lock, held while the store is open for writing (`WriterRole`).
    private var writerLock: FileWriterLock?

    /// How long a writer waits, by default, for another writer's lock before giving up with "busy, retry".
    public static let lockWaitSecondsDefault: TimeInterval = 10

    private init(path: String, backend: Backend) {
        self.path = path
        self.backend = backend
    }

    deinit {
        // The SQLite connection first: closing the lock's descriptor drops the process's locks on the file.
        if let writerLock, case .sqlite(let queue) = backend {
            try? queue.close()
            writerLock.release()
        }
    }

    /// Whether `location` names a PostgreSQL ledger (a `postgres://` URL) rather than a SQLite file.
    public static func isPostgres(_ location: String) -> Bool { PostgresLocation.isURL(location) }

    /// Whether a ledger exists at `path`: a file (whatever it holds: opening it says), or a database
    /// with the ledger's tables.
    public static func exists(path: String) throws -> Bool {
        guard isPostgres(path) else { return FileManager.default.fileExists(atPath: path) }
        let backend = PostgresBackend(location: try PostgresLocation(url: path))
        return try backend.transaction(readOnly: true, lockWaitSeconds: lockWaitSecondsDefault) { try PostgresSchema.hasTable($0, "entries") }
    }

    /// A SQLite ledger's connection queue (tests set pragmas on it).
    var queue: DatabaseQueue {
        guard case .sqlite(let queue) = backend else { preconditionFailure("LedgerStore.queue: \(path) is not a SQLite file") }
        return queue
    }

    /// Whether this ledger is a PostgreSQL database.
    public var isPostgres: Bool { if case .postgres = backend { true } else { false } }

    /// Creates a new ledger and writes its first rows with `body` (a genesis entry, a copy's
    /// entries) as one unit: on PostgreSQL the schema and the rows in one transaction, so a failure
    /// or a kill leaves the database as it was; on SQLite the file is removed when `body` fails
    /// (a caller that must survive a kill writes it under a temporary name first).
    public static func create<T>(path: String, bulk: Bool = false, firstWrite body: (StoreWriter) throws -> T) throws -> (LedgerStore, T) {
        if isPostgres(path) {
            let backend = PostgresBackend(location: try PostgresLocation(url: path))
            let store = LedgerStore(path: backend.location.description, backend: .postgres(backend))
            let result = try backend.transaction(readOnly: false, lockWaitSeconds: lockWaitSecondsDefault) { pg in
                try refuseOccupied(pg, store.path)
                try PostgresSchema.create(pg)
                return try body(StoreWriter(connection: .postgres(pg)))
            }
            store.isWritable = true
            return (store, result)
        }
        let store = try create(path: path)
        do {
            return (store, try store.write(bulk: bulk, body))
        } catch {
            removeFiles(path: path)
            throw error
        }
    }

    /// Refuses a database whose schema holds any table: a ledger's, or another application's (whose
    /// tables the verifier would find not to be the ledger's schema).
    private static func refuseOccupied(_ pg: PostgresSession, _ path: String) throws {
        if let table = try PostgresSchema.existingTables(pg).first {
            throw LedgerError.exists(path: "\(path) (its schema has the table \(table); give the ledger a database of its own)")
        }
    }

    /// Creates a new ledger with the schema and no entries. Refuses an existing one; leaves nothing
    /// behind when it fails. The caller appends the genesis entry and calls `removeFiles` if that fails.
    public static func create(path: String) throws -> LedgerStore {
        if isPostgres(path) { return try create(path: path, firstWrite: { _ in }).0 }
        try checkCreatable(path: path)
        do {
            let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA application_id = \(LedgerDatabase.applicationID)")
            }
            try LedgerDatabase.migrator().migrate(queue)
            let store = LedgerStore(path: path, backend: .sqlite(queue))
            store.isWritable = true
            return store
        } catch {
            removeFiles(path: path)
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Opens an existing ledger. `forWriting` also refuses a file marked read-only and brings an
    /// older schema up to date. A writer waits up to `lockWaitSeconds` for another writer's lock.
    /// A writer is a command or the server (`role`): while a server holds the ledger, a command's
    /// writes are refused with the server's URL, and a second server is refused (`WriterRole`).
    public static func open(
        path: String, forWriting: Bool, lockWaitSeconds: TimeInterval = lockWaitSecondsDefault,
        role: WriterRole = .command
    ) throws -> LedgerStore {
        if isPostgres(path) { return try openPostgres(url: path, forWriting: forWriting, lockWaitSeconds: lockWaitSeconds, role: role) }
        try LedgerDatabase.checkIsSQLiteFile(path: path)
        if forWriting { try LedgerDatabase.checkWritable(path: path) }
        let writerLock = forWriting ? try FileWriterLock.acquire(ledger: path, role: role, waitSeconds: lockWaitSeconds) : nil
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
            let store = LedgerStore(path: path, backend: .sqlite(queue))
            store.isWritable = forWriting
            store.writerLock = writerLock
            if !forWriting, queue.path.hasPrefix("file:") { store.immutableStamp = FileStamp(path: path) }
            return store
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    private static func openPostgres(url: String, forWriting: Bool, lockWaitSeconds: TimeInterval, role: WriterRole) throws -> LedgerStore {
        let backend = PostgresBackend(location: try PostgresLocation(url: url), role: role)
        let store = LedgerStore(path: backend.location.description, backend: .postgres(backend))
        store.lockWaitSeconds = lockWaitSeconds
        try backend.transaction(readOnly: true, lockWaitSeconds: lockWaitSeconds) { pg in
            guard try PostgresSchema.hasTable(pg, "entries"), try PostgresSchema.hasTable(pg, "schema_version") else {
                throw LedgerError.notALedger(path: store.path, "the database has no ledger tables (make one with `gigaledger init --ledger URL`)")
            }
            // A writer never writes under a schema it does not know.
            let versions = try pg.rows("SELECT version FROM schema_version").map { $0[0].textValue }
            if forWriting, versions != [PostgresSchema.version] {
                throw LedgerError.notALedger(
                    path: store.path,
                    "its schema version \(versions.joined(separator: ", ")) cannot be written by this version (\(PostgresSchema.version))")
            }
        }
        store.isWritable = forWriting
        if forWriting, role == .server { try backend.holdServerLock(waitSeconds: lockWaitSeconds) }
        return store
    }

    /// For the server (`WriterRole.server`): its one-writer lock is still held, or is taken again
    /// (a PostgreSQL session lost in a failover); throws when another writer holds it now. A SQLite
    /// ledger's lock cannot be lost while the process lives.
    public func holdWriterLock(waitSeconds: TimeInterval) throws {
        guard case .postgres(let pg) = backend, pg.role == .server else { return }
        try pg.holdServerLock(waitSeconds: waitSeconds, probe: true)
    }

    /// Names the server that holds this ledger (`WriterRole.server`), for the commands it refuses:
    /// in the lock file beside a SQLite ledger, in the lock's session's `application_name` on PostgreSQL.
    public func announce(server url: String) {
        switch backend {
        case .sqlite: writerLock?.announce(url)
        case .postgres(let pg): pg.announce(url)
        }
    }

    /// The SQL an administrator runs so that `role` (the server's, the officers') may read and
    /// append to a PostgreSQL ledger and nothing else; nil for SQLite.
    public var grantSQL: String? { isPostgres ? PostgresSchema.grantSQL(role: "gigaledger_app") : nil }

    /// Refuses a path where a new database cannot be made: one of its files exists, or its folder does not.
    public static func checkCreatable(path: String) throws {
        if isPostgres(path) {
            let backend = PostgresBackend(location: try PostgresLocation(url: path))
            try backend.transaction(readOnly: true, lockWaitSeconds: lockWaitSecondsDefault) { try refuseOccupied($0, backend.location.description) }
            return
        }
        try LedgerDatabase.refuseExisting(path: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LedgerError.notFound(path: path, "its folder \(folder) does not exist")
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

    /// Removes the files of a database at `path` (after a failed creation or copy). For PostgreSQL,
    /// removes the tables of a ledger that holds at most its genesis entry (one just made), never more.
    public static func removeFiles(path: String) {
        guard isPostgres(path) else {
            try? FileManager.default.removeItem(atPath: FileWriterLock.file(of: path))
            return LedgerDatabase.removeFiles(path: path)
        }
        guard let location = try? PostgresLocation(url: path) else { return }
        try? PostgresBackend(location: location).transaction(readOnly: false, lockWaitSeconds: lockWaitSecondsDefault) { pg in
            guard try PostgresSchema.hasTable(pg, "entries"),
                (try pg.rows("SELECT COUNT(*) FROM entries").first?.first?.integer ?? 2) <= 1
            else { return }
            try PostgresSchema.drop(pg)
        }
    }

    /// Runs `body` in one read transaction: a consistent snapshot while others append.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        let queue: DatabaseQueue
        switch backend {
        case .sqlite(let sqlite): queue = sqlite
        case .postgres(let pg):
            return try pg.transaction(readOnly: true, lockWaitSeconds: lockWaitSeconds) {
                try body(StoreReader(connection: .postgres($0), nodeCache: nodeCache))
            }
        }
        let result: T
        do {
            result = try queue.inDatabase { db in
                try Self.inReadTransaction(db) { try body(StoreReader(connection: .sqlite(db), nodeCache: nodeCache)) }
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

    /// A consistency proof from the tree nodes this process has read before, without reading
    /// anything; nil when one is not at hand (`Ledger.headProofs` reads them).
    public func keptConsistencyProof(old: Int64, new: Int64) -> [Merkle.Hash]? {
        try? Merkle.proveConsistency(old: old, new: new, node: nodeCache.keptOnly)
    }

    /// Refuses a read of an immutable file that was written meanwhile (it would be a mix of two states).
    private func checkUnchanged() throws {
        guard let immutableStamp, FileStamp(path: path) != immutableStamp else { return }
        throw LedgerError.readOnly(
            path: path,
            "it was written by another process while it was read as read-only media (opened as immutable, without locks); "
                + "verify it where it is written, or a backup of it")
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before
    /// anything is read, so two writers queue up instead of both building on the same head.
    /// Commits when `body` returns and `commit` is true; rolls back otherwise (a dry run) and on any error.
    /// `bulk` gives the transaction a large page cache (an import dirties many pages).
    public func write<T>(commit: Bool = true, bulk: Bool = false, _ body: (StoreWriter) throws -> T) throws -> T {
        let queue: DatabaseQueue
        switch backend {
        case .sqlite(let sqlite): queue = sqlite
        case .postgres(let pg):
            guard isWritable else { throw LedgerError.readOnly(path: path, "it was opened for reading") }
            return try pg.transaction(readOnly: false, commit: commit, lockWaitSeconds: lockWaitSeconds) {
                try body(StoreWriter(connection: .postgres($0)))
            }
        }
        do {
            return try queue.writeWithoutTransaction { db in
                if bulk { try db.execute(sql: "PRAGMA cache_size = -\(Self.bulkCacheKiB)") }
                defer { if bulk { try? db.execute(sql: "PRAGMA cache_size = -\(Self.defaultCacheKiB)") } }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(StoreWriter(connection: .sqlite(db)))
                    return commit ? .commit : .rollback
                }
                guard let result else { preconditionFailure("LedgerStore.write: a finished transaction has no result") }
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

    /// Copies the ledger with SQLite's online backup API (sqlite.org/backup.html), a consistent
    /// snapshot while others may be appending, to a new file beside `target` (its path is
    /// returned), with the ledger's own permissions. The caller checks the copy and then calls
    /// `publishCopy`; nothing ever stands at `target` half-written, even when the process is killed.
    public func backupCopy(for target: String) throws -> String {
        guard case .sqlite(let queue) = backend else {
            preconditionFailure("LedgerStore.backupCopy: a PostgreSQL ledger is backed up by `Ledger.copy`")
        }
        try Self.checkCreatable(path: target)
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
    public static func publishCopy(_ partial: String, to target: String) throws {
        precondition(!isPostgres(target), "LedgerStore.publishCopy: a copy is published into a file")
        do { try checkCreatable(path: target) } catch {
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

/// A transaction's connection: SQLite's (through GRDB) or PostgreSQL's. The statements are the same
/// text for both where the two dialects agree (`?` placeholders are numbered for PostgreSQL).
enum Connection {
    case sqlite(Database)
    case postgres(PostgresSession)
}

/// What a transaction may read: entries, bodies, keys, tree nodes, index rows, checkpoints.
public struct StoreReader {
    let connection: Connection
    /// The store's cache of committed tree nodes, for a reader of a committed snapshot (a read
    /// transaction); nil in a write transaction, whose nodes may yet be rolled back.
    var nodeCache: NodeCache? = nil

    /// The columns `entry(fromColumns:)` reads, in its order.
    static let entryColumns = "seq, type, body, prev_hash, hash, signer, signature, recorded_at"
    /// Rows a PostgreSQL scan (every entry, a tree level, an index table) fetches per statement.
    static let scanRowsPerFetch = 5_000

    /// An entry from a row of `SELECT \(entryColumns)`, by position, each blob copied once.
    static func entry(fromColumns row: Row) throws -> Entry {
        func bytes(_ index: Int) throws -> [UInt8] { try row.withUnsafeData(atIndex: index) { $0.map { [UInt8]($0) } ?? [] } }
        return Entry(
            seq: row[0], type: try text(row, 1), body: try bytes(2), prevHash: try bytes(3), hash: try bytes(4), signer: try text(row, 5),
            signature: try bytes(6), recordedAt: try text(row, 7))
    }

    /// The same from PostgreSQL's values; a value of another kind than the column's reads as SQLite's
    /// would (an empty text or blob, 0), which no check accepts.
    static func entry(fromValues row: [ColumnValue]) -> Entry {
        Entry(
            seq: row[0].integer ?? 0, type: row[1].textValue, body: row[2].bytesValue, prevHash: row[3].bytesValue, hash: row[4].bytesValue,
            signer: row[5].textValue,
            signature: row[6].bytesValue, recordedAt: row[7].textValue)
    }

    /// A text column read whole, as the bytes SQLite stores: reading it as a C string would stop at
    /// a NUL byte, and `key_id || X'00'` would then pass for `key_id`. Bytes that are not UTF-8
    /// read as U+FFFD, which equals no text GigaLedger writes.
    static func text(_ row: Row, _ index: Int) throws -> String {
        try row.withUnsafeData(atIndex: index) { data in data.map { String(decoding: $0, as: UTF8.self) } ?? "" }
    }

    /// A SQLite row's columns as the values GigaLedger writes; texts read whole, NUL bytes too.
    static func values(of row: Row) throws -> [ColumnValue] {
        try row.databaseValues.enumerated().map { index, value in
            if case .string = value.storage { return .text(try StoreReader.text(row, index)) }
            return ColumnValue(value)
        }
    }

    /// What the database's own consistency check finds wrong with the file; nil when nothing. SQLite:
    /// `PRAGMA quick_check` (pages, b-trees, an index pointed at another's storage). PostgreSQL keeps
    /// its own checksums and write-ahead log; its pages are not for an application to read.
    public func storageProblem() throws -> String? {
        guard case .sqlite(let db) = connection else { return nil }
        let findings = try String.fetchAll(db, sql: "PRAGMA quick_check(1)")
        return findings == ["ok"] ? nil : (findings.first ?? "no answer")
    }

    /// How the schema (tables, columns, indexes, triggers, migration records) differs from what the
    /// code makes; nil when it is the same.
    public func schemaDifference() throws -> String? {
        switch connection {
        case .sqlite(let db): return try Schema.difference(db)
        case .postgres(let pg): return try PostgresSchema.difference(pg)
        }
    }

    /// What the connected role may do to the ledger that the database's own rules should forbid it
    /// (a PostgreSQL role that may update, delete or truncate, or that owns the tables and so may drop
    /// their triggers); empty for SQLite, whose file permissions are the operating system's.
    public func privilegeWarnings() throws -> [String] {
        guard case .postgres(let pg) = connection else { return [] }
        return try PostgresSchema.privilegeWarnings(pg)
    }

    /// The last entry, as stored (unchecked), or nil for an empty ledger.
    public func head() throws -> Entry? {
        let sql = "SELECT \(Self.entryColumns) FROM entries ORDER BY seq DESC LIMIT 1"
        switch connection {
        case .sqlite(let db): return try Row.fetchOne(db.cachedStatement(sql: sql)).map(Self.entry(fromColumns:))
        case .postgres(let pg): return try pg.rows(sql).first.map(Self.entry(fromValues:))
        }
    }

    /// Up to `limit` entries from `seq` on, as stored, in order (a replica's or a tile's range).
    public func entries(from seq: Int64, limit: Int) throws -> [Entry] {
        let sql = "SELECT \(Self.entryColumns) FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?"
        switch connection {
        case .sqlite(let db): return try Row.fetchAll(db, sql: sql, arguments: [seq, limit]).map(Self.entry(fromColumns:))
        case .postgres(let pg): return try pg.rows(sql, [.integer(seq), .integer(Int64(limit))]).map(Self.entry(fromValues:))
        }
    }

    /// The stored hashes of `count` tree nodes of `level` from `index` on, in order; fewer when
    /// the level has fewer (a tlog tile, read in one statement).
    public func treeNodes(level: Int, from index: Int64, count: Int) throws -> [[UInt8]] {
        let sql = "SELECT hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"
        switch connection {
        case .sqlite(let db):
            return try Data.fetchAll(db.cachedStatement(sql: sql), arguments: [level, index, index + Int64(count)]).map { [UInt8]($0) }
        case .postgres(let pg):
            return try pg.rows(sql, [.integer(Int64(level)), .integer(index), .integer(index + Int64(count))]).map { $0[0].bytesValue }
        }
    }

    /// The entry at `seq`, as stored, or nil.
    public func entry(_ seq: Int64) throws -> Entry? {
        let sql = "SELECT \(Self.entryColumns) FROM entries WHERE seq = ?"
        switch connection {
        case .sqlite(let db): return try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [seq]).map(Self.entry(fromColumns:))
        case .postgres(let pg): return try pg.rows(sql, [.integer(seq)]).first.map(Self.entry(fromValues:))
        }
    }

    /// The entry whose hash is `hash`, or nil (hashes are unique: each commits to its predecessor).
    public func entry(hash: [UInt8]) throws -> Entry? {
        let sql = "SELECT \(Self.entryColumns) FROM entries WHERE hash = ?"
        switch connection {
        case .sqlite(let db): return try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [Data(hash)]).map(Self.entry(fromColumns:))
        case .postgres(let pg): return try pg.rows(sql, [.blob(hash)]).first.map(Self.entry(fromValues:))
        }
    }

    /// The stored body bytes of entry `seq`, or nil.
    public func body(_ seq: Int64) throws -> [UInt8]? {
        let sql = "SELECT body FROM entries WHERE seq = ?"
        switch connection {
        case .sqlite(let db): return try Data.fetchOne(db.cachedStatement(sql: sql), arguments: [seq]).map { [UInt8]($0) }
        case .postgres(let pg): return try pg.rows(sql, [.integer(seq)]).first.map { $0[0].bytesValue }
        }
    }

    /// The number of entries (the highest sequence number).
    public func size() throws -> Int64 {
        try integer("SELECT COALESCE(MAX(seq), 0) FROM entries") ?? 0
    }

    /// The first column of the first row of `sql`, an integer (or a boolean as 0 or 1), if any.
    func integer(_ sql: String, _ values: [ColumnValue] = []) throws -> Int64? {
        switch connection {
        case .sqlite(let db): return try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(values.map(\.databaseValue)))
        case .postgres(let pg): return try pg.rows(sql, values).first?.first?.integer
        }
    }

    /// The first column of every row of `sql`, integers.
    func integers(_ sql: String, _ values: [ColumnValue] = []) throws -> [Int64] {
        switch connection {
        case .sqlite(let db): return try Int64.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(values.map(\.databaseValue)))
        case .postgres(let pg): return try pg.rows(sql, values).compactMap { $0.first?.integer }
        }
    }

    /// Every row of `sql` as column values (small results only: keys, registrations, checkpoints).
    func values(_ sql: String, _ arguments: [ColumnValue] = []) throws -> [[ColumnValue]] {
        switch connection {
        case .sqlite(let db):
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments.map(\.databaseValue))).map(Self.values(of:))
        case .postgres(let pg): return try pg.rows(sql, arguments)
        }
    }

    /// The public key the `keys` index table holds for `keyID`, as stored.
    public func publicKeyBytes(of keyID: String) throws -> [UInt8]? {
        try values("SELECT public_key FROM keys WHERE key_id = ?", [.text(keyID)]).first.map { $0[0].bytesValue }
    }

    /// The ledger's facts from the index tables, for the rules of an append.
    package var facts: LedgerFacts { IndexedFacts(reader: self) }

    /// The registered factories' or partners' IDs with their registration entries, by ID.
    public func registered(_ kind: Registration) throws -> [(id: String, seq: Int64)] {
        try values("SELECT id, seq FROM \(kind.rawValue) ORDER BY id").map { ($0[0].textValue, $0[1].integer ?? 0) }
    }

    /// Every entry of this type, in order.
    public func entrySeqs(ofType type: String) throws -> [Int64] {
        try integers("SELECT seq FROM entries WHERE type = ? ORDER BY seq", [.text(type)])
    }

    /// The latest entry of this type, if any.
    public func latestEntry(ofType type: String) throws -> Int64? {
        try integer("SELECT seq FROM entries WHERE type = ? ORDER BY seq DESC LIMIT 1", [.text(type)])
    }

    /// Every enrolled key's ID, in enrolment order.
    public func keyIDs() throws -> [String] {
        try values("SELECT key_id FROM keys ORDER BY seq").map { $0[0].textValue }
    }

    /// Every entry in sequence order, read as the cursor advances.
    public func entries() throws -> EntryCursor {
        switch connection {
        case .sqlite(let db):
            let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.entryColumns) FROM entries ORDER BY seq")
            return EntryCursor { try rows.next().map(Self.entry(fromColumns:)) }
        case .postgres(let pg):
            let pages = PagedScan(pg, sql: "SELECT \(Self.entryColumns) FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", key: { $0[0].integer ?? 0 })
            return EntryCursor { try pages.next().map(Self.entry(fromValues:)) }
        }
    }

    /// The stored tree nodes by (level, index); a missing node throws `LedgerError.treeIncomplete`.
    public var treeNode: Merkle.NodeSource { TreeStore.nodeSource(connection) }

    /// The stored tree nodes through the store's cache of nodes read before (`NodeCache`): for the
    /// answers made on every append (roots, proofs). In a write transaction, the stored nodes.
    public var committedTreeNode: Merkle.NodeSource {
        nodeCache.map { $0.source(over: treeNode) } ?? treeNode
    }

    /// The stored nodes of one tree level in index order, for comparing with recomputed ones.
    public func treeLevelScan(level: Int) throws -> TreeLevelScan {
        switch connection {
        case .sqlite(let db):
            let rows = try Row.fetchCursor(db, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = ? ORDER BY idx", arguments: [level])
            return TreeLevelScan {
                guard let row = try rows.next() else { return nil }
                return (row[0], try row.withUnsafeData(atIndex: 1) { data in data.map { [UInt8]($0) } ?? [] })
            }
        case .postgres(let pg):
            let pages = PagedScan(
                pg, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = \(level) AND idx > ? ORDER BY idx LIMIT ?",
                key: { $0[0].integer ?? 0 }, after: -1)
            return TreeLevelScan { try pages.next().map { ($0[0].integer ?? -1, $0[1].bytesValue) } }
        }
    }

    /// How many tree nodes are stored.
    public func treeNodeCount() throws -> Int64 {
        try integer("SELECT COUNT(*) FROM merkle_nodes") ?? 0
    }

    /// Whether the ledger has this table (a SQLite file read without migrating it may predate one).
    public func hasTable(_ name: String) throws -> Bool {
        switch connection {
        case .sqlite(let db): return try db.tableExists(name)
        case .postgres(let pg): return try PostgresSchema.hasTable(pg, name)
        }
    }

    /// The stored rows of one index table in sequence order, for comparing with derived ones.
    public func indexScan(table: IndexRow.Table) throws -> IndexScan {
        let columns = table.columns.joined(separator: ", ")
        switch connection {
        case .sqlite(let db):
            let rows = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(table.name) ORDER BY seq")
            return IndexScan { try rows.next().map(Self.values(of:)) }
        case .postgres(let pg):
            // Each index table's last column is `seq`, unique: the key the pages follow.
            let pages = PagedScan(pg, sql: "SELECT \(columns) FROM \(table.name) WHERE seq > ? ORDER BY seq LIMIT ?", key: { $0.last?.integer ?? 0 })
            return IndexScan { try pages.next() }
        }
    }

    /// The entries with this facts digest (`Facts.digest`) that no correction cancels, in order:
    /// candidates, whose data the caller compares.
    public func uncorrectedEntries(factsDigest digest: Int64) throws -> [Int64] {
        try integers(
            """
            SELECT f.seq FROM facts f WHERE f.digest = ?
            AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.corrected_seq = f.seq) ORDER BY f.seq
            """, [.integer(digest)])
    }

    /// The entry that recorded an import of a file with this SHA-256, if any.
    public func importEntry(fileSHA256: [UInt8]) throws -> Int64? {
        try integer("SELECT seq FROM imports WHERE file_sha256 = ? ORDER BY seq LIMIT 1", [.text(Encoding.hex(fileSHA256))])
    }

    static let checkpointColumns = "SELECT size, root, note, signed_at FROM checkpoints"

    /// The checkpoint with the largest size, as stored.
    public func latestCheckpoint() throws -> StoredCheckpoint? {
        try values("\(Self.checkpointColumns) ORDER BY size DESC LIMIT 1").first.map(StoredCheckpoint.init)
    }

    /// The stored checkpoint at exactly `size` entries, if any.
    public func checkpoint(size: Int64) throws -> StoredCheckpoint? {
        try values("\(Self.checkpointColumns) WHERE size = ?", [.integer(size)]).first.map(StoredCheckpoint.init)
    }

    /// Every stored cosignature, by checkpoint size and key.
    public func cosignatures() throws -> [StoredCosignature] {
        // A ledger from before migration 0005, read without migrating it, has none (the schema
        // check has established which migrations it has; a missing table is not skipped silently).
        guard try hasTable("cosignatures") else { return [] }
        return try values("SELECT size, key_id, line FROM cosignatures ORDER BY size, key_id").map {
            StoredCosignature(size: $0[0].integer ?? 0, keyID: $0[1].textValue, line: $0[2].textValue)
        }
    }

    /// Every stored checkpoint, smallest first (a few per quarter: `verify` checks each).
    public func checkpoints() throws -> [StoredCheckpoint] {
        try values("\(Self.checkpointColumns) ORDER BY size").map(StoredCheckpoint.init)
    }
}

/// A PostgreSQL scan in pages of `StoreReader.scanRowsPerFetch` rows, each page's statement taking
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
            page = try pg.rows(sql, [.integer(after), .integer(Int64(StoreReader.scanRowsPerFetch))])
            position = 0
            finished = page.count < StoreReader.scanRowsPerFetch
            guard let last = page.last else { return nil }
            after = key(last)
        }
        position += 1
        return page[position - 1]
    }
}

/// A row of the `checkpoints` table. Only `note` is signed; `size` and `root` must be what the note
/// says, and `signed_at` (when it was signed, not covered by any signature) a UTC time.
public struct StoredCheckpoint: Equatable, Sendable {
    public let size: Int64
    public let root: [UInt8]
    public let note: String
    public let signedAt: String

    /// From a row of `SELECT size, root, note, signed_at`, by position, texts read whole.
    init(_ row: [ColumnValue]) {
        size = row[0].integer ?? 0
        root = row[1].bytesValue
        note = row[2].textValue
        signedAt = row[3].textValue
    }
}

/// A row of the `cosignatures` table: the C2SP cosignature line (without its newline) by the
/// enrolled auditor key `keyID` of the stored checkpoint at `size`.
public struct StoredCosignature: Equatable, Sendable {
    public let size: Int64
    public let keyID: String
    public let line: String

    public init(size: Int64, keyID: String, line: String) {
        self.size = size
        self.keyID = keyID
        self.line = line
    }
}

/// The registrations an index table lists.
public enum Registration: String, Sendable {
    case factories, partners
}

/// What a write transaction adds: entries with their index rows and tree nodes, and checkpoints.
public struct StoreWriter {
    let connection: Connection

    init(connection: Connection) { self.connection = connection }
    /// A writer on a SQLite transaction opened by the caller (tests).
    init(db: Database) { self.connection = .sqlite(db) }
    public var reader: StoreReader { StoreReader(connection: connection) }

    /// Inserts `entry`, the index rows `body` implies and the tree nodes it completes (on SQLite
    /// through its C interface). Requires `entry` to follow the head (the insert trigger enforces it too).
    /// On PostgreSQL the statements go out together and, with `settle`, are waited for at the end:
    /// the entry is written (or refused) when this returns, before anyone is told of it. Without it
    /// (entries taken in by a replica or a copy, told to no one before the commit) they are sent
    /// with the next rows, and a refusal is thrown by a later read or by the commit.
    public func append(_ entry: Entry, body: EntryBody, tree: inout TreeAppender, settle: Bool = true) throws {
        try insert(entry)
        // The facts digest from the bytes written, as verify and import make it.
        for row in IndexRow.rows(for: body, factsDigest: Facts.digest(type: entry.type, body: entry.body)) {
            try run(row.table.insertSQL, row.values)
        }
        try tree.append(entryHash: entry.hash, seq: entry.seq, connection: connection)
        if settle, case .postgres(let pg) = connection { try pg.flush() }
    }

    /// Inserts a contribution or access entry and its one index row, its facts' digest. On
    /// PostgreSQL the statements are not waited for (an import's rows stream out): a refused one is
    /// thrown by a later read or by the commit, and then nothing of the transaction is written.
    public func appendRow(_ entry: Entry, factsDigest: Int64, tree: inout TreeAppender) throws {
        try insert(entry)
        try run(IndexRow.facts.insertSQL, [.integer(factsDigest), .integer(entry.seq)])
        try tree.append(entryHash: entry.hash, seq: entry.seq, connection: connection)
    }

    private func insert(_ entry: Entry) throws {
        try run(
            """
            INSERT INTO entries (seq, type, body, prev_hash, hash, signer, signature, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(entry.seq), .text(entry.type), .blob(entry.body), .blob(entry.prevHash), .blob(entry.hash), .text(entry.signer),
                .blob(entry.signature), .text(entry.recordedAt),
            ])
    }

    /// Runs one INSERT with `values` bound in order.
    func run(_ sql: String, _ values: [ColumnValue]) throws {
        try Self.run(connection, sql, values)
    }

    /// `run`, waited for.
    func runNow(_ sql: String, _ values: [ColumnValue]) throws {
        try run(sql, values)
        if case .postgres(let pg) = connection { try pg.flush() }
    }

    static func run(_ connection: Connection, _ sql: String, _ values: [ColumnValue]) throws {
        switch connection {
        case .sqlite(let db): try RawInsert.run(db, sql: sql, values)
        case .postgres(let pg): try pg.insert(sql, values)
        }
    }

    /// Keeps an auditor's cosignature of the stored checkpoint at `size`.
    public func insertCosignature(_ cosignature: StoredCosignature) throws {
        try runNow(
            "INSERT INTO cosignatures (size, key_id, line) VALUES (?, ?, ?)",
            [.integer(cosignature.size), .text(cosignature.keyID), .text(cosignature.line)])
    }

    /// Keeps a signed checkpoint.
    public func insertCheckpoint(size: Int64, root: [UInt8], note: String, signedAt: String) throws {
        try runNow(
            "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)", [.integer(size), .blob(root), .text(note), .text(signedAt)])
    }
}

/// The entries in sequence order, one at a time.
public final class EntryCursor {
    private let advance: () throws -> Entry?
    init(_ advance: @escaping () throws -> Entry?) { self.advance = advance }

    public func next() throws -> Entry? { try advance() }
}

/// One level of stored tree nodes in index order, advanced a node at a time while entries are replayed.
public final class TreeLevelScan {
    private let advance: () throws -> (index: Int64, hash: [UInt8])?
    init(_ advance: @escaping () throws -> (index: Int64, hash: [UInt8])?) { self.advance = advance }

    /// The next node's hash when its index is `index`; nil at the end or when the next node has
    /// another index (the node at `index` is missing).
    public func next(expectingIndex index: Int64) throws -> [UInt8]? {
        guard let node = try advance(), node.index == index else { return nil }
        return node.hash
    }
}

/// One index table's stored rows in sequence order, advanced a row at a time.
public final class IndexScan {
    private let advance: () throws -> [ColumnValue]?
    init(_ advance: @escaping () throws -> [ColumnValue]?) { self.advance = advance }

    /// The next row's values, or nil at the end. A value of a kind no index column holds (a real,
    /// a NULL) comes back as `.other`, which equals no derived value.
    public func next() throws -> [ColumnValue]? { try advance() }
}

/// A file's size and modification time, to see that it changed.
struct FileStamp: Equatable {
    let size: Int
    let modified: Date?

    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        modified = attributes[.modificationDate] as? Date
    }
}
