import Foundation
import GigaLedgerTestSupport
import Synchronization
import Testing

@testable import GigaLedgerCore

/// The server on a PostgreSQL ledger, and a failover to its synchronous standby under load.
@Suite(.serialized) struct PostgresServerTests {
    /// A hash printed by a successful append ("hash HEX").
    static func hash(_ run: Run) -> String? {
        run.stdout.split(separator: "\n").first { $0.hasPrefix("hash ") }.map { String($0.dropFirst(5)) }
    }

    /// Four officers append through the server; the primary host dies (SIGKILL) mid-load and the
    /// standby is promoted; the server finds it (its URL lists both hosts) and goes on, and the
    /// officers' clients ride out the failover (they send the same signed entry again while the
    /// server answers 503, within `--lock-wait`): no command fails. Every append a client was told
    /// is recorded is on the promoted standby, once; the ledger verifies.
    @Test func aFailoverLosesNothingAcknowledged() throws {
        let primary = try PostgresServer()
        try primary.psql("CREATE DATABASE ledger")
        let standby = try PostgresServer(standbyOf: primary)
        let url = "postgres://postgres:\(PostgresServer.password)@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/ledger?connect_timeout=2"
        let fixture = try ServerFixture(ledger: url)
        let server = try fixture.start()
        let acknowledged = Mutex<[String]>([]), failed = Mutex(0), failures = Mutex<[String]>([])
        let phase = Mutex(0)  // 0: before the kill, 1: after the promotion, 2: stop
        let startedAt = Date()
        let finished = DispatchSemaphore(value: 0)
        let officers = (0..<4).map { officer in
            Thread {
                // Bounded: at most 60 appends per officer, and two minutes in all.
                for index in 0..<60 where phase.withLock({ $0 }) < 2 && Date().timeIntervalSince(startedAt) < 120 {
                    // Each office on a machine of its own: its own configuration folder, its own verified copy.
                    let run = fixture.remote(
                        fixture.payment(ref: "FO-\(officer)-\(index)") + ["--lock-wait", "60"], server: server,
                        env: ["XDG_CONFIG_HOME": fixture.dir.file("office-\(officer)")])
                    if run.status == 0, let hash = Self.hash(run) {
                        acknowledged.withLock { $0.append(hash) }
                    } else {
                        failed.withLock { $0 += 1 }
                        failures.withLock { $0.append("\(run.status) \(run.stderr)") }
                    }
                }
                finished.signal()
            }
        }
        officers.forEach { $0.start() }
        while acknowledged.withLock({ $0.count }) < 20, Date().timeIntervalSince(startedAt) < 60 { usleep(20_000) }
        primary.kill()
        usleep(500_000)
        try standby.promote()
        let atPromotion = acknowledged.withLock { $0.count }
        phase.withLock { $0 = 1 }
        while acknowledged.withLock({ $0.count }) < atPromotion + 20, Date().timeIntervalSince(startedAt) < 110 { usleep(20_000) }
        phase.withLock { $0 = 2 }
        for _ in officers { finished.wait() }
        server.stop()
        let hashes = acknowledged.withLock { $0 }
        #expect(hashes.count >= 40, "acknowledged \(hashes.count), failed \(failed.withLock { $0 })")
        #expect(failed.withLock { $0 } == 0, "the officers' appends carry on across the promotion: \(failures.withLock { $0 })")
        let stored = try standby.psql("SELECT encode(hash, 'hex') FROM entries ORDER BY seq", database: "ledger").split(separator: "\n").map(
            String.init)
        #expect(Set(stored).count == stored.count)
        let missing = hashes.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "acknowledged but not on the promoted standby: \(missing)")
        #expect(Set(hashes).count == hashes.count)
        let verified = fixture.cli.run(["verify", "--json", "--ledger", standby.url("ledger")])
        #expect(verified.status == 0 && verified.stdout.contains("\"verified\":true"), "\(verified.stdout) \(verified.stderr)")
        print("FIGURE failover: \(hashes.count) appends acknowledged (\(failed.withLock { $0 }) failed), all on the promoted standby, none twice")
    }

    /// On PostgreSQL too the server is the ledger's one writer (its advisory lock): a second server
    /// and a local write are refused, naming the server (read from the lock's session); once it
    /// stops, local writes go through again.
    @Test func aServedPostgreSQLLedgerHasOneWriter() throws {
        let database = try PostgresServer.shared.get()
        let name = try database.createDatabase()
        let fixture = try ServerFixture(ledger: database.url(name))
        let server = try fixture.start()
        let second = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0"])
        #expect(second.status == 2 && second.stderr.contains("held by the server \(server.url)"), "\(second.stderr)")
        let local = fixture.cli.run(fixture.payment(ref: "LOCAL"), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        #expect(local.status == 2 && local.stderr.contains("write through it with --server \(server.url)"), "\(local.stderr)")
        #expect(fixture.remote(fixture.payment(ref: "REMOTE"), server: server).status == 0)
        try fixture.cli.expectOK(["verify"])
        // The lock's session ended by the database (a failover, an administrator): the server takes
        // the lock again within its checkpoint interval (50 ms here), before any command can write
        // for long; a command that got in meanwhile makes the server stop (it wrote behind it).
        _ = try database.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'gigaledger serve%' AND datname = '\(name)'")
        let raced = fixture.cli.run(fixture.payment(ref: "RACED"), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        if raced.status == 0 {
            server.process.waitUntilExit()
            #expect(server.process.terminationStatus == 2, "a server written behind stops")
        } else {
            #expect(raced.status == 2 && raced.stderr.contains("held by the server \(server.url)"), "\(raced.stderr)")
            #expect(fixture.remote(fixture.payment(ref: "AFTER"), server: server).status == 0)
        }
        try fixture.cli.expectOK(["verify"])
        server.stop()
        try fixture.cli.expectOK(fixture.payment(ref: "LOCAL"), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
    }

    /// An auditor keeps a verified replica in PostgreSQL as well as in a file.
    @Test func aReplicaCanBeAPostgreSQLDatabase() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        for index in 1...3 { #expect(fixture.remote(fixture.payment(ref: "R-\(index)"), server: server).status == 0) }
        let database = try PostgresServer.shared.get()
        let name = try database.createDatabase()
        let url = database.url(name)
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", url, "--authority-key", "authority.pub"])
        for index in 4...5 { #expect(fixture.remote(fixture.payment(ref: "R-\(index)"), server: server).status == 0) }
        let again = try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", url, "--authority-key", "authority.pub"]).stdout
        #expect(again.hasPrefix("updated postgres://postgres@127.0.0.1") && again.contains("2 new entries"), "\(again)")
        // Issue 28, case 3, in PostgreSQL: the copy is marked inside the database; write commands
        // refuse it (exit 2, write through the server) until `sync --detach`.
        let refused = fixture.cli.run(
            fixture.payment(ref: "INTO-COPY") + ["--ledger", url], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        #expect(refused.status == 2 && refused.stderr.contains("kept by gigaledger sync"), "\(refused.stderr)")
        #expect(try database.psql("SELECT count(*) FROM entries", database: name) == "10", "nothing written")
        // A role that may only SELECT and INSERT cannot keep the copy's mark: it takes nothing in, said as such.
        let role = "reader_\(name)"
        try database.psql(
            "CREATE ROLE \(role) LOGIN PASSWORD 'reader-pw'; GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO \(role)", database: name)
        #expect(fixture.remote(fixture.payment(ref: "R-6"), server: server).status == 0)
        let restricted = fixture.cli.run(["sync", "--from", server.url, "--ledger", database.url(name, user: role, password: "reader-pw")])
        #expect(restricted.status == 2 && restricted.stderr.contains("only the owner of its tables may"), "\(restricted.stderr)")
        #expect(try database.psql("SELECT count(*) FROM entries", database: name) == "10", "nothing taken in")
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", url])
        #expect(try database.psql("SELECT count(*) FROM entries", database: name) == "11")
        server.stop()
        // The same verification, whichever store.
        #expect(try fixture.cli.verification(url) == fixture.cli.verification(fixture.ledger))
        let detached = try fixture.cli.expectOK(["sync", "--detach", "--ledger", url]).stdout
        #expect(detached.contains("a ledger of its own from now"), "\(detached)")
        try fixture.cli.expectOK(fixture.payment(ref: "OWN") + ["--ledger", url], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
    }
}
