import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct ExportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export contributions from the verified ledger: an hledger journal, CSV or JSON.",
            discussion:
                "With --quarter or --year, everything dated up to the period's last day, so hledger's balances equal the report's cumulative totals; with --at, as the ledger stood at that entry (to reconcile a signed report after the ledger moved on)."
        )

        @OptionGroup var ledger: LocalLedgerOptions
        @Option(name: .long, help: "hledger, csv or json.") var format: String
        @Option(name: .long, help: ArgumentHelp("Up to the end of this quarter.", valueName: "YYYY-Qn")) var quarter: String?
        @Option(name: .long, help: ArgumentHelp("Up to the end of this year.", valueName: "YYYY")) var year: String?
        @Option(name: .long, help: ArgumentHelp("As the ledger stood at this entry: entries 1 to SEQ.", valueName: "SEQ")) var at: String?
        @Option(name: .long, help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

        func validate() throws {
            if quarter != nil && year != nil { throw ValidationError("give at most one period: --quarter YYYY-Qn or --year YYYY") }
            // An option's value outside its list is a usage error (exit 64), as a bad --delimiter is.
            do { _ = try ExportFormat.parse(format, field: "format") } catch { throw ValidationError("--\(error.description)") }
        }

        func run() async throws {
            let format = try ExportFormat.parse(format, field: "format")
            let through = quarter == nil && year == nil ? nil : try Report.period(quarter: quarter, year: year).lastDay
            let state = try at.map { try SequenceNumber.parse($0, field: "at") }
            if let out { try OutputFiles.checkNew(out) }
            try emit(try ledger.open(forWriting: false).export(format, through: through, at: state), to: out)
        }
    }
}
