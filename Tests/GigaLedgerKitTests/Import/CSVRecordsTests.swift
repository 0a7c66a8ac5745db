import CSV
import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit

/// The import's CSV reader (`CSVRecords`) reads what was written: records made at random and
/// written as RFC 4180 come back field for field, whatever the chunks the bytes arrive in; on any
/// text at all it reads what yaslab/CSV.swift (the reader it replaced) reads, except where it
/// refuses a text that reader guessed at; and its refusals reach an officer as one line naming the row.
@Suite struct CSVRecordsTests {
    /// The records of `text`, its bytes handed out in chunks of 1 to `chunkMax` bytes; and the refusal that stopped it, if any.
    static func read(
        _ text: [UInt8], delimiter: Character, chunkMax: Int, random: inout SeededRandom
    ) -> (
        records: [[String]], refusal: CSVSyntaxError?
    ) {
        var sizes = [Int]()
        var offset = 0
        while offset < text.count {
            let size = Int.random(in: 1...chunkMax, using: &random)
            sizes.append(size)
            offset += size
        }
        var start = 0, next = 0
        var records = CSVRecords(delimiter: delimiter) {
            guard next < sizes.count else { return [] }
            let end = min(text.count, start + sizes[next])
            defer {
                start = end
                next += 1
            }
            return Array(text[start..<end])
        }
        var read = [[String]]()
        do {
            while let record = try records.next() { read.append(record) }
        } catch {
            return (read, error)
        }
        return (read, nil)
    }

    /// What CSV.swift reads of `text` (without a byte order mark: its string reader keeps one).
    static func readByCSVSwift(_ text: String, delimiter: Character) throws -> [[String]] {
        let reader = try CSVReader(string: text, hasHeaderRow: false, delimiter: delimiter.unicodeScalars.first!)
        var read = [[String]]()
        while let record = reader.next() { read.append(record) }
        return read
    }

    static let delimiters: [Character] = [",", ";", "\t"]

    /// A field of plain characters and the ones that need quoting, a two-byte and a four-byte one among them.
    static func field(_ random: inout SeededRandom) -> String {
        let alphabet: [String] = ["a", "7", " ", "é", "€", "𝄞", ",", ";", "\t", "\"", "\r", "\n", "-", "."]
        return (0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
    }

    /// `fields` as RFC 4180 writes them: quoted when one needs it (or at random), quotes doubled.
    static func write(_ records: [[String]], delimiter: Character, lineEnd: String, random: inout SeededRandom) -> String {
        records.map { record in
            record.map { field in
                let needs = field.contains { $0 == "\"" || $0 == delimiter || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
                return needs || Int.random(in: 0..<4, using: &random) == 0 ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }.joined(separator: String(delimiter))
        }.joined(separator: lineEnd)
    }

    @Test func recordsWrittenAsRFC4180AreReadBackWhateverTheChunks() throws {
        var random = SeededRandom(state: 35)
        for round in 0..<Stress.count(quick: 2_000, full: 20_000) {
            let delimiter = Self.delimiters[round % 3]
            let lineEnd = ["\n", "\r\n", "\r"][round / 3 % 3]
            // Records of at least one field; a record of one empty field is a blank line, and a last
            // one is not written at all when no line end follows it: left out here.
            let records = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                var record = (0..<Int.random(in: 1...4, using: &random)).map { _ in Self.field(&random) }
                if record == [""] { record = ["x"] }
                return record
            }
            var text = Self.write(records, delimiter: delimiter, lineEnd: lineEnd, random: &random)
            if Bool.random(using: &random) { text += lineEnd }
            let bom = round % 5 == 0
            let bytes = (bom ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
            let read = Self.read(bytes, delimiter: delimiter, chunkMax: 1 + round % 9, random: &random)
            #expect(read.refusal == nil, "round \(round): \(text.debugDescription)")
            #expect(read.records == records, "round \(round): \(text.debugDescription)")
            #expect(try Self.readByCSVSwift(text, delimiter: delimiter) == records, "round \(round): CSV.swift on \(text.debugDescription)")
        }
    }

    @Test func anyTextIsReadAsTheReplacedReaderReadsItOrRefused() throws {
        var random = SeededRandom(state: 4180)
        let alphabet: [String] = ["a", "b", "é", ",", ";", "\t", "\"", "\r", "\n", "\n", " ", "c", "d", "e", "f", "\"\""]
        var refused = 0
        let rounds = Stress.count(quick: 5_000, full: 50_000)
        for round in 0..<rounds {
            let delimiter = Self.delimiters[round % 3]
            let text = (0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
            let ours = Self.read(Array(text.utf8), delimiter: delimiter, chunkMax: 1 + round % 7, random: &random)
            let theirs = try Self.readByCSVSwift(text, delimiter: delimiter)
            if ours.refusal != nil {
                // Refused where the other guessed: every record before the refused one is the same.
                refused += 1
                #expect(Array(theirs.prefix(ours.records.count)) == ours.records, "round \(round): \(text.debugDescription)")
            } else {
                #expect(ours.records == theirs, "round \(round): \(text.debugDescription)")
            }
        }
        // Both kinds of text were met: read alike, and refused.
        #expect(refused > rounds / 20 && refused < rounds / 2, "\(refused) of \(rounds) refused")
        print("FIGURE csv records: \(rounds) random texts, \(refused) refused, the rest read as CSV.swift reads them")
    }

    /// The texts it refuses, and the words it refuses them with.
    @Test(arguments: [
        ("a,\"b\"c,d\n", "goes on after its closing quote"),
        ("a,\"b\n", "is not closed"),
        ("a,\"b\"\"\n", "is not closed"),
    ])
    func aMalformedQuoteIsRefused(text: String, words: String) throws {
        var random = SeededRandom(state: 1)
        let read = Self.read(Array(text.utf8), delimiter: ",", chunkMax: 4, random: &random)
        let refusal = try #require(read.refusal)
        #expect(refusal.problem.contains(words), "\(refusal)")
    }

    @Test func bytesThatAreNotUTF8AreRefusedByField() throws {
        var random = SeededRandom(state: 2)
        let read = Self.read(Array("a,b\nc,".utf8) + [0xC3, 0x28] + Array("\n".utf8), delimiter: ",", chunkMax: 3, random: &random)
        #expect(read.records == [["a", "b"]])
        #expect(read.refusal?.problem == "field 2 is not UTF-8 text")
    }

    /// Through an import file: the row a refusal names is the record's, counted from the header as row 1.
    @Test func anImportNamesTheRowOfAMalformedRecord() throws {
        let dir = TempDir()
        let header = "type,factory,date,source,amount,category,kind,ref\n"
        let good = "contribution,de-jupiter,2026-02-15,eu,1.00,capex,payment,R1\n"
        dir.write("bad.csv", header + good + good + "contribution,de-jupiter,2026-02-15,eu,1.00,capex,payment,\"R\"2\n" + good, mode: 0o644)
        let file = try ImportFile.open(dir.file("bad.csv"))
        var rows = try file.rows()
        let refusal = try #require(throws: ImportError.self) { while try !rows.next(upTo: 100).isEmpty {} }
        #expect(refusal.description.hasPrefix("row 4: is not valid CSV: a quoted field goes on after its closing quote"), "\(refusal)")
        #expect(!refusal.description.contains("\n"))

        dir.write("empty.csv", "", mode: 0o644)
        let empty = try #require(throws: ImportError.self) { _ = try ImportFile.open(dir.file("empty.csv")).rows() }
        #expect(empty.description.hasPrefix("row 1: has no header row: the file is empty"), "\(empty)")

        // A byte order mark and CR LF, as a spreadsheet saves: read as the plain file is.
        dir.write("sheet.csv", "\u{FEFF}" + (header + good + good).replacingOccurrences(of: "\n", with: "\r\n"), mode: 0o644)
        var sheet = try ImportFile.open(dir.file("sheet.csv")).rows()
        let read = try sheet.next(upTo: 100)
        #expect(read.count == 2 && sheet.refused.total == 0)
        #expect(read.map(\.row) == [2, 3])
    }
}
