import Foundation
import GigaLedgerCore

/// What the store asks of a database, said once, and answered by each backend: a SQLite file
/// (`SQLiteBackend`) or a PostgreSQL database (`PostgresBackend`). `LedgerStore` picks the backend
/// from the location and never asks which one it holds; the statements are the same text for both
/// where the two dialects agree (`?` placeholders are numbered for PostgreSQL).
protocol StoreBackend: AnyObject {
    /// The file's path, or the PostgreSQL URL without its password.
    var path: String { get }

    /// Whether a ledger exists at `path` (a file, whatever it holds; a database with the ledger's tables).
    static func exists(at path: String) throws -> Bool
    /// Refuses a location where a new ledger cannot be made.
    static func checkCreatable(at path: String) throws
    /// Makes the schema and writes the first rows with `body` as one unit; a failure leaves nothing.
    static func create<T>(at path: String, bulk: Bool, firstWrite body: (any StoreConnection) throws -> T) throws -> (Self, T)
    /// Opens an existing ledger (`LedgerStore.open`).
    static func open(at path: String, forWriting: Bool, lockWaitSeconds: TimeInterval, role: WriterRole) throws -> Self
    /// Removes what a failed creation or copy left at `path`.
    static func removeFiles(at path: String)

    /// `body` in one read transaction, a consistent snapshot.
    func read<T>(_ body: (any StoreConnection) throws -> T) throws -> T
    /// `body` in one write transaction, which takes the ledger's write lock before anything is read;
    /// committed when `body` returns and `commit` is true, rolled back otherwise and on any error.
    func write<T>(commit: Bool, bulk: Bool, _ body: (any StoreConnection) throws -> T) throws -> T
    /// For the server: its one-writer lock is still held, or is taken again (`LedgerStore.holdWriterLock`).
    func holdWriterLock(waitSeconds: TimeInterval) throws
    /// Names the server that holds the ledger, for the commands it refuses.
    func announce(server url: String)
    /// Whether the ledger is marked inside as a copy kept by `gigaledger sync` (every name of the
    /// file sees it: a hard link too); false where the store keeps no such mark.
    func isMarkedCopy() throws -> Bool
    /// Marks the ledger inside as such a copy, or clears the mark.
    func markCopy(_ on: Bool) throws
}

/// A transaction's connection: the statements `StoreReader` and `StoreWriter` run, and the scans
/// that `verify` advances row by row.
protocol StoreConnection {
    /// Every row of `sql` as column values (small results only: keys, registrations, checkpoints).
    func rows(_ sql: String, _ values: [ColumnValue]) throws -> [[ColumnValue]]
    /// The first column of the first row of `sql`, an integer (or a boolean as 0 or 1), if any.
    func integer(_ sql: String, _ values: [ColumnValue]) throws -> Int64?
    /// The first column of every row of `sql`, integers.
    func integers(_ sql: String, _ values: [ColumnValue]) throws -> [Int64]
    /// The first column of every row of `sql`, blobs.
    func blobs(_ sql: String, _ values: [ColumnValue]) throws -> [[UInt8]]
    /// The entries `sql` selects (its columns `StoreReader.entryColumns`, in that order).
    func entries(_ sql: String, _ values: [ColumnValue]) throws -> [Entry]

    /// Every entry in sequence order, read as the cursor advances.
    func scanEntries() throws -> EntryCursor
    /// The stored nodes of one tree level in index order.
    func scanTreeLevel(_ level: Int) throws -> TreeLevelScan
    /// The stored rows of one index table in sequence order.
    func scanIndex(_ table: IndexRow.Table) throws -> IndexScan
    /// The integers in the first one or two (`columns`) columns of every row of one index table,
    /// in any order (nil for a value of another kind): the duplicate keys an import reads at once.
    func forEachIntegerPair(in table: IndexRow.Table, columns: Int, _ body: (Int64?, Int64?) -> Void) throws

    /// Whether the ledger has this table.
    func hasTable(_ name: String) throws -> Bool
    /// How the schema differs from what the code makes; nil when it is the same.
    func schemaDifference() throws -> SchemaDifference?
    /// What the database's own consistency check finds wrong with its storage; nil when nothing.
    func storageProblem() throws -> String?
    /// `storageProblem`, begun now beside the caller's own reads where the store can (SQLite); its
    /// answer is waited for with `StorageCheck.result`.
    func startStorageCheck() -> StorageCheck
    /// What the connected role may do that the database's rules should forbid it.
    func privilegeWarnings() throws -> [String]

    /// Runs one INSERT with `values` bound in order; a refusal may be thrown by `flush`.
    func insert(_ sql: String, _ values: [ColumnValue]) throws
    /// Waits for the inserts sent and not yet answered, and throws a refusal among them.
    func flush() throws
}

/// A storage check running on a thread of its own (`StoreConnection.startStorageCheck`), or one
/// already answered. `@unchecked Sendable`: `outcome` is written once, before `done` is signalled,
/// and read only after it.
public final class StorageCheck: @unchecked Sendable {
    private var outcome: Result<String?, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(finished: Result<String?, any Error>) {
        outcome = finished
        done.signal()
    }

    /// Runs `check` on a thread of its own (not the shared pool, which the replay's helpers use).
    init(_ check: @escaping @Sendable () throws -> String?) {
        Thread { [self] in
            outcome = Result { try check() }
            done.signal()
        }.start()
    }

    /// What the check found (nil: nothing), once it is done; what it threw, if it failed.
    public func result() throws -> String? {
        done.wait()
        done.signal()  // a second call answers at once
        return try outcome!.get()
    }
}

/// How a ledger's schema differs from what the code makes (`StoreReader.schemaDifference`).
public struct SchemaDifference: Sendable, CustomStringConvertible {
    public let reason: String
    /// Migrations are recorded after every one this code knows, all of them in order: the schema
    /// of a later GigaLedger, of which this one can judge nothing (verify exits 2, as for a later
    /// entry format), rather than a changed one.
    public var isNewer = false
    public var description: String { reason }
}
