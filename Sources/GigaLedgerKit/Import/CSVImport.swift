import GigaLedgerCore
import CSV
import Foundation

/// A bad cell or row of an import file: which row (the file's record number, the header being
/// row 1), which column, the value, and what is wrong. Nothing is written when one is found.
public struct ImportError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .refused }
    public let row: Int
    public let column: String?
    public let value: String?
    public let problem: String

    /// One line whatever the file held: a column name that is not a plain word is quoted and escaped.
    public var description: String {
        let problem = problem.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        guard let column else { return "row \(row): \(problem)" }
        let plain = !column.isEmpty && column.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == ";" || $0 == " " }
        return "row \(row), column \(plain ? column : InputError.quoted(column)): \(InputError.quoted(value ?? "")) \(problem)"
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

/// Contributions and access records from RFC 4180 CSV (README "Bulk import", schema/examples/import.csv).
/// The header names the columns; a row's `type` says which columns it uses, and the others must be empty.
public enum CSVImport {
    public static let columns = ["type", "factory", "date", "source", "amount", "category", "kind", "ref",
                                 "beneficiary", "gpu_hours", "pool", "commercial", "charge"]
    static let contributionColumns: Set<String> = ["type", "factory", "date", "source", "amount", "category", "kind", "ref"]
    static let accessColumns: Set<String> = ["type", "factory", "date", "beneficiary", "category", "gpu_hours", "pool", "commercial", "charge"]
    static let optionalColumns: Set<String> = ["ref", "commercial", "charge"]

    /// The most rows one file may hold, and its largest size in bytes.
    public static let rowsMax = 1_000_000
    public static let fileBytesMax = 256 * 1024 * 1024

    /// Parses and checks every row; throws at the first bad one.
    public static func parse(_ text: String) throws(ImportError) -> [ImportRow] {
        guard text.utf8.count <= fileBytesMax else { throw ImportError(row: 0, column: nil, value: nil, problem: "the file is larger than \(fileBytesMax) bytes") }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true) } catch {
            throw ImportError(row: 1, column: nil, value: nil, problem: "not CSV: \(error)")
        }
        let header = try checkHeader(reader.headerRow ?? [])
        var rows = [ImportRow]()
        var number = 1
        while let cells = reader.next() {
            number += 1
            guard rows.count < rowsMax else { throw ImportError(row: number, column: nil, value: nil, problem: "more than \(rowsMax) rows in one file") }
            if cells.count == 1 && cells[0].isEmpty { continue }  // a blank line, as spreadsheets leave at the end
            guard cells.count == header.count else {
                throw ImportError(row: number, column: nil, value: nil, problem: "has \(cells.count) fields, the header has \(header.count)")
            }
            rows.append(ImportRow(row: number, data: try entry(Dictionary(uniqueKeysWithValues: zip(header, cells)), row: number)))
        }
        if let error = reader.error { throw ImportError(row: number + 1, column: nil, value: nil, problem: "is not valid CSV: \(error)") }
        guard !rows.isEmpty else { throw ImportError(row: 2, column: nil, value: nil, problem: "the file has no rows to import") }
        return rows
    }

    static func checkHeader(_ header: [String]) throws(ImportError) -> [String] {
        let names = header.map { $0.hasPrefix("\u{FEFF}") ? String($0.dropFirst()) : $0 }  // a byte order mark from a spreadsheet
        // A file that is not CSV of our columns (a passphrase file given by mistake, say) is
        // refused without quoting a byte of it: its first line may be a secret.
        guard names.contains(where: columns.contains) else {
            for separator in [";", "\t"] where names.count == 1 && names[0].components(separatedBy: separator).contains(where: columns.contains) {
                throw ImportError(row: 1, column: nil, value: nil, problem: "the columns are separated by \(separator == ";" ? "semicolons" : "tabs"), "
                                  + "not commas: save the file as CSV with commas (in a spreadsheet: CSV UTF-8, comma-delimited)")
            }
            throw ImportError(row: 1, column: nil, value: nil,
                              problem: "is not a header of this import's columns (\(columns.joined(separator: ","))); nothing of the file is quoted")
        }
        for name in names where !columns.contains(name) {
            throw ImportError(row: 1, column: name, value: name, problem: "is not a column; the columns are \(columns.joined(separator: ","))")
        }
        guard Set(names).count == names.count else { throw ImportError(row: 1, column: nil, value: nil, problem: "names a column twice") }
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
        .contribution(try Contribution(
            factory: cells["factory"]!, source: try Source.parse(cells["source"]!, field: "source"),
            amount: try Cents.parse(cells["amount"]!, field: "amount"), date: try CalendarDate.parse(cells["date"]!, field: "date"),
            category: try CostCategory.parse(cells["category"]!, field: "category"), kind: try ContributionKind.parse(cells["kind"]!, field: "kind"),
            ref: cells["ref"] ?? ""))
    }

    static func access(_ cells: [String: String]) throws(InputError) -> EntryData {
        let commercial = cells["commercial"] ?? ""
        guard ["", "yes", "no"].contains(commercial) else { throw InputError(field: "commercial", value: commercial, problem: "is not yes or no") }
        let charge = cells["charge"] ?? ""
        return .access(try AccessGrant(
            factory: cells["factory"]!, beneficiary: cells["beneficiary"]!, category: try AccessCategory.parse(cells["category"]!, field: "category"),
            gpuHours: try AccessGrant.parseGPUHours(cells["gpu_hours"]!, field: "gpu_hours"), date: try CalendarDate.parse(cells["date"]!, field: "date"),
            pool: try AccessPool.parse(cells["pool"]!, field: "pool"), isCommercial: commercial == "yes",
            charge: try Cents.parse(charge.isEmpty ? "0" : charge, field: "charge", allowZero: true)))
    }
}

/// An import file read whole: its rows, checked, and what the import record says of it.
public struct ImportFile: Sendable {
    public let rows: [ImportRow]
    /// The file's name without its folder, as the import record keeps it.
    public let fileName: String
    /// The SHA-256 of the file's bytes: the same file twice is refused by it.
    public let sha256: [UInt8]

    /// Reads and parses `path`: a file that cannot be read cannot be used; one that is not UTF-8
    /// or not CSV of our columns is refused.
    public static func read(_ path: String) throws -> ImportFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UnreadableFile(what: "import file", path: path, why: "no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw FileRefusal("import file \(path)", "is not UTF-8 text") }
        return ImportFile(rows: try CSVImport.parse(text), fileName: URL(fileURLWithPath: path).lastPathComponent, sha256: Sodium.sha256([UInt8](data)))
    }
}

extension Ledger {
    /// `importRows` for a file read by `ImportFile.read`.
    public func importFile(_ file: ImportFile, key: SigningKey, allowDuplicate: Bool = false, dryRun: Bool = false,
                           progress: ((Int, Int) -> Void)? = nil) throws -> ImportResult {
        try importRows(file.rows, fileName: file.fileName, fileSHA256: file.sha256, key: key, allowDuplicate: allowDuplicate, dryRun: dryRun,
                       progress: progress)
    }
}
