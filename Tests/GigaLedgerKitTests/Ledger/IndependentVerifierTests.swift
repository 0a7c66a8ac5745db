import Foundation
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
    ])
    func agreesOnTamperedLedgers(sql: String) throws {
        let fixture = try Fixture()
        try fixture.tamper(sql)
        let ours = try #require(try fixture.verify().failure)
        let theirs = independent(fixture)
        #expect(theirs.status == 1, "\(theirs.stdout) \(theirs.stderr)")
        if !sql.hasPrefix("INSERT INTO factories") {
            #expect(theirs.stdout.hasPrefix("entry \(ours.seq):"), "ours: \(ours), theirs: \(theirs.stdout)")
        }
    }
}
