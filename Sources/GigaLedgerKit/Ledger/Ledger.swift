import Foundation
import GRDB

/// A ledger file: an append-only chain of signed entries in SQLite (schema/FORMAT.md).
///
/// Appends happen in one `BEGIN IMMEDIATE` transaction each, which takes SQLite's write lock
/// before the head is read, so two processes appending at once queue up instead of both
/// chaining onto the same head.
public final class Ledger {
    public let path: String
    let queue: DatabaseQueue

    private init(path: String, queue: DatabaseQueue) {
        self.path = path
        self.queue = queue
    }

    /// Creates a new ledger at `path` whose genesis entry enrols `authority` under `name`.
    /// Refuses an existing file; leaves no file behind when anything fails.
    public static func create(path: String, authority: SigningKey, authorityName: String, origin: String) throws -> (Ledger, Entry) {
        let origin = try Codes.text(origin, field: "origin", bytesMax: Genesis.originBytesMax)
        let enrolment = try KeyEnrolment(checking: authority.publicKey, name: authorityName, role: .authority, scopes: [])
        try LedgerDatabase.refuseExisting(path: path)
        do {
            let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA application_id = \(LedgerDatabase.applicationID)")
            }
            try LedgerDatabase.migrator().migrate(queue)
            let ledger = Ledger(path: path, queue: queue)
            let genesis = try ledger.append(.genesis(Genesis(origin: origin, authority: enrolment)), key: authority)
            return (ledger, genesis)
        } catch {
            LedgerDatabase.removeFiles(path: path)
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Opens an existing ledger. `forWriting` also refuses a file marked read-only. A writer waits
    /// up to `lockWaitSeconds` for another writer's lock, then fails with `LedgerError.busy`.
    public static func open(path: String, forWriting: Bool, lockWaitSeconds: TimeInterval = LedgerDatabase.lockWaitSecondsDefault) throws -> Ledger {
        try LedgerDatabase.checkIsSQLiteFile(path: path)
        if forWriting { try LedgerDatabase.checkWritable(path: path) }
        do {
            let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: !forWriting, lockWaitSeconds: lockWaitSeconds))
            let (applicationID, hasEntries) = try queue.read { db in
                (try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0, try db.tableExists("entries"))
            }
            guard applicationID == LedgerDatabase.applicationID, hasEntries else {
                throw LedgerError.notALedger(path: path, "it is an SQLite database of another application")
            }
            if forWriting, try !queue.read({ try LedgerDatabase.migrator().hasCompletedMigrations($0) }) {
                try LedgerDatabase.migrator().migrate(queue)
            }
            return Ledger(path: path, queue: queue)
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    /// Appends `data` signed by `key` as the next entry and returns it.
    /// Throws `Refusal` when the rules refuse it, `LedgerError` when the file cannot be written;
    /// either way nothing is written.
    @discardableResult
    public func append(_ data: EntryData, key: SigningKey) throws -> Entry {
        do {
            return try queue.writeWithoutTransaction { db in
                var entry: Entry?
                try db.inTransaction(.immediate) {
                    entry = try Self.appendInTransaction(db, data: data, key: key)
                    return .commit
                }
                return entry!
            }
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }

    static func appendInTransaction(_ db: Database, data: EntryData, key: SigningKey) throws -> Entry {
        let head = try checkedHead(db)
        let body = EntryBody(seq: (head?.seq ?? 0) + 1, signer: key.id, recordedAt: Timestamp.now(), data: data)
        let signerKey = try Rules.check(body, facts: IndexedFacts(db: db))
        guard signerKey == key.publicKey else { throw Refusal("signer \(key.id) is enrolled with another public key") }
        let entry = Entry.make(body: body, prevHash: head?.hash ?? Entry.genesisPrevHash, key: key)
        // Check before writing what every reader will check after.
        precondition(Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, "Ledger.append: hash")
        guard key.publicKey.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash)) else {
            preconditionFailure("Ledger.append: a fresh signature does not verify")
        }
        try insert(entry, db: db)
        try index(body, db: db)
        var tree = MerkleAppender()
        try tree.appendLeaf(entryHash: entry.hash, seq: entry.seq, db: db)
        return entry
    }

    /// The head entry, its hash recomputed and its signature checked, so a damaged head is never built on.
    static func checkedHead(_ db: Database) throws -> Entry? {
        guard let row = try Row.fetchOne(db, sql: "SELECT \(entryColumns) FROM entries ORDER BY seq DESC LIMIT 1") else { return nil }
        let head = try entry(fromColumns: row)
        guard Entry.hash(prevHash: head.prevHash, body: head.body) == head.hash else {
            throw LedgerError.headInvalid(seq: head.seq, "its hash does not match its body")
        }
        let publicText = try Data.fetchOne(db, sql: "SELECT public_key FROM keys WHERE key_id = ?", arguments: [head.signer])
        guard let publicText, publicText.count == Sodium.publicKeyBytes,
              PublicKey(bytes: [UInt8](publicText)).verify(signature: head.signature, message: Entry.signedMessage(hash: head.hash))
        else { throw LedgerError.headInvalid(seq: head.seq, "its signature does not verify") }
        return head
    }

    static func insert(_ entry: Entry, db: Database) throws {
        try RawInsert.run(db, sql: """
            INSERT INTO entries (seq, type, body, prev_hash, hash, signer, signature, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(entry.seq), .text(entry.type), .blob(entry.body), .blob(entry.prevHash), .blob(entry.hash), .text(entry.signer),
                  .blob(entry.signature), .text(entry.recordedAt)])
    }

    /// Writes the index rows an entry implies (schema/FORMAT.md, "Index tables").
    static func index(_ body: EntryBody, db: Database) throws {
        for row in IndexRow.rows(for: body) {
            try RawInsert.run(db, sql: row.insertSQL, row.values.map(RawInsert.Value.init))
        }
    }

    /// The columns `entry(fromColumns:)` reads, in its order.
    static let entryColumns = "seq, type, body, prev_hash, hash, signer, signature, recorded_at"

    /// An entry from a row of `SELECT \(entryColumns)`, by position, each blob copied once.
    static func entry(fromColumns row: Row) throws -> Entry {
        func bytes(_ index: Int) throws -> [UInt8] { try row.withUnsafeData(atIndex: index) { $0.map { [UInt8]($0) } ?? [] } }
        return Entry(seq: row[0], type: row[1], body: try bytes(2), prevHash: try bytes(3), hash: try bytes(4), signer: row[5],
                     signature: try bytes(6), recordedAt: row[7])
    }

    // MARK: - Reading

    /// The entry at `seq`, or nil.
    public func entry(_ seq: Int64) throws -> Entry? {
        do {
            return try queue.read { db in try Row.fetchOne(db, sql: "SELECT \(Self.entryColumns) FROM entries WHERE seq = ?", arguments: [seq]).map(Self.entry(fromColumns:)) }
        } catch { throw LedgerDatabase.map(error, path: path) }
    }

    /// Every enrolled key, in enrolment order, with its revocation if any.
    public func keys() throws -> [KeyRecord] {
        do {
            return try queue.read { db in
                let facts = IndexedFacts(db: db)
                return try String.fetchAll(db, sql: "SELECT key_id FROM keys ORDER BY seq").compactMap { text in
                    try facts.key(try KeyID.parse(text, field: "key_id"))
                }
            }
        } catch { throw LedgerDatabase.map(error, path: path) }
    }

    /// Calls `body` with each entry in sequence order, streaming, inside one read transaction.
    public func forEachEntry(_ body: (Entry) throws -> Void) throws {
        do {
            try queue.read { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT \(Self.entryColumns) FROM entries ORDER BY seq")
                while let row = try rows.next() { try body(Self.entry(fromColumns: row)) }
            }
        } catch { throw LedgerDatabase.map(error, path: path) }
    }
}
