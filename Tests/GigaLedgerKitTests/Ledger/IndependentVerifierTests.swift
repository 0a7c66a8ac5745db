import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// schema/tools/verify_ledger.py was written from schema/FORMAT.md alone. It must agree with
/// `Ledger.verify` on good ledgers and name the same first failing entry on tampered ones.
@Suite struct IndependentVerifierTests {

    func independent(_ fixture: Fixture) -> Run {
        shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
    }

    @Test func agreesOnAGoodLedger() throws {
        let fixture = try Fixture()
        try fixture.ledger.append(.correction(Correction(entry: 6, reason: "typo")), key: fixture.officer)
        try fixture.ledger.append(.keyRevoke(KeyRevocation(keyID: fixture.officer.id, reason: "left")), key: fixture.authority)
        // The optional members and the second policy version's rules (FORMAT.md section 5).
        try fixture.ledger.append(
            .factoryRegister(Factory(id: "budgeted", name: "B", kind: .aiFactory, hosts: ["FR"], capex: Cents(100), opex: Cents(50))),
            key: fixture.authority)
        try fixture.ledger.append(
            .access(
                AccessGrant(
                    factory: "budgeted", beneficiary: "X", category: .sme, gpuHours: 1, date: CalendarDate.parse("2026-02-01", field: "d"),
                    pool: .union, isCommercial: false, charge: Cents(0), country: "EL")), key: fixture.authority)
        try fixture.ledger.append(.policy(try Repository.shippedPolicy()), key: fixture.authority)
        // Beneficiaries the near_facts key folds (section 7): accents, full width, Turkish dotted I,
        // Greek final sigma, a name with no letter or digit.
        for (index, name) in ["Müller GmbH", "Ｆｕｌｌ Ｗｉｄｔｈ", "İstanbul AŞ", "ΟΔΟΣ Labs", "🚀", "ﬁnance ǅ"].enumerated() {
            try fixture.ledger.append(
                .access(
                    AccessGrant(
                        factory: "budgeted", beneficiary: name, category: .sme, gpuHours: Int64(10 + index),
                        date: CalendarDate.parse("2026-02-01", field: "d"), pool: .union, isCommercial: false, charge: Cents(0))),
                key: fixture.authority)
        }
        let ours = try fixture.verify()
        let theirs = independent(fixture)
        #expect(theirs.status == 0, "\(theirs.stdout) \(theirs.stderr)")
        #expect(theirs.stdout == "verified \(ours.verifiedCount) \(Encoding.hex(ours.headHash!))\n")
    }

    @Test(arguments: [
        "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '125000050', '125000051') AS BLOB) WHERE seq = 6",
        "DELETE FROM entries WHERE seq = 5",
        "UPDATE entries SET seq = 1000 WHERE seq = 6; UPDATE entries SET seq = 6 WHERE seq = 7; UPDATE entries SET seq = 7 WHERE seq = 1000",
        "UPDATE entries SET signature = (SELECT signature FROM entries WHERE seq = 8) WHERE seq = 7",
        "UPDATE entries SET recorded_at = '2020-01-01T00:00:00Z' WHERE seq = 3",
        "UPDATE entries SET type = 'access' WHERE seq = 6",
        "INSERT INTO factories (id, seq) VALUES ('ghost', 9)",
        "UPDATE near_facts SET amount_key = amount_key + 1 WHERE seq = 6",
        "UPDATE near_facts SET ref_key = 0 WHERE seq = 6",
        "DELETE FROM near_facts WHERE seq = 6",
    ])
    func agreesOnTamperedLedgers(sql: String) throws {
        let fixture = try Fixture()
        try fixture.tamper(sql)
        let ours = try #require(try fixture.verify().failure)
        let theirs = independent(fixture)
        #expect(theirs.status == 1, "\(theirs.stdout) \(theirs.stderr)")
        if !sql.hasPrefix("INSERT INTO factories") && !sql.contains("near_facts") {
            #expect(theirs.stdout.hasPrefix("entry \(ours.seq):"), "ours: \(ours), theirs: \(theirs.stdout)")
        }
    }

    /// Migration 0008 on a ledger made before it: the near_facts rows are written from the
    /// entries, both verifiers agree on them, and the duplicate rule finds the older entries.
    @Test func aLedgerFromBeforeNearFactsIsMigrated() throws {
        let fixture = try Fixture()
        let before = try fixture.verify()
        try fixture.tamper("DROP TABLE near_facts; DELETE FROM grdb_migrations WHERE identifier = '0008_near_facts'")
        #expect(try Ledger.open(path: fixture.path, forWriting: false).verify().verifiedCount == before.verifiedCount)  // read as it is
        #expect(independent(fixture).status == 0)
        let migrated = try Ledger.open(path: fixture.path, forWriting: true)
        #expect(try migrated.verify().isVerified)
        let theirs = independent(fixture)
        #expect(theirs.status == 0, "\(theirs.stdout)")
        let queue = try DatabaseQueue(path: fixture.path)
        let rows = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM near_facts") }
        let counted = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM entries WHERE type IN ('contribution', 'access')") }
        #expect(rows == counted && (rows ?? 0) > 0)
        // Entry 6 again under another reference: found through the migrated rows.
        guard case .contribution(let item)? = try migrated.entry(6).flatMap({ try? EntryBody.decode($0.body).data }) else {
            Issue.record("entry 6 is not a contribution")
            return
        }
        let again = try Contribution(
            factory: item.factory, source: item.source, amount: item.amount, date: item.date, category: item.category, kind: item.kind,
            ref: item.ref + "-again")
        #expect(throws: Refusal.self) { try migrated.append(.contribution(again), key: fixture.authority) }
    }
}
