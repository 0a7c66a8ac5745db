import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit

/// Issue 31, the seven manipulations a fraud examiner made with an insider's keys, each through
/// the real binary: accepted and unflagged before; now refused, or flagged in report.md and
/// summary.json with the entries that cause it. (Case 2's re-issue is `IssueCommandTests`, case 3
/// `OfficerDayTests.implausibleDatesAndScopesAreRefused`, case 5 `OfficerDayTests.theDuplicateGuardIsNotBypassed`.)
@Suite struct FraudExaminerTests {
    /// A fixture under the built-in policy (version 3, with the policy flags) and the Union's
    /// EUR 595,000,000.00 CAPEX commitment to de-jupiter (17% of its registered EUR 3.5 bn).
    static func ledger() throws -> CLIFixture {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(RegistrationCommandTests.union)
        return fixture
    }

    static func contribution(
        _ key: String, source: String, amount: String, date: String, category: String = "capex", kind: String
    )
        -> [String]
    {
        [
            "contribution", "record", "--key", key, "--factory", "de-jupiter", "--source", source, "--amount", amount, "--date", date,
            "--category", category, "--kind", kind,
        ]
    }

    static func access(_ beneficiary: String, _ category: String, hours: String, extra: [String] = []) -> [String] {
        [
            "access", "record", "--key", "authority.key", "--factory", "de-jupiter", "--beneficiary", beneficiary, "--category", category,
            "--gpu-hours", hours, "--date", "2026-03-02", "--pool", "union",
        ] + extra
    }

    /// The quarter's report.md and summary.json.
    static func report(_ fixture: CLIFixture, _ period: String = "2026-Q1", out: String) throws -> (markdown: String, summary: String) {
        try fixture.expectOK(["report", "--quarter", period, "--out", out])
        return (
            try String(contentsOfFile: fixture.dir.file("\(out)/report.md"), encoding: .utf8),
            try String(contentsOfFile: fixture.dir.file("\(out)/summary.json"), encoding: .utf8)
        )
    }

    static func seq(_ run: Run) throws -> Int {
        try #require(RegistrationCommandTests.seq(run), "\(run.stdout)")
    }

    /// Case 1: the authority records "German" money that Germany's officer (enrolled, scoped to
    /// ms:DE) never signed: flagged per factory with the amounts, and every signer named.
    @Test func theAuthoritySigningForAnotherOfficeIsFlagged() throws {
        let fixture = try Self.ledger()
        let german = try Self.seq(
            try fixture.expectOK(Self.contribution("authority.key", source: "ms:DE", amount: "700000000.00", date: "2026-02-10", kind: "commitment")))
        let (markdown, summary) = try Self.report(fixture, out: "q1")
        #expect(
            markdown.contains("**SIGNED FOR ANOTHER OFFICE** de-jupiter: money from ms:DE signed by ")
                && markdown.contains("committed EUR 700,000,000.00, paid EUR 0.00 (entries \(german))"), "\(markdown)")
        #expect(markdown.contains("| DE officer | officer | ms:DE, factory:de-jupiter |"), "the Signers table: \(markdown)")
        #expect(summary.contains(#""signed_for_others":[{"committed_cents":70000000000"#), "\(summary)")
    }

    /// Case 2, re-dating before issue: a Q2 payment corrected and recorded again dated in Q3 is
    /// listed around Q2 as re-dated, with the correction that moved it.
    @Test func aPaymentRedatedOutOfTheQuarterIsListed() throws {
        let fixture = try Self.ledger()
        let payment = try Self.seq(
            try fixture.expectOK(Self.contribution("authority.key", source: "eu", amount: "50000000.00", date: "2026-05-10", kind: "payment")))
        try fixture.expectOK(["correct", "--key", "authority.key", "--entry", String(payment), "--reason", "wrong date", "--yes"])
        let correction = payment + 1
        let again = try Self.seq(
            try fixture.expectOK(
                Self.contribution("authority.key", source: "eu", amount: "50000000.00", date: "2026-07-10", kind: "payment") + ["--future"]))
        let (markdown, summary) = try Self.report(fixture, "2026-Q2", out: "q2")
        #expect(
            markdown.contains(
                "entry \(again) (re-dated), de-jupiter, dated 2026-07-10: payment capex eu EUR 50,000,000.00: entry \(payment) of the same amount, dated 2026-05-10, was corrected by entry \(correction)"
            ), "\(markdown)")
        #expect(summary.contains(#""kind":"re-dated""#), "\(summary)")
    }

    /// Case 4: EUR 400 m of Union money recorded as OPEX at a gigafactory, beside a CAPEX share
    /// that passes: flagged under the policy, with the share it would make as CAPEX.
    @Test func unionOpexAtAGigafactoryIsFlagged() throws {
        let fixture = try Self.ledger()
        let opex = try Self.seq(
            try fixture.expectOK(
                Self.contribution("authority.key", source: "eu", amount: "400000000.00", date: "2026-02-20", category: "opex", kind: "commitment")))
        let (markdown, summary) = try Self.report(fixture, out: "q1")
        // (595,000,000 + 400,000,000) / 3,500,000,000 = 28.43%
        #expect(
            markdown.contains(
                "- **BREACH** de-jupiter: union-opex-at-gigafactory: Union money recorded as OPEX at a gigafactory: committed EUR 400,000,000.00")
                && markdown.contains("would be 28.43% of the registered eligible CAPEX EUR 3,500,000,000.00"), "\(markdown)")
        #expect(
            markdown.contains("| de-jupiter | union-capex-share-max-gigafactory (reported) | **PASS**"), "the CAPEX cap alone passes: \(markdown)")
        #expect(summary.contains(#""rule":"union-opex-at-gigafactory""#) && summary.contains("\(opex)"), "\(summary)")
    }

    /// Case 6: one company as an SME and as industry, non-commercial industry in the Union pool,
    /// a commercial grant charged EUR 0.01: each flagged; the beneficiaries listed by hours.
    @Test func relabelledAccessIsFlagged() throws {
        let fixture = try Self.ledger()
        try fixture.expectOK(Self.access("Siemens AG", "sme", hours: "5000"))
        try fixture.expectOK(Self.access("SIEMENS AG", "industry", hours: "3000", extra: ["--commercial", "--charge", "100000.00"]))
        try fixture.expectOK(Self.access("BMW AG", "industry", hours: "2000"))
        try fixture.expectOK(Self.access("Cheap GmbH", "industry", hours: "1000", extra: ["--commercial", "--charge", "0.01"]))
        let (markdown, summary) = try Self.report(fixture, out: "q1")
        #expect(markdown.contains("access-participant-consistent (policy) | **BREACH**"), "\(markdown)")
        #expect(markdown.contains("Siemens AG recorded as industry and sme"), "\(markdown)")
        #expect(markdown.contains("non-commercial industry access in the Union pool (entries"), "\(markdown)")
        #expect(markdown.contains("commercial-charge-min (policy) | **BREACH**"), "\(markdown)")
        #expect(markdown.contains("| Siemens AG | 8,000 |"), "the beneficiaries by hours: \(markdown)")
        #expect(summary.contains(#""rule":"commercial-charge-min""#) && summary.contains(#""rule":"access-participant-consistent""#))
    }

    /// Case 7: a host's token commitment of EUR 0.01 satisfies "every host state committed" but
    /// is flagged below the policy's share of the Union's commitment.
    @Test func aTokenHostCommitmentIsFlagged() throws {
        let fixture = try Self.ledger()
        let token = try Self.seq(
            try fixture.expectOK(
                Self.contribution("officer.key", source: "ms:DE", amount: "0.01", date: "2026-02-12", kind: "commitment"),
                env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]))
        let (markdown, summary) = try Self.report(fixture, out: "q1")
        #expect(markdown.contains("| de-jupiter | host-states-commit-gigafactory (law) | **PASS**"), "\(markdown)")
        #expect(markdown.contains("| de-jupiter | host-commitment-min-share (policy) | **BREACH** | below the share: DE;"), "\(markdown)")
        #expect(summary.contains(#""rule":"host-commitment-min-share""#) && summary.contains("\(token)"), "\(summary)")
        #expect(shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir).status == 0)
    }
}
