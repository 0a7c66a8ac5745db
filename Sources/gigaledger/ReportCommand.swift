import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the ledger, then write the quarterly report: report.md, report.html, summary.json, contributions.csv, access.csv.",
            discussion: "The same ledger state gives byte-identical files. With --key, each file gets a FILE.minisig that stock `minisign -Vm FILE -p KEY.pub` accepts.")

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: ArgumentHelp("The quarter.", valueName: "YYYY-Qn")) var quarter: String
        @Option(name: .long, help: ArgumentHelp("The folder to write (default: reports/QUARTER).", valueName: "dir")) var out: String?
        @Option(name: .long, help: ArgumentHelp("Compute at this ledger state: entries 1 to SEQ.", valueName: "SEQ")) var at: String?
        @Option(name: .long, help: ArgumentHelp("Sign each file with this key (minisign format).", valueName: "path")) var key: String?
        @Option(name: .long, help: ArgumentHelp("The previous quarter's signed checkpoint: adds the consistency proof from it.", valueName: "checkpoint")) var previous: String?
        @Flag(name: .long, help: "Check every entry's signature, also those under the latest checkpoint the ledger signed (which `checkpoint` checked before signing).")
        var fullVerify = false
        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            let quarter = try Quarter.parse(quarter, field: "quarter")
            let state = try at.map { try SequenceNumber.parse($0, field: "at") }
            let signer = try key.map { try SigningOptions(key: $0, passphrase: passphrase).load() }
            let previousNote = try previous.map(readCheckpointFile)
            let bundle = try ledger.open(forWriting: false).reportBundle(quarter: quarter, at: state, fullVerify: fullVerify,
                                                                       previousCheckpoint: previousNote, signer: signer)
            let dir = out ?? "reports/\(quarter)"
            let report = bundle.report
            let counts = report.verdictCounts
            print(Render.verificationBasis(bundle.verification))
            print("safeguards: \(counts[.pass] ?? 0) pass, \(counts[.breach] ?? 0) breach, \(counts[.notAssessable] ?? 0) not assessable; policy \(report.policy.id) v\(report.policy.version)")
            try flushStandardOutput()  // output that is lost writes no report (the folder may replace an earlier one)
            try bundle.write(to: dir)
            print("report \(quarter) written to \(dir)/ (ledger at entry \(report.entryCount), head \(Encoding.hex(report.headHash)))")
        }

    }
}
