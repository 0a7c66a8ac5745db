import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// An import goes in batches that grow (`Ledger.importBatchRows`: 256, 512, 1,024 ... rows), each
/// read ahead while the one before is worked on. A row that repeats another is found wherever the
/// two fall: in one batch, in the batch before (still being signed, not written) or in one written
/// long before; and the file is read whole, each row once.
@Suite struct ImportBatchTests {
    static let header = "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool\n"

    static func line(_ index: Int) -> String { "contribution,de-jupiter,2026-02-15,eu,\(index + 1).00,capex,payment,BATCH-\(index),,,\n" }

    /// The file's rows, `repeats[i] = j` making row index i a copy of row index j.
    static func file(_ fixture: Fixture, rows: Int, repeats: [Int: Int] = [:]) throws -> ImportFile {
        let text = Self.header + (0..<rows).map { Self.line(repeats[$0] ?? $0) }.joined()
        let path = fixture.dir.file("rows-\(rows)-\(repeats.count).csv")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try ImportFile.open(path)
    }

    @Test func theBatchesGrowToTheirBound() {
        var sizes = [Int](), previous = 0
        for _ in 0..<8 {
            previous = Ledger.importBatchRows(after: previous)
            sizes.append(previous)
        }
        #expect(sizes == [256, 512, 1_024, 2_048, 4_096, 8_192, 8_192, 8_192])
    }

    @Test func repeatsAreFoundInTheSameBatchTheOneBeforeAndOnesWrittenLongBefore() throws {
        let fixture = try Fixture()
        let before = try fixture.ledger.size()
        // Batches: rows 0-255, 256-767, 768-1,791, 1,792-3,839. File rows are indices + 2.
        let repeats = [
            100: 3,  // the same batch
            300: 200,  // the batch before, not yet written when this one is checked
            1_000: 10,  // three batches on, long written within the import's transaction
            3_000: 2_000,  // the same (fourth) batch
        ]
        let file = try Self.file(fixture, rows: 3_500, repeats: repeats)
        let refusal = try #require(throws: ImportErrors.self) { try fixture.ledger.importFile(file, key: fixture.authority) }
        let named = refusal.errors.map(\.description)
        #expect(refusal.rows == repeats.count, "\(named)")
        for (index, earlier) in repeats.sorted(by: { $0.key < $1.key }) {
            #expect(named.contains { $0.hasPrefix("row \(index + 2): repeats row \(earlier + 2) ") }, "row \(index + 2): \(named)")
        }
        #expect(try fixture.ledger.size() == before, "nothing written")
    }

    @Test func aFileOfManyBatchesIsImportedWholeAndVerifies() throws {
        let fixture = try Fixture()
        let before = try fixture.ledger.size()
        let rows = 2_000  // 256 + 512 + 1,024, then 208 rows: the last batch is short
        var seen = [Int]()
        let result = try fixture.ledger.importFile(try Self.file(fixture, rows: rows), key: fixture.authority) { row, _ in seen.append(row.row) }
        #expect(result.rowCount == rows)
        #expect(seen == Array(2..<(rows + 2)), "each row once, in order")
        #expect(try fixture.ledger.size() == before + Int64(rows) + 1)
        #expect(try fixture.verify().isVerified)
        // Allowed repeats are flagged in the entries, and their facts digest is the flagged one.
        let again = try fixture.ledger.importFile(
            try Self.file(fixture, rows: 300, repeats: [299: 0]), key: fixture.authority, allowDuplicate: true,
            checks: EntryChecks(allowDuplicate: true))
        #expect(again.rowCount == 300)
        #expect(try fixture.verify().isVerified)
    }
}
