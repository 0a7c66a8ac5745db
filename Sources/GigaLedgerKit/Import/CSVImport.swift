import CSV
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

/// Every row an import refused, so an officer fixes the file in one round: the first
/// `ImportErrors.listedMax` listed, one line each, in file order, and how many there were.
public struct ImportErrors: GigaLedgerError, Equatable {
    public var kind: FailureKind { .refused }
    public let errors: [ImportError]
    public let total: Int

    /// The most refused rows listed; the rest are counted.
    public static let listedMax = 100

    public var description: String {
        if total == 1, let only = errors.first { return only.description }  // one line, as any refusal
        let more = total > errors.count ? "\n... and \(total - errors.count) more refused rows" : ""
        return "\(total) row\(total == 1 ? "" : "s") refused; nothing was written:\n" + errors.map(\.description).joined(separator: "\n") + more
    }
}

/// Collects refused rows up to `ImportErrors.listedMax`, counting the rest.
public struct ImportErrorList: Sendable {
    public private(set) var errors = [ImportError]()
    public private(set) var total = 0

    public init() {}

    public mutating func add(_ error: ImportError) {
        total += 1
        if errors.count < ImportErrors.listedMax { errors.append(error) }
    }

    public var isEmpty: Bool { total == 0 }

    /// Adds another list's refusals and its count (the first `listedMax` by row are kept when thrown).
    public mutating func merge(_ other: ImportErrorList) {
        errors += other.errors
        total += other.total
    }

    /// Throws the collected refusals, in file order, if there are any.
    public func throwIfAny() throws(ImportErrors) {
        guard total > 0 else { return }
        throw ImportErrors(errors: Array(errors.sorted { $0.row < $1.row }.prefix(ImportErrors.listedMax)), total: total)
    }
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
    public static func parse(_ text: String) throws(ImportError) -> [ImportRow] {
        guard text.utf8.count <= fileBytesMax else {
            throw ImportError(row: 0, column: nil, value: nil, problem: "the file is larger than \(fileBytesMax) bytes")
        }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw ImportError(row: 1, column: nil, value: nil, problem: CSVImport.describe(error))
        }
        var source = try CSVRowReader(reader)
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

    /// What the CSV reader's failure means for an officer (its own names are not for them).
    static func describe(_ error: Error) -> String {
        let name = String(describing: error)
        if name.contains("cannotReadHeaderRow") {
            return
                "has no header row: the file is empty (an import file starts with the header, e.g. \(columns.prefix(4).joined(separator: ",")),...)"
        }
        return "is not CSV (\(name))"
    }

    static func checkHeader(_ header: [String]) throws(ImportError) -> [String] {
        let names = header.map { $0.hasPrefix("\u{FEFF}") ? String($0.dropFirst()) : $0 }  // a byte order mark from a spreadsheet
        // A file that is not CSV of our columns (a passphrase file given by mistake, say) is
        // refused without quoting a byte of it: its first line may be a secret.
        guard names.contains(where: columns.contains) else {
            for separator in [";", "\t"] where names.count == 1 && names[0].components(separatedBy: separator).contains(where: columns.contains) {
                throw ImportError(
                    row: 1, column: nil, value: nil,
                    problem: "the columns are separated by \(separator == ";" ? "semicolons" : "tabs"), "
                        + "not commas: save the file as CSV with commas (in a spreadsheet: CSV UTF-8, comma-delimited)")
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

    static func entry(_ cells: [String: String], row: Int) throws(ImportError) -> EntryData {
        let type = cells["type"] ?? ""
        let used: Set<String>
        switch type {
        case "contribution": used = contributionColumns
        case "access": used = accessColumns
        default: throw ImportError(row: row, column: "type", value: type, problem: "is not one of: contribution, access")
        }
        for (column, value) in cells.sorted(by: { $0.key < $1.key }) where !used.contains(column) && !value.isEmpty {
            throw ImportError(row: row, column: column, value: value, problem: "must be empty for a \(type) row")
        }
        for column in used.sorted() where !optionalColumns.contains(column) && (cells[column] ?? "").isEmpty {
            throw ImportError(row: row, column: column, value: "", problem: "is required for a \(type) row")
        }
        do {
            return try type == "contribution" ? contribution(cells) : access(cells)
        } catch {
            throw ImportError(row: row, column: error.field, value: error.value, problem: error.problem)
        }
    }

    static func contribution(_ cells: [String: String]) throws(InputError) -> EntryData {
        .contribution(
            try Contribution(
                factory: cells["factory"]!, source: try Source.parse(cells["source"]!, field: "source"),
                amount: try Cents.parse(cells["amount"]!, field: "amount"), date: try CalendarDate.parse(cells["date"]!, field: "date"),
                category: try CostCategory.parse(cells["category"]!, field: "category"),
                kind: try ContributionKind.parse(cells["kind"]!, field: "kind"),
                ref: cells["ref"] ?? ""))
    }

    static func access(_ cells: [String: String]) throws(InputError) -> EntryData {
        let commercial = cells["commercial"] ?? ""
        guard ["", "yes", "no"].contains(commercial) else { throw InputError(field: "commercial", value: commercial, problem: "is not yes or no") }
        let charge = cells["charge"] ?? ""
        return .access(
            try AccessGrant(
                factory: cells["factory"]!, beneficiary: cells["beneficiary"]!,
                category: try AccessCategory.parse(cells["category"]!, field: "category"),
                gpuHours: try AccessGrant.parseGPUHours(cells["gpu_hours"]!, field: "gpu_hours"),
                date: try CalendarDate.parse(cells["date"]!, field: "date"),
                pool: try AccessPool.parse(cells["pool"]!, field: "pool"), isCommercial: commercial == "yes",
                charge: try Cents.parse(charge.isEmpty ? "0" : charge, field: "charge", allowZero: true),
                country: (cells["country"] ?? "").isEmpty ? nil : cells["country"]))
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
    private let reader: CSVReader
    private let header: [String]
    private var number = 1
    private var count = 0
    /// For a file: its stream, which hashes what it reads, and the SHA-256 it must come to.
    private let stream: HashingFileStream?
    private let expected: (path: String, sha256: [UInt8])?
    private var checkedWhole = false
    public private(set) var refused = ImportErrorList()

    init(_ reader: CSVReader, stream: HashingFileStream? = nil, expected: (path: String, sha256: [UInt8])? = nil) throws(ImportError) {
        self.reader = reader
        self.stream = stream
        self.expected = expected
        header = try CSVImport.checkHeader(reader.headerRow ?? [])
    }

    public mutating func next(upTo limit: Int) throws -> [ImportRow] {
        let rows = try nextRows(upTo: limit)
        if rows.count < limit, !checkedWhole, let stream, let expected, stream.readToEnd {
            checkedWhole = true
            guard stream.digest() == expected.sha256 else {
                throw FileRefusal("import file \(expected.path)", "changed while it was being imported; nothing was written")
            }
        }
        return rows
    }

    mutating func nextRows(upTo limit: Int) throws(ImportError) -> [ImportRow] {
        var rows = [ImportRow]()
        while rows.count < limit, let cells = reader.next() {
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
            do {
                rows.append(ImportRow(row: number, data: try CSVImport.entry(Dictionary(uniqueKeysWithValues: zip(header, cells)), row: number)))
            } catch {
                refused.add(error)
            }
        }
        if rows.count < limit, let error = reader.error {
            throw ImportError(row: number + 1, column: nil, value: nil, problem: "is not valid CSV: \(error)")
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
        guard let handle = FileHandle(forReadingAtPath: path), !FileManager.default.isDirectory(path) else {
            throw UnreadableFile(what: "import file", path: path, why: "no such file or not readable")
        }
        defer { try? handle.close() }
        let digest = SHA256Stream()
        var total = 0, lines = 0, pending = [UInt8]()
        while let chunk = try? handle.read(upToCount: chunkBytes), !chunk.isEmpty {
            total += chunk.count
            guard total <= CSVImport.fileBytesMax else { throw FileRefusal("import file \(path)", "is larger than \(CSVImport.fileBytesMax) bytes") }
            chunk.withUnsafeBytes { digest.update($0) }
            lines += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            pending += chunk
            // UTF-8 checked up to the last whole character; the rest waits for the next chunk.
            var end = pending.count
            while end > 0, end > pending.count - 4, pending[end - 1] & 0xC0 == 0x80 { end -= 1 }
            if end > 0, pending[end - 1] >= 0xC0 { end -= 1 }
            guard String(validating: pending[0..<end], as: UTF8.self) != nil else { throw FileRefusal("import file \(path)", "is not UTF-8 text") }
            pending.removeFirst(end)
        }
        guard String(validating: pending, as: UTF8.self) != nil else { throw FileRefusal("import file \(path)", "is not UTF-8 text") }
        return ImportFile(
            path: path, fileName: URL(fileURLWithPath: path).lastPathComponent, sha256: digest.finish(), rowsEstimate: max(1, lines - 1))
    }

    /// Its rows, read and checked as they are asked for. The bytes read are hashed again: a file
    /// that changed since `open` is refused when its end is reached, before anything is committed.
    public func rows() throws -> CSVRowReader {
        guard let stream = HashingFileStream(path: path) else { throw UnreadableFile(what: "import file", path: path, why: "not readable") }
        let reader: CSVReader
        do { reader = try CSVReader(stream: stream, hasHeaderRow: true) } catch {
            throw ImportError(row: 1, column: nil, value: nil, problem: CSVImport.describe(error))
        }
        return try CSVRowReader(reader, stream: stream, expected: (path, sha256))
    }
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
        _ file: ImportFile, key: SigningKey, allowDuplicate: Bool = false, checks: EntryChecks = EntryChecks(), dryRun: Bool = false,
        onRow: ((ImportRow, Entry) -> Void)? = nil, progress: ((Int, Int) -> Void)? = nil,
        deliver: (ImportResult) throws -> Void = { _ in }
    ) throws -> ImportResult {
        var rows = try file.rows()
        return try importRows(
            from: &rows, fileName: file.fileName, fileSHA256: file.sha256, key: key, allowDuplicate: allowDuplicate,
            checks: checks, dryRun: dryRun, rowsEstimate: file.rowsEstimate, onRow: onRow, progress: progress, deliver: deliver)
    }
}

/// A file read as an `InputStream` for the CSV reader, hashing every byte it hands out, and saying
/// at the end that nothing more is available (Foundation's own file stream on Linux does not,
/// which the CSV reader takes for a read error).
final class HashingFileStream: InputStream {
    private let handle: FileHandle
    private let running = SHA256Stream()
    private var buffer = [UInt8]()
    private var position = 0
    private(set) var readToEnd = false
    private var status: Stream.Status = .notOpen

    init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.handle = handle
        super.init(data: Data())
    }

    override func open() { status = .open }
    override func close() {
        status = .closed
        try? handle.close()
    }
    override var streamStatus: Stream.Status { status }
    override var streamError: Error? { nil }

    override var hasBytesAvailable: Bool {
        fill()
        return position < buffer.count
    }

    override func read(_ out: UnsafeMutablePointer<UInt8>, maxLength: Int) -> Int {
        fill()
        let count = min(maxLength, buffer.count - position)
        guard count > 0 else { return 0 }
        buffer.withUnsafeBufferPointer { source in out.update(from: source.baseAddress! + position, count: count) }
        position += count
        return count
    }

    override func getBuffer(_ buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, length len: UnsafeMutablePointer<Int>) -> Bool { false }

    /// The SHA-256 of every byte read; call once the stream is read to its end.
    func digest() -> [UInt8] { running.finish() }

    private func fill() {
        guard position == buffer.count, !readToEnd else { return }
        let chunk = (try? handle.read(upToCount: ImportFile.chunkBytes)) ?? Data()
        if chunk.isEmpty {
            readToEnd = true
            return
        }
        chunk.withUnsafeBytes { running.update($0) }
        buffer = [UInt8](chunk)
        position = 0
    }
}
