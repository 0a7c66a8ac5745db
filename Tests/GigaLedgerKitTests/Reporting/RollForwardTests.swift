import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// A closed quarter never changes silently: opening + movements + adjustments = closing, every
/// adjustment named, every change listed (new breaches first). Figures hand-computed.
@Suite struct RollForwardTests {
    typealias Small = ReportTests.Small

    @Test func closingIsOpeningPlusMovementsPlusAdjustments() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)  // 17% of the registered EUR 100,000.00: exactly the cap
        let mistake = try small.give(.memberState("DE"), 1_700_000)
        let q1 = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(q1.factories[0].verdicts.allSatisfy { $0.status != .breach })
        // After the Q1 report: a back-dated Q1 commitment, a correction of a Q1 entry with its
        // replacement, and a Q2 movement that breaks the cap.
        let late = try small.give(.memberState("DE"), 200, date: "2026-03-15")
        let correction = try small.ledger.append(.correction(Correction(entry: mistake.seq, reason: "wrong amount")), key: small.key)
        let replacement = try small.give(.memberState("DE"), 1_699_000)
        try small.give(.union, 1, date: "2026-05-01")
        let previous = PreviousReport(period: .quarter(try Quarter.parse("2026-Q1", field: "q")), entryCount: q1.entryCount, headHash: q1.headHash)
        let q2 = try small.ledger.periodReport(period: .quarter(try Quarter.parse("2026-Q2", field: "q")), previous: previous).report
        let roll = try #require(q2.rollForward)
        let giga = try #require(roll.factories.first { $0.factoryID == "giga" })
        #expect(giga.opening.union.committed == 1_700_000 && giga.opening.memberStates.committed == 1_700_000)
        #expect(giga.movements.union.committed == 1 && giga.movements.memberStates.committed == 0)
        #expect(giga.adjustments.union.committed == 0 && giga.adjustments.memberStates.committed == 200 - 1_700_000 + 1_699_000)  // -800
        #expect(giga.closing.union.committed == 1_700_001 && giga.closing.memberStates.committed == 1_699_200)
        #expect(giga.opening.total.committed + giga.movements.total.committed + giga.adjustments.total.committed == giga.closing.total.committed)
        // Each adjustment: the late entry, the correction (with its reason), the replacement.
        #expect(roll.adjustments.map(\.origin.seq) == [late.seq, correction.seq, replacement.seq])
        #expect(roll.adjustments.map(\.sign) == [1, -1, 1])
        #expect(roll.adjustments[1].reason == "wrong amount" && roll.adjustments[1].description.contains("entry \(mistake.seq)"))
        // What changed: the new breaches first (the cap by one cent, matching by EUR 8.01, for the
        // factory and the programme), then figures, each with the entries recorded since.
        let newBreaches = roll.changes.prefix { $0.rank == 0 }
        #expect(Set(newBreaches.map(\.what)) == ["union-capex-share-max-gigafactory", "matching-min-gigafactory", "matching-min-programme"])
        // Issue 29, case 2: each names only the entries its rule counts: the CAPEX cap the Union's
        // cent, matching the German entries as well.
        let cap = try #require(newBreaches.first { $0.what == "union-capex-share-max-gigafactory" })
        #expect(cap.causes.map(\.seq) == [replacement.seq + 1] && cap.causes.map(\.how) == ["movement"])
        let matching = try #require(newBreaches.first { $0.what == "matching-min-gigafactory" })
        #expect(matching.causes.map(\.seq) == [late.seq, correction.seq, replacement.seq, replacement.seq + 1])
        #expect(matching.causes.map(\.how) == ["adjustment", "correction", "adjustment", "movement"])
        #expect(roll.changes.contains { $0.what == "committed CAPEX by ms:DE" && $0.before == "EUR 17,000.00" && $0.after == "EUR 16,992.00" })
        #expect(!q2.isProvisional)
    }

    /// Issue 29, case 2: a CAPEX cap moved by an amendment of the registered CAPEX names the
    /// amendment, and only it (not a payment's correction, nor an access grant recorded since),
    /// and the registered CAPEX is among the figures that moved. Hand-computed: EUR 17,000.00 of
    /// EUR 100,000.00 is 17% (PASS); of EUR 90,000.00, 18.89% (BREACH).
    @Test func aVerdictMovedByAnAmendmentNamesTheAmendmentAlone() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)
        let payment = try small.give(.union, 500_000, .payment)
        let q1 = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(q1.factories[0].verdicts.first { $0.rule.id == "union-capex-share-max-gigafactory" }?.status == .pass)
        let correction = try small.ledger.append(.correction(Correction(entry: payment.seq, reason: "wrong")), key: small.key)
        let grant = try small.grant(.research, 10, date: "2026-04-02")
        let amendment = try small.ledger.append(
            .factoryAmend(
                try Amendment(
                    Factory(id: "giga", name: "Giga", kind: .gigafactory, hosts: ["DE"], capex: Cents(9_000_000)), reason: "eligible cost revised")),
            key: small.key)
        let previous = PreviousReport(period: .quarter(try Quarter.parse("2026-Q1", field: "q")), entryCount: q1.entryCount, headHash: q1.headHash)
        let q2 = try small.ledger.periodReport(period: .quarter(try Quarter.parse("2026-Q2", field: "q")), previous: previous).report
        let changes = try #require(q2.rollForward?.changes)
        let cap = try #require(changes.first { $0.factoryID == "giga" && $0.what == "union-capex-share-max-gigafactory" })
        #expect(cap.before == "PASS" && cap.after == "BREACH")
        #expect(cap.causes.map(\.seq) == [amendment.seq] && cap.causes.map(\.how) == ["amendment"])
        let registered = try #require(changes.first { $0.factoryID == "giga" && $0.what == "registered CAPEX" })
        #expect(registered.before == "EUR 100,000.00" && registered.after == "EUR 90,000.00")
        #expect(registered.causes.map(\.seq) == [amendment.seq])
        #expect(!changes.contains { $0.causes.contains { $0.seq == grant.seq } && $0.what.contains("capex") })
        #expect(changes.contains { $0.what == "paid CAPEX by eu" && $0.causes.map(\.seq) == [correction.seq] })
        // The evidence of the cap cites the registration and the amendment that give its base.
        let verdict = try #require(
            q2.factories.first { $0.factory.id == "giga" }?.verdicts.first { $0.rule.id == "union-capex-share-max-gigafactory" })
        #expect(verdict.entries.contains(3) && verdict.entries.contains(amendment.seq), "\(verdict.entries)")
    }

    /// Issue 29, case 1: an amendment of the registered CAPEX recorded in Q2 turns the Q1 CAPEX
    /// cap of the signed Q1 report from PASS to BREACH in the annual report; given the issued Q1
    /// report, the annual report lists that verdict, and only it, with the amendment as its cause.
    /// Hand-computed: EUR 17,000.00 of EUR 100,000.00 is 17% (PASS); of EUR 99,999.00, 17.0002%.
    @Test func theAnnualReportListsTheQuarterlyVerdictsThatNowDiffer() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)
        try small.give(.memberState("DE"), 1_700_000)
        let q1 = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        let issued = PreviousReport(
            period: .quarter(try Quarter.parse("2026-Q1", field: "q")), entryCount: q1.entryCount, headHash: q1.headHash,
            summaryText: ReportRenderer.summaryJSON(q1))
        try small.give(.union, 100, date: "2026-05-01")  // a Q2 movement: not a Q1 matter
        let amendment = try small.ledger.append(
            .factoryAmend(
                try Amendment(Factory(id: "giga", name: "Giga", kind: .gigafactory, hosts: ["DE"], capex: Cents(9_999_900)), reason: "audit")),
            key: small.key)
        let year = try small.ledger.periodReport(period: .year(2026), quarterReports: [issued]).report
        let first = try #require(year.quarterVerdicts.first)
        let changes = try #require(first.issued?.changes)
        #expect(first.issued?.entryCount == q1.entryCount && first.issued?.isSigned == false)
        #expect(changes.map(\.what) == ["union-capex-share-max-gigafactory"], "\(changes.map(\.what))")
        #expect(changes.first?.before == "PASS" && changes.first?.after == "BREACH")
        #expect(changes.first?.causes.map(\.seq) == [amendment.seq] && changes.first?.causes.map(\.how) == ["amendment"])
        #expect(year.quarterVerdicts[1].issued == nil)
        let markdown = try #require(try ReportRenderer.files(year).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("Against the issued 2026-Q1 report (the ledger at entry \(q1.entryCount) (unsigned)"))
        #expect(
            markdown.contains("- giga: union-capex-share-max-gigafactory: PASS → **BREACH** (entries recorded since: \(amendment.seq) amendment)"))
        #expect(markdown.contains("No issued 2026-Q2 report was given"))
        // A quarterly report edited, or of another year, is refused.
        let edited = PreviousReport(
            period: issued.period, entryCount: issued.entryCount, headHash: issued.headHash,
            summaryText: issued.summaryText!.replacingOccurrences(of: "\"status\":\"PASS\"", with: "\"status\":\"BREACH\""))
        #expect(throws: InputError.self) { try small.ledger.periodReport(period: .year(2026), quarterReports: [edited]) }
        #expect(throws: InputError.self) { try small.ledger.periodReport(period: .year(2027), quarterReports: [issued]) }
    }

    @Test func aPreviousReportOfAnotherLedgerOrALaterPeriodIsRefused() throws {
        let small = try Small()
        try small.give(.union, 100)
        let q1 = try Quarter.parse("2026-Q1", field: "q")
        let size = try small.ledger.size()
        #expect(throws: InputError.self) {
            try small.ledger.periodReport(period: .quarter(q1), previous: PreviousReport(period: .quarter(q1), entryCount: size, headHash: nil))
        }
        #expect(throws: InputError.self) {
            try small.ledger.periodReport(
                period: .quarter(q1.next),
                previous: PreviousReport(period: .quarter(q1), entryCount: size, headHash: [UInt8](repeating: 7, count: 32)))
        }
        #expect(throws: InputError.self) {
            try small.ledger.periodReport(
                period: .quarter(q1.next), at: 3, previous: PreviousReport(period: .quarter(q1), entryCount: size, headHash: nil))
        }
    }

    /// A report made before its period ended (by the last entry's recorded_at) says so.
    @Test func aReportBeforeThePeriodEndsIsProvisional() throws {
        let small = try Small()
        try small.give(.union, 100)
        let recorded = try #require(try small.ledger.entry(try small.ledger.size())?.recordedAt)
        let today = try CalendarDate.parse(String(recorded.prefix(10)), field: "d")
        let current = Quarter(year: today.year, number: (today.month - 1) / 3 + 1)
        #expect(try small.ledger.quarterlyReport(quarter: current).isProvisional)
        #expect(try !small.ledger.quarterlyReport(quarter: current.previous).isProvisional)
    }

    /// The annual report: the year's figures, each quarter's verdicts, access by state and type.
    @Test func theAnnualReportHasEachQuartersVerdictsAndAccessByCountry() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)
        try small.give(.memberState("DE"), 1_700_000)
        try small.give(.union, 1, date: "2026-08-01")  // breaks the CAPEX cap in Q3
        try small.ledger.append(
            .access(
                AccessGrant(
                    factory: "giga", beneficiary: "B", category: .sme, gpuHours: 40, date: CalendarDate.parse("2026-05-01", field: "d"),
                    pool: .union, isCommercial: false, charge: Cents(0), country: "FR")), key: small.key)
        try small.grant(.research, 60, date: "2026-06-01")
        let year = try small.ledger.periodReport(period: .year(2026)).report
        #expect(year.quarterVerdicts.map(\.quarter.description) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"])
        func capex(_ index: Int) -> VerdictStatus? {
            year.quarterVerdicts[index].factories.first { $0.factoryID == "giga" }?.verdicts.first {
                $0.rule.id == "union-capex-share-max-gigafactory"
            }?.status
        }
        #expect(capex(0) == .pass && capex(1) == .pass && capex(2) == .breach && capex(3) == .breach)
        #expect(year.accessByCountry["FR"]?[.sme] == 40 && year.accessByCountry["unknown"]?[.research] == 60)
        // Issue 29, case 6: the Union pool by beneficiary country and type, the host pool apart.
        try small.grant(.industry, 7, pool: .host, date: "2026-07-01")
        let withHost = try small.ledger.periodReport(period: .year(2026)).report
        let giga = try #require(withHost.accessBreakdown["giga"])
        #expect(giga.union["FR"]?[.sme] == 40 && giga.union["unknown"]?[.research] == 60 && giga.union.count == 2)
        #expect(giga.host == [.industry: 7] && withHost.accessBreakdownTotal == giga)
        let files = try ReportRenderer.files(withHost)
        let summary = try #require(files.first { $0.0 == "summary.json" }?.1)
        #expect(
            summary.contains(
                #""access_breakdown":{"factories":[{"host_by_category":{"industry":7},"id":"giga","union_by_country":{"FR":{"sme":40},"unknown":{"research":60}}},{"host_by_category":{},"id":"aif","union_by_country":{}}]"#
            ))
        let csv = try #require(files.first { $0.0 == "access-breakdown.csv" }?.1)
        #expect(
            csv.contains("*,union,FR,sme,40\r\n") && csv.contains("giga,host,,industry,7\r\n") && csv.contains("giga,union,unknown,research,60\r\n"),
            "\(csv)")
        let markdown = try #require(files.first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("| giga | host | all | 0 | 0 | 0 | 0 | 0 | 7 | 7 |"))
        #expect(year.factories[0].period.union.committed == 1_700_001)
        let germany = try #require(year.memberStates.first { $0.code == "DE" })
        #expect(germany.factories.first { $0.factoryID == "giga" }?.isHost == true && germany.total.committed == 1_700_000)
        #expect(germany.factories.contains { $0.factoryID == "aif" } == false)  // aif is hosted by FR
        #expect(year.memberStates.first { $0.code == "FR" }?.factories.first?.totals.committed == 0)  // a host without money is shown
    }

    /// `export --at` reconciles a report after the ledger moved on; a correction is a reversal.
    @Test func exportAtAStateAndReversals() throws {
        let small = try Small()
        let first = try small.give(.union, 100)
        let state = try small.ledger.size()
        let before = try small.ledger.export(.hledger, through: nil, at: state)
        try small.ledger.append(.correction(Correction(entry: first.seq, reason: "typo")), key: small.key)
        try small.give(.union, 50, date: "2026-01-05")
        #expect(try small.ledger.export(.hledger, through: nil, at: state) == before)
        let journal = try small.ledger.export(.hledger, through: nil)
        let dates = journal.split(separator: "\n").filter { $0.first?.isNumber == true }.map { String($0.prefix(10)) }
        #expect(dates == dates.sorted() && dates.count == 3)  // the new entry first (2026-01-05), then the entry and its reversal
        #expect(journal.contains("reversal of entry \(first.seq)") && journal.contains("typo"))
    }
}

/// The HTML reads on a phone and prints whole; verdicts link to the entries behind them.
@Suite struct ReportHTMLTests {
    @Test func viewportPrintStylesheetAndEntryLinks() throws {
        let small = try ReportTests.Small()
        try small.give(.union, 1_700_001)  // a breach, for the summary
        try small.give(.memberState("DE"), 2_000_000)
        let files = try ReportRenderer.files(try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q")))
        let html = try #require(files.first { $0.0 == "report.html" }?.1)
        #expect(html.contains(#"<meta name="viewport" content="width=device-width, initial-scale=1">"#))
        #expect(html.contains("@media print") && html.contains("thead { display: table-header-group; }") && html.contains("counter(page)"))
        #expect(html.contains("@bottom-left { content: \"2026-Q1 · ledger at entry 7 · head "))  // the ledger state on every printed page
        #expect(html.contains(##"<a href="#e6">6</a>"##) && html.contains(##"<tr id="e6">"##))
        #expect(html.contains("factories with breaches: giga."))
        // Issue 29, case 7: the programme's breach is said apart, not as a factory named "all factories".
        try small.give(.union, 300_000, factory: "aif")
        let programme = try ReportRenderer.files(try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q")))
        let banner = try #require(programme.first { $0.0 == "report.html" }?.1)
        #expect(banner.contains("factories with breaches: giga; programme level (all factories together): 1 breach."))
        #expect(html.contains(">no data</text>"))  // the AI factory has nothing recorded
        let markdown = try #require(files.first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("- **BREACH** giga: union-capex-share-max-gigafactory:") && markdown.contains("excess EUR 0.01"))
    }
}
