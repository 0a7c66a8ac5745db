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
        @Flag(name: .long, help: "Print the outcome as JSON.") var json = false

        func run() async throws {
            let importFile = try ImportFile.open(file)
            if let url = ledger.serverURL { return try await runRemote(importFile, url: url) }
            // A dry run too: it runs the real transaction, then rolls it back (so it takes no writer lock).
            let ledger = try ledger.open(forWriting: true, dryRun: dryRun)
            let progress = ProgressBar(label: dryRun ? "checking" : "importing")
            _ = try ledger.importFile(
                importFile, key: signing.load(), allowDuplicate: allowDuplicateFile,
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
                        print("dry run: \(rows) would be recorded as entries \(result.first.seq) to \(result.last.seq); nothing was written")
                    } else {
                        print(
                            "imported \(rows) from \(file) as entries \(result.first.seq) to \(result.last.seq); import record entry \(result.record.seq)"
                        )
                        print("head \(Encoding.hex(result.record.hash))")
                    }
                    try flushStandardOutput()  // before the commit: output that is lost imports nothing
                })
        }
    }
}

extension GigaLedger.Import {
    /// Through a server: the whole file signed here as one batch after the checked head, recorded
    /// by the server all or none; a refused row is named by its line in the file.
    func runRemote(_ importFile: ImportFile, url: String) async throws {
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
                let made = try importFile.signedEntries(after: head, key: key, recordedAt: try Timestamp.now(), sayDuplicate: checks.allowDuplicate)
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
                "imported \(rowsText) from \(file) through \(url) as entries \(first.seq) to \(entries[entries.count - 2].seq); import record entry \(record.seq)"
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
