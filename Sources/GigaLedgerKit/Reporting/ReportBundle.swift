import Foundation
import GigaLedgerCore

/// A quarterly or annual report as it is handed out: its files, the signed checkpoint at its
/// ledger state and the proof that it extends the previous report's checkpoint when there are
/// such, and a minisign signature of each file when a key signs it. Written as one folder, all
/// files or none. The report's own files do not depend on whether a checkpoint exists: the
/// checkpoint and the proof are attached beside them.
public struct ReportBundle {
    public let report: PeriodReport
    public let verification: VerificationReport
    /// The files in the order they are written, each followed by its `.minisig` when signed.
    public let files: [(name: String, text: String)]
    /// What the reader should know about the files left out, such as a consistency proof that
    /// could not be made (no checkpoint at the report's state).
    public let notes: [String]

    /// The names a report folder holds: the report's files and their signatures, and nothing else.
    public static let fileNames: Set<String> = [
        "report.md", "report.html", "summary.json", "contributions.csv", "access.csv", "access-breakdown.csv",
        "checkpoint.txt", "consistency.txt",
    ]

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
    static func trustedComment(_ report: PeriodReport, file: String) -> String {
        "gigaledger report \(report.period) file:\(file) ledger:\(report.origin) entries:\(report.entryCount) head:\(Encoding.hex(report.headHash))"
    }
}

/// The previous report given to `report --previous`: a report folder (its summary.json names its
/// period and ledger state; its checkpoint.txt, when there, gives the consistency proof) or a
/// signed checkpoint file (its size is the previous state; the period is the one before).
public struct PreviousInput: Sendable {
    public let report: PreviousReport
    public let checkpointNote: String?
    /// The previous report's folder, when it is one (a report must not be written over it).
    public let folder: String?

    /// The largest summary.json read.
    static let summaryBytesMax = 64 * 1024 * 1024

    /// Reads `path`: a folder is a previous report, a file a checkpoint.
    public static func read(_ path: String) throws -> PreviousInput {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw UnreadableFile(what: "previous report", path: path, why: "no such file or folder")
        }
        guard isFolder.boolValue else {
            return PreviousInput(
                report: PreviousReport(period: nil, entryCount: 0, headHash: nil),
                checkpointNote: try OutputFiles.readText(path, what: "checkpoint", bytesMax: SignedNote.bytesMax), folder: nil)
        }
        let summaryPath = (path as NSString).appendingPathComponent("summary.json")
        let text = try OutputFiles.readText(summaryPath, what: "previous report's summary", bytesMax: summaryBytesMax)
        func refuse(_ why: String) -> FileRefusal { FileRefusal("previous report \(summaryPath)", why) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let format = json["format"] as? String, format.hasPrefix("gigaledger/report-summary/")
        else {
            throw refuse("is not a gigaledger report summary")
        }
        guard let periodText = (json["period"] ?? json["quarter"]) as? String, let ledger = json["ledger"] as? [String: Any],
            let entries = (ledger["entries"] as? NSNumber)?.int64Value, let headText = ledger["head"] as? String, let head = Encoding.unhex(headText),
            head.count == 32
        else {
            throw refuse("has no period, ledger.entries or ledger.head")
        }
        let period: ReportPeriod
        do { period = try ReportPeriod.parse(periodText, field: "period") } catch { throw refuse(error.description) }
        func optional(_ name: String, what: String, bytesMax: Int) throws -> String? {
            let file = (path as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: file) ? try OutputFiles.readText(file, what: what, bytesMax: bytesMax) : nil
        }
        let note = try optional("checkpoint.txt", what: "checkpoint", bytesMax: SignedNote.bytesMax)
        let signature = try optional("summary.json.minisig", what: "previous report's signature", bytesMax: 4096)
        return PreviousInput(
            report: PreviousReport(period: period, entryCount: entries, headHash: head, summaryText: text, summarySignature: signature),
            checkpointNote: note, folder: path)
    }
}

extension Ledger {
    /// Verifies the ledger, computes the report for `period` at state `at` (default: the whole
    /// ledger), rolled forward from `previous` when given, and assembles its files: with the
    /// checkpoint the ledger signed at that state, if any, and the consistency proof from the
    /// previous report's checkpoint to it when both exist. `signer` signs every file.
    public func reportBundle(
        period: ReportPeriod, at: Int64? = nil, fullVerify: Bool = false, previous: PreviousInput? = nil,
        quarterReports: [PreviousInput] = [], signer: (any Signer)? = nil
    ) throws -> ReportBundle {
        var previousReport = previous?.report
        if let previous, let note = previous.checkpointNote {
            let checkpoint = try openCheckpoint(note)  // signed by this ledger, with the root its entries give
            if previous.report.period == nil {
                // A checkpoint names no period: it is taken as the close of the period before, so
                // it must at least have been signed over entries recorded after that period began.
                let prior = period.previous
                if let last = try entry(checkpoint.size), String(last.recordedAt.prefix(10)) < prior.firstDay.description {
                    throw InputError(
                        field: "previous", value: "checkpoint at entry \(checkpoint.size)",
                        problem: "covers entries recorded up to \(last.recordedAt), before \(prior) began: it cannot be the close of \(prior)")
                }
                previousReport = PreviousReport(period: nil, entryCount: checkpoint.size, headHash: nil)
            } else if checkpoint.size != previous.report.entryCount {
                throw InputError(
                    field: "previous", value: "checkpoint.txt",
                    problem: "is a checkpoint at entry \(checkpoint.size), not at the report's state (entry \(previous.report.entryCount))")
            }
        }
        for input in quarterReports where input.folder == nil {
            throw InputError(field: "quarter-reports", value: "checkpoint", problem: "is not a report folder: give each quarter's report folder")
        }
        let (report, verification) = try periodReport(
            period: period, at: at, fullVerify: fullVerify, previous: previousReport, quarterReports: quarterReports.map(\.report))
        let checkpoint = try self.checkpoint(size: report.entryCount)
        var consistency: String?, notes = [String]()
        if let previousNote = previous?.checkpointNote {
            if let checkpoint {
                consistency = try consistencyFile(fromNote: previousNote, toNote: checkpoint)
            } else {
                notes.append(
                    "no checkpoint at entry \(report.entryCount), so no consistency.txt proves this state extends the previous report's checkpoint: run `gigaledger checkpoint`, then the report again, to include it"
                )
            }
        } else if previous != nil {
            notes.append("the previous report has no checkpoint.txt, so no consistency.txt proves this state extends it")
        }
        var files = [(name: String, text: String)]()
        for (name, text) in try ReportRenderer.files(report, checkpoint: checkpoint, consistency: consistency) {
            files.append((name, text))
            if let signer {
                files.append(
                    (
                        name + ".minisig",
                        try Minisign.sign(Array(text.utf8), key: signer, trustedComment: ReportBundle.trustedComment(report, file: name))
                    )
                )
            }
        }
        return ReportBundle(report: report, verification: verification, files: files, notes: notes)
    }
}
