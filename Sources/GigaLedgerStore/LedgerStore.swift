import Foundation
import GRDB
import GigaLedgerCore
import Synchronization

/// A ledger's store, and the one place that holds SQL (schema/FORMAT.md, "Tables"): a SQLite file,
/// or a PostgreSQL database (`postgres://` URL) with the same tables, rows and bytes, each a
/// `StoreBackend` picked from the location.
///
/// The services above it read through `read` and write through `write`, one transaction each, and
/// see entries, bodies, tree nodes, index rows and checkpoints, never a statement. The database's
/// errors become `LedgerError`s in the backends, once.
public final class LedgerStore {
    /// The newest schema migration this code knows (what `--version` names).
    public static var latestMigration: String { Schema.latestMigration }

    /// The file's path, or the PostgreSQL URL without its password.
    public var path: String { backend.path }
    let backend: any StoreBackend
    /// Whether the ledger was opened for writing.
    public let isWritable: Bool
    /// Tree nodes read in this process's committed snapshots (`StoreReader.committedTreeNode`).
    let nodeCache = NodeCache()

    /// How long a writer waits, by default, for another writer's lock before giving up with "busy, retry".
    public static let lockWaitSecondsDefault: TimeInterval = 10

    /// The SQLite page size of every ledger file GigaLedger makes (`PRAGMA page_size`; SQLite's
    /// default is 4,096). Fewer, fuller pages for the same rows: shallower b-trees for the random
    /// keys of the duplicate indexes, half as many pages to read and check. Measured in
    /// BENCHMARKS.md ("8,192-byte pages"). Not part of validity: a ledger of any page size SQLite
    /// accepts verifies the same (FORMAT.md section 1), and a backup of a SQLite ledger keeps its
    /// source's (SQLite's backup API copies pages).
    package static let sqlitePageSizeBytes = 8_192

    private init(backend: any StoreBackend, isWritable: Bool) {
        self.backend = backend
        self.isWritable = isWritable
    }

    /// Whether `location` names a PostgreSQL ledger (a `postgres://` URL) rather than a SQLite file.
    public static func isPostgres(_ location: String) -> Bool { PostgresLocation.isURL(location) }

    /// The backend of the ledger at `location`.
    static func backend(for location: String) -> any StoreBackend.Type {
        isPostgres(location) ? PostgresBackend.self : SQLiteBackend.self
    }

    /// Whether a ledger exists at `path`: a file (whatever it holds: opening it says), or a database
    /// with the ledger's tables.
    public static func exists(path: String) throws -> Bool { try backend(for: path).exists(at: path) }

    /// A SQLite ledger's connection queue (tests set pragmas on it).
    var queue: DatabaseQueue {
        guard let sqlite = backend as? SQLiteBackend else { preconditionFailure("LedgerStore.queue: \(path) is not a SQLite file") }
        return sqlite.queue
    }

    /// Whether this ledger is a PostgreSQL database.
    public var isPostgres: Bool { backend is PostgresBackend }

    /// Creates a new ledger and writes its first rows with `body` (a genesis entry, a copy's
    /// entries) as one unit: on PostgreSQL the schema and the rows in one transaction, so a failure
    /// or a kill leaves the database as it was; on SQLite the file is removed when `body` fails
    /// (a caller that must survive a kill writes it under a temporary name first).
    public static func create<T>(path: String, bulk: Bool = false, firstWrite body: (StoreWriter) throws -> T) throws -> (LedgerStore, T) {
        let (backend, result) = try backend(for: path).create(at: path, bulk: bulk) { try body(StoreWriter(connection: $0)) }
        return (LedgerStore(backend: backend, isWritable: true), result)
    }

    /// Creates a new ledger with the schema and no entries. Refuses an existing one; leaves nothing
    /// behind when it fails. The caller appends the genesis entry and calls `removeFiles` if that fails.
    public static func create(path: String) throws -> LedgerStore { try create(path: path, firstWrite: { _ in }).0 }

    /// Opens an existing ledger. `forWriting` also refuses a file marked read-only and brings an
    /// older schema up to date. A writer waits up to `lockWaitSeconds` for another writer's lock.
    /// A writer is a command or the server (`role`): while a server holds the ledger, a command's
    /// writes are refused with the server's URL, and a second server is refused (`WriterRole`).
    public static func open(
        path: String, forWriting: Bool, lockWaitSeconds: TimeInterval = lockWaitSecondsDefault,
        role: WriterRole = .command
    ) throws -> LedgerStore {
        let backend = try backend(for: path).open(at: path, forWriting: forWriting, lockWaitSeconds: lockWaitSeconds, role: role)
        return LedgerStore(backend: backend, isWritable: forWriting)
    }

    /// For the server (`WriterRole.server`): its one-writer lock is still held, or is taken again
    /// (a PostgreSQL session lost in a failover); throws when another writer holds it now. A SQLite
    /// ledger's lock cannot be lost while the process lives.
    public func holdWriterLock(waitSeconds: TimeInterval) throws { try backend.holdWriterLock(waitSeconds: waitSeconds) }

    /// Names the server that holds this ledger (`WriterRole.server`), for the commands it refuses:
    /// in the lock file beside a SQLite ledger, in the lock's session's `application_name` on PostgreSQL.
    public func announce(server url: String) { backend.announce(server: url) }

    /// Whether the ledger is marked inside as a copy kept by `gigaledger sync` (SQLite: its header).
    public func isMarkedCopy() throws -> Bool { try backend.isMarkedCopy() }

    /// Marks the ledger inside as a copy kept by `sync`, or clears the mark (`sync --detach`).
    public func markCopy(_ on: Bool) throws { try backend.markCopy(on) }

    /// The SQL an administrator runs so that `role` (the server's, the officers') may read and
    /// append to a PostgreSQL ledger and nothing else; nil for SQLite.
    public var grantSQL: String? { isPostgres ? PostgresSchema.grantSQL(role: "gigaledger_app") : nil }

    /// Refuses a path where a new database cannot be made: one of its files exists, or its folder
    /// does not; a database whose schema holds any table.
    public static func checkCreatable(path: String) throws { try backend(for: path).checkCreatable(at: path) }

    /// Removes the files of a database at `path` (after a failed creation or copy). For PostgreSQL,
    /// removes the tables of a ledger that holds at most its genesis entry (one just made), never more.
    public static func removeFiles(path: String) { backend(for: path).removeFiles(at: path) }

    /// Runs `body` in one read transaction: a consistent snapshot while others append.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try backend.read { try body(StoreReader(connection: $0, nodeCache: nodeCache)) }
    }

    /// A consistency proof from the tree nodes this process has read before, without reading
    /// anything; nil when one is not at hand (`Ledger.headProofs` reads them).
    public func keptConsistencyProof(old: Int64, new: Int64) -> [Merkle.Hash]? {
        try? Merkle.proveConsistency(old: old, new: new, node: nodeCache.keptOnly)
    }

    /// Runs `body` in one write transaction, which takes the ledger's write lock before anything is
    /// read, so two writers queue up instead of both building on the same head. Commits when `body`
    /// returns and `commit` is true; rolls back otherwise (a dry run) and on any error. `bulk` gives
    /// a SQLite transaction a large page cache (an import dirties many pages).
    public func write<T>(commit: Bool = true, bulk: Bool = false, _ body: (StoreWriter) throws -> T) throws -> T {
        guard isWritable else { throw LedgerError.readOnly(path: path, "it was opened for reading") }
        return try backend.write(commit: commit, bulk: bulk) { try body(StoreWriter(connection: $0)) }
    }

    /// Copies a SQLite ledger with SQLite's online backup API (sqlite.org/backup.html), a consistent
    /// snapshot while others may be appending, to a new file beside `target` (its path is
    /// returned), with the ledger's own permissions. The caller checks the copy and then calls
    /// `publishCopy`; nothing ever stands at `target` half-written, even when the process is killed.
    public func backupCopy(for target: String) throws -> String {
        guard let sqlite = backend as? SQLiteBackend else {
            preconditionFailure("LedgerStore.backupCopy: a PostgreSQL ledger is backed up by `Ledger.copy`")
        }
        return try sqlite.backupCopy(for: target)
    }

    /// Moves a checked copy made by `backupCopy` to `target`, which must still not exist.
    public static func publishCopy(_ partial: String, to target: String) throws {
        precondition(!isPostgres(target), "LedgerStore.publishCopy: a copy is published into a file")
        try SQLiteBackend.publishCopy(partial, to: target)
    }
}

/// What a transaction may read: entries, bodies, keys, tree nodes, index rows, checkpoints.
public struct StoreReader {
    let connection: any StoreConnection
    /// The store's cache of committed tree nodes, for a reader of a committed snapshot (a read
    /// transaction); nil in a write transaction, whose nodes may yet be rolled back.
    var nodeCache: NodeCache? = nil

    /// The columns an entry is read from, in this order (`StoreConnection.entries`).
    static let entryColumns = "seq, type, body, prev_hash, hash, signer, signature, recorded_at"

    /// What the database's own consistency check finds wrong with the file; nil when nothing. SQLite:
    /// `PRAGMA quick_check` (pages, b-trees, an index pointed at another's storage). PostgreSQL keeps
    /// its own checksums and write-ahead log; its pages are not for an application to read.
    public func storageProblem() throws -> String? { try connection.storageProblem() }

    /// `storageProblem`, begun now on a connection and thread of its own where the store allows it
    /// (SQLite), so that the caller reads meanwhile; `StorageCheck.result` waits for the answer.
    public func startStorageCheck() -> StorageCheck { connection.startStorageCheck() }

    /// How the schema (tables, columns, indexes, triggers, migration records) differs from what the
    /// code makes; nil when it is the same.
    public func schemaDifference() throws -> SchemaDifference? { try connection.schemaDifference() }

    /// What the connected role may do to the ledger that the database's own rules should forbid it
    /// (a PostgreSQL role that may update, delete or truncate, or that owns the tables and so may drop
    /// their triggers); empty for SQLite, whose file permissions are the operating system's.
    public func privilegeWarnings() throws -> [String] { try connection.privilegeWarnings() }

    /// The last entry, as stored (unchecked), or nil for an empty ledger.
    public func head() throws -> Entry? {
        try connection.entries("SELECT \(Self.entryColumns) FROM entries ORDER BY seq DESC LIMIT 1", []).first
    }

    /// Up to `limit` entries from `seq` on, as stored, in order (a replica's or a tile's range).
    public func entries(from seq: Int64, limit: Int) throws -> [Entry] {
        try connection.entries(
            "SELECT \(Self.entryColumns) FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?", [.integer(seq), .integer(Int64(limit))])
    }

    /// The stored hashes of `count` tree nodes of `level` from `index` on, in order; fewer when
    /// the level has fewer (a tlog tile, read in one statement).
    public func treeNodes(level: Int, from index: Int64, count: Int) throws -> [[UInt8]] {
        try connection.blobs(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
            [.integer(Int64(level)), .integer(index), .integer(index + Int64(count))])
    }

    /// The entry at `seq`, as stored, or nil.
    public func entry(_ seq: Int64) throws -> Entry? {
        try connection.entries("SELECT \(Self.entryColumns) FROM entries WHERE seq = ?", [.integer(seq)]).first
    }

    /// The entry whose hash is `hash`, or nil (hashes are unique: each commits to its predecessor).
    public func entry(hash: [UInt8]) throws -> Entry? {
        try connection.entries("SELECT \(Self.entryColumns) FROM entries WHERE hash = ?", [.blob(hash)]).first
    }

    /// The stored body bytes of entry `seq`, or nil.
    public func body(_ seq: Int64) throws -> [UInt8]? {
        try connection.blobs("SELECT body FROM entries WHERE seq = ?", [.integer(seq)]).first
    }

    /// The number of entries (the highest sequence number).
    public func size() throws -> Int64 {
        try integer("SELECT COALESCE(MAX(seq), 0) FROM entries") ?? 0
    }

    /// The first column of the first row of `sql`, an integer (or a boolean as 0 or 1), if any.
    func integer(_ sql: String, _ values: [ColumnValue] = []) throws -> Int64? { try connection.integer(sql, values) }

    /// The first column of every row of `sql`, integers.
    func integers(_ sql: String, _ values: [ColumnValue] = []) throws -> [Int64] { try connection.integers(sql, values) }

    /// Every row of `sql` as column values (small results only: keys, registrations, checkpoints).
    func values(_ sql: String, _ arguments: [ColumnValue] = []) throws -> [[ColumnValue]] { try connection.rows(sql, arguments) }

    /// The rows of an index table that `condition` selects, each checked against the entry that
    /// made it: its `seq` names an entry whose body makes exactly that row (`IndexRow.rows(for:)`,
    /// as `verify` derives them). A row that fails is one written outside GigaLedger (a role that
    /// may insert): whatever relies on it is refused, naming the row, and nothing else is.
    /// Index rows found made by their entries, in this process (`checkMade`).
    private static let rowsMade = Mutex<Set<String>>([])
    /// At most this many remembered (a row is under a few hundred bytes).
    static let rowsMadeMax = 100_000

    func checkedIndexRows(_ table: IndexRow.Table, where condition: String, _ arguments: [ColumnValue]) throws -> [[ColumnValue]] {
        let rows = try values("SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) WHERE \(condition) ORDER BY seq", arguments)
        for row in rows { try checkMade(table, row) }
        return rows
    }

    private func checkMade(_ table: IndexRow.Table, _ row: [ColumnValue]) throws {
        let seq = row.last?.integer ?? 0
        // A row found made by its entry stays so: entries are never changed (a role that may insert
        // cannot change one; a changed one is `verify`'s finding). Remembered per process.
        let key = table.name + "\u{0}" + row.map(\.shown).joined(separator: "\u{0}")
        if Self.rowsMade.withLock({ $0.contains(key) }) { return }
        if let bytes = try body(seq), let decoded = try? EntryBody.decode(bytes), decoded.seq == seq,
            IndexRow.rows(for: decoded).contains(IndexRow(table: table, values: row))
        {
            Self.rowsMade.withLock { rows in
                if rows.count >= Self.rowsMadeMax { rows.removeAll() }
                rows.insert(key)
            }
            return
        }
        let shown = zip(table.columns, row).map { "\($0) \($1.shown)" }.joined(separator: ", ")
        throw LedgerError.unmadeIndexRow(table: table.name, row: shown, seq: seq)
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

    /// The corrections that reverse entry `seq` (the `corrections` index, its rows checked).
    public func correctingEntries(of seq: Int64) throws -> [Int64] {
        try checkedIndexRows(IndexRow.corrections, where: "corrected_seq = ?", [.integer(seq)]).compactMap { $0.last?.integer }
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
    public func entries() throws -> EntryCursor { try connection.scanEntries() }

    /// The stored tree nodes by (level, index); a missing node throws `LedgerError.treeIncomplete`.
    public var treeNode: Merkle.NodeSource { TreeStore.nodeSource(connection) }

    /// The stored tree nodes through the store's cache of nodes read before (`NodeCache`): for the
    /// answers made on every append (roots, proofs). In a write transaction, the stored nodes.
    public var committedTreeNode: Merkle.NodeSource {
        nodeCache.map { $0.source(over: treeNode) } ?? treeNode
    }

    /// The stored nodes of one tree level in index order, for comparing with recomputed ones.
    public func treeLevelScan(level: Int) throws -> TreeLevelScan { try connection.scanTreeLevel(level) }

    /// How many tree nodes are stored.
    public func treeNodeCount() throws -> Int64 {
        try integer("SELECT COUNT(*) FROM merkle_nodes") ?? 0
    }

    /// Whether the ledger has this table (a SQLite file read without migrating it may predate one).
    public func hasTable(_ name: String) throws -> Bool { try connection.hasTable(name) }

    /// The stored rows of one index table in sequence order, for comparing with derived ones.
    public func indexScan(table: IndexRow.Table) throws -> IndexScan { try connection.scanIndex(table) }

    /// The entries with this facts digest (`Facts.digest`) that no correction cancels, in order:
    /// candidates, whose data the caller compares. Every row read is checked (`checkedIndexRows`).
    public func uncorrectedEntries(factsDigest digest: Int64) throws -> [Int64] {
        try uncorrected(IndexRow.facts, where: "digest = ?", [.integer(digest)])
    }

    /// The entries of the checked rows of `table` matching `condition` that no correction cancels, in order.
    private func uncorrected(_ table: IndexRow.Table, where condition: String, _ arguments: [ColumnValue]) throws -> [Int64] {
        try checkedIndexRows(table, where: condition, arguments).compactMap { $0.last?.integer }.filter { seq in
            try checkedIndexRows(IndexRow.corrections, where: "corrected_seq = ?", [.integer(seq)]).isEmpty
        }
    }

    /// The entries no correction cancels whose near keys (`NearKeys`) include one of `amountKeys`
    /// or, unless 0, `refKey`, in order: candidates, whose data the caller compares. Every row read
    /// is checked. None on a ledger without the table (a PostgreSQL ledger made before 0008 read as it is).
    public func uncorrectedEntries(amountKeys: [Int64], refKey: Int64) throws -> [Int64] {
        guard !amountKeys.isEmpty || refKey != 0, try hasTable(IndexRow.nearFacts.name) else { return [] }
        var conditions = amountKeys.map { _ in "amount_key = ?" }
        var arguments = amountKeys.map { ColumnValue.integer($0) }
        if refKey != 0 {
            conditions.append("ref_key = ?")
            arguments.append(.integer(refKey))
        }
        return try uncorrected(IndexRow.nearFacts, where: conditions.joined(separator: " OR "), arguments)
    }

    /// Which of `keys` the column `column` of index table `table` holds, in statements of at most
    /// `heldKeysPerStatement` keys: a filter before the checked look-ups (`uncorrectedEntries`),
    /// which a key it does not return needs not make. None on a ledger without the table.
    public func heldKeys(
        digests: [Int64], amountKeys: [Int64], refKeys: [Int64]
    ) throws -> (
        digests: Set<Int64>, amountKeys: Set<Int64>, refKeys: Set<Int64>
    ) {
        (
            try heldKeys(IndexRow.facts.name, column: "digest", among: digests),
            try heldKeys(IndexRow.nearFacts.name, column: "amount_key", among: amountKeys),
            try heldKeys(IndexRow.nearFacts.name, column: "ref_key", among: refKeys)
        )
    }

    /// Every key the duplicate rule's index tables hold (facts digests, amount keys, reference
    /// keys other than 0), one scan of each reading only those columns (paged on PostgreSQL:
    /// memory holds a page, not the table): what an import large beside its ledger reads once
    /// instead of `heldKeys` for each batch.
    public func forEachDuplicateKey(_ body: (Int64) -> Void) throws {
        if try hasTable(IndexRow.facts.name) {
            try connection.forEachIntegerPair(in: IndexRow.facts, columns: 1) { digest, _ in if let digest { body(digest) } }
        }
        if try hasTable(IndexRow.nearFacts.name) {
            try connection.forEachIntegerPair(in: IndexRow.nearFacts, columns: 2) { amount, ref in
                if let amount { body(amount) }
                if let ref, ref != 0 { body(ref) }
            }
        }
    }

    private func heldKeys(_ table: String, column: String, among keys: [Int64]) throws -> Set<Int64> {
        let distinct = Array(Set(keys))
        guard !distinct.isEmpty, try hasTable(table) else { return [] }
        var held = Set<Int64>()
        for start in stride(from: 0, to: distinct.count, by: Self.heldKeysPerStatement) {
            let chunk = distinct[start..<min(start + Self.heldKeysPerStatement, distinct.count)]
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            for row in try values("SELECT DISTINCT \(column) FROM \(table) WHERE \(column) IN (\(marks))", chunk.map { .integer($0) }) {
                if let key = row.first?.integer { held.insert(key) }
            }
        }
        return held
    }

    /// The most keys one `heldKeys` statement binds (SQLite allows 32,766 parameters; PostgreSQL 65,535).
    static let heldKeysPerStatement = 500

    /// The entry that recorded an import of a file with this SHA-256, if any (its row checked).
    public func importEntry(fileSHA256: [UInt8]) throws -> Int64? {
        try checkedIndexRows(IndexRow.imports, where: "file_sha256 = ?", [.text(Encoding.hex(fileSHA256))]).first?.last?.integer
    }

    static let checkpointColumns = "SELECT size, root, note, signed_at FROM checkpoints"

    /// Stored checkpoint rows selected by `clause`; none when the file predates the table (a ledger
    /// of migration 0001 alone, read without migrating it).
    private func checkpointRows(_ clause: String, _ arguments: [ColumnValue] = []) throws -> [StoredCheckpoint] {
        guard try hasTable("checkpoints") else { return [] }
        return try values("\(Self.checkpointColumns) \(clause)", arguments).map(StoredCheckpoint.init)
    }

    /// The checkpoint with the largest size, as stored.
    public func latestCheckpoint() throws -> StoredCheckpoint? {
        try checkpointRows("ORDER BY size DESC LIMIT 1").first
    }

    /// The stored checkpoint at exactly `size` entries, if any.
    public func checkpoint(size: Int64) throws -> StoredCheckpoint? {
        try checkpointRows("WHERE size = ?", [.integer(size)]).first
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

    /// Every stored checkpoint, smallest first (a few per quarter: `verify` checks each). A ledger
    /// of migration 0001 alone, read without migrating it, has none (no `checkpoints` table).
    public func checkpoints() throws -> [StoredCheckpoint] {
        try checkpointRows("ORDER BY size")
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

/// The index rows of a contribution or access entry (`StoreWriter.insertFacts`): the digest of
/// its facts as its bytes give them (`Facts.digest(type:body:)`) and its near keys.
package struct FactsRow: Sendable {
    package let seq: Int64
    package let digest: Int64
    package let near: NearKeys

    package init(seq: Int64, digest: Int64, near: NearKeys) {
        self.seq = seq
        self.digest = digest
        self.near = near
    }
}

/// What a write transaction adds: entries with their index rows and tree nodes, and checkpoints.
public struct StoreWriter {
    let connection: any StoreConnection

    init(connection: any StoreConnection) { self.connection = connection }
    /// A writer on a SQLite transaction opened by the caller (tests).
    init(db: Database) { self.connection = SQLiteConnection(db: db) }
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
        if settle { try connection.flush() }
    }

    /// Inserts a contribution or access entry and the tree nodes it completes, but not its index
    /// rows: the caller inserts those with `insertFacts`, in the same transaction, before anything
    /// reads them (an import, a batch at a time; `package`, so that no caller outside this package
    /// can leave them out). On PostgreSQL the statements are not waited for (an import's rows
    /// stream out): a refused one is thrown by a later read or by the commit, and then nothing of
    /// the transaction is written.
    package func appendRow(_ entry: Entry, tree: inout TreeAppender) throws {
        try insert(entry)
        try tree.append(entryHash: entry.hash, seq: entry.seq, connection: connection)
    }

    /// Inserts the index rows of contribution and access entries appended with `appendRow`: each
    /// one's facts digest and its near keys (`IndexRow.nearRow` of its data). The `facts` rows are
    /// inserted in order of digest, the `near_facts` rows in order of amount key (each then by `seq`).
    /// Those keys are digests: random across `facts_by_digest` and `near_facts_by_amount`, which
    /// outgrow SQLite's page cache as a ledger grows. In that order a batch reaches each page of
    /// those two indexes once, one page after the next, where in the order of the entries each row reaches
    /// one at random (`near_facts_by_ref` still does: a row goes into all of its table's indexes at
    /// once). The price: the tables' own b-trees, by `seq`, are filled out of order within a batch,
    /// about 0.6 % more pages in all at 1,000,000 entries. Measured there: an import's time, median
    /// of 12 alternating pairs, 0.925 × (BENCHMARKS.md, issue 35). Which order the rows go in is
    /// not part of the format: every reader finds and compares them by `seq`. On PostgreSQL, as for
    /// `appendRow`, a refused statement is thrown by a later read or by the commit.
    package func insertFacts(_ rows: [FactsRow]) throws {
        for row in rows.sorted(by: { ($0.digest, $0.seq) < ($1.digest, $1.seq) }) {
            try run(IndexRow.facts.insertSQL, [.integer(row.digest), .integer(row.seq)])
        }
        for row in rows.sorted(by: { ($0.near.amount, $0.seq) < ($1.near.amount, $1.seq) }) {
            try run(IndexRow.nearFacts.insertSQL, [.integer(row.near.amount), .integer(row.near.ref), .integer(row.seq)])
        }
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
        try connection.insert(sql, values)
    }

    /// `run`, waited for.
    func runNow(_ sql: String, _ values: [ColumnValue]) throws {
        try run(sql, values)
        try connection.flush()
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
