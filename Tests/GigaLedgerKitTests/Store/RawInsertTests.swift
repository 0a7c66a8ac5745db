import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerStore

@Suite struct RawInsertTests {
    /// Regression test for commit 0cee871: an empty byte array passed to sqlite3_bind_blob with a
    /// nil pointer binds NULL, which a NOT NULL column refuses and a nullable one stores as NULL.
    @Test func anEmptyBlobIsStoredAsAnEmptyBlobNotNull() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (b BLOB NOT NULL) STRICT")
            try RawInsert.run(db, sql: "INSERT INTO t (b) VALUES (?)", [.blob([])])
            try RawInsert.run(db, sql: "INSERT INTO t (b) VALUES (?)", [.blob([0x00, 0xff])])
        }
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT typeof(b) AS kind, length(b) AS bytes FROM t ORDER BY rowid") }
        #expect(rows.map { $0["kind"] as String } == ["blob", "blob"])
        #expect(rows.map { $0["bytes"] as Int } == [0, 2])
    }

    @Test func textsAreComparedAsBytes() {
        // "Kelvin" spelled with U+212A KELVIN SIGN is canonically equivalent to "K" for Swift's ==.
        #expect(ColumnValue.text("\u{212A}") != ColumnValue.text("K"))
        #expect(ColumnValue.text("caf\u{E9}") != ColumnValue.text("cafe\u{301}"))
        #expect(ColumnValue.text("K") == ColumnValue.text("K"))
    }
}
