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
}
