import Foundation
import GRDB
import GigaLedgerCore

/// A ledger's SQLite file, and the one place that holds SQL (schema/FORMAT.md, "Tables").
///
/// The services above it read through `read` and write through `write`, one transaction each, and
/// see entries, bodies, tree nodes, index rows and checkpoints, never a statement. SQLite's errors
/// become `LedgerError`s here, once.
public final class LedgerStore {
    /// The newest schema migration this code knows (what `--version` names).
    public static var latestMigration: String { Schema.latestMigration }

    public let path: String
    let queue: DatabaseQueue
    /// Whether the file was opened for writing.
    public private(set) var isWritable = false
    /// For a file opened as immutable (read-only media): its size and modification time then.
    /// SQLite takes no lock on such a file, so a read that sees it changed is refused, not trusted.
    private var immutableStamp: FileStamp?

    /// How long a writer waits, by default, for another writer's lock before giving up with "busy, retry".
    public static let lockWaitSecondsDefault: TimeInterval = 10

    private init(path: String, queue: DatabaseQueue) {
        self.path = path
        self.queue = queue
    }

    /// Creates a new file with the schema and no entries. Refuses an existing file; leaves no file
    /// behind when it fails. The caller appends the genesis entry and calls `removeFiles` if that fails.
    public static func create(path: String) throws -> LedgerStore {
        try checkCreatable(path: path)
        do {
            let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA application_id = \(LedgerDatabase.applicationID)")
            }
            try LedgerDatabase.migrator().migrate(queue)
            let store = LedgerStore(path: path, queue: queue)
            store.isWritable = true
            return store
        } catch {
            removeFiles(path: path)
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Opens an existing ledger. `forWriting` also refuses a file marked read-only and brings an
    /// older schema up to date. A writer waits up to `lockWaitSeconds` for another writer's lock.
    public static func open(path: String, forWriting: Bool, lockWaitSeconds: TimeInterval = lockWaitSecondsDefault) throws -> LedgerStore {
        try LedgerDatabase.checkIsSQLiteFile(path: path)
        if forWriting { try LedgerDatabase.checkWritable(path: path) }
        do {
            let queue = forWriting
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
            let store = LedgerStore(path: path, queue: queue)
            store.isWritable = forWriting
            if !forWriting, queue.path.hasPrefix("file:") { store.immutableStamp = FileStamp(path: path) }
            return store
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Refuses a path where a new database cannot be made: one of its files exists, or its folder does not.
    public static func checkCreatable(path: String) throws(LedgerError) {
        try LedgerDatabase.refuseExisting(path: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notFound(path: path, "its folder \(folder) does not exist")
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
                throw LedgerError.readOnly(path: path, "it is on read-only media with a -wal file of transactions not merged into it; "
                                           + "copy the ledger with its -wal file to a writable folder, or make a backup where it is written")
            }
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "?#%")
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let uri = "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?mode=ro&immutable=1"
            return try DatabaseQueue(path: uri, configuration: configuration)
        }
    }

    /// Removes the files of a database at `path` (after a failed creation or copy).
    public static func removeFiles(path: String) { LedgerDatabase.removeFiles(path: path) }

    /// Runs `body` in one read transaction: a consistent snapshot while others append.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        let result: T
        do { result = try queue.read { db in try body(StoreReader(db: db)) } } catch {
            try checkUnchanged()
            throw LedgerDatabase.map(error, path: path)
        }
        try checkUnchanged()
        return result
    }

    /// Refuses a read of an immutable file that was written meanwhile (it would be a mix of two states).
    private func checkUnchanged() throws {
        guard let immutableStamp, FileStamp(path: path) != immutableStamp else { return }
        throw LedgerError.readOnly(path: path, "it was written by another process while it was read as read-only media (opened as immutable, without locks); "
                                   + "verify it where it is written, or a backup of it")
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before
    /// anything is read, so two writers queue up instead of both building on the same head.
    /// Commits when `body` returns and `commit` is true; rolls back otherwise (a dry run) and on any error.
    /// `bulk` gives the transaction a large page cache (an import dirties many pages).
    public func write<T>(commit: Bool = true, bulk: Bool = false, _ body: (StoreWriter) throws -> T) throws -> T {
        do {
            return try queue.writeWithoutTransaction { db in
                if bulk { try db.execute(sql: "PRAGMA cache_size = -\(Self.bulkCacheKiB)") }
                defer { if bulk { try? db.execute(sql: "PRAGMA cache_size = -\(Self.defaultCacheKiB)") } }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(StoreWriter(db: db))
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

/// What a transaction may read: entries, bodies, keys, tree nodes, index rows, checkpoints.
public struct StoreReader {
    let db: Database

    /// The columns `entry(fromColumns:)` reads, in its order.
    static let entryColumns = "seq, type, body, prev_hash, hash, signer, signature, recorded_at"

    /// An entry from a row of `SELECT \(entryColumns)`, by position, each blob copied once.
    static func entry(fromColumns row: Row) throws -> Entry {
        func bytes(_ index: Int) throws -> [UInt8] { try row.withUnsafeData(atIndex: index) { $0.map { [UInt8]($0) } ?? [] } }
        return Entry(seq: row[0], type: try text(row, 1), body: try bytes(2), prevHash: try bytes(3), hash: try bytes(4), signer: try text(row, 5),
                     signature: try bytes(6), recordedAt: try text(row, 7))
    }

    /// A text column read whole, as the bytes SQLite stores: reading it as a C string would stop at
    /// a NUL byte, and `key_id || X'00'` would then pass for `key_id`. Bytes that are not UTF-8
    /// read as U+FFFD, which equals no text GigaLedger writes.
    static func text(_ row: Row, _ index: Int) throws -> String {
        try row.withUnsafeData(atIndex: index) { data in data.map { String(decoding: $0, as: UTF8.self) } ?? "" }
    }

    /// What SQLite's own consistency check (`PRAGMA quick_check`: pages, b-trees, an index pointed at
    /// another's storage) finds wrong with the file; nil when nothing.
    public func storageProblem() throws -> String? {
        let findings = try String.fetchAll(db, sql: "PRAGMA quick_check(1)")
        return findings == ["ok"] ? nil : (findings.first ?? "no answer")
    }

    /// How the file's schema (tables, columns, indexes, triggers, migration records) differs from
    /// what the code's migrations make; nil when it is the same.
    public func schemaDifference() throws -> String? { try Schema.difference(db) }

    /// The last entry, as stored (unchecked), or nil for an empty ledger.
    public func head() throws -> Entry? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entries ORDER BY seq DESC LIMIT 1")).map(Self.entry(fromColumns:))
    }

    /// Up to `limit` entries from `seq` on, as stored, in order (a replica's or a tile's range).
    public func entries(from seq: Int64, limit: Int) throws -> [Entry] {
        try Row.fetchAll(db, sql: "SELECT \(Self.entryColumns) FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?",
                         arguments: [seq, limit]).map(Self.entry(fromColumns:))
    }

    /// The stored hashes of `count` tree nodes of `level` from `index` on, in order; fewer when
    /// the level has fewer (a tlog tile, read in one statement).
    public func treeNodes(level: Int, from index: Int64, count: Int) throws -> [[UInt8]] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"),
                          arguments: [level, index, index + Int64(count)]).map { [UInt8]($0) }
    }

    /// The entry at `seq`, as stored, or nil.
    public func entry(_ seq: Int64) throws -> Entry? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entries WHERE seq = ?"), arguments: [seq]).map(Self.entry(fromColumns:))
    }

    /// The entry whose hash is `hash`, or nil (the column is unique, so indexed).
    public func entry(hash: [UInt8]) throws -> Entry? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.entryColumns) FROM entries WHERE hash = ?"), arguments: [Data(hash)]).map(Self.entry(fromColumns:))
    }

    /// The stored body bytes of entry `seq`, or nil.
    public func body(_ seq: Int64) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT body FROM entries WHERE seq = ?"), arguments: [seq]).map { [UInt8]($0) }
    }

    /// The number of entries (the highest sequence number).
    public func size() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM entries")) ?? 0
    }

    /// The public key the `keys` index table holds for `keyID`, as stored.
    public func publicKeyBytes(of keyID: String) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT public_key FROM keys WHERE key_id = ?"), arguments: [keyID]).map { [UInt8]($0) }
    }

    /// The ledger's facts from the index tables, for the rules of an append.
    package var facts: LedgerFacts { IndexedFacts(db: db) }

    /// The registered factories' or partners' IDs with their registration entries, by ID.
    public func registered(_ kind: Registration) throws -> [(id: String, seq: Int64)] {
        try Row.fetchAll(db, sql: "SELECT id, seq FROM \(kind.rawValue) ORDER BY id").map { (try StoreReader.text($0, 0), $0[1]) }
    }

    /// Every entry of this type, in order.
    public func entrySeqs(ofType type: String) throws -> [Int64] {
        try Int64.fetchAll(db.cachedStatement(sql: "SELECT seq FROM entries WHERE type = ? ORDER BY seq"), arguments: [type])
    }

    /// The latest entry of this type, if any.
    public func latestEntry(ofType type: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM entries WHERE type = ? ORDER BY seq DESC LIMIT 1"), arguments: [type])
    }

    /// Every enrolled key's ID, in enrolment order.
    public func keyIDs() throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT key_id FROM keys ORDER BY seq"))
    }

    /// Every entry in sequence order, read as the cursor advances.
    public func entries() throws -> EntryCursor {
        EntryCursor(try Row.fetchCursor(db, sql: "SELECT \(Self.entryColumns) FROM entries ORDER BY seq"))
    }

    /// The stored tree nodes by (level, index); a missing node throws `LedgerError.treeIncomplete`.
    public var treeNode: Merkle.NodeSource { TreeStore.nodeSource(db) }

    /// The stored nodes of one tree level in index order, for comparing with recomputed ones.
    public func treeLevelScan(level: Int) throws -> TreeLevelScan {
        TreeLevelScan(try Row.fetchCursor(db, sql: "SELECT idx, hash FROM merkle_nodes WHERE level = ? ORDER BY idx", arguments: [level]))
    }

    /// How many tree nodes are stored.
    public func treeNodeCount() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM merkle_nodes") ?? 0
    }

    /// Whether the file has this table (a ledger read without migrating it may predate one).
    public func hasTable(_ name: String) throws -> Bool { try db.tableExists(name) }

    /// The stored rows of one index table in sequence order, for comparing with derived ones.
    public func indexScan(table: IndexRow.Table) throws -> IndexScan {
        IndexScan(try Row.fetchCursor(db, sql: "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY seq"))
    }

    /// The entries with this facts digest (`Facts.digest`) that no correction cancels, in order:
    /// candidates, whose data the caller compares.
    public func uncorrectedEntries(factsDigest digest: Int64) throws -> [Int64] {
        try Int64.fetchAll(db.cachedStatement(sql: """
            SELECT f.seq FROM facts f WHERE f.digest = ?
            AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.corrected_seq = f.seq) ORDER BY f.seq
            """), arguments: [digest])
    }

    /// The entry that recorded an import of a file with this SHA-256, if any.
    public func importEntry(fileSHA256: [UInt8]) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM imports WHERE file_sha256 = ? ORDER BY seq LIMIT 1"), arguments: [Encoding.hex(fileSHA256)])
    }

    /// The checkpoint with the largest size, as stored.
    public func latestCheckpoint() throws -> StoredCheckpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1")).map(StoredCheckpoint.init)
    }

    /// The stored checkpoint at exactly `size` entries, if any.
    public func checkpoint(size: Int64) throws -> StoredCheckpoint? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT size, root, note, signed_at FROM checkpoints WHERE size = ?"), arguments: [size]).map(StoredCheckpoint.init)
    }

    /// Every stored cosignature, by checkpoint size and key.
    public func cosignatures() throws -> [StoredCosignature] {
        // A ledger from before migration 0005, read without migrating it, has none (the schema
        // check has established which migrations it has; a missing table is not skipped silently).
        guard try db.tableExists("cosignatures") else { return [] }
        return try Row.fetchAll(db, sql: "SELECT size, key_id, line FROM cosignatures ORDER BY size, key_id").map {
            StoredCosignature(size: $0[0], keyID: try StoreReader.text($0, 1), line: try StoreReader.text($0, 2))
        }
    }

    /// Every stored checkpoint, smallest first (a few per quarter: `verify` checks each).
    public func checkpoints() throws -> [StoredCheckpoint] {
        try Row.fetchAll(db, sql: "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size").map(StoredCheckpoint.init)
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
    init(_ row: Row) {
        size = row[0]
        root = (row[1] as Data?).map { [UInt8]($0) } ?? []
        note = (try? StoreReader.text(row, 2)) ?? ""
        signedAt = (try? StoreReader.text(row, 3)) ?? ""
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
    let db: Database
    public var reader: StoreReader { StoreReader(db: db) }

    /// Inserts `entry`, the index rows `body` implies and the tree nodes it completes, through
    /// SQLite's C interface. Requires `entry` to follow the head (the insert trigger enforces it too).
    public func append(_ entry: Entry, body: EntryBody, tree: inout TreeAppender) throws {
        try insert(entry)
        // The facts digest from the bytes written, as verify and import make it.
        for row in IndexRow.rows(for: body, factsDigest: Facts.digest(type: entry.type, body: entry.body)) {
            try RawInsert.run(db, sql: row.table.insertSQL, row.values)
        }
        try tree.append(entryHash: entry.hash, seq: entry.seq, db: db)
    }

    /// Inserts a contribution or access entry and its one index row, its facts' digest.
    public func appendRow(_ entry: Entry, factsDigest: Int64, tree: inout TreeAppender) throws {
        try insert(entry)
        try RawInsert.run(db, sql: IndexRow.facts.insertSQL, [.integer(factsDigest), .integer(entry.seq)])
        try tree.append(entryHash: entry.hash, seq: entry.seq, db: db)
    }

    private func insert(_ entry: Entry) throws {
        try RawInsert.run(db, sql: """
            INSERT INTO entries (seq, type, body, prev_hash, hash, signer, signature, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(entry.seq), .text(entry.type), .blob(entry.body), .blob(entry.prevHash), .blob(entry.hash), .text(entry.signer),
                  .blob(entry.signature), .text(entry.recordedAt)])
    }

    /// Keeps an auditor's cosignature of the stored checkpoint at `size`.
    public func insertCosignature(_ cosignature: StoredCosignature) throws {
        try db.execute(sql: "INSERT INTO cosignatures (size, key_id, line) VALUES (?, ?, ?)",
                       arguments: [cosignature.size, cosignature.keyID, cosignature.line])
    }

    /// Keeps a signed checkpoint.
    public func insertCheckpoint(size: Int64, root: [UInt8], note: String, signedAt: String) throws {
        try db.execute(sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)", arguments: [size, Data(root), note, signedAt])
    }
}

/// The entries in sequence order, one at a time.
public final class EntryCursor {
    private let rows: RowCursor
    init(_ rows: RowCursor) { self.rows = rows }

    public func next() throws -> Entry? {
        guard let row = try rows.next() else { return nil }
        return try StoreReader.entry(fromColumns: row)
    }
}

/// One level of stored tree nodes in index order, advanced a node at a time while entries are replayed.
public final class TreeLevelScan {
    private let rows: RowCursor
    init(_ rows: RowCursor) { self.rows = rows }

    /// The next node's hash when its index is `index`; nil at the end or when the next node has
    /// another index (the node at `index` is missing).
    public func next(expectingIndex index: Int64) throws -> [UInt8]? {
        guard let row = try rows.next() else { return nil }
        guard row[0] as Int64 == index else { return nil }
        return try row.withUnsafeData(atIndex: 1) { data in data.map { [UInt8]($0) } }
    }
}

/// One index table's stored rows in sequence order, advanced a row at a time.
public final class IndexScan {
    private let rows: RowCursor
    init(_ rows: RowCursor) { self.rows = rows }

    /// The next row's values, or nil at the end. A value of a kind no index column holds (a real,
    /// a NULL) comes back as `.other`, which equals no derived value.
    public func next() throws -> [ColumnValue]? {
        guard let row = try rows.next() else { return nil }
        return try row.databaseValues.enumerated().map { index, value in
            if case .string = value.storage { return .text(try StoreReader.text(row, index)) }  // read whole, NUL bytes too
            return ColumnValue(value)
        }
    }
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
