import GRDB
import GRDBSQLite

/// The INSERTs an append or an import makes for every entry (the entry, its tree nodes, its index
/// rows), bound through SQLite's C interface:
/// byte arrays go to SQLite without first becoming `Data` and `StatementArguments`, which is most
/// of an import's serial time. Statements are compiled once, by GRDB's statement cache.
enum RawInsert {
    /// A bound value.
    enum Value {
        case integer(Int64)
        case text(String)
        case blob([UInt8])

        /// An index row's value (integers, text and blobs only: no index column holds another kind).
        init(_ value: DatabaseValue) {
            switch value.storage {
            case .int64(let number): self = .integer(number)
            case .string(let text): self = .text(text)
            case .blob(let data): self = .blob([UInt8](data))
            case .double, .null: preconditionFailure("RawInsert: an index row holds \(value), which no index column takes")
            }
        }
    }

    /// Runs `sql` with `values` bound in order; SQLite's errors become GRDB's `DatabaseError`.
    static func run(_ db: Database, sql: String, _ values: [Value]) throws {
        let handle = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(handle, index, number)
            case .text(let text): sqlite3_bind_text(handle, index, text, -1, transient)
            case .blob(let bytes) where bytes.isEmpty: sqlite3_bind_zeroblob(handle, index, 0)  // a nil pointer would bind NULL
            case .blob(let bytes): bytes.withUnsafeBytes { _ = sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            }
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            let extended = sqlite3_extended_errcode(db.sqliteConnection)
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: sql)
        }
        sqlite3_reset(handle)
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
