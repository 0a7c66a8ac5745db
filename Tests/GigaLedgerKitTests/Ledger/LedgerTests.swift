import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct LedgerTests {
    @Test func triggersRejectUpdateAndDeleteOnEveryTable() throws {
        let fixture = try Fixture()
        try fixture.ledger.append(.correction(Correction(entry: 6, reason: "typo")), key: fixture.officer)
        try fixture.ledger.append(.keyRevoke(KeyRevocation(keyID: fixture.officer.id, reason: "left")), key: fixture.authority)
        let queue = try DatabaseQueue(path: fixture.path)
        for table in ["entries", "keys", "key_revocations", "factories", "partners", "corrections"] {
            #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "DELETE FROM \(table)") } }
            #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "UPDATE \(table) SET seq = seq") } }
        }
        #expect(throws: DatabaseError.self) {
            try queue.write {
                try $0.execute(
                    sql:
                        "INSERT INTO entries SELECT seq + 100, type, body, randomblob(32), randomblob(32), signer, signature, recorded_at FROM entries WHERE seq = 2"
                )
            }
        }
        #expect(try fixture.verify().isVerified)
    }

    /// New ledgers have pages of `LedgerStore.sqlitePageSizeBytes`; ledgers made before have SQLite's
    /// default 4,096. The page size is not part of validity (FORMAT.md section 1): the same ledger
    /// rewritten with 4,096-byte pages verifies the same (the same report) and takes appends, and
    /// a backup of it keeps its 4,096-byte pages.
    @Test func thePageSizeIsNotPartOfValidity() throws {
        let fixture = try Fixture()
        func pageSize(_ path: String) throws -> Int {
            try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "PRAGMA page_size") ?? 0 }
        }
        #expect(try pageSize(fixture.path) == LedgerStore.sqlitePageSizeBytes)
        let copy = fixture.dir.file("copy.sqlite")
        #expect(try fixture.ledger.backup(to: copy).isVerified)
        #expect(try pageSize(copy) == LedgerStore.sqlitePageSizeBytes)
        let before = try Ledger.open(path: copy, forWriting: false).verify()
        #expect(before.isVerified)

        // The copy rewritten with SQLite's default pages, as every ledger made before.
        let queue = try DatabaseQueue(path: copy)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            try db.execute(sql: "PRAGMA page_size = 4096")
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA journal_mode = WAL")
        }
        try queue.close()
        #expect(try pageSize(copy) == 4_096)
        #expect(try Ledger.open(path: copy, forWriting: false).verify() == before)
        let backup = fixture.dir.file("backup.sqlite")
        #expect(try Ledger.open(path: copy, forWriting: false).backup(to: backup).isVerified)
        #expect(try pageSize(backup) == 4_096)
        let writer = try Ledger.open(path: copy, forWriting: true)
        try writer.append(Fixture.contribution(source: .memberState("DE"), cents: 7_700), key: fixture.officer)
        #expect(try writer.verify().isVerified)
        #expect(try pageSize(copy) == 4_096)
    }

    /// A ledger made before migration 0004 (UNIQUE indexes on prev_hash and hash) is rebuilt
    /// without them when opened for writing; its entries are unchanged and the trigger still
    /// refuses a second entry after the same predecessor.
    @Test func migration0004RebuildsEntriesOfAnOlderLedger() throws {
        let dir = TempDir(), authority = SigningKey.generate()
        let path = dir.file("old.sqlite")
        let queue = try DatabaseQueue(path: path, configuration: LedgerDatabase.configuration(readOnly: false))
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA application_id = \(LedgerDatabase.applicationID)")
        }
        var migrator = DatabaseMigrator()
        for (identifier, sql) in EmbeddedMigrations.all.prefix(3) {
            migrator.registerMigration(identifier) { db in
                try db.execute(sql: sql)
                try LedgerDatabase.afterMigration[identifier]?(db)
            }
        }
        try migrator.migrate(queue)
        let genesis = Genesis(origin: "test/old", authority: try KeyEnrolment(checking: authority.publicKey, name: "A", role: .authority, scopes: []))
        let factory = try Factory(id: "f", name: "F", kind: .gigafactory, hosts: ["DE"], capex: Cents(1_000))
        try queue.write { db in
            var tree = TreeAppender()
            _ = try Ledger.append(.genesis(genesis), key: authority, writer: StoreWriter(db: db), tree: &tree)
            _ = try Ledger.append(.factoryRegister(factory), key: authority, writer: StoreWriter(db: db), tree: &tree)
        }
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM pragma_index_list('entries') WHERE \"unique\"") } == 2)
        let before = try queue.read { try Row.fetchAll($0, sql: "SELECT * FROM entries ORDER BY seq") }
        try queue.close()

        let ledger = try Ledger.open(path: path, forWriting: true)
        try ledger.append(
            .contribution(
                Contribution(
                    factory: "f", source: .union, amount: Cents(5), date: CalendarDate.parse("2026-02-15", field: "date"),
                    category: .capex, kind: .payment, ref: "")), key: authority)
        #expect(try ledger.verify().isVerified)
        let after = try DatabaseQueue(path: path)
        #expect(try after.read { try Row.fetchAll($0, sql: "SELECT * FROM entries WHERE seq <= 2 ORDER BY seq") } == before)
        #expect(try after.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM pragma_index_list('entries')") } == 0)
        // A fork: a second entry after entry 2, or another entry 3.
        #expect(throws: DatabaseError.self) {
            try after.write {
                try $0.execute(
                    sql:
                        "INSERT INTO entries SELECT 4, type, body, prev_hash, randomblob(32), signer, signature, recorded_at FROM entries WHERE seq = 3"
                )
            }
        }
        #expect(throws: DatabaseError.self) {
            try after.write {
                try $0.execute(
                    sql:
                        "INSERT INTO entries SELECT 3, type, body, prev_hash, randomblob(32), signer, signature, recorded_at FROM entries WHERE seq = 3"
                )
            }
        }
        #expect(throws: DatabaseError.self) { try after.write { try $0.execute(sql: "DELETE FROM entries") } }
    }

    @Test func correctionsNeedAKeyThatCouldSignTheOriginal() throws {
        let fixture = try Fixture()
        // Entry 7 is an EU contribution signed by the authority; the DE officer may not reverse it.
        #expect(throws: Refusal.self) { try fixture.ledger.append(.correction(Correction(entry: 7, reason: "x")), key: fixture.officer) }
        try fixture.ledger.append(.correction(Correction(entry: 6, reason: "typo")), key: fixture.officer)
        #expect(throws: Refusal.self) { try fixture.ledger.append(.correction(Correction(entry: 6, reason: "again")), key: fixture.authority) }
        #expect(throws: Refusal.self) { try fixture.ledger.append(.correction(Correction(entry: 2, reason: "a factory")), key: fixture.authority) }
        #expect(throws: Refusal.self) { try fixture.ledger.append(.correction(Correction(entry: 99, reason: "future")), key: fixture.authority) }
        #expect(try fixture.verify().isVerified)
    }

    @Test func whoMaySignWhat() throws {
        let fixture = try Fixture()
        let factory = try Factory(id: "x", name: "X", kind: .gigafactory, hosts: ["ES"], capex: Cents(1))
        #expect(throws: Refusal.self) { try fixture.ledger.append(.factoryRegister(factory), key: fixture.officer) }
        let grant = try AccessGrant(
            factory: "fr-alps", beneficiary: "B", category: .startup, gpuHours: 1, date: CalendarDate.parse("2026-01-01", field: "d"),
            pool: .host, isCommercial: false, charge: Cents(0))
        #expect(throws: Refusal.self) { try fixture.ledger.append(.access(grant), key: fixture.officer) }
        try fixture.ledger.append(.access(grant), key: fixture.authority)
        #expect(throws: Refusal.self) {
            try fixture.ledger.append(
                .factoryRegister(Factory(id: "de-jupiter", name: "Again", kind: .gigafactory, hosts: ["DE"], capex: Cents(1))), key: fixture.authority
            )
        }
        #expect(throws: Refusal.self) {
            try fixture.ledger.append(.keyRevoke(KeyRevocation(keyID: fixture.authority.id, reason: "last")), key: fixture.authority)
        }
        #expect(try fixture.verify().isVerified)
    }

    @Test func concurrentWritersNeverFork() throws {
        let fixture = try Fixture()
        let path = fixture.path, authority = fixture.authority
        let writers = 4, perWriter = 25
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let ledger = try! Ledger.open(path: path, forWriting: true)
            for index in 0..<perWriter {
                try! ledger.append(try! Fixture.contribution(source: .union, cents: Int64(writer * 1000 + index + 1)), key: authority)
            }
        }
        let report = try fixture.verify()
        #expect(report.isVerified)
        #expect(report.verifiedCount == Int64(9 + writers * perWriter))
    }

    @Test func embeddedSchemaMatchesTheSQLFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = root.appendingPathComponent("schema/migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == EmbeddedMigrations.all.map(\.0), "run `make schema`")
        for (file, (_, sql)) in zip(files, EmbeddedMigrations.all) {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            #expect(text == sql + "\n", "schema/migrations/\(file) differs from the embedded copy: run `make schema`")
        }
    }

    @Test func embeddedPostgresSchemaMatchesItsFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for (name, text) in EmbeddedPostgresSchema.all {
            let file = try String(contentsOf: root.appendingPathComponent("schema/postgres/\(name)"), encoding: .utf8)
            #expect(file == text + "\n", "schema/postgres/\(name) differs from the embedded copy: run `make schema`")
        }
        #expect(EmbeddedPostgresSchema.all.map(\.0) == ["ledger.sql", "catalog.sql", "catalog.txt"])
    }

    @Test func embeddedTemplatesMatchTheTemplateFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = root.appendingPathComponent("reports/templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".mustache") }.sorted()
        #expect(files.map { String($0.dropLast(".mustache".count)) } == EmbeddedTemplates.all.map(\.0), "run `make schema`")
        for (file, (_, text)) in zip(files, EmbeddedTemplates.all) {
            #expect(
                try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8) == text + "\n",
                "reports/templates/\(file) differs from the embedded copy: run `make schema`")
        }
    }

    /// schema/FORMAT.md's recipe: every hash recomputed with sqlite3, xxd and sha256sum alone.
    @Test func hashesRecomputeWithStandardTools() throws {
        let fixture = try Fixture()
        let script = """
            n=$(sqlite3 ledger.sqlite 'SELECT COUNT(*) FROM entries')
            for seq in $(seq 1 "$n"); do
              stored=$(sqlite3 ledger.sqlite "SELECT lower(hex(hash)) FROM entries WHERE seq = $seq")
              computed=$({ printf 'gigaledger/entry/v1\\n'; sqlite3 ledger.sqlite "SELECT hex(prev_hash) || hex(body) FROM entries WHERE seq = $seq" | xxd -r -p; } | sha256sum | cut -d' ' -f1)
              [ "$stored" = "$computed" ] || { echo "mismatch at $seq"; exit 1; }
            done
            echo "ok $n"
            """
        let run = shell(script, in: fixture.dir)
        #expect(run.stdout == "ok 9\n", "\(run.stderr)")
    }
}
