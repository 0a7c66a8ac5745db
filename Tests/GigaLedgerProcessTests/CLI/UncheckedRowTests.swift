import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 28, case 1: a row of an index table written outside GigaLedger (by a database role that
/// may insert, as `copy` has operators create) is never relied on by an append. What would rely on
/// it is refused (exit 1, naming the row, nothing written); every other append goes on. The fixture:
/// 1 genesis, 2 factory de-jupiter, 3 partner acme, 4 the German officer's enrolment.
@Suite struct UncheckedRowTests {
    /// Inserts a row as such a role would: no trigger forbids an INSERT into an index table.
    func insert(_ fixture: CLIFixture, _ sql: String, _ arguments: StatementArguments = []) throws {
        try DatabaseQueue(path: fixture.ledger).write { try $0.execute(sql: sql, arguments: arguments) }
    }

    func entryCount(_ fixture: CLIFixture) throws -> Int {
        try DatabaseQueue(path: fixture.ledger).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM entries") ?? -1 }
    }

    /// `arguments` refused for the row of `table`, with nothing written.
    func expectRefused(_ fixture: CLIFixture, _ arguments: [String], table: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try entryCount(fixture)
        let run = fixture.run(arguments)
        #expect(run.status == 1, "\(arguments): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.contains("the index table \(table) holds a row ("), "\(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.contains("written outside GigaLedger"), sourceLocation: sourceLocation)
        #expect(try entryCount(fixture) == before, sourceLocation: sourceLocation)
    }

    @Test func aFactoryRowNoEntryMadeIsNotAFactory() throws {
        let fixture = try CLIFixture()
        try insert(fixture, "INSERT INTO factories (id, seq) VALUES ('ghost-f', 4)")
        try expectRefused(fixture, fixture.contribution("--factory", "ghost-f"), table: "factories")
        try fixture.expectOK(fixture.contributionArguments)  // the other offices go on
    }

    @Test func aPartnerRowNoEntryMadeIsNotAPartner() throws {
        let fixture = try CLIFixture()
        try insert(fixture, "INSERT INTO partners (id, seq) VALUES ('ghost-p', 2)")
        try expectRefused(fixture, fixture.contribution("--source", "private:ghost-p"), table: "partners")
        try fixture.expectOK(fixture.contribution("--source", "private:acme"))
    }

    @Test func aKeyRowNoEntryMadeSignsNothingAndCountsForNoAuthority() throws {
        let fixture = try CLIFixture()
        let authority = try #require(fixture.run(["key", "list", "--json"]).stdout.firstMatch(of: /"key_id":"([0-9A-F]{16})"/)).1
        let intruder = SigningKey.generate()
        fixture.dir.write("intruder.key", try SecretKeyFile.encode(intruder, passphrase: nil, strength: .interactive))
        try insert(
            fixture, "INSERT INTO keys (key_id, public_key, name, role, scopes, seq) VALUES (?, ?, 'intruder', 'authority', '[]', 3)",
            [intruder.id.description, Data(intruder.publicKey.bytes)])
        // Its key signs nothing.
        var byIntruder = fixture.contributionArguments
        byIntruder[byIntruder.firstIndex(of: "authority.key")!] = "intruder.key"
        #expect(fixture.run(byIntruder).status == 1)
        let list = try fixture.expectOK(["key", "list"])
        #expect(!list.stdout.contains("intruder"))
        // Nor does it count as a second authority: revoking the only one is refused for that row,
        // not accepted (which would leave a ledger no authority can write to, and that never verifies).
        try expectRefused(fixture, ["key", "revoke", "--key", "authority.key", "--id", String(authority), "--reason", "x"], table: "keys")
        try fixture.expectOK(fixture.contributionArguments)
    }

    @Test func aRevocationRowNoEntryMadeIsNoRevocation() throws {
        let fixture = try CLIFixture()
        let officer = try #require(fixture.run(["key", "list", "--json"]).stdout.firstMatch(of: /"key_id":"([0-9A-F]{16})","name":"DE officer"/)).1
        try insert(fixture, "INSERT INTO key_revocations (key_id, seq) VALUES (?, 3)", [String(officer)])
        try expectRefused(
            fixture,
            [
                "contribution", "record", "--key", "officer.key", "--passphrase-file", fixture.passphraseFile, "--factory", "de-jupiter", "--source",
                "ms:DE", "--amount", "10.00", "--date", "2026-02-15", "--category", "capex", "--kind", "payment",
            ], table: "key_revocations")
        try fixture.expectOK(fixture.contributionArguments)
    }

    @Test func aCorrectionRowNoEntryMadeCancelsNothing() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(fixture.contributionArguments)  // entry 5
        try insert(fixture, "INSERT INTO corrections (corrected_seq, seq) VALUES (5, 3)")
        // The same payment again would pass the duplicate guard if entry 5 were corrected.
        var again = fixture.contributionArguments
        again.removeAll { $0 == "--allow-duplicate" }
        try expectRefused(fixture, again, table: "corrections")
    }

    @Test func anImportRowNoEntryMadeIsNoImport() throws {
        let fixture = try CLIFixture()
        let text = ImportCommandTests.header + "contribution,de-jupiter,2026-02-01,eu,1.00,capex,payment,R-1,,,,,\n"
        fixture.dir.write("rows.csv", text, mode: 0o644)
        let sha = Encoding.hex(SHA256State.hash(Array(text.utf8)))
        try insert(fixture, "INSERT INTO imports (file_sha256, seq) VALUES (?, 2)", [sha])
        try expectRefused(fixture, ["import", "rows.csv", "--key", "authority.key"], table: "imports")
    }

    @Test func aFactsRowNoEntryMadeIsNoDuplicate() throws {
        let fixture = try CLIFixture()
        let data = EntryData.contribution(
            try Contribution(
                factory: "de-jupiter", source: .union, amount: Cents(100_000), date: CalendarDate.parse("2026-02-15", field: "date"),
                category: .capex, kind: .payment, ref: ""))
        try insert(fixture, "INSERT INTO facts (digest, seq) VALUES (?, 2)", [try #require(Facts.digest(data))])
        var record = fixture.contributionArguments
        record.removeAll { $0 == "--allow-duplicate" }
        try expectRefused(fixture, record, table: "facts")
    }

    /// A role that may insert rows adds, under the head, a key-enroll of its own key signed by that
    /// key (with the index row and tree nodes an append would write), then an entry signed by it.
    /// The head's signature verifies with the key its enrolment gives, but that enrolment was signed
    /// by no authority: a local append refuses to build on it (exit 1), nothing written.
    @Test func aHeadSignedByAKeyNoAuthorityEnrolledIsNotBuiltOn() throws {
        let fixture = try CLIFixture()
        let intruder = SigningKey.generate()
        try DatabaseQueue(path: fixture.ledger).write { db in
            let writer = StoreWriter(db: db)
            var tree = TreeAppender()
            var head = try #require(try writer.reader.head())
            for data in [
                EntryData.keyEnroll(try KeyEnrolment(checking: intruder.publicKey, name: "intruder", role: .authority, scopes: [])),
                .factoryRegister(try Factory(id: "ghost-f", name: "Ghost", kind: .gigafactory, hosts: ["DE"], capex: Cents(100))),
            ] {
                let body = EntryBody(seq: head.seq + 1, signer: intruder.id, recordedAt: try Timestamp.now(), data: data)
                let entry = try Entry.make(body: body, prevHash: head.hash, key: intruder)
                try writer.append(entry, body: body, tree: &tree)
                head = entry
            }
        }
        let before = try entryCount(fixture)
        let refused = fixture.run(fixture.contributionArguments)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("its signer's key was enrolled by entry 5, which no earlier authority key signed"), "\(refused.stderr)")
        #expect(try entryCount(fixture) == before)
    }
}
