import Foundation
import GigaLedgerCore

/// A quarterly report as it is handed out: its files, the signed checkpoint at its ledger state
/// and the proof that it extends the previous quarter's when there are such, and a minisign
/// signature of each file when a key signs it. Written as one folder, all files or none.
public struct ReportBundle {
    public let report: QuarterlyReport
    public let verification: VerificationReport
    /// The files in the order they are written, each followed by its `.minisig` when signed.
    public let files: [(name: String, text: String)]

    /// The names a report folder holds: the report's files and their signatures, and nothing else.
    public static let fileNames: Set<String> = ["report.md", "report.html", "summary.json", "contributions.csv", "access.csv",
                                                "checkpoint.txt", "consistency.txt"]

    /// Whether `name` is a file a report folder may hold (what `write` may replace).
    public static func isReportFile(_ name: String) -> Bool {
        fileNames.contains(name) || (name.hasSuffix(".minisig") && fileNames.contains(String(name.dropLast(".minisig".count))))
    }

    /// Writes the files as the folder `dir`, replacing an earlier report there (never other files).
    public func write(to dir: String) throws(OutputError) {
        try OutputFiles.writeFolder(files, to: dir, isOurs: Self.isReportFile)
    }

    /// What each signature's trusted comment says: the file and the ledger state it was computed from
    /// (schema/FORMAT.md, "Signed report files").
    static func trustedComment(_ report: QuarterlyReport, file: String) -> String {
        "gigaledger report \(report.quarter) file:\(file) ledger:\(report.origin) entries:\(report.entryCount) head:\(Encoding.hex(report.headHash))"
    }
}

extension Ledger {
    /// Verifies the ledger, computes the report for `quarter` at state `at` (default: the whole
    /// ledger) and assembles its files: with the checkpoint the ledger signed at that state, if
    /// any, and, given the previous quarter's signed checkpoint, the consistency proof from it to
    /// that one (which must then exist). `signer` signs every file.
    public func reportBundle(quarter: Quarter, at: Int64? = nil, fullVerify: Bool = false, previousCheckpoint: String? = nil,
                             signer: SigningKey? = nil) throws -> ReportBundle {
        let (report, verification) = try quarterlyReportVerified(quarter: quarter, at: at, fullVerify: fullVerify)
        let checkpoint = try self.checkpoint(size: report.entryCount)
        var consistency: String?
        if let previousCheckpoint {
            guard let checkpoint else {
                throw Refusal("--previous needs a checkpoint at entry \(report.entryCount): run `gigaledger checkpoint` at the quarter's end")
            }
            consistency = try consistencyFile(fromNote: previousCheckpoint, toNote: checkpoint)
        }
        var files = [(name: String, text: String)]()
        for (name, text) in try ReportRenderer.files(report, checkpoint: checkpoint, consistency: consistency) {
            files.append((name, text))
            if let signer {
                files.append((name + ".minisig", Minisign.sign(Array(text.utf8), key: signer, trustedComment: ReportBundle.trustedComment(report, file: name))))
            }
        }
        return ReportBundle(report: report, verification: verification, files: files)
    }
}
