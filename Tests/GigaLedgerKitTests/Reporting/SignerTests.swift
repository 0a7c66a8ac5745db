import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 31, case 1: the authority records "German" money that Germany's officer never signed; the
/// report names every signer and flags that money per factory, with the amounts and entries.
@Suite struct SignerTests {
    @Test func moneySignedForAnotherOfficeIsFlagged() throws {
        let small = try ReportTests.Small()
        try small.give(.memberState("DE"), 5_000)  // before Germany's officer exists: not flagged
        let officer = SigningKey.generate()
        try small.ledger.append(
            .keyEnroll(KeyEnrolment(checking: officer.publicKey, name: "DE officer", role: .officer, scopes: [.source(.memberState("DE"))])),
            key: small.key)
        let byAuthority = try small.give(.memberState("DE"), 40_000_000)
        let paid = try small.give(.memberState("DE"), 1_000, .payment)
        try small.ledger.append(
            .contribution(
                try Contribution(
                    factory: "giga", source: .memberState("DE"), amount: Cents(7), date: CalendarDate.parse("2026-02-01", field: "d"),
                    category: .capex, kind: .commitment, ref: "own")), key: officer)
        try small.give(.union, 100)  // no Union officer: not flagged
        // Once the officer is revoked, no officer of ms:DE is enrolled: the authority's entry is not flagged.
        try small.ledger.append(.keyRevoke(KeyRevocation(keyID: officer.id, reason: "left")), key: small.key)
        try small.give(.memberState("DE"), 300)
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        let flagged = try #require(report.signedForOthers.first)
        #expect(report.signedForOthers.count == 1)
        #expect(flagged.factoryID == "giga" && flagged.source == "ms:DE" && flagged.signer == small.key.id && flagged.officer == officer.id)
        #expect(flagged.committed == 40_000_000 && flagged.paid == 1_000 && flagged.entries == [byAuthority.seq, paid.seq])
        let markdown = try #require(try ReportRenderer.files(report).first { $0.0 == "report.md" }?.1)
        #expect(
            markdown.contains(
                "- **SIGNED FOR ANOTHER OFFICE** giga: money from ms:DE signed by A (authority, \(small.key.id)), not by its officer DE officer (officer, \(officer.id)): committed EUR 400,000.00, paid EUR 10.00 (entries \(byAuthority.seq), \(paid.seq))"
            ), "\(markdown)")
        #expect(markdown.contains("| \(officer.id) | DE officer | officer | ms:DE (revoked at entry "), "\(markdown)")
        let summary = ReportRenderer.summaryJSON(report)
        #expect(summary.contains(#""signed_for_others":[{"committed_cents":40000000"#))
    }

    /// Issue 31, case 5: `--allow-duplicate` is recorded in the entry and the report lists it; a
    /// third copy without it is refused, whether the earlier copy carries the flag or not.
    @Test func anAllowedDuplicateIsRecordedAndListed() throws {
        let small = try ReportTests.Small()
        func payment(_ allowed: Bool) throws -> EntryData {
            .contribution(
                try Contribution(
                    factory: "giga", source: .union, amount: Cents(5_000), date: CalendarDate.parse("2026-02-01", field: "d"), category: .capex,
                    kind: .payment, ref: "INV-1", allowsDuplicate: allowed))
        }
        let first = try small.ledger.append(try payment(false), key: small.key)
        #expect(throws: Refusal.self) { try small.ledger.append(try payment(false), key: small.key) }
        let second = try small.ledger.append(try payment(true), key: small.key, checks: EntryChecks(allowDuplicate: true))
        #expect(String(decoding: second.body, as: UTF8.self).contains(#""allow_duplicate":true"#))
        #expect(throws: Refusal.self) { try small.ledger.append(try payment(false), key: small.key) }
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(report.allowedDuplicates.map(\.seq) == [second.seq])
        let markdown = try #require(try ReportRenderer.files(report).first { $0.0 == "report.md" }?.1)
        #expect(
            markdown.contains(
                "- **RECORDED AS A DUPLICATE** giga: entry \(second.seq), dated 2026-02-01: payment capex eu EUR 50.00 ref INV-1; it repeats entry \(first.seq)"
            ),
            "\(markdown)")
        #expect(try small.ledger.verify().isVerified)
    }

    /// Issue 31, case 5 (hostile pass): parts of an amount are flagged whether recorded after the
    /// whole or before it, in twos and threes, with other payments of the day between them; a day
    /// of many payments of one kind stays linear.
    @Test func partsOfAnAmountAreFlaggedEitherWay() throws {
        let small = try ReportTests.Small()
        func pay(_ cents: Int64, _ date: String = "2026-02-10") throws -> Entry {
            try small.give(.union, cents, .payment, date: date)
        }
        let firstPart = try pay(15_000)
        let secondPart = try pay(5_000)
        let whole = try pay(20_000)  // after its parts
        let second = try pay(30_000)
        for cents in 1...12 { _ = try pay(100_000 + Int64(cents)) }  // a dozen others between
        let a = try pay(21_000)
        let b = try pay(6_000)
        let c = try pay(3_000)  // 21,000 + 6,000 + 3,000 = 30,000
        for cents in 1...400 { _ = try pay(1_000_000 + Int64(cents), "2026-02-11") }  // a busy day, nothing adds up
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(report.splitAmounts.map(\.seq) == [whole.seq, second.seq], "\(report.splitAmounts)")
        #expect(report.splitAmounts.first?.what.contains("entries \(firstPart.seq), \(secondPart.seq)") == true)
        #expect(report.splitAmounts.last?.what.contains("entries \(a.seq), \(b.seq), \(c.seq)") == true, "\(report.splitAmounts)")
    }
}
