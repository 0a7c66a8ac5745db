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
            let state = try at.map { text -> Int64 in
                guard let seq = Int64(text), seq >= 1, String(seq) == text else {
                    throw InputError(field: "at", value: text, problem: "is not a sequence number (a whole number from 1)")
                }
                return seq
            }
            let signer = try key.map { try SigningOptions(key: $0, passphrase: passphrase).load() }
            let ledger = try ledger.open(forWriting: false)
            let (report, verification) = try ledger.quarterlyReportVerified(quarter: quarter, at: state, fullVerify: fullVerify)
            // The quarter-end checkpoint, when the ledger signed one at this state, and the proof that
            // it extends the previous quarter's.
            let checkpoint = try ledger.checkpoint(size: report.entryCount)
            var consistency: String?
            if let previous {
                guard let checkpoint else {
                    throw Refusal("--previous needs a checkpoint at entry \(report.entryCount): run `gigaledger checkpoint` at the quarter's end")
                }
                consistency = try ledger.consistencyFile(from: try ledger.openCheckpoint(try readTextFile(previous, what: "checkpoint")),
                                                         to: try ledger.openCheckpoint(checkpoint))
            }
            let dir = out ?? "reports/\(quarter)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, text) in try ReportRenderer.files(report, checkpoint: checkpoint, consistency: consistency) {
                try replaceFile(text, at: "\(dir)/\(name)")
                if let signer {
                    let comment = "gigaledger report \(quarter) file:\(name) ledger:\(report.origin) entries:\(report.entryCount) head:\(Encoding.hex(report.headHash))"
                    try replaceFile(Minisign.sign(Array(text.utf8), key: signer, trustedComment: comment), at: "\(dir)/\(name).minisig")
                }
            }
            let verdicts = report.factories.flatMap(\.verdicts)
            let breaches = verdicts.filter { $0.status == .breach }.count
            let unassessable = verdicts.filter { $0.status == .notAssessable }.count
            print(Render.verificationBasis(verification))
            print("report \(quarter) written to \(dir)/ (ledger at entry \(report.entryCount), head \(Encoding.hex(report.headHash)))")
            print("safeguards: \(verdicts.count - breaches - unassessable) pass, \(breaches) breach, \(unassessable) not assessable; policy \(report.policy.id) v\(report.policy.version)")
        }

    }
}
