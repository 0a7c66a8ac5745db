import Foundation
import GigaLedgerCore

/// A bad cell or row of an import file: which row (the file's record number, the header being
/// row 1), which column, the value, and what is wrong. Nothing is written when one is found.
public struct ImportError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .refused }
    public let row: Int
    public let column: String?
    public let value: String?
    public let problem: String

    public init(row: Int, column: String?, value: String?, problem: String) {
        self.row = row
        self.column = column
        self.value = value
        self.problem = problem
    }

    /// One line whatever the file held: a column name that is not a plain word is quoted and escaped.
    public var description: String {
        let problem = problem.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        guard let column else { return "row \(row): \(problem)" }
        let plain =
            !column.isEmpty && column.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == ";" || $0 == " " }
        return "row \(row), column \(plain ? column : InputError.quoted(column)): \(InputError.quoted(value ?? "")) \(problem)"
    }
}

/// Every problem of every row an import refused, so an officer fixes the file in one round: the
/// first `ImportErrors.listedMax` listed, one line each (row, column, value), in file order, and how
/// many rows and problems there were.
public struct ImportErrors: GigaLedgerError, Equatable {
    public var kind: FailureKind { .refused }
    public let errors: [ImportError]
    /// Problems found, and the rows they are in.
    public let total: Int
    public let rows: Int

    /// The most problems listed; the rest are counted.
    public static let listedMax = 100

    public init(errors: [ImportError], total: Int, rows: Int? = nil) {
        self.errors = errors
        self.total = total
        self.rows = rows ?? total
    }

    public var description: String {
        if total == 1, let only = errors.first { return only.description + "; nothing was written" }  // one line, as any refusal
        let more =
            total > errors.count ? "\n... and \(total - errors.count) more \(total == rows ? "refused rows" : "problems")" : ""
        let problems = total > rows ? " (\(total) problems)" : ""
        return "\(rows) row\(rows == 1 ? "" : "s") refused\(problems); nothing was written:\n" + errors.map(\.description).joined(separator: "\n")
            + more
    }
}

/// Collects refused rows' problems up to `ImportErrors.listedMax`, counting the rest.
public struct ImportErrorList: Sendable {
    public private(set) var errors = [ImportError]()
    public private(set) var total = 0
    public private(set) var rows = 0

    public init() {}

    /// One refused row's one problem.
    public mutating func add(_ error: ImportError) {
        add([error])
    }

    /// One refused row's problems (at least one).
    public mutating func add(_ problems: [ImportError]) {
        guard !problems.isEmpty else { return }
        rows += 1
        total += problems.count
        errors += problems.prefix(max(0, ImportErrors.listedMax - errors.count))
    }

    public var isEmpty: Bool { total == 0 }

    /// Adds the refusals an import threw, with its counts.
    public mutating func merge(_ refused: ImportErrors) {
        errors += refused.errors
        total += refused.total
        rows += refused.rows
    }

    /// Adds another list's refusals and its counts (the first `listedMax` by row are kept when thrown).
    public mutating func merge(_ other: ImportErrorList) {
        errors += other.errors
        total += other.total
        rows += other.rows
    }

    /// Throws the collected refusals, in file order, if there are any.
    public func throwIfAny() throws(ImportErrors) {
        guard total > 0 else { return }
        throw ImportErrors(errors: Array(errors.sorted { $0.row < $1.row }.prefix(ImportErrors.listedMax)), total: total, rows: rows)
    }
}

/// How an import file writes its columns and numbers: comma-separated with decimal points (the
/// default), or as a spreadsheet of a decimal-comma country saves it (`--delimiter ';'
/// --decimal-comma`: amounts `1.234,56` or `1234,56`, GPU-hours `12.000`).
public struct CSVDialect: Equatable, Sendable {
    public let delimiter: Character
    public let decimalComma: Bool

    public static let standard = CSVDialect(delimiter: ",", decimalComma: false)
    /// The delimiters an import file may use.
    public static let delimiters: [Character] = [",", ";", "\t"]

    public init(delimiter: Character, decimalComma: Bool) {
        self.delimiter = delimiter
        self.decimalComma = decimalComma
    }

    /// A delimiter as the command line gives it: `,`, `;`, and `tab` or `\t` for a tab.
    public static func parseDelimiter(_ text: String) throws(InputError) -> Character {
        switch text {
        case ",": return ","
        case ";": return ";"
        case "tab", "\t", "\\t": return "\t"
        default: throw InputError(field: "delimiter", value: text, problem: "is not one of: , ; tab")
        }
    }

    /// The delimiter's name in messages.
    public static func name(_ delimiter: Character) -> String {
        delimiter == "\t" ? "tabs" : delimiter == ";" ? "semicolons" : "commas"
    }

    /// An amount cell as `Cents.parse` reads it: with a decimal comma, `1.234,56` and `1234,56`
    /// become `1234.56` (dots only between groups of three digits); the value named in a refusal
    /// is the cell as written.
    func cents(_ text: String, field: String, allowZero: Bool = false) throws(InputError) -> Cents {
        guard decimalComma else {
            do { return try Cents.parse(text, field: field, allowZero: allowZero) } catch {
                // A spreadsheet's decimal comma: the option that reads it, named.
                let pieces = text.split(separator: ",", omittingEmptySubsequences: false)
                guard pieces.count == 2, Self.grouped(pieces[0]), (1...2).contains(pieces[1].count), pieces[1].allSatisfy(\.isASCIIDigit) else {
                    throw error
                }
                throw InputError(
                    field: field, value: text,
                    problem: "has a decimal comma: import the file with --decimal-comma, or write \(Cents.pointed(pieces[0], pieces[1]))")
            }
        }
        var normal = text
        let pieces = text.split(separator: ",", omittingEmptySubsequences: false)
        if pieces.count <= 2, Self.grouped(pieces[0]) {
            normal = pieces[0].replacingOccurrences(of: ".", with: "") + (pieces.count == 2 ? "." + pieces[1] : "")
        } else if pieces.count == 2, pieces[0].contains("."), pieces[0].allSatisfy({ $0.isASCIIDigit || $0 == "." }) {
            throw InputError(
                field: field, value: text, problem: "has dots that do not separate groups of three digits: write 1.234.567,89 or 1234567,89")
        } else if text.contains(".") && !text.contains(",") && text.allSatisfy({ $0.isASCIIDigit || $0 == "." }) {
            throw InputError(
                field: field, value: text,
                problem: "has a decimal point, but the file is read with --decimal-comma: write 1234,56 (or import it without --decimal-comma)")
        }
        do { return try Cents.parse(normal, field: field, allowZero: allowZero) } catch {
            throw InputError(field: field, value: text, problem: error.problem)
        }
    }

    /// GPU-hours as `AccessGrant.parseGPUHours` reads them: with a decimal comma, `12.000` is 12000.
    func gpuHours(_ text: String, field: String) throws(InputError) -> Int64 {
        guard decimalComma, text.contains("."), Self.grouped(Substring(text)) else {
            do { return try AccessGrant.parseGPUHours(text, field: field) } catch {
                guard !decimalComma, text.contains("."), Self.grouped(Substring(text)) else { throw error }
                throw InputError(
                    field: field, value: text,
                    problem:
                        "has a thousands separator: import the file with --decimal-comma (then \(text) reads as \(text.replacingOccurrences(of: ".", with: ""))), or write \(text.replacingOccurrences(of: ".", with: ""))"
                )
            }
        }
        do { return try AccessGrant.parseGPUHours(text.replacingOccurrences(of: ".", with: ""), field: field) } catch {
            throw InputError(field: field, value: text, problem: error.problem)
        }
    }

    /// Digits, with dots only between groups of three (`1.234.567`, `1234`).
    static func grouped(_ text: Substring) -> Bool {
        let groups = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let first = groups.first, !first.isEmpty, first.allSatisfy(\.isASCIIDigit) else { return false }
        return groups.count == 1 || (first.count <= 3 && groups.dropFirst().allSatisfy { $0.count == 3 && $0.allSatisfy(\.isASCIIDigit) })
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// One row of an import file, checked and ready to append.
public struct ImportRow: Equatable, Sendable {
    public let row: Int
    public let data: EntryData

    public init(row: Int, data: EntryData) {
        self.row = row
        self.data = data
    }
}

/// Contributions and access records from RFC 4180 CSV (README "Bulk import", schema/examples/).
/// The header names the columns; a row's `type` says which columns it uses, and the others must be empty.
public enum CSVImport {
    public static let columns = [
        "type", "factory", "date", "source", "amount", "category", "kind", "ref",
        "beneficiary", "gpu_hours", "pool", "commercial", "charge", "country",
    ]
    static let contributionColumns: Set<String> = ["type", "factory", "date", "source", "amount", "category", "kind", "ref"]
    static let accessColumns: Set<String> = [
        "type", "factory", "date", "beneficiary", "category", "gpu_hours", "pool", "commercial", "charge", "country",
    ]
    static let optionalColumns: Set<String> = ["ref", "commercial", "charge", "country"]

    /// The most rows one file may hold, and its largest size in bytes.
    public static let rowsMax = 1_000_000
    public static let fileBytesMax = 256 * 1024 * 1024

    /// Parses and checks every row of a CSV text; throws at the first bad one.
    public static func parse(_ text: String, dialect: CSVDialect = .standard) throws(ImportError) -> [ImportRow] {
        guard text.utf8.count <= fileBytesMax else {
            throw ImportError(row: 0, column: nil, value: nil, problem: "the file is larger than \(fileBytesMax) bytes")
        }
        var source = try CSVRowReader(CSVRecords(delimiter: dialect.delimiter, text: text), dialect: dialect)
        var rows = [ImportRow]()
        while true {
            let batch = try source.nextRows(upTo: 8_192)
            if let first = source.refused.errors.first { throw first }
            if batch.isEmpty { break }
            rows += batch
        }
        guard !rows.isEmpty else { throw ImportError(row: 2, column: nil, value: nil, problem: "the file has no rows to import") }
        return rows
    }

    /// The refusal of a file without a header row.
    static let noHeader =
        "has no header row: the file is empty (an import file starts with the header, e.g. \(columns.prefix(4).joined(separator: ",")),...)"

    /// The delimiter a header row read with `delimiter` shows the file really uses, when it is
    /// another: one cell that splits into columns of this import on `;` or a tab (or on `,`).
    public static func otherDelimiter(_ header: [String], read delimiter: Character) -> Character? {
        let names = header.map { $0.hasPrefix("\u{FEFF}") ? String($0.dropFirst()) : $0 }
        guard names.count == 1 else { return nil }
        return CSVDialect.delimiters.first { $0 != delimiter && names[0].split(separator: $0).map(String.init).contains(where: columns.contains) }
    }

    static func checkHeader(_ header: [String], dialect: CSVDialect = .standard) throws(ImportError) -> [String] {
        let names = header.map { $0.hasPrefix("\u{FEFF}") ? String($0.dropFirst()) : $0 }  // a byte order mark from a spreadsheet
        // A file that is not CSV of our columns (a passphrase file given by mistake, say) is
        // refused without quoting a byte of it: its first line may be a secret.
        guard names.contains(where: columns.contains) else {
            if let other = otherDelimiter(header, read: dialect.delimiter) {
                throw ImportError(
                    row: 1, column: nil, value: nil,
                    problem: "the columns are separated by \(CSVDialect.name(other)), not \(CSVDialect.name(dialect.delimiter)): import it with "
                        + "--delimiter \(other == "\t" ? "tab" : "'\(other)'")"
                        + (other == ";" ? " (and --decimal-comma if its amounts are written 1.234,56)" : ""))
            }
            throw ImportError(
                row: 1, column: nil, value: nil,
                problem: "is not a header of this import's columns (\(columns.joined(separator: ",")), lower case); nothing of the file is quoted")
        }
        for name in names where !columns.contains(name) {
            throw ImportError(row: 1, column: name, value: name, problem: "is not a column; the columns are \(columns.joined(separator: ","))")
        }
        if let twice = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ImportError(row: 1, column: twice, value: twice, problem: "is named twice in the header")
        }
        guard names.contains("type") else { throw ImportError(row: 1, column: "type", value: "", problem: "is missing from the header") }
        return names
    }

    /// A row's entry, or every problem it has (each cell checked, not only up to the first bad one).
    enum RowOutcome {
        case entry(EntryData)
        case problems([ImportError])
    }

    /// The import's columns, in `columns`' order.
    enum Column: Int, CaseIterable {
        case type, factory, date, source, amount, category, kind, ref, beneficiary, gpuHours, pool, commercial, charge, country
        var name: String { CSVImport.columns[rawValue] }
    }

    /// A row's cells by column, where a file's header put them.
    struct Cells {
        let values: [String]
        /// Each column's place in the row (`Column.rawValue` to index), nil when the header lacks it.
        let places: [Int?]

        /// `places` for a header (its names checked by `checkHeader`).
        static func places(header: [String]) -> [Int?] { CSVImport.columns.map { header.firstIndex(of: $0) } }

        subscript(_ column: Column) -> String? { places[column.rawValue].map { values[$0] } }
        /// The cell, "" when the header lacks the column.
        func text(_ column: Column) -> String { self[column] ?? "" }
    }

    /// The columns a row of each type uses and requires, by `Column.rawValue`.
    private static let contributionUses = Column.allCases.map { contributionColumns.contains($0.name) }
    private static let accessUses = Column.allCases.map { accessColumns.contains($0.name) }
    private static let optional = Column.allCases.map { optionalColumns.contains($0.name) }

    /// Reads one row's cells: its entry, or every problem it has.
    static func entry(_ cells: Cells, row: Int, dialect: CSVDialect = .standard) -> RowOutcome {
        let type = cells.text(.type)
        let uses: [Bool]
        switch type {
        case "contribution": uses = contributionUses
        case "access": uses = accessUses
        default: return .problems([ImportError(row: row, column: "type", value: type, problem: "is not one of: contribution, access")])
        }
        var problems = [ImportError]()
        func note(_ error: InputError) { problems.append(ImportError(row: row, column: error.field, value: error.value, problem: error.problem)) }
        for column in Column.allCases where !uses[column.rawValue] && !cells.text(column).isEmpty {
            problems.append(ImportError(row: row, column: column.name, value: cells[column], problem: "must be empty for a \(type) row"))
        }
        for column in Column.allCases where uses[column.rawValue] && !optional[column.rawValue] && cells.text(column).isEmpty {
            problems.append(ImportError(row: row, column: column.name, value: "", problem: "is required for a \(type) row"))
        }
        /// The cell of `column` read by `parse`, or nil (empty, or its problem noted).
        func cell<T>(_ column: Column, _ parse: (String) throws(InputError) -> T) -> T? {
            guard let text = cells[column], !text.isEmpty else { return nil }
            do { return try parse(text) } catch {
                note(error)
                return nil
            }
        }
        let factory = cell(.factory) { text throws(InputError) in try Codes.identifier(text, field: "factory") }
        let date = cell(.date) { text throws(InputError) in try CalendarDate.parse(text, field: "date") }
        let data: EntryData
        do throws(InputError) {
            if type == "contribution" {
                let source = cell(.source) { text throws(InputError) in try Source.parse(text, field: "source") }
                let amount = cell(.amount) { text throws(InputError) in try dialect.cents(text, field: "amount") }
                let category = cell(.category) { text throws(InputError) in try CostCategory.parse(text, field: "category") }
                let kind = cell(.kind) { text throws(InputError) in try ContributionKind.parse(text, field: "kind") }
                guard problems.isEmpty, let factory, let date, let source, let amount, let category, let kind else { return .problems(problems) }
                data = .contribution(
                    try Contribution(
                        factory: factory, source: source, amount: amount, date: date, category: category, kind: kind, ref: cells.text(.ref)))
            } else {
                let commercial = cells.text(.commercial)
                if !["", "yes", "no"].contains(commercial) {
                    problems.append(ImportError(row: row, column: "commercial", value: commercial, problem: "is not yes or no"))
                }
                let category = cell(.category) { text throws(InputError) in try AccessCategory.parse(text, field: "category") }
                let hours = cell(.gpuHours) { text throws(InputError) in try dialect.gpuHours(text, field: "gpu_hours") }
                let pool = cell(.pool) { text throws(InputError) in try AccessPool.parse(text, field: "pool") }
                let charge = cell(.charge) { text throws(InputError) in try dialect.cents(text, field: "charge", allowZero: true) } ?? Cents(0)
                let beneficiary = cell(.beneficiary) { text throws(InputError) in
                    try Codes.text(text, field: "beneficiary", bytesMax: Codes.nameBytesMax)
                }
                guard problems.isEmpty, let factory, let date, let category, let hours, let pool, let beneficiary else { return .problems(problems) }
                let country = cells.text(.country)
                data = .access(
                    try AccessGrant(
                        factory: factory, beneficiary: beneficiary, category: category, gpuHours: hours, date: date, pool: pool,
                        isCommercial: commercial == "yes", charge: charge, country: country.isEmpty ? nil : country))
            }
        } catch {
            note(error)
            return .problems(problems)
        }
        return .entry(data)
    }
}

/// Rows handed to an import a batch at a time, so that an import holds one batch, not the file.
public protocol ImportRowSource {
    /// The next good rows, at most `count`; empty at the end. A row that is not a good row is left
    /// out and kept in `refused`; what stops the reading (a broken file) throws.
    mutating func next(upTo count: Int) throws -> [ImportRow]
    /// The rows left out so far.
    var refused: ImportErrorList { get }
}

/// Reads the next rows of `base` on another thread while the caller works on the rows it was
/// given: a file's reading and parsing leave the import's in-order thread. One read at a time and
/// one thread at a time on `base` (a read ahead is awaited before `base` is touched again); a
/// read ahead asks for the count an import asks next (`Ledger.importBatchRows`); what a read
/// throws is thrown when its rows are asked for, as it would have been then; `refused` is what
/// the reads handed out so far refused, as `base` said it after each.
final class PrefetchingSource<Base: ImportRowSource>: ImportRowSource, @unchecked Sendable {
    private var base: Base
    private var ahead: (count: Int, done: DispatchSemaphore)?
    private var result: Result<[ImportRow], any Error> = .success([])
    private var refusedAfterRead = ImportErrorList()
    private(set) var refused = ImportErrorList()

    init(_ base: Base) { self.base = base }

    func next(upTo count: Int) throws -> [ImportRow] {
        if let ahead {
            ahead.done.wait()
            self.ahead = nil
            refused = refusedAfterRead
            if ahead.count != count { preconditionFailure("PrefetchingSource: rows asked by \(count), read ahead by \(ahead.count)") }
        } else {
            result = Result { try base.next(upTo: count) }
            refused = base.refused
        }
        let rows = try result.get()
        // Fewer rows than asked is the end of the file: nothing more to read ahead.
        if rows.count == count {
            let done = DispatchSemaphore(value: 0), nextCount = Ledger.importBatchRows(after: count)
            ahead = (nextCount, done)
            // A thread of its own, not a dispatch queue's: its progress never waits for a pool
            // whose threads may all be blocked (a caller on Swift's global executor, a test run).
            Thread { [self] in
                result = Result { try base.next(upTo: nextCount) }
                refusedAfterRead = base.refused
                done.signal()
            }.start()
        }
        return rows
    }
}

/// Rows already in memory (tests, the benchmark).
public struct ImportRowArray: ImportRowSource {
    private let rows: [ImportRow]
    private var start = 0

    public init(_ rows: [ImportRow]) { self.rows = rows }

    public var refused: ImportErrorList { ImportErrorList() }

    public mutating func next(upTo count: Int) throws -> [ImportRow] {
        let end = min(rows.count, start + count)
        defer { start = end }
        return Array(rows[start..<end])
    }
}

/// Rows parsed from CSV as they are read, each checked as `CSVImport` checks it.
public struct CSVRowReader: ImportRowSource {
    private var records: CSVRecords
    private let header: [String]
    /// Where the header put each of the import's columns.
    private let places: [Int?]
    private var number = 1
    private var count = 0
    /// For a file: its reader, which hashes what it reads, and the SHA-256 it must come to.
    private let file: HashingFileReader?
    private let expected: (path: String, sha256: [UInt8])?
    private var checkedWhole = false
    public private(set) var refused = ImportErrorList()

    private let dialect: CSVDialect

    init(
        _ records: CSVRecords, dialect: CSVDialect = .standard, file: HashingFileReader? = nil, expected: (path: String, sha256: [UInt8])? = nil
    ) throws(ImportError) {
        self.records = records
        self.dialect = dialect
        self.file = file
        self.expected = expected
        let first: [String]?
        do throws(CSVSyntaxError) { first = try self.records.next() } catch {
            throw ImportError(row: 1, column: nil, value: nil, problem: "is not valid CSV: \(error)")
        }
        guard let first else { throw ImportError(row: 1, column: nil, value: nil, problem: CSVImport.noHeader) }
        header = try CSVImport.checkHeader(first, dialect: dialect)
        places = CSVImport.Cells.places(header: header)
    }

    public mutating func next(upTo limit: Int) throws -> [ImportRow] {
        let rows = try nextRows(upTo: limit)
        if rows.count < limit, !checkedWhole, let file, let expected, file.readToEnd {
            checkedWhole = true
            guard file.digest() == expected.sha256 else {
                throw FileRefusal("import file \(expected.path)", "changed while it was being imported; nothing was written")
            }
        }
        return rows
    }

    mutating func nextRows(upTo limit: Int) throws(ImportError) -> [ImportRow] {
        var rows = [ImportRow]()
        while rows.count < limit {
            let record: [String]?
            do throws(CSVSyntaxError) { record = try records.next() } catch {
                throw ImportError(row: number + 1, column: nil, value: nil, problem: "is not valid CSV: \(error)")
            }
            guard let cells = record else { break }
            number += 1
            if cells.count == 1 && cells[0].isEmpty { continue }  // a blank line, as spreadsheets leave at the end
            guard count < CSVImport.rowsMax else {
                throw ImportError(row: number, column: nil, value: nil, problem: "more than \(CSVImport.rowsMax) rows in one file")
            }
            count += 1
            guard cells.count == header.count else {
                refused.add(ImportError(row: number, column: nil, value: nil, problem: "has \(cells.count) fields, the header has \(header.count)"))
                continue
            }
            switch CSVImport.entry(CSVImport.Cells(values: cells, places: places), row: number, dialect: dialect) {
            case .entry(let data): rows.append(ImportRow(row: number, data: data))
            case .problems(let problems): refused.add(problems)
            }
        }
        return rows
    }
}

/// An import file, checked whole without being held: its name and SHA-256 (what the import
/// record keeps), read once in chunks that also check its size and UTF-8; its rows are read
/// again, a batch at a time, while they are imported.
public struct ImportFile: Sendable {
    public let path: String
    /// The file's name without its folder, as the import record keeps it.
    public let fileName: String
    /// The SHA-256 of the file's bytes: the same file twice is refused by it.
    public let sha256: [UInt8]
    /// Its lines, less the header: the rows there will be, for a progress bar.
    public let rowsEstimate: Int

    /// Bytes read at a time.
    static let chunkBytes = 1 << 20

    /// Checks `path` as a whole: a file that cannot be read cannot be used; one over the size
    /// limit or not UTF-8 is refused.
    public static func open(_ path: String) throws -> ImportFile {
        guard !FileManager.default.isDirectory(path), let file = HashingFileReader(path: path) else {
            throw UnreadableFile(what: "import file", path: path, why: "no such file or not readable")
        }
        var total = 0, lines = 0, pending = [UInt8]()
        while case let chunk = file.next(), !chunk.isEmpty {
            total += chunk.count
            guard total <= CSVImport.fileBytesMax else { throw FileRefusal("import file \(path)", "is larger than \(CSVImport.fileBytesMax) bytes") }
            lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            pending += chunk
            // UTF-8 checked up to the last whole character; the rest waits for the next chunk.
            var end = pending.count
            while end > 0, end > pending.count - 4, pending[end - 1] & 0xC0 == 0x80 { end -= 1 }
            if end > 0, pending[end - 1] >= 0xC0 { end -= 1 }
            guard String(validating: pending[0..<end], as: UTF8.self) != nil else {
                throw Self.notUTF8(path, pending[0..<end], linesBefore: lines - pending.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
            }
            pending.removeFirst(end)
        }
        guard String(validating: pending, as: UTF8.self) != nil else {
            throw Self.notUTF8(path, pending[...], linesBefore: lines - pending.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
        }
        return ImportFile(
            path: path, fileName: URL(fileURLWithPath: path).lastPathComponent, sha256: file.digest(), rowsEstimate: max(1, lines - 1))
    }

    /// The refusal of a file that is not UTF-8: the row and the byte, and the usual cause (a
    /// spreadsheet's "CSV" saved in Windows-1252) with the fix. `linesBefore`: the lines before `bytes`.
    static func notUTF8(_ path: String, _ bytes: ArraySlice<UInt8>, linesBefore: Int) -> FileRefusal {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let lead = bytes[offset]
            let length = lead < 0x80 ? 1 : lead >= 0xF0 && lead < 0xF5 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 0
            guard length > 0, offset + length <= bytes.endIndex,
                bytes[(offset + 1)..<(offset + length)].allSatisfy({ $0 & 0xC0 == 0x80 }),
                String(validating: bytes[offset..<(offset + length)], as: UTF8.self) != nil
            else { break }
            offset += length
        }
        let row = linesBefore + bytes[bytes.startIndex..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + 1
        let byte = offset < bytes.endIndex ? String(format: "0x%02X", bytes[offset]) : "its end"
        return FileRefusal(
            "import file \(path)",
            "is not UTF-8 text: row \(row) holds byte \(byte); a spreadsheet's plain \"CSV\" is often saved in Windows-1252: save it as \"CSV UTF-8\" and import that file"
        )
    }

    /// Its rows, read and checked as they are asked for. The bytes read are hashed again: a file
    /// that changed since `open` is refused when its end is reached, before anything is committed.
    public func rows(_ dialect: CSVDialect = .standard) throws -> CSVRowReader {
        guard let file = HashingFileReader(path: path) else { throw UnreadableFile(what: "import file", path: path, why: "not readable") }
        return try CSVRowReader(CSVRecords(delimiter: dialect.delimiter, chunks: file.next), dialect: dialect, file: file, expected: (path, sha256))
    }

    /// How the file looks written, from its first lines (at most `sniffBytesMax`): the delimiter
    /// its header uses, and whether its amounts look like `1.234,56` or `1234,56`. A proposal for an
    /// officer at a terminal, never applied without being asked.
    public func sniff() -> CSVDialect? {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: Self.sniffBytesMax) else { return nil }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        guard let header = lines.first.map(String.init), let delimiter = CSVImport.otherDelimiter([header], read: ",") else { return nil }
        // A decimal comma: a cell of digits (dots between groups of three) and a comma with one or two digits after it.
        let decimalComma = lines.dropFirst().prefix(50).contains { line in
            line.split(separator: delimiter).contains { cell in
                let parts = cell.split(separator: ",", omittingEmptySubsequences: false)
                return parts.count == 2 && (1...2).contains(parts[1].count) && parts[1].allSatisfy(\.isASCIIDigit) && CSVDialect.grouped(parts[0])
            }
        }
        return CSVDialect(delimiter: delimiter, decimalComma: decimalComma)
    }

    /// Every problem of every row read with `dialect`, nothing imported: what an officer is told
    /// when the file needs options it was not given.
    public func problems(_ dialect: CSVDialect) -> ImportErrorList {
        var list = ImportErrorList()
        var reader: CSVRowReader
        do { reader = try rows(dialect) } catch {
            if let refusal = error as? ImportError { list.add(refusal) }
            return list
        }
        // A record that cannot be read stops the reading: it is listed after the rows before it.
        do { while try !reader.nextRows(upTo: 8_192).isEmpty {} } catch { list.add(error) }
        list.merge(reader.refused)
        return list
    }

    /// The bytes `sniff` reads.
    static let sniffBytesMax = 64 * 1024
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

extension Ledger {
    /// Imports the rows of a file opened by `ImportFile.open`, streaming them.
    public func importFile(
        _ file: ImportFile, dialect: CSVDialect = .standard, key: any Signer, allowDuplicate: Bool = false, checks: EntryChecks = EntryChecks(),
        dryRun: Bool = false, onRow: ((ImportRow, Entry) -> Void)? = nil, progress: ((Int, Int) -> Void)? = nil,
        deliver: (ImportResult) throws -> Void = { _ in }
    ) throws -> ImportResult {
        // The file is read and parsed on another thread, a batch ahead of the rows being chained.
        var rows = PrefetchingSource(try file.rows(dialect))
        return try importRows(
            from: &rows, fileName: file.fileName, fileSHA256: file.sha256, key: key, allowDuplicate: allowDuplicate,
            checks: checks, dryRun: dryRun, rowsEstimate: file.rowsEstimate, onRow: onRow, progress: progress, deliver: deliver)
    }
}
