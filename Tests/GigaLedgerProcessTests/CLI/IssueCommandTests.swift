import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit

/// Issue 31, case 2, through the binary: `report --issue` records the issue on the ledger (an
/// authority's key; an officer's is refused before any file is written); Q2 rolled forward from a
/// re-issue of Q1 says so; both verifiers accept the issue entries.
@Suite struct IssueCommandTests {
    @Test func issuedReportsAreOnTheLedger() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(RegistrationCommandTests.union)
        let env = ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]
        let officer = fixture.run(["report", "--quarter", "2026-Q1", "--out", "q1-officer", "--key", "officer.key", "--issue"], env: env)
        #expect(officer.status == 65 && officer.stderr.contains("may not sign a report-issue entry"), "\(officer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q1-officer")))
        let first = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key", "--issue"])
        #expect(first.stdout.contains("issued: entry 7 records the 2026-Q1 report at entry 6"), "\(first.stdout)")
        // A back-dated commitment, then Q1 issued again: Q2 from the re-issue says so.
        try fixture.expectOK(RegistrationCommandTests.union.map { $0 == "2026-02-01" ? "2026-03-30" : $0 == "595000000.00" ? "100000000.00" : $0 })
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1-again", "--key", "authority.key", "--issue"])
        let q2 = try fixture.expectOK(["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1-again"])
        #expect(
            q2.stderr.contains("note: the previous report is the re-issue at entry 9, not the first issue of its period (entry 7)"), "\(q2.stderr)")
        let markdown = try String(contentsOfFile: fixture.dir.file("q2/report.md"), encoding: .utf8)
        #expect(markdown.contains("> **ROLLED FORWARD FROM A RE-ISSUE.**"))
        #expect(
            markdown.contains("**NEW BREACH** de-jupiter: union-capex-share-max-gigafactory: PASS → BREACH (entries recorded since: 8 adjustment)"),
            "\(markdown)")
        let q1 = try String(contentsOfFile: fixture.dir.file("q1-again/report.md"), encoding: .utf8)
        #expect(q1.contains("## Issued on the ledger\n\n- entry 7 (recorded "), "\(q1)")
        try fixture.expectOK(["verify"])
        #expect(shell("python3 \(Repository.independentVerifier) \(fixture.ledger)", in: fixture.dir).status == 0)
    }

    /// On a served ledger: the report is computed over the authority's verified copy (synced
    /// first, as `checkpoint --server` does) and the issue, signed here, submitted through the
    /// server; an officer's key is refused before any file is written.
    @Test func anIssueThroughTheServer() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.cli.expectOK(RegistrationCommandTests.union)
        let server = try fixture.start()
        defer { server.stop() }
        let officer = fixture.remote(
            ["report", "--quarter", "2026-Q1", "--out", "q1-officer", "--key", "officer.key", "--issue", "--ledger", "officer-copy.sqlite"],
            server: server)
        #expect(officer.status == 65 && officer.stderr.contains("may not sign a report-issue entry"), "\(officer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q1-officer")))
        // An issue through a server is at its head: --at is refused before anything is read or written.
        let before = fixture.cli.state()
        let at = fixture.remote(
            ["report", "--quarter", "2026-Q1", "--at", "6", "--out", "q1-at", "--key", "authority.key", "--issue", "--ledger", "at-copy.sqlite"],
            server: server)
        #expect(at.status == 64 && at.stderr.contains("--issue with --server issues the report at the server's head: leave out --at"), "\(at.stderr)")
        #expect(fixture.cli.state() == before && !FileManager.default.fileExists(atPath: fixture.dir.file("q1-at")))
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("at-copy.sqlite")))
        let issued = fixture.remote(
            ["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key", "--issue", "--ledger", "authority-copy.sqlite"],
            server: server)
        #expect(issued.status == 0 && issued.stdout.contains("issued: entry 8 records the 2026-Q1 report at entry 7"), "\(issued.stderr)")
        #expect(try fixture.cli.expectOK(["log"]).stdout.contains("report-issue      issued the 2026-Q1 report at entry 7"))
        // The issued summary is the one on the ledger: Q2 rolled forward from it is not told it is a re-issue.
        try fixture.cli.expectOK(["verify"])
        let q2 = try fixture.cli.expectOK(["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"])
        #expect(!q2.stderr.contains("not the first issue"), "\(q2.stderr)")
        #expect(shell("python3 \(Repository.independentVerifier) \(fixture.cli.ledger)", in: fixture.dir).status == 0)
    }

    /// An issue at an earlier state that leaves out an in-period entry is refused; the annual
    /// report given a quarterly report that is not the quarter's first issue says so.
    @Test func anIssueLeavesOutNothingAndTheAnnualReportKnowsTheFirstIssue() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(RegistrationCommandTests.union)
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key", "--issue"])
        try fixture.expectOK(RegistrationCommandTests.union.map { $0 == "2026-02-01" ? "2026-03-30" : $0 == "595000000.00" ? "5.00" : $0 })
        let before = fixture.state()
        let partial = fixture.run(["report", "--quarter", "2026-Q1", "--at", "7", "--out", "q1-partial", "--key", "authority.key", "--issue"])
        #expect(
            partial.status == 65 && partial.stderr.contains("leaves out entry 8, recorded later and dated 2026-03-30 in 2026-Q1"), "\(partial.stderr)"
        )
        #expect(fixture.state() == before && !FileManager.default.fileExists(atPath: fixture.dir.file("q1-partial")))
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1-rerun"])  // not issued
        try fixture.expectOK(["report", "--year", "2026", "--out", "year", "--quarter-reports", "q1-rerun"])
        let markdown = try String(contentsOfFile: fixture.dir.file("year/report.md"), encoding: .utf8)
        #expect(
            markdown.contains("NOT THE FIRST ISSUE: it is a version never issued on the ledger, the quarter was first issued at entry 7 (state 6)"),
            "\(markdown)")
    }

    /// `import --allow-duplicate`: the rows that repeat say so in their entries, and reports list them.
    @Test func anImportedDuplicateSaysSo() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        let row = "contribution,de-jupiter,2026-03-01,eu,10,capex,payment,dup,,,,,\n"
        fixture.dir.write(
            "d.csv", "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool,commercial,charge\n" + row + row, mode: 0o644)
        try fixture.expectOK(["import", "d.csv", "--key", "authority.key", "--allow-duplicate"])
        let log = try fixture.expectOK(["log"]).stdout
        #expect(log.components(separatedBy: "(duplicate allowed)").count == 2, "\(log)")  // the second row only
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        let markdown = try String(contentsOfFile: fixture.dir.file("q1/report.md"), encoding: .utf8)
        #expect(markdown.contains("- **RECORDED AS A DUPLICATE** de-jupiter: entry 7, dated 2026-03-01"), "\(markdown)")
        try fixture.expectOK(["verify"])
    }
}
