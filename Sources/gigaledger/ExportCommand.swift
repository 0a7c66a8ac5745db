import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct ExportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export contributions from the verified ledger: an hledger journal, CSV or JSON.",
            discussion: "With --quarter, everything dated up to the quarter's last day, so hledger's balances equal the report's cumulative totals.")

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: "hledger, csv or json.") var format: String
        @Option(name: .long, help: ArgumentHelp("Up to the end of this quarter.", valueName: "YYYY-Qn")) var quarter: String?
        @Option(name: .long, help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

        func run() throws {
            let format = try ExportFormat.parse(format, field: "format")
            let quarter = try quarter.map { try Quarter.parse($0, field: "quarter") }
            if let out { try OutputFiles.checkNew(out) }
            try emit(try ledger.open(forWriting: false).export(format, through: quarter), to: out)
        }
    }
}
