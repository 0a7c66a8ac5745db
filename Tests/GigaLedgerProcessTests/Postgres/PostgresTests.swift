import Foundation
import GRDB
import GigaLedgerTestSupport
import NIOPosix
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Which store a test's ledger is in: the same test code runs on both.
enum StoreKind: String, CaseIterable, Sendable {
    case sqlite, postgres

    /// A new, empty ledger location: nil for the fixture's own SQLite file, else a new database on
    /// the tests' PostgreSQL server.
    func newLocation() throws -> String? {
        guard self == .postgres else { return nil }
        let server = try PostgresServer.shared.get()
        return server.url(try server.createDatabase())
    }
}

/// The commands that matter for a ledger, on SQLite and on PostgreSQL (issue 16), from the same code.
@Suite struct StoreParityTests {
    @Test(arguments: StoreKind.allCases)
    func theLedgerCommandsWorkOnBothStores(store: StoreKind) throws {
        let fixture = try CLIFixture(ledger: try store.newLocation())
        let officer = ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]
        try fixture.expectOK(
            [
                "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "140000000.00",
                "--date", "2026-03-31", "--category", "capex", "--kind", "payment", "--ref", "BMF-1",
            ], env: officer)
        try fixture.expectOK([
            "access", "record", "--key", "authority.key", "--factory", "de-jupiter", "--beneficiary", "Isar Robotics GmbH",
            "--category", "sme", "--gpu-hours", "120000", "--date", "2026-03-02", "--pool", "union",
        ])
        let rows = (1...300).map { "contribution,de-jupiter,ms:DE,payment,capex,\($0).00,2026-03-02,IMP-\($0)\n" }.joined()
        fixture.dir.write("rows.csv", "type,factory,source,kind,category,amount,date,ref\n" + rows, mode: 0o644)
        try fixture.expectOK(["import", "rows.csv", "--key", "officer.key"], env: officer)
        // A refused row writes nothing, on either store.
        fixture.dir.write(
            "bad.csv", "type,factory,source,kind,category,amount,date,ref\ncontribution,de-jupiter,ms:DE,payment,capex,1.001,2026-03-02,X\n",
            mode: 0o644)
        let before = fixture.state()
        #expect(fixture.run(["import", "bad.csv", "--key", "officer.key"], env: officer).status == 65)
        #expect(fixture.state() == before)
        // A file large beside the ledger reads the ledger's duplicate keys at once (`KeyFilter`),
        // on either store: a repeat of an imported row is found among new ones.
        let more = (301...330).map { "contribution,de-jupiter,ms:DE,payment,capex,\($0).00,2026-03-02,IMP-\($0)\n" }.joined()
        fixture.dir.write(
            "again.csv",
            "type,factory,source,kind,category,amount,date,ref\n" + more + "contribution,de-jupiter,ms:DE,payment,capex,5.00,2026-03-02,IMP-5\n",
            mode: 0o644)
        let again = fixture.run(["import", "again.csv", "--key", "officer.key"], env: officer)
        #expect(again.status == 65 && again.stderr.contains("row 32") && again.stderr.contains("repeats entry"), "\(again.stderr)")
        #expect(fixture.state() == before)
        try fixture.expectOK(["correct", "--yes", "--key", "authority.key", "--entry", "7", "--reason", "booked twice"])
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "now.checkpoint"])
        try fixture.expectOK(["prove", "--entry", "6", "--out", "r6.txt"])
        try fixture.expectOK(["check-receipt", "r6.txt", "--ledger-key", "authority.pub"])
        let verified = try fixture.expectOK(["verify", "--json"]).stdout
        #expect(verified.contains("\"verified\":true") && verified.contains("\"entries\":309"))
        try fixture.expectOK(["verify", "--since", "now.checkpoint"])
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("q1/report.html")))
        let csv = try fixture.expectOK(["export", "--format", "csv", "--quarter", "2026-Q1"]).stdout
        #expect(csv.contains("IMP-300") && csv.contains("BMF-1"))
        let log = try fixture.expectOK(["log"]).stdout
        #expect(log.split(separator: "\n").count == 309)
        try fixture.expectOK(["backup", "--out", "backup.sqlite"])
        try fixture.expectOK(["verify", "--ledger", fixture.dir.file("backup.sqlite")])
    }

    /// The same ledger in both stores gives the same verification, entry for entry: copied from
    /// SQLite to PostgreSQL and back, the three hold the same rows, byte for byte.
    @Test func copiesBothWaysAreByteForByte() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key"])
        for index in 1...20 { try fixture.expectOK(fixture.contribution("--amount", "\(index).00")) }
        try fixture.expectOK(["checkpoint", "--key", "authority.key"])
        let server = try PostgresServer.shared.get()
        let url = server.url(try server.createDatabase())
        let up = try fixture.expectOK(["copy", "--from", fixture.ledger, "--to", url]).stdout
        #expect(up.contains("24 entries") && up.contains("2 checkpoints") && !up.contains(PostgresServer.password), "\(up)")
        try fixture.expectOK(["copy", "--from", url, "--to", fixture.dir.file("back.sqlite")])
        // The same verification (entries, head, origin, authority), whichever store.
        let original = try fixture.verification(fixture.ledger)
        #expect(original.contains("\"entries\":24"))
        #expect(try fixture.verification(url) == original)
        #expect(try fixture.verification(fixture.dir.file("back.sqlite")) == original)
        for table in ["entries", "merkle_nodes", "checkpoints", "keys", "factories", "partners", "facts"] {
            #expect(try Self.rows(table, fixture.ledger) == Self.rows(table, fixture.dir.file("back.sqlite")), "\(table) differs")
        }
        // The database holds the same bytes: each entry's hash and body as PostgreSQL returns them.
        let stored = try server.psql(
            "SELECT string_agg(encode(hash, 'hex') || encode(body, 'hex'), ',' ORDER BY seq) FROM entries",
            database: String(url.split(separator: "/").last!))
        let file = try DatabaseQueue(path: fixture.ledger).read { db in
            try String.fetchOne(
                db, sql: "SELECT group_concat(lower(hex(hash)) || lower(hex(body)), ',') FROM (SELECT hash, body FROM entries ORDER BY seq)")
        }
        #expect(stored == file)
        // Never onto an existing ledger.
        let again = fixture.run(["copy", "--from", fixture.ledger, "--to", url])
        #expect(again.status == 2 && again.stderr.contains("already exists") && !again.stderr.contains(PostgresServer.password))
    }

    static func rows(_ table: String, _ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { $0.description }
        }
    }
}

/// PostgreSQL's own guards and the verifier's, against a superuser who changes the rows.
@Suite struct PostgresIntegrityTests {
    /// A ledger on PostgreSQL whose last reference goes on an event loop closes its connections
    /// without waiting there (waiting on an event loop traps: a server stopping on its witness's
    /// word may release its ledger on one).
    @Test func aLedgerDroppedOnAnEventLoopDoesNotTrap() throws {
        let server = try PostgresServer.shared.get()
        final class Holder: @unchecked Sendable { var ledger: Ledger? }
        let holder = Holder()
        holder.ledger = try Ledger.create(
            path: server.url(try server.createDatabase()), authority: SigningKey.generate(), authorityName: "A", origin: "test/ledger"
        ).0
        #expect(try holder.ledger?.size() == 1)  // a connection left idle in the pool
        try MultiThreadedEventLoopGroup.singleton.any().submit { holder.ledger = nil }.wait()
        #expect(holder.ledger == nil)
    }

    @Test func theTablesAreAppendOnlyAndTamperingIsFound() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let fixture = try CLIFixture(ledger: server.url(database))
        for index in 1...3 { try fixture.expectOK(fixture.contribution("--amount", "\(index).00")) }
        try fixture.expectOK(["verify"])
        // The triggers refuse UPDATE, DELETE and TRUNCATE, even the superuser's.
        for statement in [
            "UPDATE entries SET type = 'x' WHERE seq = 2", "DELETE FROM entries WHERE seq = 7", "TRUNCATE facts",
            "UPDATE keys SET name = 'x'", "DELETE FROM merkle_nodes",
        ] {
            let (status, output) = try server.psqlResult(statement, database: database)
            #expect(status != 0 && output.contains("append-only"), "\(statement): \(output)")
        }
        try fixture.expectOK(["verify"])
        // A superuser who turns the triggers off and changes a byte: verify names the entry.
        try server.psql(
            "ALTER TABLE entries DISABLE TRIGGER USER; UPDATE entries SET body = overlay(body placing '9'::bytea from 40 for 1) WHERE seq = 6; ALTER TABLE entries ENABLE TRIGGER USER",
            database: database)
        let tampered = fixture.run(["verify"])
        #expect(tampered.status == 1 && tampered.stdout.contains("NOT VERIFIED") && tampered.stdout.contains("6"), "\(tampered.stdout)")
        // A dropped trigger is a schema that is not the ledger's: not verified, before any entry.
        let other = try server.createDatabase()
        let second = try CLIFixture(ledger: server.url(other))
        try server.psql("DROP TRIGGER entries_append_only ON entries", database: other)
        let dropped = second.run(["verify"])
        #expect(dropped.status == 1 && dropped.stdout.contains("schema") && dropped.stdout.contains("entries_append_only"), "\(dropped.stdout)")
        try server.psql(
            "CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION gigaledger_append_only(); ALTER TABLE entries DISABLE TRIGGER entries_no_truncate",
            database: other)
        let disabled = second.run(["verify"])
        #expect(disabled.status == 1 && disabled.stdout.contains("entries_no_truncate"), "\(disabled.stdout)")
    }

    /// A ledger made by the previous schema (0007_log_keys, before near_facts) keeps verifying and
    /// reporting; writing to it is refused with the way forward (`copy` to a new database, which
    /// makes the current schema), and the copy takes appends under the duplicate rule.
    @Test func aLedgerOfThePreviousSchemaIsReadAndCopiedForward() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let fixture = try CLIFixture(ledger: server.url(database))
        for index in 1...3 { try fixture.expectOK(fixture.contribution("--amount", "\(index).00")) }
        try server.psql(
            """
            DROP TABLE near_facts; ALTER TABLE schema_version DISABLE TRIGGER USER;
            UPDATE schema_version SET version = '0007_log_keys'; ALTER TABLE schema_version ENABLE TRIGGER USER
            """, database: database)
        let verified = try fixture.expectOK(["verify"])
        #expect(verified.stdout.contains("verified"), "\(verified.stdout)")
        let write = fixture.run(fixture.contribution("--amount", "9.00"))
        #expect(write.status != 0 && write.stderr.contains("copy it to a new database with `gigaledger copy"), "\(write.stderr)")
        let target = server.url(try server.createDatabase())
        try fixture.expectOK(["copy", "--from", server.url(database), "--to", target])
        try fixture.expectOK(["verify", "--ledger", target])
        let again = fixture.run(
            fixture.contribution("--amount", "1.00").filter { $0 != "--allow-duplicate" } + ["--ref", "ANOTHER", "--ledger", target])
        #expect(again.status == 65 && again.stderr.contains("this looks like entry"), "\(again.stderr)")
    }

    /// A database that holds another application's tables is not given a ledger (its schema would
    /// never verify); a table in another schema that inherits from a ledger table is found by verify.
    @Test func aLedgerSharesItsDatabaseWithNothing() throws {
        let server = try PostgresServer.shared.get()
        let shared = try server.createDatabase()
        try server.psql("CREATE TABLE customers (id int)", database: shared)
        let fixture = try CLIFixture()
        let refused = fixture.run(["init", "--key", "authority.key", "--origin", "test.example/shared", "--ledger", server.url(shared)])
        #expect(refused.status == 2 && refused.stderr.contains("customers") && refused.stderr.contains("database of its own"), "\(refused.stderr)")
        #expect(fixture.run(["copy", "--from", fixture.ledger, "--to", server.url(shared)]).status == 2)
        #expect(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: shared) == "1")
        let database = try server.createDatabase()
        try fixture.expectOK(["copy", "--from", fixture.ledger, "--to", server.url(database)])
        try server.psql("CREATE SCHEMA evil; CREATE TABLE evil.kid () INHERITS (public.checkpoints)", database: database)
        let inherited = fixture.run(["verify", "--ledger", server.url(database)])
        #expect(inherited.status == 1 && inherited.stdout.contains("evil.kid"), "\(inherited.stdout)")
    }

    /// The role that made the tables owns them (it could drop the triggers): verify warns, and not
    /// once the server and officers use a role granted SELECT and INSERT only, as `init` prints.
    @Test func aRoleThatMayChangeRowsIsWarnedAbout() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let fixture = try CLIFixture(ledger: server.url(database))
        let owner = fixture.run(["verify"])
        #expect(owner.status == 0 && owner.stderr.contains("warning: PostgreSQL role postgres is a superuser"), "\(owner.stderr)")
        let role = "app_\(database)"
        let grants =
            (try fixture.expectOK([
                "init", "--key", "authority.key", "--origin", "test.example/other", "--ledger", server.url(try server.createDatabase()),
            ]).stdout)
        #expect(grants.contains("GRANT SELECT, INSERT ON"))
        let sql = grants.split(separator: "\n").filter { $0.hasPrefix("REVOKE") || $0.hasPrefix("GRANT") }.map {
            $0.replacingOccurrences(of: "gigaledger_app", with: role)
        }
        try server.psql("CREATE ROLE \(role) LOGIN PASSWORD 'app-pw'", database: database)
        try server.psql(sql.joined(separator: "\n"), database: database)
        let app = server.url(database, user: role, password: "app-pw")
        let checked = fixture.run(["verify", "--ledger", app])
        #expect(checked.status == 0 && !checked.stderr.contains("warning"), "\(checked.stderr)")
        try fixture.expectOK(fixture.contribution("--amount", "5.00"), env: ["GIGALEDGER_LEDGER": app])
        // The password may come from PGPASSWORD instead of the URL; it is never printed.
        let fromEnvironment = try fixture.expectOK(
            ["verify", "--ledger", "postgres://\(role)@127.0.0.1:\(server.port)/\(database)"], env: ["PGPASSWORD": "app-pw"])
        #expect(!fromEnvironment.stdout.contains("app-pw"))
        let wrong = fixture.run(["verify", "--ledger", server.url(database, user: role, password: "wrong-pw")])
        #expect(wrong.status == 2 && !wrong.stderr.contains("wrong-pw") && wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        // Said once, and not as something to retry: the URL must change.
        #expect(wrong.stderr.contains("password authentication failed") && !wrong.stderr.contains("retry"), "\(wrong.stderr)")
        // A role that may log in and nothing more is told what to grant, not called read-only.
        let stranger = "none_\(database)"
        try server.psql("CREATE ROLE \(stranger) LOGIN PASSWORD 'none-pw'", database: database)
        let refused = fixture.run(["verify", "--ledger", server.url(database, user: stranger, password: "none-pw")])
        #expect(
            refused.status == 2 && refused.stderr.contains("may not read the ledger") && refused.stderr.contains("grant it SELECT")
                && !refused.stderr.contains("read-only") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        let missing = fixture.run(["verify", "--ledger", server.url("no_such_database")])
        #expect(
            missing.status == 2 && missing.stderr.contains("does not exist") && !missing.stderr.contains(PostgresServer.password), "\(missing.stderr)"
        )
        // Issue 28, case 1: a row the role may insert, but no entry made, makes no factory: what
        // relies on it is refused, naming it, and the other appends go on.
        try server.psql("INSERT INTO factories (id, seq) VALUES ('ghost-f', 3)", database: database)
        let ghost = fixture.run(fixture.contribution("--factory", "ghost-f"), env: ["GIGALEDGER_LEDGER": app])
        #expect(ghost.status == 1 && ghost.stderr.contains(#"the index table factories holds a row (id "ghost-f", seq 3)"#), "\(ghost.stderr)")
        try fixture.expectOK(fixture.contribution("--amount", "6.00"), env: ["GIGALEDGER_LEDGER": app])
    }

    /// TLS as the URL says: `require` encrypts (the server offers TLS with a self-signed
    /// certificate), `verify-full` checks the certificate and so refuses this one, in one line.
    @Test func tlsIsWhatTheURLAsksFor() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let fixture = try CLIFixture(ledger: server.url(database) + "?sslmode=require")
        try fixture.expectOK(fixture.contribution("--amount", "7.00"))
        #expect(try fixture.expectOK(["verify", "--json"]).stdout.contains("\"entries\":5"))
        let checked = fixture.run(["verify", "--ledger", server.url(database) + "?sslmode=verify-full"])
        #expect(
            checked.status == 2 && checked.stderr.split(separator: "\n").count == 1 && !checked.stderr.contains(PostgresServer.password),
            "\(checked.stderr)")
        let plain = fixture.run(["verify", "--ledger", server.url(database) + "?sslmode=disable"])
        #expect(plain.status == 0, "\(plain.stderr)")
    }

    /// A URL that cannot name a PostgreSQL ledger: one line naming the field and the value (its
    /// password hidden), exit 65, nothing made; and a backup is a file, never a database.
    @Test func badURLsAreRefusedWithNothingWritten() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        for (url, problem) in [
            ("postgres://u:secret-pw@127.0.0.1:99999/db", "port"), ("postgres://u:secret-pw@127.0.0.1/db?sslmode=sometimes", "sslmode"),
            ("postgres://u:secret-pw@127.0.0.1/db?connect_timeout=0", "connect_timeout"),
            ("postgres://u:secret-pw@127.0.0.1/db?target_session_attrs=standby", "target_session_attrs"),
        ] {
            let run = fixture.run(["init", "--key", "authority.key", "--origin", "test.example/bad", "--ledger", url])
            #expect(
                run.status == 65 && run.stderr.hasPrefix("gigaledger: error: ledger: \"postgres://u:***@127.0.0.1") && run.stderr.contains(problem)
                    && !run.stderr.contains("secret-pw") && run.stderr.split(separator: "\n").count == 1, "\(url): \(run.stderr)")
        }
        // No user named: this process's own, as libpq does; nothing listens on port 1: said in a few words.
        let user = try #require(PostgresLocation.systemUser())
        let noUser = fixture.run(["verify", "--ledger", "postgres://127.0.0.1:1/db"], env: ["PGUSER": ""])
        #expect(
            noUser.status == 2 && noUser.stderr.contains("postgres://\(user)@127.0.0.1:1/db cannot be reached")
                && noUser.stderr.contains("the connection was refused: is PostgreSQL running")
                && noUser.stderr.split(separator: "\n").count == 1, "\(noUser.stderr)")
        let backup = fixture.run(["backup", "--out", "postgres://u:secret-pw@127.0.0.1/db"])
        #expect(
            backup.status == 65 && backup.stderr.contains("out:") && backup.stderr.contains("a backup is a SQLite file")
                && !backup.stderr.contains("secret-pw"), "\(backup.stderr)")
        #expect(fixture.state() == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).allSatisfy { !$0.hasPrefix("postgres") })
    }

    /// The store's schema file makes what its catalog file says (the verifier compares with it).
    @Test func theCatalogFileMatchesTheSchema() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let schema = try String(contentsOf: root.appendingPathComponent("schema/postgres/ledger.sql"), encoding: .utf8)
        let query = try String(contentsOf: root.appendingPathComponent("schema/postgres/catalog.sql"), encoding: .utf8)
        let expected = try String(contentsOf: root.appendingPathComponent("schema/postgres/catalog.txt"), encoding: .utf8)
        try server.psql(schema, database: database)
        #expect(try server.psql(query, database: database) + "\n" == expected)
    }
}

/// Writers at once on PostgreSQL: the advisory lock queues them, the chain never forks.
@Suite struct PostgresWriterTests {
    @Test func eightWriterProcessesNeverFork() async throws {
        let server = try PostgresServer.shared.get()
        let fixture = try CLIFixture(ledger: server.url(try server.createDatabase()))
        let perWriter = 6
        let results = await withTaskGroup(of: [Int32].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    (0..<perWriter).map { index in fixture.run(fixture.contribution("--amount", "\(writer * 100 + index + 1).00")).status }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.allSatisfy { $0 == 0 }, "\(results)")
        let verified = try fixture.expectOK(["verify", "--json"]).stdout
        #expect(verified.contains("\"entries\":\(4 + 8 * perWriter)") && verified.contains("\"verified\":true"), "\(verified)")
    }
}
