import Foundation
import GRDB
import GigaLedgerCore
import Synchronization

/// Opening SQLite files as ledgers: the pragmas, the schema, and SQLite errors as `LedgerError`s.
enum LedgerDatabase {
    /// `PRAGMA application_id` of every ledger: "GLDG" in ASCII, so `file(1)` and we can tell.
    static let applicationID: Int32 = 0x474C_4447

    static func configuration(readOnly: Bool, lockWaitSeconds: TimeInterval = LedgerStore.lockWaitSecondsDefault) -> Configuration {
        var config = Configuration()
        config.readonly = readOnly
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(lockWaitSeconds)
        config.label = "gigaledger"
        config.prepareDatabase { db in
            // FULL: a committed append survives a power cut, not only a crash (sqlite.org/pragma.html#pragma_synchronous).
            if !readOnly { try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        return config
    }

    /// What a migration computes in Swift after its SQL, in the same transaction.
    static let afterMigration: [String: @Sendable (Database) throws -> Void] = [
        "0002_merkle": TreeStore.backfill,
        "0006_facts": backfillFacts,
        "0008_near_facts": backfillNearFacts,
    ]

    /// The facts rows of a ledger made before migration 0006, from its contribution and access entries.
    static func backfillFacts(_ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, type, body FROM entries WHERE type IN ('contribution', 'access') ORDER BY seq")
        while let row = try rows.next() {
            let seq: Int64 = row["seq"]
            // A body of another shape is left without a row: verify then reports the entry itself.
            guard let digest = Facts.digest(type: row["type"], body: [UInt8](row["body"] as Data)) else { continue }
            try RawInsert.run(db, sql: IndexRow.facts.insertSQL, [.integer(digest), .integer(seq)])
        }
    }

    /// The near_facts rows of a ledger made before migration 0008, from its contribution and access entries.
    static func backfillNearFacts(_ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT seq, body FROM entries WHERE type IN ('contribution', 'access') ORDER BY seq")
        while let row = try rows.next() {
            let seq: Int64 = row["seq"]
            // A body that does not decode is left without a row: verify then reports the entry itself.
            guard let body = try? EntryBody.decode([UInt8](row["body"] as Data)), let near = IndexRow.nearRow(body.data, seq: seq) else { continue }
            try RawInsert.run(db, sql: IndexRow.nearFacts.insertSQL, near.values)
        }
    }

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (identifier, sql) in EmbeddedMigrations.all {
            migrator.registerMigration(identifier) { db in
                try db.execute(sql: sql)
                try afterMigration[identifier]?(db)
            }
        }
        return migrator
    }

    /// The files SQLite keeps for a database at `path`: the database, its WAL, shared memory and rollback journal.
    static func files(of path: String) -> [String] { ["", "-wal", "-shm", "-journal"].map { path + $0 } }

    /// Refuses to create a database where any of its files already exists.
    static func refuseExisting(path: String) throws(LedgerError) {
        for file in files(of: path) where FileManager.default.fileExists(atPath: file) { throw .exists(path: file) }
    }

    /// Removes whatever a failed creation left behind.
    static func removeFiles(path: String) {
        for file in files(of: path) { try? FileManager.default.removeItem(atPath: file) }
    }

    /// Refuses a missing file or one that is not SQLite before SQLite gets to see it.
    static func checkIsSQLiteFile(path: String) throws(LedgerError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .notFound(path: path, nil) }
        guard !isDirectory.boolValue else { throw .notALedger(path: path, "it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .notALedger(path: path, "it cannot be read: \(Files.whyUnreadable(path))")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\0".utf8) else { throw .notALedger(path: path, "it is not an SQLite database") }
    }

    /// Refuses a ledger file whose owner-write bit is off: an archived ledger stays archived,
    /// even for root, who SQLite would otherwise let write.
    static func checkWritable(path: String) throws(LedgerError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value
        else { throw .notFound(path: path, nil) }
        guard mode & 0o200 != 0 else { throw .readOnly(path: path, "mode \(String(mode, radix: 8).leftPadded(to: 4)) has no write permission") }
        guard access(path, W_OK) == 0 else { throw .readOnly(path: path, "no write permission for this user: \(Files.whyUnwritable(path))") }
    }

    /// Maps SQLite's errors to `LedgerError`, keeping its code and statement. Called by
    /// `LedgerStore.read` and `write` only: every statement runs inside one of them.
    static func map(_ error: Error, path: String) -> Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return LedgerError.busy(path: path)
        case .SQLITE_FULL: return LedgerError.full(path: path)
        case .SQLITE_READONLY: return LedgerError.readOnly(path: path, error.message ?? "SQLite refused to write")
        case .SQLITE_NOTADB: return LedgerError.notALedger(path: path, "it is not an SQLite database")
        case .SQLITE_CANTOPEN:
            return LedgerError.notALedger(path: path, "SQLite cannot open it (does its folder exist, and may this user write there?)")
        // A stored row that contradicts one being written, or pages SQLite cannot read: the file is
        // damaged, which is an auditor's finding, not a failure to use it.
        case .SQLITE_CONSTRAINT:
            return LedgerError.damaged("SQLite refused a row as conflicting with a stored one (\(error.message ?? "constraint"))")
        case .SQLITE_CORRUPT: return LedgerError.damaged("SQLite finds the file corrupt (\(error.message ?? "corrupt"))")
        default: return LedgerError.sqlite(code: error.extendedResultCode.rawValue, message: error.message ?? "unknown", sql: error.sql)
        }
    }
}

/// The ledger's facts read from the index tables inside an append's transaction, every row read
/// checked against the entry that made it (`StoreReader.checkedIndexRows`): an append relies on
/// no row that `verify` would not derive from the entries.
struct IndexedFacts: LedgerFacts {
    let reader: StoreReader

    func key(_ id: KeyID) throws -> KeyRecord? {
        guard let row = try reader.checkedIndexRows(IndexRow.keys, where: "key_id = ?", [.text(id.description)]).first,
            let seq = row.last?.integer, let body = try reader.body(seq)
        else { return nil }
        let enrolment = try Self.enrolment(in: body)
        return KeyRecord(enrolment: enrolment, enrolledAt: seq, revokedAt: try revocation(of: id.description))
    }

    /// The entry that revoked the key, by its checked `key_revocations` row.
    private func revocation(of keyID: String) throws -> Int64? {
        try reader.checkedIndexRows(IndexRow.keyRevocations, where: "key_id = ?", [.text(keyID)]).first?.last?.integer
    }

    /// The key an enrolling entry's body enrols, decoded once per process for the same bytes (every
    /// append looks its signer's key up, a server's checkpoints the log key's).
    private static func enrolment(in body: [UInt8]) throws -> KeyEnrolment {
        if let known = decodedEnrolments.withLock({ $0[body] }) { return known }
        let decoded = try EntryBody.decode(body)
        let enrolment: KeyEnrolment
        switch decoded.data {
        case .genesis(let genesis): enrolment = genesis.authority
        case .keyEnroll(let item): enrolment = item
        default: throw LedgerError.damaged("index table keys points at entry \(decoded.seq), which enrols no key")
        }
        decodedEnrolments.withLock { table in
            if table.count >= enrolmentsMax { table.removeAll() }
            table[body] = enrolment
        }
        return enrolment
    }

    /// Enrolments decoded, by the entry body's bytes: a pure function's memo, so never stale.
    private static let decodedEnrolments = Mutex<[[UInt8]: KeyEnrolment]>([:])
    /// At most this many (a ledger has tens of keys; the bodies are a few hundred bytes).
    private static let enrolmentsMax = 1_024

    func activeAuthorityCount() throws -> Int {
        var count = 0
        for row in try reader.checkedIndexRows(IndexRow.keys, where: "role = 'authority'", []) where try revocation(of: row[0].textValue) == nil {
            count += 1
        }
        return count
    }

    func hasFactory(_ id: String) throws -> Bool {
        try !reader.checkedIndexRows(IndexRow.factories, where: "id = ?", [.text(id)]).isEmpty
    }

    func hasPartner(_ id: String) throws -> Bool {
        try !reader.checkedIndexRows(IndexRow.partners, where: "id = ?", [.text(id)]).isEmpty
    }

    func correction(of seq: Int64) throws -> Int64? {
        try reader.checkedIndexRows(IndexRow.corrections, where: "corrected_seq = ?", [.integer(seq)]).first?.last?.integer
    }

    func body(_ seq: Int64) throws -> EntryBody? {
        guard let bytes = try reader.body(seq) else { return nil }
        return try EntryBody.decode(bytes)
    }

    /// Read from the stored bytes without decoding them (asked on every append), else decoded.
    func formatVersion(of seq: Int64) throws -> Int? {
        guard let bytes = try reader.body(seq) else { return nil }
        return try EntryBody.statedVersion(bytes) ?? EntryBody.decode(bytes).version
    }

    func latestNonRowEntry(before seq: Int64) throws -> (seq: Int64, type: String)? {
        try reader.values(
            """
            SELECT seq, type FROM entries WHERE seq < ? AND type NOT IN ('contribution', 'access') ORDER BY seq DESC LIMIT 1
            """, [.integer(seq)]
        ).first.map { ($0[0].integer ?? 0, $0[1].textValue) }
    }
}

/// The schema as the code's migrations make it, against which a file's schema is checked: a
/// dropped trigger, an added table, a changed column, a deleted or unknown migration record is
/// a ledger that does not verify (schema/FORMAT.md, "The ledger file").
enum Schema {
    /// One row of `sqlite_master`: what it is, its name, its table and the SQL that made it.
    struct Object: Equatable, Comparable {
        let type: String
        let name: String
        let table: String
        let sql: String?

        static func < (a: Object, b: Object) -> Bool { (a.type, a.name) < (b.type, b.name) }

        /// Compared by bytes: a look-alike name is another name.
        static func == (a: Object, b: Object) -> Bool {
            a.type.sameBytes(as: b.type) && a.name.sameBytes(as: b.name) && a.table.sameBytes(as: b.table)
                && (a.sql ?? "").sameBytes(as: b.sql ?? "") && (a.sql == nil) == (b.sql == nil)
        }
    }

    /// The migrations the code knows, in order.
    static let known = EmbeddedMigrations.all.map(\.0)
    /// The newest migration this code knows, as `--version` names it.
    static var latestMigration: String { known.last ?? "" }

    /// The migrations recorded in the file, in order.
    static func applied(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db.cachedStatement(sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"))
    }

    /// Whether the recorded migrations are every one the code knows, in order, followed by others:
    /// a later version's (FORMAT.md section 1).
    static func isNewer(_ applied: [String]) -> Bool {
        applied.count > known.count && Array(applied.prefix(known.count)) == known
    }

    /// Why the recorded migrations are not the first ones the code knows, in order; nil when they are.
    static func migrationsProblem(_ applied: [String]) -> String? {
        if let unknown = applied.first(where: { !known.contains($0) }) {
            return "migration \(InputError.quoted(unknown)) is not one this GigaLedger knows (written by a newer version, or changed)"
        }
        guard applied == Array(known.prefix(applied.count)) else {
            return
                "the migrations recorded (\(applied.joined(separator: ", "))) are not the first of \(known.joined(separator: ", ")) in order (one deleted or renamed?)"
        }
        return nil
    }

    static func objects(_ db: Database) throws -> [Object] {
        // SQLite's statistics tables (ANALYZE, routine maintenance) are SQLite's, not the schema's.
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\'")
        ).map {
            Object(type: $0["type"], name: $0["name"], table: $0["tbl_name"], sql: $0["sql"])
        }.sorted()
    }

    /// The objects the code's migrations up to `last` make, in a database in memory.
    static func expected(through last: String) throws -> [Object] {
        let queue = try DatabaseQueue()
        try LedgerDatabase.migrator().migrate(queue, upTo: last)
        return try queue.read(objects)
    }

    /// How the file's schema differs from what its recorded migrations make; nil when it does not.
    static func difference(_ db: Database) throws -> String? {
        let applied = try applied(db)
        if let problem = migrationsProblem(applied) { return problem }
        guard let last = applied.last else { return "no migration is recorded" }
        let stored = try objects(db), expected = try expected(through: last)
        for object in expected where !stored.contains(object) {
            let present = stored.contains { $0.type == object.type && $0.name == object.name }
            return "\(object.type) \(object.name) is \(present ? "not defined as the schema defines it" : "missing")"
        }
        if let extra = stored.first(where: { !expected.contains($0) }) { return "\(extra.type) \(extra.name) is not part of the schema" }
        return nil
    }
}
