import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issues 29 and 30: a registration's changes apply from a date, are listed where they move a
/// closed period, and those that move a cap's kind or a host's duty need four eyes; a policy's
/// name and version mean one text; twins are refused unless meant, and read together.
/// Figures hand-computed (the Small ledger: giga, a gigafactory in DE, CAPEX EUR 100,000.00).
@Suite struct RegistrationIdentityTests {
    typealias Small = ReportTests.Small

    static func quarter(_ text: String) throws -> Quarter { try Quarter.parse(text, field: "q") }

    static func giga(capex: Int64 = 10_000_000, kind: FactoryKind = .gigafactory, hosts: [String] = ["DE"]) throws -> Factory {
        try Factory(id: "giga", name: "Giga", kind: kind, hosts: hosts, capex: Cents(capex))
    }

    static func capVerdict(_ report: PeriodReport) -> Verdict? {
        report.factories.first { $0.factory.id == "giga" }?.verdicts.first { $0.rule.id == "union-capex-share-max-gigafactory" }
    }

    /// EUR 17,000.00 of Union CAPEX: 17% of EUR 100,000.00 (PASS). An amendment to EUR 90,000.00
    /// effective 2026-04-01 leaves Q1 at 17% (PASS) and makes Q2 18.89% (BREACH); one without a
    /// date applies to Q1 as well, and Q2 rolled forward from Q1 lists it as a prior-period
    /// adjustment of the base (CAPEX EUR 100,000.00 → EUR 90,000.00) with its entry and reason.
    @Test func anAmendmentAppliesFromItsEffectiveDate() throws {
        let small = try Small()
        try small.give(.union, 1_700_000)
        let q1Before = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        let dated = try small.ledger.append(
            .factoryAmend(
                try Amendment(Self.giga(capex: 9_000_000), reason: "revised budget", effectiveFrom: CalendarDate.parse("2026-04-01", field: "d"))),
            key: small.key)
        let body = try #require(try small.ledger.entry(dated.seq))
        #expect(String(decoding: body.body, as: UTF8.self).contains(#""effective_from":"2026-04-01""#))
        #expect(String(decoding: body.body, as: UTF8.self).contains(#""format":"gigaledger/entry/v2""#))
        let q1 = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(Self.capVerdict(q1)?.status == .pass && q1.factories[0].factory.capex == Cents(10_000_000))
        let q2 = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q2"))
        #expect(Self.capVerdict(q2)?.status == .breach && q2.factories[0].factory.capex == Cents(9_000_000))
        // Q2 from the Q1 report: the base moved within Q2, not in Q1: no prior-period adjustment of it.
        let previous = PreviousReport(period: .quarter(try Self.quarter("2026-Q1")), entryCount: q1Before.entryCount, headHash: q1Before.headHash)
        let rolled = try small.ledger.periodReport(period: .quarter(try Self.quarter("2026-Q2")), previous: previous).report
        #expect(rolled.rollForward?.baseAdjustments.isEmpty == true)
        let registered = try #require(rolled.rollForward?.changes.first { $0.what == "registered CAPEX" })
        #expect(registered.before == "EUR 100,000.00" && registered.after == "EUR 90,000.00" && registered.causes.map(\.seq) == [dated.seq])
        // An amendment from the start (no date): Q1 itself moves, and the roll-forward says so.
        let undated = try small.ledger.append(.factoryAmend(try Amendment(Self.giga(capex: 9_500_000), reason: "audit finding")), key: small.key)
        let again = try small.ledger.periodReport(period: .quarter(try Self.quarter("2026-Q2")), previous: previous).report
        let base = try #require(again.rollForward?.baseAdjustments.first)
        #expect(again.rollForward?.baseAdjustments.count == 1 && base.amendment.seq == undated.seq && base.amendment.reason == "audit finding")
        #expect(
            base.fields.map(\.label) == ["registered CAPEX"] && base.fields[0].before == "EUR 100,000.00" && base.fields[0].after == "EUR 95,000.00")
        // The Q1 verdict it changed is listed under Q1 (17% of EUR 95,000.00 is 17.89%: BREACH), naming it alone.
        let q1Changed = try #require(again.rollForward?.previousPeriodChanges.first { $0.what == "union-capex-share-max-gigafactory" })
        #expect(q1Changed.before == "PASS" && q1Changed.after == "BREACH" && q1Changed.causes.map(\.seq) == [undated.seq], "\(q1Changed)")
        #expect(rolled.rollForward?.previousPeriodChanges.isEmpty == true)
        // Q2 still uses the dated one (effective later than the start): EUR 90,000.00.
        #expect(again.factories[0].factory.capex == Cents(9_000_000))
        // In the annual report, the Q1 verdict names only the amendment in force in Q1 (not the one from April).
        let issued = PreviousReport(
            period: .quarter(try Self.quarter("2026-Q1")), entryCount: q1Before.entryCount, headHash: q1Before.headHash,
            summaryText: ReportRenderer.summaryJSON(q1Before))
        let year = try small.ledger.periodReport(period: .year(2026), quarterReports: [issued]).report
        let annual = try #require(year.quarterVerdicts.first?.issued?.changes.first { $0.what == "union-capex-share-max-gigafactory" })
        #expect(annual.causes.map(\.seq) == [undated.seq], "\(annual.causes)")
        let markdown = try #require(try ReportRenderer.files(again).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("### Prior-period adjustments of registrations"))
        #expect(markdown.contains("### Verdicts of 2026-Q1 that now differ from its report"))
        #expect(markdown.contains("entry \(undated.seq) "), "\(markdown)")
        #expect(markdown.contains("giga, effective from the start: registered CAPEX EUR 100,000.00 → EUR 95,000.00; reason: audit finding"))
        let summary = ReportRenderer.summaryJSON(again)
        #expect(summary.contains(#""base_adjustments":[{"countersigned_at":0,"effective_from":"","entry":\#(undated.seq)"#), "\(summary)")
    }

    /// Issue 30, case 2: a change of kind (gigafactory → AI factory: cap 17% → 50%) or a host
    /// removed takes effect only when a second authority key countersigns it; until then the
    /// report keeps the registration before it and lists the change as pending. The same key
    /// cannot countersign its own amendment.
    @Test func aChangeOfKindNeedsASecondAuthority() throws {
        let small = try Small()
        try small.give(.union, 2_000_000)  // 20% of EUR 100,000.00: over a gigafactory's 17%
        #expect(Self.capVerdict(try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1")))?.status == .breach)
        let second = SigningKey.generate()
        try small.ledger.append(.keyEnroll(KeyEnrolment(publicKey: second.publicKey, name: "Second", role: .authority, scopes: [])), key: small.key)
        let amendment = try small.ledger.append(
            .factoryAmend(try Amendment(Self.giga(kind: .aiFactory), reason: "reclassified")), key: small.key)
        let pending = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(pending.factories[0].factory.kind == .gigafactory && Self.capVerdict(pending)?.status == .breach)
        #expect(pending.pendingAmendments.map(\.amendment.seq) == [amendment.seq])
        #expect(pending.pendingAmendments.first?.changes == ["kind gigafactory → ai-factory"])
        let markdown = try #require(try ReportRenderer.files(pending).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("PENDING REGISTRATION CHANGES, AWAITING A COUNTERSIGNATURE"))
        // Its own signer may not countersign; a second authority key may.
        #expect(throws: Refusal.self) {
            try small.ledger.append(.countersign(try Countersignature(entry: amendment.seq, reason: "")), key: small.key)
        }
        #expect(throws: Refusal.self) {
            try small.ledger.append(.countersign(try Countersignature(entry: 3, reason: "")), key: small.key)  // a registration
        }
        // A key enrolled after the amendment (its signer's own, for all anyone knows) may not.
        let late = SigningKey.generate()
        try small.ledger.append(.keyEnroll(KeyEnrolment(publicKey: late.publicKey, name: "Late", role: .authority, scopes: [])), key: small.key)
        #expect(throws: Refusal.self) {
            try small.ledger.append(.countersign(try Countersignature(entry: amendment.seq, reason: "")), key: late)
        }
        let countersign = try small.ledger.append(
            .countersign(try Countersignature(entry: amendment.seq, reason: "checked the decision")), key: second)
        #expect(throws: Refusal.self) {  // once per key
            try small.ledger.append(.countersign(try Countersignature(entry: amendment.seq, reason: "again")), key: second)
        }
        let capexOnly = try small.ledger.append(
            .factoryAmend(try Amendment(Self.giga(capex: 9_000_000, kind: .aiFactory), reason: "budget")), key: small.key)
        do {  // needs none: a CAPEX change alone
            try small.ledger.append(.countersign(try Countersignature(entry: capexOnly.seq, reason: "")), key: second)
            Issue.record("a countersignature nothing waits for was accepted")
        } catch let refusal as Refusal {
            #expect(refusal.message.contains("changes neither the kind nor removes a host"), "\(refusal.message)")
        }
        // Q1 rolled forward from the pending report: the kind's change names the countersignature too,
        // and the gigafactory rules it no longer applies are listed as gone.
        let previous = PreviousReport(period: .quarter(try Self.quarter("2025-Q4")), entryCount: pending.entryCount, headHash: pending.headHash)
        let rolled = try small.ledger.periodReport(period: .quarter(try Self.quarter("2026-Q1")), previous: previous).report
        let kind = try #require(rolled.rollForward?.changes.first { $0.what == "registered kind" })
        #expect(kind.causes.map(\.seq).contains(countersign.seq), "\(kind)")
        #expect(rolled.rollForward?.changes.contains { $0.what == "matching-min-gigafactory" && $0.after == "no longer applies" } == true)
        let done = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(done.factories[0].factory.kind == .aiFactory && done.pendingAmendments.isEmpty)
        // A host removed needs the same; a CAPEX change alone does not.
        let hosts = try small.ledger.append(
            .factoryAmend(try Amendment(Self.giga(kind: .aiFactory, hosts: ["FR"]), reason: "moved")), key: small.key)
        let report = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(report.pendingAmendments.first?.amendment.seq == hosts.seq && report.pendingAmendments.first?.changes == ["host DE removed"])
        #expect(report.factories[0].factory.hosts == ["DE"])
        #expect(try small.ledger.verify().isVerified)
    }

    /// Issue 30, case 1: the same policy name and version with other rules is refused, naming the
    /// earlier entry; under a new version, "what changed" lists the rule (17% → 25%), and every
    /// report says that the policy differs from the built-in one of its name.
    @Test func aPolicyNameAndVersionMeanOneText() throws {
        let small = try Small()
        try small.give(.union, 2_105_000)  // 21.05% of EUR 100,000.00
        let q1 = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(Self.capVerdict(q1)?.status == .breach)
        func edited(version: Int) throws -> Policy {
            try PolicyTests.shipped(editing: { json in
                json["version"] = version
                json["rules"] = (json["rules"] as! [[String: Any]]).map { rule in
                    var rule = rule
                    if rule["id"] as? String == "union-capex-share-max-gigafactory" { rule["basis_points"] = 2500 }
                    return rule
                }
            })
        }
        let same = try edited(version: Int(q1.policy.version))
        do {
            try small.ledger.append(.policy(same), key: small.key)
            Issue.record("the same name and version with other rules was accepted")
        } catch let refusal as Refusal {
            #expect(refusal.message.contains("is recorded with another text (entry 2)"), "\(refusal.message)")
        }
        // The very same policy again is no change of text: accepted.
        try small.ledger.append(.policy(q1.policy), key: small.key)
        let newer = try small.ledger.append(.policy(try edited(version: Int(q1.policy.version) + 1)), key: small.key)
        let previous = PreviousReport(period: .quarter(try Self.quarter("2026-Q1")), entryCount: q1.entryCount, headHash: q1.headHash)
        let q2 = try small.ledger.periodReport(period: .quarter(try Self.quarter("2026-Q2")), previous: previous).report
        let changes = try #require(q2.rollForward?.changes)
        let rule = try #require(changes.first { $0.what == "rule union-capex-share-max-gigafactory" })
        #expect(rule.before.hasPrefix("17.00% (reported: ") && rule.after.hasPrefix("25.00% (reported: "), "\(rule)")
        #expect(rule.causes.map(\.seq) == [newer.seq] && rule.factoryID == nil)
        #expect(changes.contains { $0.what == "policy applied" })
        let differs = try #require(q2.policyDiffersFromBuiltin)
        #expect(differs.contains("union-capex-share-max-gigafactory: built-in 17.00%") && differs.contains("recorded 25.00%"), "\(differs)")
        let markdown = try #require(try ReportRenderer.files(q2).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("**POLICY DIFFERS FROM THE BUILT-IN ONE.**"))
        #expect(q1.policyDiffersFromBuiltin == nil)
    }

    /// Issue 30, case 3: a second factory with the same name (spelt otherwise) and a host in
    /// common is refused unless meant; when meant, it is recorded so, and reports read the twins
    /// together: EUR 31,600.00 of Union CAPEX over EUR 200,000.00 is 15.80% each, 31.60% of one site
    /// of EUR 100,000.00 twice... the site's registered CAPEX (EUR 200,000.00) and the Union's
    /// EUR 31,600.00 on it are shown together. Partners likewise (name and country).
    @Test func twinsAreRefusedUnlessMeantAndReadTogether() throws {
        let small = try Small()
        let twin = try Factory(id: "giga-2", name: "GIGA.", kind: .gigafactory, hosts: ["DE", "AT"], capex: Cents(10_000_000))
        do {
            try small.ledger.append(.factoryRegister(twin), key: small.key, checks: EntryChecks())
            Issue.record("a twin was registered")
        } catch let refusal as Refusal {
            #expect(
                refusal.message.contains(
                    "repeats factory giga \"Giga\" (entry 3): the same name (ignoring case, accents, spacing and punctuation), host DE"),
                "\(refusal.message)")
        }
        let meant = try Factory(id: "giga-2", name: "GIGA.", kind: .gigafactory, hosts: ["DE", "AT"], capex: Cents(10_000_000), allowsTwin: true)
        let entry = try small.ledger.append(.factoryRegister(meant), key: small.key, checks: EntryChecks())
        #expect(String(decoding: entry.body, as: UTF8.self).contains(#""allow_twin":true"#))
        try small.give(.union, 1_580_000)
        try small.give(.union, 1_580_000, factory: "giga-2")
        let report = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        let site = try #require(report.twins.first)
        #expect(site.factoryIDs == ["giga", "giga-2"] && site.capex == 20_000_000 && site.unionCommittedCapex == 3_160_000)
        let markdown = try #require(try ReportRenderer.files(report).first { $0.0 == "report.md" }?.1)
        #expect(
            markdown.contains(
                "giga, giga-2 \"Giga\", hosts AT, DE: registered CAPEX EUR 200,000.00 together; Union commitments to CAPEX EUR 31,600.00 = 15.80% of it"
            ), "\(markdown)")
        // Look-alikes: a decomposed accent, full-width letters.
        for name in ["Gi\u{301}ga", "Ｇｉｇａ"] {
            let alike = try Factory(id: "giga-3", name: name, kind: .gigafactory, hosts: ["DE"], capex: Cents(1))
            #expect(throws: Refusal.self) { try small.ledger.append(.factoryRegister(alike), key: small.key, checks: EntryChecks()) }
        }
        let partner = try Partner(id: "p-2", name: "p", country: "DE", isSME: true)
        #expect(throws: Refusal.self) { try small.ledger.append(.partnerRegister(partner), key: small.key, checks: EntryChecks()) }
        try small.ledger.append(
            .partnerRegister(try Partner(id: "p-4", name: "P.", country: "DE", isSME: true, allowsTwin: true)), key: small.key, checks: EntryChecks())
        let withPartners = try small.ledger.quarterlyReport(quarter: Self.quarter("2026-Q1"))
        #expect(withPartners.partnerTwins == [["p", "p-4"]])
        try small.ledger.append(
            .partnerRegister(try Partner(id: "p-3", name: "p", country: "FR", isSME: true)), key: small.key, checks: EntryChecks())
        #expect(try small.ledger.verify().isVerified)
    }
}
