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

    /// Rows of another tag are dated months apart: neither the same facts nor the same amount in the week.
    static func line(_ index: Int, tag: String) -> String {
        "contribution,de-jupiter,\(tag == "BATCH" ? "2026-02-15" : "2026-06-15"),eu,\(index + 1).00,capex,payment,\(tag)-\(index),,,\n"
    }

    /// The file's rows, `repeats[i] = j` making row index i a copy of row index j (file row i + 2).
    static func file(_ fixture: Fixture, rows: Int, repeats: [Int: Int] = [:], tag: String = "BATCH") throws -> ImportFile {
        let text = Self.header + (0..<rows).map { Self.line(repeats[$0] ?? $0, tag: tag) }.joined()
        let path = fixture.dir.file("\(tag)-\(rows)-\(repeats.count).csv")
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

    /// The rows not yet written (`DuplicateRule.Rows`): a row is found by each of its keys, named
    /// once, in file order, while it is within the window, and not after it has left.
    @Test func theWindowOfUnwrittenRowsFindsEachRowOnceUntilItLeaves() throws {
        func data(_ amount: Int64, _ date: String, ref: String) throws -> EntryData {
            .contribution(
                try Contribution(
                    factory: "de-jupiter", source: .union, amount: Cents(amount), date: CalendarDate.parse(date, field: "date"), category: .capex,
                    kind: .payment, ref: ref))
        }
        var rows = DuplicateRule.Rows(window: 3)
        func add(_ data: EntryData, row: Int) -> [Int] {
            rows.candidatesAdding(data, keys: DuplicateRule.Keys(data), row: row).compactMap(\.row)
        }
        #expect(try add(data(100, "2026-02-02", ref: "A"), row: 2) == [])
        // The same amount two days later, and the same reference: found once, by either key.
        #expect(try add(data(100, "2026-02-04", ref: "A"), row: 3) == [2])
        #expect(try add(data(200, "2026-05-04", ref: "B"), row: 4) == [])
        // Rows 2 and 3 in file order (the same facts as 2, near 3).
        #expect(try add(data(100, "2026-02-02", ref: "A"), row: 5) == [2, 3])
        // Row 2 has left (window of 3: rows 3, 4, 5 are kept): rows 3 and 5 remain.
        #expect(try add(data(100, "2026-02-02", ref: "A"), row: 6) == [3, 5])
        // Many rows later, none of the first is kept.
        for row in 7..<20 { _ = try add(data(Int64(1_000 + row), "2026-08-03", ref: "X\(row)"), row: row) }
        #expect(try add(data(100, "2026-02-02", ref: "A"), row: 20) == [])
        #expect(try add(data(1_019, "2026-08-03", ref: "X19"), row: 21) == [19])
    }

    /// An import large beside its ledger checks its rows' keys against a filter of every key the
    /// ledger held, read once (`KeyFilter`); a small one asks the ledger about each batch's keys.
    /// Either finds a row that repeats an entry, and a row that repeats an earlier row of its file.
    @Test(arguments: [true, false])
    func repeatsAreFoundWithAndWithoutTheKeyFilter(filtered: Bool) throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.importFile(try Self.file(fixture, rows: 40, tag: "EARLIER"), key: fixture.authority)
        let entries = try fixture.ledger.size()
        // Rows enough for the ledger's size to choose the filter, or too few.
        let rows = filtered ? Int(entries / Ledger.keyFilterEntriesPerRow) + 4 : 3
        let chosen = try fixture.ledger.store.read { try Ledger.keyFilter($0, entries: entries, rowsEstimate: rows) }
        #expect((chosen != nil) == filtered)
        // An entry repeated; one's amount three days earlier, in the week before (EARLIER rows are
        // dated Monday 2026-06-15, the row's amount is its index + 1); one's ref with other facts.
        let repeats = [
            Self.line(7, tag: "EARLIER"), "contribution,de-jupiter,2026-06-12,eu,9.00,capex,payment,NEAR-8,,,\n",
            "contribution,de-jupiter,2026-01-20,eu,777.00,capex,payment,EARLIER-9,,,\n",
        ]
        let lines = (0..<rows - 3).map { Self.line(1_000 + $0, tag: "LATER") } + repeats
        let path = fixture.dir.file("later.csv")
        try Data((Self.header + lines.joined()).utf8).write(to: URL(fileURLWithPath: path))
        let file = try ImportFile.open(path)
        #expect(file.rowsEstimate == rows)
        let refusal = try #require(throws: ImportErrors.self) { try fixture.ledger.importFile(file, key: fixture.authority) }
        #expect(refusal.rows == 3, "\(refusal)")
        let named = refusal.errors.map(\.description)
        #expect(named.count == 3 && named[0].hasPrefix("row \(rows - 1): repeats entry "), "\(named)")
        #expect(named.count == 3 && named[1].hasPrefix("row \(rows): looks like entry "), "\(named)")
        #expect(named.count == 3 && named[2].hasPrefix("row \(rows + 1): has ref \"EARLIER-9\", already the ref of entry "), "\(named)")
        #expect(try fixture.ledger.size() == entries, "nothing written")
    }

    /// Refusals of every kind, in different batches of the pipeline (a cell, a duplicate, a rule),
    /// are all named, and nothing is written.
    @Test func refusalsInDifferentBatchesAreAllNamed() throws {
        let fixture = try Fixture()
        let before = try fixture.ledger.size()
        var lines = (0..<1_000).map { Self.line($0, tag: "BATCH") }
        lines[100] = lines[100].replacingOccurrences(of: "2026-02-15", with: "2026-02-30")  // batch 1 (rows 0-255)
        lines[300] = Self.line(3, tag: "BATCH")  // batch 2 (256-767): repeats row 3
        lines[900] = lines[900].replacingOccurrences(of: "de-jupiter", with: "nowhere")  // batch 3 (768-1,791)
        let path = fixture.dir.file("mixed.csv")
        try Data((Self.header + lines.joined()).utf8).write(to: URL(fileURLWithPath: path))
        let refusal = try #require(throws: ImportErrors.self) { try fixture.ledger.importFile(ImportFile.open(path), key: fixture.authority) }
        let named = refusal.errors.map(\.description)
        #expect(refusal.rows == 3, "\(named)")
        #expect(named.count == 3 && named[0].hasPrefix("row 102, column date: \"2026-02-30\""), "\(named)")
        #expect(named.count == 3 && named[1].hasPrefix("row 302: repeats row 5 "), "\(named)")
        #expect(named.count == 3 && named[2].hasPrefix("row 902: factory: \"nowhere\""), "\(named)")
        #expect(try fixture.ledger.size() == before, "nothing written")
    }

    /// The filter never says a key it holds is absent; of keys it does not hold, few read as "may be".
    @Test func theKeyFilterHoldsEveryKeyItWasGivenAndFewOthers() {
        var random = SeededRandom(state: 16)
        var filter = KeyFilter(keys: 10_000)
        let held = (0..<10_000).map { _ in Int64(bitPattern: random.next()) }
        for key in held { filter.insert(key) }
        #expect(held.allSatisfy(filter.mayContain))
        let others = (0..<100_000).filter { _ in filter.mayContain(Int64(bitPattern: random.next())) }.count
        #expect(others < 1_000, "\(others) of 100,000 keys not held read as may be held")
        print("FIGURE key filter: \(others) of 100,000 keys not held read as may be held (16 bits a key, 4 probes)")
    }

    /// Batches: indices 0-255, 256-767, 768-1,791, 1,792-3,839, 3,840-7,935, 7,936-16,127.
    @Test(arguments: [
        // Found among the rows not yet written (once a row is refused, none is written).
        [100: 3, 300: 200, 1_000: 10, 3_000: 2_000],
        // Alone: the earlier row was written two batches before, within the import's transaction;
        // it is still among the recent rows kept (16,384), and named as its row.
        [1_000: 10],
        // Written five batches before, still among the recent rows.
        [9_000: 10],
        // Written seven batches before, and beyond the window of recent rows (16,384): found only
        // as an entry (through the key filter, the import being large beside the fixture's ledger).
        [17_000: 10],
    ])
    func repeatsAreFoundWhereverTheEarlierRowIs(repeats: [Int: Int]) throws {
        let fixture = try Fixture()
        let before = try fixture.ledger.size()
        let file = try Self.file(fixture, rows: (repeats.keys.max() ?? 0) + 100, repeats: repeats)
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
        // An allowed repeat in the second batch is flagged in its entry, the others are not; the
        // facts digests stored are the ones the bytes give (verify compares them).
        let again = try fixture.ledger.importFile(
            try Self.file(fixture, rows: 300, repeats: [299: 0], tag: "AGAIN"), key: fixture.authority,
            checks: EntryChecks(allowDuplicate: true))
        #expect(again.rowCount == 300)
        let first = again.first.seq
        for (offset, flagged) in [(0, false), (298, false), (299, true)] {
            let body = try EntryBody.decode(try #require(try fixture.ledger.entry(first + Int64(offset))).body)
            #expect(body.data.saysDuplicate == flagged, "row \(offset + 2)")
        }
        #expect(try fixture.verify().isVerified)
    }
}
