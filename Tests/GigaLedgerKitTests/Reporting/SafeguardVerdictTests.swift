import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 11's wrong verdicts, each from hand-computed figures, on the boundary and one unit past it.
@Suite struct SafeguardVerdictTests {
    typealias Small = ReportTests.Small

    func register(_ small: Small, _ id: String, kind: FactoryKind, hosts: [String], capex: Int64, opex: Int64? = nil) throws {
        try small.ledger.append(
            .factoryRegister(Factory(id: id, name: id, kind: kind, hosts: hosts, capex: Cents(capex), opex: opex.map(Cents.init))), key: small.key)
    }

    /// Item 1: Union 50M of a 100M machine passes while the host has committed only 30M; 60M breaches.
    @Test func aiFactoryCapsDivideByTheRegisteredCost() throws {
        let small = try Small()
        try register(small, "machine", kind: .aiFactory, hosts: ["FR"], capex: 10_000_000_000, opex: 2_000_000_000)  // EUR 100M; budget EUR 20M
        try small.give(.union, 5_000_000_000, factory: "machine")  // EUR 50M
        try small.give(.memberState("FR"), 3_000_000_000, factory: "machine")  // EUR 30M
        let pass = try small.verdict("union-acquisition-share-max-ai-factory", factory: "machine")
        #expect(pass.status == .pass && pass.value == Fraction(5_000_000_000, 10_000_000_000))
        #expect(pass.explanation.contains("Union's share of all commitments is 62.50%"))  // shown as information
        try small.give(.union, 1_000_000_000, factory: "machine")  // EUR 60M of 100M
        #expect(try small.verdict("union-acquisition-share-max-ai-factory", factory: "machine").status == .breach)
        #expect(
            try small.verdict("union-acquisition-share-max-ai-factory", factory: "machine").margin
                == "excess EUR 10,000,000.00 over the cap; EUR 10,000,000.00 to remove to comply")
        // Operating cost against the registered budget: EUR 10M of 20M passes, one cent more breaches.
        try small.give(.union, 1_000_000_000, .commitment, .opex, factory: "machine")
        #expect(try small.verdict("union-opex-share-max-ai-factory", factory: "machine").status == .pass)
        try small.give(.union, 1, .commitment, .opex, factory: "machine")
        #expect(try small.verdict("union-opex-share-max-ai-factory", factory: "machine").status == .breach)
    }

    /// Item 2: a gigafactory with no member-state money does not pass on private money (was 488%).
    @Test func matchingCountsParticipatingStatesOnly() throws {
        let small = try Small()
        try small.give(.union, 1_000)
        try small.give(.partner("p"), 4_880)
        let verdict = try small.verdict("matching-min-gigafactory")
        #expect(verdict.status == .breach && verdict.value == Fraction(0, 1_000))
        #expect(verdict.rule.confidence == .recital)
        #expect(verdict.explanation.contains("does not count"))
    }

    /// Item 2: every host of a multi-host gigafactory commits (Art. 12b(4)); a non-host state's money matches.
    @Test func everyHostStateCommitsAndNonHostMoneyMatches() throws {
        let small = try Small()
        try register(small, "duo", kind: .gigafactory, hosts: ["FR", "ES"], capex: 100_000_000)
        try small.give(.union, 200, factory: "duo")
        try small.give(.memberState("FR"), 100, factory: "duo")
        try small.give(.memberState("IT"), 100, factory: "duo")  // not a host: still matches
        #expect(try small.verdict("matching-min-gigafactory", factory: "duo").status == .pass)
        let hosts = try small.verdict("host-states-commit-gigafactory", factory: "duo")
        #expect(hosts.status == .breach && hosts.explanation.contains("ES"))
        try small.give(.memberState("ES"), 1, factory: "duo")
        #expect(try small.verdict("host-states-commit-gigafactory", factory: "duo").status == .pass)
    }

    /// Item 3: commercial Union access is charged (an SME's at market price is fine, EUR 0 is a breach);
    /// non-commercial Union access of free categories, start-ups included by policy, is free.
    @Test func freeAndCommercialUnionAccessJudgedTheRightWayRound() throws {
        let small = try Small()
        try small.give(.union, 1_000)
        try small.grant(.sme, 10, commercial: true, charge: 38_000)  // an SME's commercial use at a price: no breach
        #expect(try small.verdict("union-access-free-for").status == .notAssessable)  // no non-commercial access yet
        #expect(try small.verdict("commercial-union-access-charged").status == .pass)
        try small.grant(.sme, 10)
        #expect(try small.verdict("union-access-free-for").status == .pass)
        try small.grant(.startup, 10, charge: 1)  // a start-up charged for non-commercial Union access
        let startups = try small.verdict("union-access-free-for-startups")
        #expect(startups.status == .breach && startups.rule.confidence == .policy)
        #expect(try small.verdict("union-access-free-for").status == .pass)  // the law's rule names SMEs, not start-ups
        try small.grant(.industry, 10, commercial: true)  // commercial Union access charged EUR 0
        let free = try small.verdict("commercial-union-access-charged")
        #expect(free.status == .breach && free.explanation.contains("EUR 0.00"))
    }

    /// Item 4: a source that paid more than it committed, per cost category, is a finding with the figures.
    @Test func paymentsAboveCommitmentsAreFindings() throws {
        let small = try Small()
        try small.give(.partner("p"), 1_250_000_000, .payment, .opex)  // EUR 12.5M OPEX paid, nothing committed
        try small.give(.union, 500, .commitment)
        try small.give(.union, 500, .payment)  // paid exactly what was committed: no finding
        var report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(
            report.factories[0].findings == [
                PaymentFinding(source: "private:p", category: .opex, committed: 0, paid: 1_250_000_000, entries: [6], entryCount: 1)
            ])
        try small.give(.union, 1, .payment)
        report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(report.factories[0].findings.map(\.source) == ["eu", "private:p"])
        #expect(report.factories[0].findings[0].paid - report.factories[0].findings[0].committed == 1)
    }

    /// Item 5: no data, no verdict: every rule of an empty factory is NOT ASSESSABLE (the CAPEX cap passed before).
    @Test func anEmptyQuarterIsNotAssessableForEveryRule() throws {
        let small = try Small()
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        for factory in report.factories {
            #expect(factory.verdicts.allSatisfy { $0.status == .notAssessable }, "\(factory.factory.id)")
        }
        #expect(report.verdictCounts[.pass] == nil)
    }

    /// Item 6: text cells a spreadsheet would run as formulas are neutralised; numbers are left alone.
    @Test func csvFormulaInjectionIsNeutralised() throws {
        let small = try Small()
        let names = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "+1", "-1", "\tx", "\rx", "plain"]
        for name in names {
            try small.ledger.append(
                .access(
                    AccessGrant(
                        factory: "giga", beneficiary: name == "\tx" || name == "\rx" ? "x" : name, category: .sme, gpuHours: 1,
                        date: CalendarDate.parse("2026-03-01", field: "d"), pool: .union, isCommercial: false, charge: Cents(0))), key: small.key,
                checks: .none)
        }
        try small.give(.union, 100)
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        let csv = ReportRenderer.accessCSV(report)
        #expect(csv.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","))
        #expect(csv.contains(",'@SUM(A1),") && csv.contains(",'+1,") && csv.contains(",'-1,") && csv.contains(",plain,"))
        for name in names { #expect(ReportRenderer.neutralised(name).first == (name == "plain" ? "p" : "'")) }
        #expect(ReportRenderer.contributionsCSV(report).contains(",100,"))  // amount_cents as it is
    }

    /// A policy that takes effect after the quarter judges nothing in it.
    @Test func aQuarterBeforeThePolicyTakesEffectIsNotJudged() throws {
        let dir = TempDir()
        let key = SigningKey.generate()
        let (ledger, _) = try Ledger.create(path: dir.file("l.sqlite"), authority: key, authorityName: "A", origin: "o")
        try ledger.append(.policy(try PolicyTests.shipped(editing: { $0["effective_from"] = "2026-04-01" })), key: key)
        try ledger.append(.factoryRegister(Factory(id: "giga", name: "G", kind: .gigafactory, hosts: ["DE"], capex: Cents(100))), key: key)
        try ledger.append(
            .contribution(
                Contribution(
                    factory: "giga", source: .union, amount: Cents(90), date: CalendarDate.parse("2026-02-01", field: "d"),
                    category: .capex, kind: .commitment, ref: "")), key: key)  // 90% of CAPEX: a breach once in force
        let q1 = try ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(q1.factories[0].verdicts.allSatisfy { $0.status == .notAssessable && $0.explanation.contains("takes effect on 2026-04-01") })
        #expect(q1.policyNotInForce != nil)
        let q2 = try ledger.quarterlyReport(quarter: Quarter.parse("2026-Q2", field: "q"))
        #expect(q2.factories[0].verdicts.first { $0.rule.id == "union-capex-share-max-gigafactory" }?.status == .breach)
    }

    /// Art. 5: the Union's ceiling and its matching, all factories together.
    @Test func programmeWideCeilingAndMatching() throws {
        let dir = TempDir()
        let key = SigningKey.generate()
        let (ledger, _) = try Ledger.create(path: dir.file("l.sqlite"), authority: key, authorityName: "A", origin: "o")
        try ledger.append(
            .policy(
                try PolicyTests.shipped(editing: { policy in
                    var rules = policy["rules"] as! [[String: Any]]
                    for index in rules.indices where rules[index]["id"] as? String == "union-contribution-max-programme" {
                        rules[index]["cents"] = 1_000
                    }
                    policy["rules"] = rules
                })), key: key)
        for id in ["a", "b"] {
            try ledger.append(.factoryRegister(Factory(id: id, name: id, kind: .gigafactory, hosts: ["DE"], capex: Cents(1_000_000))), key: key)
        }
        func give(_ factory: String, _ source: Source, _ cents: Int64) throws {
            try ledger.append(
                .contribution(
                    Contribution(
                        factory: factory, source: source, amount: Cents(cents), date: CalendarDate.parse("2026-02-01", field: "d"),
                        category: .capex, kind: .commitment, ref: "")), key: key)
        }
        try give("a", .union, 600)
        try give("b", .union, 400)  // EUR 10.00 exactly: the ceiling
        try give("a", .memberState("DE"), 1_000)
        func verdict(_ id: String) throws -> Verdict {
            try ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q")).programme.first { $0.rule.id == id }!
        }
        #expect(try verdict("union-contribution-max-programme").status == .pass)
        #expect(try verdict("matching-min-programme").status == .pass)
        try give("b", .union, 1)
        #expect(try verdict("union-contribution-max-programme").status == .breach)
        #expect(try verdict("union-contribution-max-programme").margin == "excess EUR 0.01 over the cap")
        #expect(try verdict("matching-min-programme").status == .breach)
    }
}
