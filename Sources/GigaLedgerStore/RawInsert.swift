import Foundation
import GRDB
import GRDBSQLite
import GigaLedgerCore

/// The INSERTs an append or an import makes for every entry (the entry, its tree nodes, its index
/// rows), bound through SQLite's C interface:
/// byte arrays go to SQLite without first becoming `Data` and `StatementArguments`, which is most
/// of an import's serial time. Statements are compiled once, by GRDB's statement cache.
enum RawInsert {
    /// Runs `sql` with `values` bound in order; SQLite's errors become GRDB's `DatabaseError`.
    static func run(_ db: Database, sql: String, _ values: [ColumnValue]) throws {
        let handle = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(handle)
        bind(values, to: handle)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            let extended = sqlite3_extended_errcode(db.sqliteConnection)
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: sql)
        }
        sqlite3_reset(handle)
    }

    /// Binds `values` in order to a statement's parameters.
    static func bind(_ values: [ColumnValue], to handle: SQLiteStatement) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(handle, index, number)
            case .text(let text): sqlite3_bind_text(handle, index, text, -1, transient)
            case .blob(let bytes) where bytes.isEmpty: sqlite3_bind_zeroblob(handle, index, 0)  // a nil pointer would bind NULL
            case .blob(let bytes): bytes.withUnsafeBytes { _ = sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            case .other: preconditionFailure("RawInsert.bind: \(value) is not a value GigaLedger writes")
            }
        }
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A column's value as GigaLedger writes it: an integer, a text or a blob. `other` stands for a
/// value read back that GigaLedger never writes (a real, a NULL): it equals no written value.
public enum ColumnValue: Equatable, Sendable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case other(String)

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .int64(let number): self = .integer(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        case .double, .null: self = .other(value.description)
        }
    }

    /// Texts are equal when their UTF-8 bytes are: Swift's `==` on strings would take a
    /// canonically equivalent spelling (NFC and NFD, K and U+212A) as the same name.
    public static func == (lhs: ColumnValue, rhs: ColumnValue) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.text(let a), .text(let b)): return a.sameBytes(as: b)
        case (.blob(let a), .blob(let b)): return a == b
        default: return false
        }
    }

    /// The sequence number in an index row's last column.
    public var integer: Int64? { if case .integer(let number) = self { number } else { nil } }
}

extension ColumnValue {
    /// For a message: a text quoted (control characters escaped), a blob in hex.
    var shown: String {
        switch self {
        case .integer(let number): String(number)
        case .text(let text): InputError.quoted(text)
        case .blob(let bytes): "x'" + Encoding.hex(bytes) + "'"
        case .other(let text): text
        }
    }

    /// The text, or "" for a value of another kind (which equals no text GigaLedger writes).
    var textValue: String { if case .text(let text) = self { text } else { "" } }
    /// The bytes, or none for a value of another kind.
    var bytesValue: [UInt8] { if case .blob(let bytes) = self { bytes } else { [] } }

    /// As GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .integer(let number): return number.databaseValue
        case .text(let text): return text.databaseValue
        case .blob(let bytes): return Data(bytes).databaseValue
        case .other: return .null
        }
    }
}

/// A read through SQLite's C interface, a row at a time, the one way GigaLedger reads rows from a
/// SQLite file: each value copied once from SQLite's buffer (GRDB's rows would wrap each in `Data`
/// first; `verify` reads every entry, tree node and index row). The statement is GRDB's (it
/// finalizes it). Texts are read whole, as the bytes SQLite stores: reading one as a C string
/// would stop at a NUL byte, and `key_id || X'00'` would then pass for `key_id`; bytes that are
/// not UTF-8 read as U+FFFD, which equals no text GigaLedger writes. An integer column whose value
/// is not an integer reads as nil (a STRICT table holds none, but a file edited byte by byte might).
final class RawRows {
    private let statement: Statement
    private let handle: SQLiteStatement
    private let connection: GRDB.SQLiteConnection?
    private var finished = false
    /// SQLite's error, thrown again by every later step: a scan that failed never looks finished.
    private var failure: DatabaseError?

    /// A scan of its own (a statement compiled for it), or with `cached` GRDB's cached statement
    /// for `sql`, which `all` leaves reset for its next use.
    init(_ db: Database, sql: String, arguments: [ColumnValue] = [], cached: Bool = false) throws {
        statement = try cached ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(handle)
        RawInsert.bind(arguments, to: handle)
    }

    /// Every row of `sql`, each read by `read`.
    static func all<T>(_ db: Database, sql: String, _ arguments: [ColumnValue], _ read: (RawRows) -> T) throws -> [T] {
        let rows = try RawRows(db, sql: sql, arguments: arguments, cached: true)
        defer { sqlite3_reset(rows.handle) }
        var found = [T]()
        while try rows.step() { found.append(read(rows)) }
        return found
    }

    /// Moves to the next row; false after the last, and from then on (SQLite would start again).
    /// SQLite's errors (a damaged page) become GRDB's `DatabaseError`.
    func step() throws -> Bool {
        if let failure { throw failure }
        guard !finished else { return false }
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        finished = true
        if code == SQLITE_DONE { return false }
        let error = DatabaseError(
            resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)), message: String(cString: sqlite3_errmsg(connection)),
            sql: statement.sql)
        failure = error
        throw error
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_INTEGER ? sqlite3_column_int64(handle, column) : nil
    }

    /// A blob's bytes (a text's too); none for NULL.
    func bytes(_ column: Int32) -> [UInt8] {
        guard let base = sqlite3_column_blob(handle, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: base, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// A text read whole as UTF-8 (bytes that are not read as U+FFFD); "" for NULL.
    func text(_ column: Int32) -> String {
        guard let base = sqlite3_column_blob(handle, column) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    /// The value as GigaLedger writes values (`ColumnValue(_:)` for the others).
    func value(_ column: Int32) -> ColumnValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_TEXT: return .text(text(column))
        case SQLITE_BLOB: return .blob(bytes(column))
        default: return ColumnValue(DatabaseValue(sqliteStatement: handle, index: column))
        }
    }

    /// The row's columns as the values GigaLedger writes.
    func values() -> [ColumnValue] { (0..<sqlite3_column_count(handle)).map(value) }

    /// An entry from a row of `SELECT \(StoreReader.entryColumns)`, by position: a seq that is not
    /// an integer reads as 0, which no entry has.
    func entry() -> Entry {
        Entry(
            seq: integer(0) ?? 0, type: text(1), body: bytes(2), prevHash: bytes(3), hash: bytes(4), signer: text(5), signature: bytes(6),
            recordedAt: text(7))
    }
}
