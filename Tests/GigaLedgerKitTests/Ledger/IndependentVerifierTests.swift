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

    /// Python `code` run with schema/tools/verify_ledger.py imported as `v` (no code of it is
    /// copied into a test: its own tables and functions are read).
    func independentModule(_ code: String) -> Run {
        shell(
            "python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import verify_ledger as v\n\(code)' "
                + "'\(URL(fileURLWithPath: Repository.independentVerifier).deletingLastPathComponent().path)'", in: TempDir())
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
        // Greek final sigma, a name with no letter or digit; letters Python 3.11's Unicode 14.0 does
        // not know (a CJK letter of 15.0, a Garay capital of 16.0, a Cyrillic modifier letter of 15.0
        // that decomposes), a code point unassigned in 17.0.
        let names = [
            "Müller GmbH", "Ｆｕｌｌ Ｗｉｄｔｈ", "İstanbul AŞ", "ΟΔΟΣ Labs", "🚀", "ﬁnance ǅ", "\u{31350} Lab", "Garay \u{10D50}", "\u{1E030}bc",
            "Lab\u{E0080}",
        ]
        for (index, name) in names.enumerated() {
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
        "INSERT INTO corrections (corrected_seq, seq) VALUES (3, 100)",
        "INSERT INTO merkle_nodes (level, idx, hash) VALUES (5, 9, zeroblob(32))",
        "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 1",
        "DELETE FROM facts WHERE seq = 7",
    ])
    func agreesOnTamperedLedgers(sql: String) throws {
        let fixture = try Fixture()
        try fixture.tamper(sql)
        let ours = try #require(try fixture.verify().failure)
        let theirs = independent(fixture)
        #expect(theirs.status == 1, "\(theirs.stdout) \(theirs.stderr)")
        // The same entry named: both follow FORMAT.md section 8's order (index rows at the entry that implies them, leftovers at their seq).
        #expect(theirs.stdout.hasPrefix("entry \(ours.seq):"), "ours: \(ours), theirs: \(theirs.stdout)")
    }

    /// The code points no text may hold are one fixed table (issue 36): the same ranges in
    /// schema/FORMAT.md, in `Codes.refusedInText` and in schema/tools/verify_ledger.py, whose
    /// Python may carry another Unicode version (Debian's 3.11: 14.0, where U+13439 is unassigned).
    @Test func theCodePointsTextRefusesAreOneTableInTheSpecAndBothVerifiers() throws {
        let ours = Codes.refusedInText.map { [Int($0.lowerBound), Int($0.upperBound)] }
        // FORMAT.md section 5, "text(n)": the list between "tables):" and ". For example".
        let spec = try String(contentsOfFile: Repository.path("schema/FORMAT.md"), encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let listed = try #require(
            spec.firstRange(of: "library's tables): ").flatMap { start in
                spec[start.upperBound...].firstRange(of: ". For example").map { spec[start.upperBound..<$0.lowerBound] }
            })
        let fromSpec = listed.split(separator: ",").map { item -> [Int] in
            let bounds = item.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "–").map { Int($0.dropFirst(2), radix: 16) ?? -1 }
            return [bounds[0], bounds.last!]
        }
        #expect(fromSpec == ours, "FORMAT.md lists \(fromSpec)")
        let python = independentModule(
            "import json; print(json.dumps([list(r) for r in v.REFUSED_IN_TEXT])); "
                + "print(all(v.refused_in_text(chr(p)) == any(l <= p <= h for l, h in v.REFUSED_IN_TEXT) for p in (0x13439, 0x202E, 0x41, 0xE9)))")
        let lines = python.stdout.split(separator: "\n")
        #expect(python.status == 0 && lines.count == 2, "\(python.stdout) \(python.stderr)")
        let fromPython = try JSONDecoder().decode([[Int]].self, from: Data((lines.first ?? "").utf8))
        #expect(fromPython == ours)
        #expect(lines.last == "True")
        // The table is what this Swift's Unicode 16.0 tables say of every code point assigned by
        // then: nothing more, nothing less (a later Unicode does not change it).
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), let age = scalar.properties.age, age.major <= 16 else { continue }
            let category = scalar.properties.generalCategory
            let byCategory = [.control, .format, .lineSeparator, .paragraphSeparator].contains(category)
            #expect(Codes.isRefusedInText(scalar) == byCategory, "U+\(String(value, radix: 16, uppercase: true))")
        }
        // U+13439, a format control since Unicode 15.0: refused by both, whatever Python's tables say.
        let text = independentModule("try:\n    v.text(\"a\\U00013439b\", 10)\nexcept v.Fail:\n    print(\"refused\")")
        #expect(text.stdout == "refused\n", "\(text.stdout) \(text.stderr)")
        #expect(Codes.isRefusedInText(Unicode.Scalar(0x13439)!))
        #expect(throws: InputError.self) { try Codes.text("a\u{13439}b", field: "ref", bytesMax: 10) }
    }

    /// The near_facts folding of names is Unicode 17.0's in both verifiers, whatever Unicode
    /// their libraries carry (FORMAT.md section 7): compared on every code point, each after a
    /// digit so that a character folded to nothing is seen as such. Python 3.11's tables are
    /// Unicode 14.0's; verify_ledger.py's own tables make up the difference.
    @Test func namesFoldAlikeInBothVerifiersOnEveryCodePoint() throws {
        let dir = try TempDir()
        var lines = [String]()
        lines.reserveCapacity(0x11_0000)
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let folded = NearKeys.foldedName("0" + String(Character(scalar))).unicodeScalars.dropFirst().map { String($0.value) }
            lines.append("\(value) \(folded.joined(separator: ","))")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.path + "/folded.txt", atomically: true, encoding: .utf8)
        let python = independentModule(
            """
            different = []
            for line in open("\(dir.path)/folded.txt"):
                cp, folded = line.split(" ")
                want = "".join(chr(int(x)) for x in folded.split(",") if x.strip())
                if v.folded_name("0" + chr(int(cp)))[1:] != want:
                    different.append(cp)
            print(len(different), different[:10])
            """)
        #expect(python.status == 0 && python.stdout == "0 []\n", "\(python.stdout) \(python.stderr)")
        // Whole names fold as their characters do; a code point assigned after 17.0 is dropped.
        #expect(NearKeys.foldedName("Ｍüller, GmbH") == "mullergmbh")
        #expect(NearKeys.foldedName("ΣΑΣ") == "σασ")
        #expect(NearKeys.foldedName(".,-") == ".,-")
        #expect(NearKeys.foldedName("A\u{31350}\u{10D50}") == "a\u{31350}\u{10D70}")
    }

    /// A file of another application is not a ledger: both verifiers exit 2 (cannot be used), not
    /// 1 (FORMAT.md section 1). Base64 is canonical wherever it is read: the same bytes with a spare
    /// bit set are another text, refused by both (section 4).
    @Test func bothRefuseAFileOfAnotherApplicationAndBase64ThatIsNotCanonical() throws {
        let fixture = try Fixture()
        try fixture.tamper("PRAGMA application_id = 1")
        let ours = Binary.run(["verify", "--ledger", fixture.path], in: fixture.dir)
        #expect(ours.status == 2, "\(ours.stdout) \(ours.stderr)")
        let theirs = independent(fixture)
        #expect(theirs.status == 2 && theirs.stderr.contains("is not a GigaLedger ledger"), "\(theirs.stdout) \(theirs.stderr)")
        let canonical = Encoding.base64([UInt8](repeating: 7, count: 32))
        let spareBitSet = String(canonical.dropLast(2)) + "d="
        #expect(canonical.hasSuffix("c=") && Encoding.unbase64(spareBitSet) == nil)
        #expect(throws: NoteError.self) { try Checkpoint.parse("test/ledger\n1\n\(spareBitSet)\n") }
        #expect((try? Checkpoint.parse("test/ledger\n1\n\(canonical)\n")) != nil)
        let python = independentModule(
            "print(len(v.unbase64(\"\(canonical)\")))\ntry:\n    v.unbase64(\"\(spareBitSet)\")\nexcept v.Fail:\n    print(\"refused\")")
        #expect(python.stdout == "32\nrefused\n", "\(python.stdout) \(python.stderr)")
    }

    /// The countries a body may name are one named list (issue 36): ISO 3166-1's 249 official
    /// codes with Greece as EL, the same in schema/FORMAT.md, `Codes` and verify_ledger.py; GR,
    /// XK, UK and EU refused by both verifiers.
    @Test func theCountriesAreOneNamedListInTheSpecAndBothVerifiers() throws {
        let ours = Set(Codes.isoCountries.subtracting(["GR"]).union(["EL"]))
        #expect(ours.count == 249)
        let spec = try String(contentsOfFile: Repository.path("schema/FORMAT.md"), encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let listed = try #require(
            spec.firstRange(of: "(EU usage; `GR` is never stored): ").flatMap { start in
                spec[start.upperBound...].firstRange(of: ". Codes ISO 3166").map { spec[start.upperBound..<$0.lowerBound] }
            })
        #expect(Set(listed.split(separator: " ").map(String.init)) == ours)
        let python = independentModule("print(\" \".join(sorted(v.COUNTRIES)))")
        #expect(Set(python.stdout.split(whereSeparator: \.isWhitespace).map(String.init)) == ours, "\(python.stderr)")
        for refused in ["GR", "XK", "UK", "EU", "ZZ"] {
            #expect(!ours.contains(refused))
            if refused != "GR" { #expect(throws: InputError.self) { try Codes.country(refused, field: "country") } }
        }
    }

    /// A ledger of migration 0001 alone is a legal prefix (FORMAT.md section 1): the tables later
    /// migrations make are absent and hold nothing, so both verifiers verify it, read as it is
    /// (it failed with "no such table: checkpoints", exit 2), find a tampered entry in it, and a
    /// command that writes migrates it first (issue 36).
    @Test func aLedgerOfTheFirstMigrationAloneVerifies() throws {
        let fixture = try Fixture()
        let before = try fixture.verify()
        let path = fixture.dir.file("m1.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA application_id = 1196180551; PRAGMA journal_mode = WAL")
            try db.execute(sql: try String(contentsOfFile: Repository.path("schema/migrations/0001_ledger.sql"), encoding: .utf8))
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('0001_ledger')")
            try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [fixture.path])
            for table in ["entries", "keys", "key_revocations", "factories", "partners", "corrections"] {
                let columns = try Row.fetchAll(db, sql: "PRAGMA main.table_info(\(table))").map { $0["name"] as String }.joined(separator: ", ")
                try db.execute(sql: "INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM old.\(table)")
            }
            try db.execute(sql: "DETACH DATABASE old")
        }
        try queue.close()
        let read = try Ledger.open(path: path, forWriting: false).verify()
        #expect(read.isVerified && read.verifiedCount == before.verifiedCount, "\(String(describing: read.failure))")
        #expect(read.headHash == before.headHash)
        let theirs = shell("python3 '\(Repository.independentVerifier)' m1.sqlite", in: fixture.dir)
        #expect(theirs.stdout == "verified \(before.verifiedCount) \(Encoding.hex(before.headHash!))\n", "\(theirs.stdout) \(theirs.stderr)")
        // Tampered: found by both, at the same entry.
        let tampered = fixture.dir.file("tampered.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: tampered)
        try tamperFile(tampered, "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '125000050', '125000051') AS BLOB) WHERE seq = 6")
        let failure = try #require(try Ledger.open(path: tampered, forWriting: false).verify().failure)
        let theirsTampered = shell("python3 '\(Repository.independentVerifier)' tampered.sqlite", in: fixture.dir)
        #expect(theirsTampered.status == 1 && theirsTampered.stdout.hasPrefix("entry \(failure.seq):"), "\(failure) \(theirsTampered.stdout)")
        // Opened for writing: migrated (the tree and every index derived from the entries), still verifying.
        let migrated = try Ledger.open(path: path, forWriting: true)
        let after = try migrated.verify()
        #expect(after.isVerified && after.verifiedCount == before.verifiedCount, "\(String(describing: after.failure))")
        #expect(try migrated.store.read { try $0.hasTable("merkle_nodes") && $0.hasTable("near_facts") })
        #expect(shell("python3 '\(Repository.independentVerifier)' m1.sqlite", in: fixture.dir).status == 0)
    }

    /// FORMAT.md section 1, as both verifiers read it (issue 36): a view is a schema difference;
    /// ANALYZE's statistics, another journal mode and migration rows inserted in another order are not.
    @Test(arguments: [
        ("CREATE VIEW amounts AS SELECT seq FROM entries", false),
        ("ANALYZE", true),
        ("PRAGMA journal_mode = DELETE", true),
        (
            "CREATE TEMP TABLE m AS SELECT identifier FROM grdb_migrations; DELETE FROM grdb_migrations; "
                + "INSERT INTO grdb_migrations SELECT identifier FROM m ORDER BY identifier DESC", true
        ),
    ])
    func whatTheSchemaCheckIgnoresAndWhatItDoesNot(sql: String, verifies: Bool) throws {
        let fixture = try Fixture()
        // A copy no other connection has open, in WAL mode as the ledger is (VACUUM INTO writes a rollback-journal file).
        let copy = fixture.dir.file("copy.sqlite")
        try fileBehindTheTool(fixture.path).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        let queue = try DatabaseQueue(path: copy)
        // Nothing here changes a table the triggers guard.
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: sql)
        }
        try queue.close()
        let ours = try Ledger.open(path: copy, forWriting: false).verify()
        let theirs = shell("python3 '\(Repository.independentVerifier)' copy.sqlite", in: fixture.dir)
        #expect(ours.isVerified == verifies, "\(String(describing: ours.failure))")
        #expect((theirs.status == 0) == verifies, "\(theirs.stdout) \(theirs.stderr)")
        if !verifies {
            #expect(ours.failure?.reason.contains("schema: view amounts is not part of the schema") == true)
            #expect(theirs.stdout.contains("schema: view amounts is not part of the schema"))
        }
    }

    /// A checkpoint of size 0 (its root SHA-256 of nothing, section 11), signed by the ledger's
    /// authority key: no key of the ledger is enrolled at or before entry 0, so it is refused, by
    /// `verify --since` as by a receipt's check, with that reason (FORMAT.md section 12, issue 36).
    @Test func aCheckpointOfSizeZeroIsRefused() throws {
        let fixture = try Fixture()
        let origin = try fixture.ledger.origin()
        let text = Checkpoint(origin: origin, size: 0, root: SHA256State.hash([])).text
        let note = SignedNote(text: text, signatures: [try NoteKey.sign(text, name: origin, key: fixture.authority)]).encoded
        fixture.dir.write("zero.checkpoint", note)
        #expect(throws: (any Error).self) { try fixture.ledger.openCheckpoint(note) }
        let run = Binary.run(
            ["verify", "--ledger", fixture.path, "--since", "zero.checkpoint"], in: fixture.dir)
        #expect(run.status == 1 && run.stdout.contains("size 0"), "\(run.status) \(run.stdout) \(run.stderr)")
    }

    /// A stored checkpoint with a signature line not of section 12's form (a blob of 3 bytes, no
    /// name, a second space), beside its good signature: both verifiers refuse it, at its size.
    @Test(arguments: ["\u{2014} stranger AAAA", "\u{2014}  AAAAAAAA", "\u{2014} two words AAAAAAAA"])
    func aMalformedSignatureLineInAStoredCheckpointIsRefusedByBoth(line: String) throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.signCheckpoint(key: fixture.authority)
        try fixture.tamper("UPDATE checkpoints SET note = note || ?", arguments: [line + "\n"])
        let ours = try #require(try fixture.verify().failure)
        let theirs = independent(fixture)
        #expect(theirs.status == 1 && theirs.stdout.hasPrefix("entry \(ours.seq):"), "ours: \(ours), theirs: \(theirs.stdout)")
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
