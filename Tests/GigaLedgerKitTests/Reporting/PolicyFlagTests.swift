import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 31, cases 4, 6 and 7: the flags of policy version 3, each hand-computed on the Small
/// ledger (giga: a gigafactory in DE, registered CAPEX EUR 100,000.00); a report on a policy
/// recorded before them (version 2) lists none of them.
@Suite struct PolicyFlagTests {
    typealias Small = ReportTests.Small

    static func verdict(_ small: Small, _ rule: String) throws -> Verdict? {
        try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q")).factories.first { $0.factory.id == "giga" }?
            .verdicts.first { $0.rule.id == rule }
    }

    static func grant(
        _ small: Small, _ beneficiary: String, _ category: AccessCategory, hours: Int64 = 100, commercial: Bool = false, charge: Int64 = 0,
        partner: String? = nil
    ) throws {
        try small.ledger.append(
            .access(
                try AccessGrant(
                    factory: "giga", beneficiary: beneficiary, category: category, gpuHours: hours,
                    date: CalendarDate.parse("2026-03-01", field: "d"),
                    pool: .union, isCommercial: commercial, charge: Cents(charge), partner: partner)), key: small.key, checks: Small.repeating)
    }

    /// EUR 15,000.00 of Union CAPEX (15%: the CAPEX cap passes) and EUR 10,000.00 of Union OPEX:
    /// flagged, as CAPEX 25.00% of EUR 100,000.00.
    @Test func unionOpexAtAGigafactoryIsFlagged() throws {
        let small = try Small()
        try small.give(.union, 1_500_000)
        #expect(try Self.verdict(small, "union-opex-at-gigafactory")?.status == .pass)
        try small.give(.union, 1_000_000, .commitment, .opex)
        #expect(try Self.verdict(small, "union-capex-share-max-gigafactory")?.status == .pass)
        let flag = try #require(try Self.verdict(small, "union-opex-at-gigafactory"))
        #expect(flag.status == .breach && flag.explanation.contains("would be 25.00% of the registered eligible CAPEX EUR 100,000.00"), "\(flag)")
    }

    /// Union EUR 10,000.00 committed: a host's EUR 0.01 is below 10% (EUR 1,000.00); EUR 1,000.00 is not.
    @Test func aTokenHostCommitmentIsFlagged() throws {
        let small = try Small()
        try small.give(.union, 1_000_000)
        let token = try small.give(.memberState("DE"), 1)
        #expect(try Self.verdict(small, "host-states-commit-gigafactory")?.status == .pass)
        let flag = try #require(try Self.verdict(small, "host-commitment-min-share"))
        #expect(flag.status == .breach && flag.explanation.hasPrefix("below the share: DE;") && flag.entries.contains(token.seq), "\(flag)")
        try small.give(.memberState("DE"), 99_999)
        #expect(try Self.verdict(small, "host-commitment-min-share")?.status == .pass)
    }

    /// 1,000 commercial GPU-hours charged EUR 0.01 (the floor: EUR 1,000.00); then charged at it.
    @Test func aCommercialChargeBelowTheFloorIsFlagged() throws {
        let small = try Small()
        try small.give(.union, 100)
        try Self.grant(small, "Cheap GmbH", .industry, hours: 1_000, commercial: true, charge: 1)
        let flag = try #require(try Self.verdict(small, "commercial-charge-min"))
        #expect(flag.status == .breach && flag.explanation.contains("charged EUR 0.01, at least EUR 1,000.00"), "\(flag)")
        let fair = try Small()
        try fair.give(.union, 100)
        try Self.grant(fair, "Fair GmbH", .industry, hours: 1_000, commercial: true, charge: 100_000)
        #expect(try Self.verdict(fair, "commercial-charge-min")?.status == .pass)
    }

    /// "Siemens AG" as an SME and "SIEMENS AG" as industry; non-commercial industry in the Union
    /// pool; an SME grant naming partner p (registered as no SME).
    @Test func relabelledAccessIsFlagged() throws {
        let small = try Small()
        try small.give(.union, 100)
        try Self.grant(small, "Tiny GmbH", .sme)
        #expect(try Self.verdict(small, "access-participant-consistent")?.status == .pass)
        try Self.grant(small, "Siemens AG", .sme, commercial: true, charge: 10_000)
        try Self.grant(small, "SIEMENS AG", .industry, commercial: true, charge: 10_000)
        try Self.grant(small, "Steel Corp", .industry)
        try Self.grant(small, "P's lab", .sme, partner: "p")
        let flag = try #require(try Self.verdict(small, "access-participant-consistent"))
        #expect(flag.status == .breach, "\(flag)")
        #expect(flag.explanation.contains("Siemens AG recorded as industry and sme"), "\(flag.explanation)")
        #expect(flag.explanation.contains("non-commercial industry access in the Union pool (entries"))
        #expect(flag.explanation.contains("SME or start-up access for a partner registered as no SME (entries"))
        // One partner under two names and two categories.
        let partnerOnly = try Small()
        try partnerOnly.give(.union, 100)
        try Self.grant(partnerOnly, "Omega Systems", .industry, commercial: true, charge: 10_000, partner: "p")
        try Self.grant(partnerOnly, "Omega", .research, partner: "p")
        let omega = try #require(try Self.verdict(partnerOnly, "access-participant-consistent"))
        #expect(omega.status == .breach && omega.explanation.contains("Omega Systems recorded as industry and research"), "\(omega)")
        // report.md lists the beneficiaries by hours, the two spellings of Siemens as one.
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        let markdown = try #require(try ReportRenderer.files(report).first { $0.0 == "report.md" }?.1)
        #expect(markdown.contains("| Siemens AG | 200 | 0 | industry, sme | 2 |"), "\(markdown)")
    }

    /// A ledger whose policy is version 2 (before these rules): none of them is listed, and the
    /// report does not say the policy differs from the built-in one for lacking them.
    @Test func aReportOnAnEarlierPolicyListsNoneOfThem() throws {
        let dir = TempDir()
        let key = SigningKey.generate()
        let (ledger, _) = try Ledger.create(path: dir.file("l.sqlite"), authority: key, authorityName: "A", origin: "test/v2")
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/eurohpc-2026-v2.json").path
        let v2 = try Policy.parseFile(Array(try Data(contentsOf: URL(fileURLWithPath: path))), path: path)
        #expect(v2.version == 2)
        try ledger.append(.policy(v2), key: key)
        try ledger.append(.factoryRegister(Factory(id: "giga", name: "Giga", kind: .gigafactory, hosts: ["DE"], capex: Cents(10_000_000))), key: key)
        try ledger.append(
            .contribution(
                try Contribution(
                    factory: "giga", source: .union, amount: Cents(5), date: CalendarDate.parse("2026-02-01", field: "d"), category: .opex,
                    kind: .commitment, ref: "")), key: key)
        let report = try ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        let ids = Set(report.factories[0].verdicts.map(\.rule.id))
        #expect(ids.isDisjoint(with: Policy.listedOnlyWhenDefined), "\(ids)")
        #expect(report.policyDiffersFromBuiltin == nil, "\(report.policyDiffersFromBuiltin ?? "")")
    }
}
