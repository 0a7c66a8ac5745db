import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

extension GigaLedger {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Record contributions and access records from a CSV file: all rows in one transaction, or none.",
            discussion:
                "Columns (header row): \(CSVImport.columns.joined(separator: ",")). Examples: schema/examples/import-ms-de.csv (an ms:DE officer) and import-authority.csv; see the README."
        )

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The CSV file.", completion: .file(extensions: ["csv"])) var file: String
        @OptionGroup var signing: SigningOptions
        @Flag(name: .long, help: "Check and show what would be recorded; write nothing.") var dryRun = false
        @Flag(name: .long, help: "Import a file even though the same file (same SHA-256) was imported before.") var allowDuplicateFile = false
        @OptionGroup var entryChecks: EntryCheckOptions
        @Option(
            name: .long,
            help: ArgumentHelp("What separates the columns: , (the default), ; or tab (a spreadsheet's export).", valueName: "char"))
        var delimiter: String?
        @Flag(
            name: .long,
            help: "Read amounts written 1.234,56 or 1234,56 and GPU-hours written 12.000, as spreadsheets of decimal-comma countries save them.")
        var decimalComma = false
        @Flag(name: .long, help: "Print the outcome as JSON.") var json = false

        func validate() throws {
            if let delimiter, (try? CSVDialect.parseDelimiter(delimiter)) == nil {
                throw ValidationError("--delimiter \(InputError.quoted(delimiter)) is not one of: , ; tab")
            }
        }

        func run() async throws {
            let importFile = try ImportFile.open(file)
            let dialect = try dialect(importFile)
            if let url = ledger.serverURL { return try await runRemote(importFile, dialect: dialect, url: url) }
            // A dry run too: it runs the real transaction, then rolls it back (so it takes no writer lock).
            let ledger = try ledger.open(forWriting: true, dryRun: dryRun)
            let progress = ProgressBar(label: dryRun ? "checking" : "importing")
            _ = try ledger.importFile(
                importFile, dialect: dialect, key: signing.load(), allowDuplicate: allowDuplicateFile,
                checks: entryChecks.checks(), dryRun: dryRun,
                onRow: dryRun && !json ? { row, entry in print("row \(row.row) -> entry \(entry.seq): \(Render.summarize(row.data))") } : nil,
                progress: progress.update,
                deliver: { result in
                    progress.finish()
                    let rows = result.rowCount == 1 ? "1 row" : "\(result.rowCount) rows"
                    if json {
                        print(
                            Render.jsonObject([
                                "file": .string(file), "rows": .integer(Int64(result.rowCount)), "first_entry": .integer(result.first.seq),
                                "last_entry": .integer(result.last.seq), "import_entry": .integer(result.record.seq),
                                "head": .string(Encoding.hex(result.record.hash)), "dry_run": .bool(dryRun),
                            ]))
                    } else if dryRun {
                        print("dry run: \(rows) would be recorded as \(Render.entries(result.first.seq, result.last.seq)); nothing was written")
                    } else {
                        print(
                            "imported \(rows) from \(file) as \(Render.entries(result.first.seq, result.last.seq)); import record entry \(result.record.seq)"
                        )
                        print("head \(Encoding.hex(result.record.hash))")
                    }
                    try flushStandardOutput()  // before the commit: output that is lost imports nothing
                })
        }
    }
}

extension GigaLedger.Import {
    /// How the file is read: as the options say. A file whose header shows another delimiter (a
    /// spreadsheet's export, `;` and decimal commas) is not read silently otherwise: on a terminal
    /// the options are proposed and used once confirmed; in a script, where they must be given,
    /// every problem of the file read as it is written is named (the options, then each row's
    /// cells), and nothing is written.
    func dialect(_ file: ImportFile) throws -> CSVDialect {
        let given = CSVDialect(delimiter: try delimiter.map(CSVDialect.parseDelimiter) ?? ",", decimalComma: decimalComma)
        guard delimiter == nil, let seen = file.sniff(), seen.delimiter != given.delimiter else { return given }
        let options =
            "--delimiter \(seen.delimiter == "\t" ? "tab" : "'\(seen.delimiter)'")" + (seen.decimalComma && !decimalComma ? " --decimal-comma" : "")
        if Terminal.isInteractive && !json {
            let looks = "columns separated by \(CSVDialect.name(seen.delimiter))" + (seen.decimalComma ? ", amounts written 1.234,56" : "")
            guard try Terminal.confirm("\(file.fileName) looks like a spreadsheet's export (\(looks)): import it with \(options)? [y/N] ") else {
                throw CLIError(message: "not confirmed: nothing was written (to import it, give \(options))", kind: .refused)
            }
            return CSVDialect(delimiter: seen.delimiter, decimalComma: seen.decimalComma || decimalComma)
        }
        let others = problems(file, readAs: CSVDialect(delimiter: seen.delimiter, decimalComma: seen.decimalComma || decimalComma))
        var list = ImportErrorList()
        list.add(
            ImportError(
                row: 1, column: nil, value: nil,
                problem: "the columns are separated by \(CSVDialect.name(seen.delimiter)), not commas: import the file with \(options)"
                    + (others.isEmpty ? " (read so, it has no other problem)" : "; read so, it has the problems below too")))
        list.merge(others)
        try list.throwIfAny()
        return given
    }

    /// Every problem of `file` read as `dialect`, so that the officer fixes it in one round: each
    /// cell's, and with a ledger file the rules' and the duplicate checks' too (a dry run of the
    /// import, which writes nothing). Through a server, or when the key or the ledger cannot be
    /// opened, the cells' alone (those are said when the import is run again).
    func problems(_ file: ImportFile, readAs dialect: CSVDialect) -> ImportErrorList {
        var list = ImportErrorList()
        guard ledger.serverURL == nil, let ledger = try? ledger.open(forWriting: true, dryRun: true), let key = try? signing.load(),
            let checks = try? entryChecks.checks()
        else { return file.problems(dialect) }
        do {
            _ = try ledger.importFile(file, dialect: dialect, key: key, allowDuplicate: allowDuplicateFile, checks: checks, dryRun: true)
        } catch let refused as ImportErrors {
            list.merge(refused)
        } catch let one as ImportError {
            list.add(one)
        } catch {
            list.add(ImportError(row: 1, column: nil, value: nil, problem: "\(error)"))
        }
        return list
    }

    /// Through a server: the whole file signed here as one batch after the checked head, recorded
    /// by the server all or none; a refused row is named by its line in the file.
    func runRemote(_ importFile: ImportFile, dialect: CSVDialect, url: String) async throws {
        guard !dryRun else {
            throw CLIError(
                message:
                    "--dry-run works on a ledger file; through a server nothing is recorded unless every row is accepted, so import without it (or try it on a copy made with `gigaledger sync`)",
                kind: .refused)
        }
        let remote = try ledger.remoteAppend(url)
        let key = try signing.load()
        let (checks, allowFile) = (try entryChecks.checks(), allowDuplicateFile)
        var rows = [Int]()
        let entries: [Entry]
        do {
            entries = try await remote.appendBatch(checks: checks, allowDuplicateFile: allowFile) { head in
                let made = try importFile.signedEntries(
                    after: head, key: key, recordedAt: try Timestamp.now(), sayDuplicate: checks.allowDuplicate, dialect: dialect)
                rows = made.rows
                return made.entries
            }
        } catch let refusal as ServerRefusal {
            // Every refused row the server listed, named as a local import names them.
            var list = ImportErrorList()
            for (index, message) in refusal.refused where index < rows.count && rows[index] > 0 {
                list.add(ImportError(row: rows[index], column: nil, value: nil, problem: message))
            }
            if !list.isEmpty { try list.throwIfAny() }
            guard let index = refusal.entryIndex, index < rows.count, rows[index] > 0 else { throw refusal }
            throw ServerRefusal(message: "row \(rows[index]): \(refusal.message)", kind: refusal.kind, status: refusal.status, entryIndex: index)
        }
        guard let first = entries.first, let record = entries.last, entries.count >= 2 else { return }
        let count = rows.count - 1
        let rowsText = count == 1 ? "1 row" : "\(count) rows"
        if json {
            print(
                Render.jsonObject([
                    "file": .string(file), "rows": .integer(Int64(count)), "first_entry": .integer(first.seq),
                    "last_entry": .integer(entries[entries.count - 2].seq), "import_entry": .integer(record.seq),
                    "head": .string(Encoding.hex(record.hash)), "dry_run": .bool(false), "server": .string(url),
                ]))
        } else {
            print(
                "imported \(rowsText) from \(file) through \(url) as \(Render.entries(first.seq, entries[entries.count - 2].seq)); import record entry \(record.seq)"
            )
            print("head \(Encoding.hex(record.hash))")
        }
        try flushStandardOutput()
    }
}

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
final class ProgressBar {
    let label: String
    let enabled = isatty(STDERR_FILENO) == 1
    private var shown = -1

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != shown else { return }
        shown = percent
        let width = 30, filled = width * done / total
        try? FileHandle.standardError.write(
            contentsOf: Data(
                "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled && shown >= 0 { try? FileHandle.standardError.write(contentsOf: Data("\n".utf8)) }
    }
}
