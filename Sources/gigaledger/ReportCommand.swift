import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Verify the ledger, then write the quarterly or annual report: report.md, report.html, summary.json, contributions.csv, access.csv, access-breakdown.csv.",
            discussion:
                "The same ledger state gives byte-identical files. With --previous (the previous report's folder, or its signed checkpoint), the report rolls forward: opening, movements, prior-period adjustments, closing, and what changed. With --key, each file gets a FILE.minisig that stock `minisign -Vm FILE -p KEY.pub` accepts."
        )

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: ArgumentHelp("The quarter.", valueName: "YYYY-Qn")) var quarter: String?
        @Option(name: .long, help: ArgumentHelp("The financial year: the annual report (Art. 12b, due by 31 January).", valueName: "YYYY")) var year:
            String?
        @Option(name: .long, help: ArgumentHelp("The folder to write (default: reports/PERIOD).", valueName: "dir")) var out: String?
        @Option(name: .long, help: ArgumentHelp("Compute at this ledger state: entries 1 to SEQ.", valueName: "SEQ")) var at: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Sign each file with this key file or pkcs11: URI of a key on a token (minisign format; default: $GIGALEDGER_KEY).", valueName: "path"
            ))
        var key: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "The previous report's folder, or the previous period's signed checkpoint: rolls forward from it, and proves consistency from its checkpoint.",
                valueName: "dir|checkpoint")) var previous: String?
        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp(
                "With --year: the year's issued quarterly report folders; each is checked as --previous is, and every quarterly verdict that now differs from it is listed with the entries that changed it.",
                valueName: "dir")) var quarterReports: [String] = []
        @Flag(
            name: .long,
            help:
                "Check every entry's signature, also those under the latest checkpoint the ledger signed (which `checkpoint` checked before signing)."
        )
        var fullVerify = false
        @Flag(
            name: .long,
            help:
                "Issue the report: record a report-issue entry (its period, state and summary.json's SHA-256) signed with the --key, an authority key. A later --previous is checked against the period's first issue."
        )
        var issue = false
        @OptionGroup var passphrase: PassphraseOptions
        @Flag(name: .long, help: "Print the outcome as JSON (the figures are in summary.json).") var json = false

        func validate() throws {
            guard (quarter == nil) != (year == nil) else { throw ValidationError("give exactly one period: --quarter YYYY-Qn or --year YYYY") }
            guard quarterReports.isEmpty || year != nil else {
                throw ValidationError("--quarter-reports is for an annual report: give --year YYYY with it")
            }
            guard !(issue && at != nil && ledger.serverURL != nil) else {
                throw ValidationError("--issue with --server issues the report at the server's head: leave out --at")
            }
            guard !issue || key != nil || Environment.value("GIGALEDGER_KEY") != nil else {
                throw ValidationError("--issue records the issue signed with an authority key: give --key KEY (or GIGALEDGER_KEY)")
            }
        }

        func run() async throws {
            let period = try Self.period(quarter: quarter, year: year)
            let state = try at.map { try SequenceNumber.parse($0, field: "at") }
            // Signed when a key is given (--key, else GIGALEDGER_KEY), as every signing command reads it.
            let signing = SigningOptions(key: key, passphrase: passphrase)
            let signer = try signing.keyPath.map { _ in try signing.load() }
            let previousInput = try previous.map(PreviousInput.read)
            let dir = out ?? "reports/\(period)"
            if let folder = previousInput?.folder,
                URL(fileURLWithPath: folder).standardizedFileURL.path == URL(fileURLWithPath: dir).standardizedFileURL.path
            {
                throw InputError(field: "out", value: dir, problem: "is the previous report's folder (--previous): writing there would replace it")
            }
            // Through a server: over the verified copy --ledger names, synced first (as `checkpoint`
            // does); the issue is then signed here and submitted.
            let server = ledger.serverURL
            let opened: Ledger
            if let server { opened = try await ledger.syncedCopy(server, forWriting: issue) } else { opened = try ledger.open(forWriting: issue) }
            let bundle = try opened.reportBundle(
                period: period, at: state, fullVerify: fullVerify,
                previous: previousInput, quarterReports: try quarterReports.map(PreviousInput.read), signer: signer)
            let report = bundle.report
            let counts = report.verdictCounts
            // An issue is checked (the key may sign it) before any file is written, and recorded after.
            var issueEntry: EntryData?
            if issue, let signer {
                if let missing = report.recordedAfterState.first {
                    throw InputError(
                        field: "at", value: String(report.entryCount),
                        problem:
                            "leaves out entry \(missing.seq), recorded later and dated \(missing.date) in \(period): an issued report covers what the ledger holds; issue it at the ledger's head"
                    )
                }
                guard let summary = bundle.files.first(where: { $0.name == "summary.json" })?.text else {
                    preconditionFailure("Report: a report bundle has a summary.json")
                }
                let data = EntryData.reportIssue(
                    try ReportIssue(period: period, entryCount: report.entryCount, summarySHA256: SHA256State.hash(Array(summary.utf8))))
                _ = try opened.append(data, key: signer, dryRun: true)
                issueEntry = data
            }
            func recordIssue() async throws {
                guard let issueEntry, let signer else { return }
                let entry: Entry
                if let server {
                    // Issued at the state it was computed at: if the server's ledger moved on since the sync, nothing is recorded.
                    let state = report.entryCount
                    let recorded = try await ledger.remoteAppend(server).appendBatch(checks: EntryChecks()) { head in
                        guard head.seq == state else {
                            throw CLIError(
                                message:
                                    "the ledger at \(server) holds \(head.seq) entries, and this report was computed at \(state) (the synced copy): the files are written, nothing was issued; run the command again to issue the report at the head",
                                kind: .refused)
                        }
                        return [
                            try Entry.make(
                                body: EntryBody(seq: head.seq + 1, signer: signer.id, recordedAt: try Timestamp.now(), data: issueEntry),
                                prevHash: head.hash, key: signer)
                        ]
                    }
                    guard let last = recorded.last else { preconditionFailure("Report: an issue submits one entry") }
                    entry = last
                } else {
                    entry = try opened.append(issueEntry, key: signer)
                }
                if !json { print("issued: entry \(entry.seq) records the \(period) report at entry \(report.entryCount)") }
            }
            if json {
                try bundle.write(to: dir)
                try await recordIssue()
                print(
                    Render.jsonObject([
                        "period": .string(report.period.description), "folder": .string(dir), "entries": .integer(report.entryCount),
                        "head": .string(Encoding.hex(report.headHash)), "provisional": .bool(report.isProvisional),
                        "pass": .integer(Int64(counts[.pass] ?? 0)), "breach": .integer(Int64(counts[.breach] ?? 0)),
                        "not_assessable": .integer(Int64(counts[.notAssessable] ?? 0)),
                        "findings": .integer(Int64(report.findingCount)),
                        "notes": .array(bundle.notes.map { .string($0) }),
                    ]))
                return
            }
            print(Render.verificationBasis(bundle.verification))
            let findings = report.findingCount
            print(
                "safeguards: \(counts[.pass] ?? 0) pass, \(counts[.breach] ?? 0) breach, \(counts[.notAssessable] ?? 0) not assessable; \(Render.count(findings, "payment finding", "payment findings")); policy \(report.policy.id) v\(report.policy.version)\(report.isProvisional ? "; PROVISIONAL: the period had not ended at the last entry" : "")"
            )
            if let roll = report.rollForward {
                print(
                    "rolled forward from \(roll.previousPeriod) at entry \(roll.previousEntryCount): \(Render.count(roll.adjustments.count + roll.baseAdjustments.count, "prior-period adjustment", "prior-period adjustments"))\(roll.baseAdjustments.isEmpty ? "" : " (\(roll.baseAdjustments.count) of a registration)"), \(Render.count(roll.changes.count, "change", "changes")), \(Render.count(roll.previousPeriodChanges.count, "verdict", "verdicts")) of \(roll.previousPeriod) now different"
                )
            }
            for note in bundle.notes { warn("note: \(note)") }
            for event in report.recordedAfterState {
                warn(
                    "note: entry \(event.seq), recorded after this report's state, is dated \(event.date) in \(period): \(event.factoryID) \(event.what)"
                )
            }
            try flushStandardOutput()  // output that is lost writes no report (the folder may replace an earlier one)
            try bundle.write(to: dir)
            print("report \(period) written to \(dir)/ (ledger at entry \(report.entryCount), head \(Encoding.hex(report.headHash)))")
            if let reissue = report.reissue {
                warn(
                    "note: the previous report is \(reissue.issueSeq.map { "the re-issue at entry \($0)" } ?? "a version never issued on the ledger"), not the first issue of its period (entry \(reissue.firstIssueSeq)): the report says so and lists what differs"
                )
            }
            try await recordIssue()
        }

        /// The period from --quarter or --year: exactly one of them.
        static func period(quarter: String?, year: String?) throws -> ReportPeriod {
            switch (quarter, year) {
            case (let quarter?, nil): return .quarter(try Quarter.parse(quarter, field: "quarter"))
            case (nil, let year?):
                guard year.count == 4, case .year(let value) = try? ReportPeriod.parse(year, field: "year") else {
                    throw InputError(
                        field: "year", value: year,
                        problem: "is not a year from \(CalendarDate.earliest.year) to \(CalendarDate.latest.year); write YYYY, e.g. 2026")
                }
                return .year(value)
            case (nil, nil): throw InputError(field: "quarter", value: "", problem: "is missing: give --quarter YYYY-Qn or --year YYYY")
            case (let quarter?, let year?):
                throw InputError(field: "year", value: year, problem: "cannot go with --quarter \(quarter): give one period")
            }
        }
    }
}
