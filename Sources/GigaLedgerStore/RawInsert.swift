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
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(handle, index, number)
            case .text(let text): sqlite3_bind_text(handle, index, text, -1, transient)
            case .blob(let bytes) where bytes.isEmpty: sqlite3_bind_zeroblob(handle, index, 0)  // a nil pointer would bind NULL
            case .blob(let bytes): bytes.withUnsafeBytes { _ = sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            case .other: preconditionFailure("RawInsert.run: \(value) is not a value GigaLedger writes")
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
