import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 31, case 2 and 3: issued reports on the ledger; rolling forward from a re-issue says so and
/// lists what differs from the first issue; every report lists the entries around its period
/// (recorded after its state but dated in it, dated after it, re-dated by a correction).
@Suite struct IssuedReportTests {
    typealias Small = ReportTests.Small

    static func q(_ text: String) throws -> ReportPeriod { .quarter(try Quarter.parse(text, field: "q")) }

    /// Issues `period` at the ledger's state: the summary's hash on the ledger, as `report --issue` records it.
    static func issue(_ small: Small, _ period: ReportPeriod) throws -> (report: PeriodReport, previous: PreviousReport) {
        let report = try small.ledger.periodReport(period: period).report
        let summary = ReportRenderer.summaryJSON(report)
        try small.ledger.append(
            .reportIssue(try ReportIssue(period: period, entryCount: report.entryCount, summarySHA256: SHA256State.hash(Array(summary.utf8)))),
            key: small.key)
        return (report, PreviousReport(period: period, entryCount: report.entryCount, headHash: report.headHash, summaryText: summary))
    }

    @Test func rollingForwardFromAReissueSaysSoAndListsWhatDiffers() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)  // 17%: PASS
        let first = try Self.issue(small, try Self.q("2026-Q1"))
        let backdated = try small.give(.union, 300_000, date: "2026-03-30")  // 20%: BREACH in Q1
        let second = try Self.issue(small, try Self.q("2026-Q1"))
        let q2 = try small.ledger.periodReport(period: try Self.q("2026-Q2"), previous: second.previous).report
        let reissue = try #require(q2.reissue)
        #expect(reissue.firstIssueSeq == first.report.entryCount + 1 && reissue.firstEntryCount == first.report.entryCount)
        #expect(reissue.issueSeq == second.report.entryCount + 1)
        let cap = try #require(reissue.changes.first { $0.what == "union-capex-share-max-gigafactory" })
        #expect(cap.before == "PASS" && cap.after == "BREACH" && cap.causes.map(\.seq) == [backdated.seq])
        let markdown = try #require(try ReportRenderer.files(q2).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("> **ROLLED FORWARD FROM A RE-ISSUE.** The 2026-Q1 report given is the re-issue recorded at entry"), "\(markdown)")
        #expect(markdown.contains("union-capex-share-max-gigafactory: PASS → BREACH (entries recorded since: \(backdated.seq) adjustment)"))
        // From the first issue: nothing to say. The issues are listed in the Q1 report.
        #expect(try small.ledger.periodReport(period: try Self.q("2026-Q2"), previous: first.previous).report.reissue == nil)
        let q1 = try small.ledger.periodReport(period: try Self.q("2026-Q1")).report
        #expect(q1.issues.map(\.origin.seq) == [first.report.entryCount + 1, second.report.entryCount + 1])
        #expect(ReportRenderer.summaryJSON(q2).contains(#""reissue":{"changes":["#))
    }

    @Test func entriesAroundThePeriodAreListed() throws {
        let small = try Small()
        try small.give(.union, 1_000, date: "2026-04-10")
        let payment = try small.give(.union, 2_000, .payment, date: "2026-05-10")
        // Re-dated before Q2 is issued: corrected, and recorded again dated in Q3.
        let correction = try small.ledger.append(.correction(Correction(entry: payment.seq, reason: "wrong quarter")), key: small.key)
        let again = try small.give(.union, 2_000, .payment, date: "2026-07-01")
        let ahead = try small.ledger.append(
            .contribution(
                try Contribution(
                    factory: "giga", source: .union, amount: Cents(5_000), date: CalendarDate.parse("2027-11-30", field: "d"), category: .capex,
                    kind: .commitment, ref: "")), key: small.key, checks: .none)
        let state = try small.ledger.size()
        let late = try small.give(.union, 3_000, date: "2026-06-01")  // recorded after the state below, dated in Q2
        let (q2, _) = try small.ledger.periodReport(period: try Self.q("2026-Q2"), at: state)
        let events = q2.subsequentEvents
        try #require(events.count == 2, "\(events)")
        #expect(events.map(\.seq) == [again.seq, ahead.seq], "\(events)")
        #expect(events.map(\.kind) == [.redated, .datedAfter])
        #expect(events[0].what.contains("corrected by entry \(correction.seq)"))
        // Recorded after its state, dated in it: not in the files (a function of entries 1 to the
        // state), given to the command to print.
        #expect(q2.recordedAfterState.map(\.seq) == [late.seq])
        let year = try small.ledger.periodReport(period: .year(2026)).report
        #expect(year.subsequentEvents.map(\.seq) == [ahead.seq])
        let markdown = try #require(try ReportRenderer.files(year).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("- entry \(ahead.seq) (dated after), giga, dated 2027-11-30: commitment capex eu EUR 50.00"), "\(markdown)")
    }

    /// The hostile pass's tricks: the Q3 copy recorded before the correction, by another key, with
    /// an unrelated entry between, or as another category: each paired with its corrected original.
    @Test func aReDatingIsFoundWhoeverRecordsItAndWhenever() throws {
        let small = try Small()
        let other = SigningKey.generate()
        try small.ledger.append(.keyEnroll(KeyEnrolment(publicKey: other.publicKey, name: "Other", role: .authority, scopes: [])), key: small.key)
        let a = try small.give(.union, 1_000, .payment, date: "2026-05-01")
        let b = try small.give(.union, 2_000, .payment, date: "2026-05-02")
        let earlyCopy = try small.give(.union, 3_000, .payment, date: "2026-07-03")  // recorded before its original
        let c = try small.give(.union, 3_000, .payment, date: "2026-05-03")
        try small.ledger.append(.correction(Correction(entry: a.seq, reason: "x")), key: small.key)
        let byOther = try small.ledger.append(
            .contribution(
                try Contribution(
                    factory: "giga", source: .union, amount: Cents(1_000), date: CalendarDate.parse("2026-07-01", field: "d"), category: .opex,
                    kind: .payment, ref: "")), key: other)
        try small.ledger.append(.correction(Correction(entry: b.seq, reason: "x")), key: small.key)
        try small.give(.union, 50, .payment, date: "2026-05-20")
        let later = try small.give(.union, 2_000, .payment, date: "2026-07-02")
        try small.ledger.append(.correction(Correction(entry: c.seq, reason: "x")), key: small.key)
        let q2 = try small.ledger.periodReport(period: try Self.q("2026-Q2")).report
        let redated = q2.subsequentEvents.filter { $0.kind == .redated }
        #expect(Set(redated.map(\.seq)) == [earlyCopy.seq, byOther.seq, later.seq], "\(q2.subsequentEvents)")
        #expect(redated.first { $0.seq == byOther.seq }?.what.contains("entry \(a.seq) of the same amount") == true)
    }
}
