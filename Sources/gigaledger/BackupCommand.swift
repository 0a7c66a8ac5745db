import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the ledger with SQLite's online backup API (safe while others write), then verify the copy.")

        @OptionGroup var ledger: LocalLedgerOptions
        @Option(name: .long, help: ArgumentHelp("The new file.", valueName: "file")) var out: String

        func run() async throws {
            let report = try ledger.open(forWriting: false).backup(to: out)
            print(
                "backup \(out): verified, \(Render.count(report.verifiedCount, "entry", "entries")), head \(report.headHash.map(Encoding.hex) ?? "")")
            // Output that is lost leaves no copy behind: the command failed, and nothing was made.
            do { try flushStandardOutput() } catch {
                Ledger.removeFiles(path: out)
                throw error
            }
        }
    }
}
