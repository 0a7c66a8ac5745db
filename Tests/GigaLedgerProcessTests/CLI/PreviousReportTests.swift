import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// The previous report a roll-forward starts from is checked before anything is taken from it
/// (hostile pass on issue 11): an edited summary, one moved to a later state, a bad signature, a
/// checkpoint of another state, the same folder as the output: each refused with one line, exit
/// 65, nothing written. Through the real binary.
@Suite struct PreviousReportTests {
    /// Q1 reported (signed) at entry 6; then a back-dated Q1 payment (entry 7) and a Q2 one (8).
    func fixture() throws -> CLIFixture {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try fixture.expectOK(fixture.contribution("--date", "2026-02-15"))
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        try fixture.expectOK(fixture.contribution("--date", "2026-03-20"))
        try fixture.expectOK(fixture.contribution("--date", "2026-05-02"))
        return fixture
    }

    func edit(_ fixture: CLIFixture, _ file: String, _ change: (String) -> String) throws {
        let path = fixture.dir.file(file)
        try change(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    func expectRefused(
        _ fixture: CLIFixture, _ arguments: [String], status: Int32 = 65, saying message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = fixture.run(arguments)
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q2")), sourceLocation: sourceLocation)
    }

    @Test func aGenuinePreviousReportRollsForwardWithItsAdjustment() throws {
        let fixture = try fixture()
        let result = try fixture.expectOK(["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"])
        #expect(result.stdout.contains("rolled forward from 2026-Q1 at entry 6: 1 prior-period adjustment"), "\(result.stdout)")
        #expect(result.stderr.contains("note: the previous report has no checkpoint.txt"), "\(result.stderr)")
        let markdown = try String(contentsOfFile: fixture.dir.file("q2/report.md"), encoding: .utf8)
        #expect(markdown.contains("Compared with the 2026-Q1 report at entry 6, its signature checked."))
        #expect(markdown.contains("(entries recorded since: 7 adjustment, 8 movement)"))
    }

    /// Issue 29: a previous report of the older summary format (v2, signed by the gigaledger of
    /// commit 95afbdf, its explanations worded before the exact display) is still read and
    /// compared under its own version: Q2 rolls forward from it; a figure edited in it is refused.
    @Test func aReportOfTheOlderSummaryFormatIsRolledForwardFrom() throws {
        let dir = TempDir()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/summary-v2").path
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures) {
            try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: dir.file(name))
        }
        let env = ["GIGALEDGER_LEDGER": dir.file("ledger.sqlite"), "XDG_CONFIG_HOME": dir.file("config")]
        let summary = try String(contentsOfFile: dir.file("2026-Q1/summary.json"), encoding: .utf8)
        #expect(summary.contains("\"format\":\"gigaledger/report-summary/v2\"") && summary.contains("= 17.00%; at most 17.00%"))
        let rolled = Binary.run(
            ["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "2026-Q1", "--authority-key", "authority.pub"], in: dir, env: env)
        #expect(rolled.status == 0, "\(rolled.stderr)")
        let markdown = try String(contentsOfFile: dir.file("q2/report.md"), encoding: .utf8)
        #expect(markdown.contains("Compared with the 2026-Q1 report at entry 7, its signature checked."), "\(markdown.prefix(2000))")
        let q2 = try String(contentsOfFile: dir.file("q2/summary.json"), encoding: .utf8)
        #expect(q2.contains("\"format\":\"\(ReportRenderer.summaryFormat)\""))
        // Unsigned and edited: its wording aside, every figure must be what the ledger gives.
        try FileManager.default.removeItem(atPath: dir.file("2026-Q1/summary.json.minisig"))
        try summary.replacingOccurrences(of: "at most 17.00%", with: "at most 17.00 % (reworded)")
            .write(toFile: dir.file("2026-Q1/summary.json"), atomically: true, encoding: .utf8)
        let reworded = Binary.run(
            ["report", "--quarter", "2026-Q2", "--out", "q2-again", "--previous", "2026-Q1", "--authority-key", "authority.pub"], in: dir, env: env)
        #expect(reworded.status == 0, "\(reworded.stderr)")
        try summary.replacingOccurrences(of: "\"committed_cents\":1700001", with: "\"committed_cents\":1700000")
            .write(toFile: dir.file("2026-Q1/summary.json"), atomically: true, encoding: .utf8)
        let edited = Binary.run(
            ["report", "--quarter", "2026-Q2", "--out", "q2-edited", "--previous", "2026-Q1", "--authority-key", "authority.pub"], in: dir, env: env)
        #expect(edited.status == 65 && edited.stderr.contains("is not what this ledger gives for 2026-Q1"), "\(edited.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("q2-edited")))
    }

    /// Issue 29, case 1, through the binary: `report --year 2026 --quarter-reports q1` lists the
    /// Q1 verdict an amendment in Q2 changed (the CAPEX cap: EUR 595,000,000.00 of EUR
    /// 3,500,000,000.00 is 17%, of EUR 3,499,999,999.00 just over), with the amendment as cause;
    /// a quarterly report with --quarter is a usage error.
    @Test func theAnnualReportComparesTheIssuedQuarterlyReports() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        let union = [
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "595000000.00",
            "--date", "2026-02-01", "--category", "capex", "--kind", "commitment",
        ]
        try fixture.expectOK(union)
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        let amended = try fixture.expectOK([
            "factory", "amend", "--key", "authority.key", "--id", "de-jupiter", "--name", "Jupiter AI Gigafactory", "--kind", "gigafactory",
            "--host", "DE", "--capex", "3499999999", "--reason", "eligible cost revised",
        ])
        let seq = try #require(amended.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }.first)
        try fixture.expectOK(["report", "--year", "2026", "--out", "year", "--quarter-reports", "q1"])
        let markdown = try String(contentsOfFile: fixture.dir.file("year/report.md"), encoding: .utf8)
        #expect(markdown.contains("Against the issued 2026-Q1 report (the ledger at entry "), "\(markdown)")
        #expect(
            markdown.contains("- de-jupiter: union-capex-share-max-gigafactory: PASS → **BREACH** (entries recorded since: \(seq) amendment)"),
            "\(seq)")
        let summary = try String(contentsOfFile: fixture.dir.file("year/summary.json"), encoding: .utf8)
        #expect(
            summary.contains(
                "\"issued_report\":{\"changes\":[{\"after\":\"BREACH\",\"before\":\"PASS\",\"causes\":[{\"entry\":\(seq),\"how\":\"amendment\"}]"))
        let misused = fixture.run(["report", "--quarter", "2026-Q2", "--out", "q2", "--quarter-reports", "q1"])
        #expect(misused.status == 64 && misused.stderr.contains("--quarter-reports is for an annual report"), "\(misused.stderr)")
    }

    /// The hostile pass's F1: a summary moved to a later state (entries and head of entry 8)
    /// with its Q1 figures left as they were hid the adjustment.
    @Test func aSummaryMovedToALaterStateIsRefused() throws {
        let fixture = try fixture()
        let head8 =
            try #require(try JSONSerialization.jsonObject(with: Data(fixture.run(["show", "8", "--json"]).stdout.utf8)) as? [String: Any])["hash"]
            as! String
        try edit(fixture, "q1/summary.json") {
            $0.replacingOccurrences(of: #""entries":6"#, with: #""entries":8"#)
                .replacingOccurrences(of: #""head":"[0-9a-f]{64}""#, with: "\"head\":\"\(head8)\"", options: .regularExpression)
        }
        try FileManager.default.removeItem(atPath: fixture.dir.file("q1/summary.json.minisig"))
        expectRefused(
            fixture, ["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"],
            saying: "previous: \"2026-Q1 summary.json\" is not what this ledger gives for 2026-Q1 at entry 8")
    }

    @Test func anEditedSignedSummaryIsRefused() throws {
        let fixture = try fixture()
        try edit(fixture, "q1/summary.json") { $0.replacingOccurrences(of: #""provisional":false"#, with: #""provisional":true"#) }
        expectRefused(
            fixture, ["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"],
            saying: "does not verify: summary.json was changed after it was signed")
    }

    @Test func aCheckpointOfAnotherStateInThePreviousFolderIsRefused() throws {
        let fixture = try fixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "now.checkpoint"])
        try FileManager.default.copyItem(atPath: fixture.dir.file("now.checkpoint"), toPath: fixture.dir.file("q1/checkpoint.txt"))
        expectRefused(
            fixture, ["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"],
            saying: "is a checkpoint at entry 8, not at the report's state (entry 6)")
    }

    @Test func theOutputCannotBeThePreviousReport() throws {
        let fixture = try fixture()
        let before = try String(contentsOfFile: fixture.dir.file("q1/summary.json"), encoding: .utf8)
        let result = fixture.run(["report", "--quarter", "2026-Q2", "--out", "q1/", "--previous", "q1"])
        #expect(result.status == 65 && result.stderr.contains("is the previous report's folder"), "\(result.stderr)")
        #expect(try String(contentsOfFile: fixture.dir.file("q1/summary.json"), encoding: .utf8) == before)
    }

    @Test func aPeriodIsRequiredOnceAsUsage() throws {
        let fixture = try fixture()
        #expect(fixture.run(["report", "--out", "x"]).status == 64)
        #expect(fixture.run(["report", "--quarter", "2026-Q1", "--year", "2026"]).status == 64)
        let short = fixture.run(["report", "--year", "26"])
        #expect(short.status == 65 && short.stderr.contains("year: \"26\" is not a year"), "\(short.stderr)")
        let annual = fixture.run(["report", "--year", "2026", "--previous", "q1", "--out", "y"])
        #expect(annual.status == 65 && annual.stderr.contains("give the previous year's annual report"), "\(annual.stderr)")
    }

    /// CSV and JSON exports carry each correction as a reversal, so their amounts sum to the report's totals.
    @Test func csvAndJSONExportsSumToTheReport() throws {
        let fixture = try fixture()
        try fixture.expectOK(["correct", "--yes", "--key", "authority.key", "--entry", "7", "--reason", "booked twice"])
        let csv = try fixture.expectOK(["export", "--format", "csv", "--quarter", "2026-Q2"]).stdout
        let rows = csv.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.map { Int($0[9])! }.reduce(0, +) == 200_000)  // 3 payments of EUR 1,000.00, one reversed
        let reversal = try #require(rows.first { $0[0] == "9" })
        #expect(reversal[12] == "7" && reversal[9] == "-100000" && reversal[3] == "2026-03-20", "\(csv)")  // dated as the entry it reverses
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(fixture.expectOK(["export", "--format", "json"]).stdout.utf8)) as? [[String: Any]])
        #expect(json.map { ($0["amount_cents"] as! NSNumber).intValue }.reduce(0, +) == 200_000)
    }
}
