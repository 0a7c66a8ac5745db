import Foundation
import GRDB
import GigaLedgerKit
import GigaLedgerTestSupport
import Synchronization
import Testing

@testable import GigaLedgerCore

/// Many offices, one ledger: real `gigaledger serve` processes on 127.0.0.1 with random ports,
/// officers' real CLIs appending through them, replicas synced from them. Nothing mocked.
@Suite(.serialized) struct ServerTests {
    /// An officer appends from "another machine": signed there, admitted by the server with the
    /// rules of a local append, the same refusals, and a ledger that verifies.
    @Test func anOfficerAppendsThroughTheServer() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        let recorded = fixture.remote(fixture.payment(ref: "R-1"), server: server)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stdout.contains("recorded payment of EUR 1,045.57 from ms:DE to de-jupiter"), "\(recorded.stdout)")  // TestAmounts
        // The same payment again: the duplicate guard, as locally, through the server.
        let again = fixture.remote(fixture.payment(ref: "R-1"), server: server)
        #expect(again.status == 65 && again.stderr.contains("this repeats entry"), "\(again.stderr)")
        // Out of scope: the officer may not record France's money.
        var french = fixture.payment(ref: "R-2")
        french[french.firstIndex(of: "ms:DE")!] = "ms:FR"
        let refused = fixture.remote(french, server: server)
        #expect(refused.status == 65 && refused.stderr.contains("may not record a contribution from ms:FR"), "\(refused.stderr)")
        // The client kept the checkpoint it checked, per origin (a digest of the origin in the name:
        // `test.example/ledger` and `test.example_ledger` never share a file).
        let digest = Encoding.hex(Array(SHA256State.hash(Array("test.example/ledger".utf8)).prefix(4)))
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file(".config/gigaledger/checkpoints/test.example_ledger-\(digest).checkpoint")))
        server.stop()
        let verified = try fixture.cli.expectOK(["verify"])
        #expect(verified.stdout.contains("verified: 6 entries"), "\(verified.stdout)")
    }

    /// What only a process on a socket shows of bad requests (the routes' refusals are tested in
    /// process, GigaLedgerServerTests): bytes that are not HTTP, a body larger than the limit by its
    /// length, a client that hangs up mid-body; and the CLI's exit code for the revocation of the
    /// log key the server signs with. One JSON error each, nothing written, the server serving on.
    @Test func badRequestsAreRefusedAndTheServerKeepsServing() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        let before = try rawHTTP(server.url, request: httpRequest("GET", "/health")).body
        // Not HTTP at all: refused by the HTTP parser before any handler, with a JSON error too.
        let garbage = try rawHTTP(server.url, request: Array("GARBAGE\r\n\r\n".utf8))
        #expect(
            garbage.status == 400 && garbage.body.hasPrefix("{\"error\":{") && garbage.body.contains("is not HTTP/1.1"),
            "\(garbage.status) \(garbage.body)")
        // Oversized: refused by its length before it is read.
        let huge = try rawHTTP(server.url, request: httpRequest("POST", "/ledger/v1/entries", body: [], length: 64 * 1024 * 1024))
        #expect(huge.status == 413 && huge.body.hasPrefix("{\"error\":{"), "\(huge.status) \(huge.body)")
        // Truncated: the client hangs up in the middle of the body.
        _ = try? rawHTTP(
            server.url, request: httpRequest("POST", "/ledger/v1/entries", body: Array("{\"entries\"".utf8), length: 5000), halfClose: true)
        // The log key the server signs with cannot be revoked through it (it could sign nothing after).
        let logID = try #require(
            fixture.cli.expectOK(["key", "list", "--json"]).stdout.split(separator: "\"").first {
                $0.count == 16 && fixture.cli.run(["key", "list"]).stdout.contains("\($0)  log")
            })
        let revoke = fixture.remote(["key", "revoke", "--key", "authority.key", "--id", String(logID), "--reason", "test"], server: server)
        #expect(revoke.status == 65 && revoke.stderr.contains("is the log key this server signs with"), "\(revoke.stderr)")
        // Still serving, nothing written.
        let after = try rawHTTP(server.url, request: httpRequest("GET", "/health"))
        #expect(after.status == 200 && after.body == before, "\(after.body) vs \(before)")
        #expect(fixture.remote(fixture.payment(ref: "R-3"), server: server).status == 0)
        server.stop()
        try fixture.cli.expectOK(["verify"])
    }

    /// A replica synced in steps equals the server's file row for row and verifies; `report`
    /// and `verify` work on it.
    @Test func aReplicaSyncedInStepsEqualsTheServersFile() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        for ref in ["R-1", "R-2"] { try #require(fixture.remote(fixture.payment(ref: ref), server: server).status == 0) }
        let replica = fixture.dir.file("replica.sqlite")
        let sync = ["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"]
        let first = fixture.cli.run(sync)
        #expect(first.status == 0 && first.stdout.contains("created"), "\(first.stderr)")
        for ref in ["R-3", "R-4", "R-5"] { try #require(fixture.remote(fixture.payment(ref: ref), server: server).status == 0) }
        let second = fixture.cli.run(sync)
        #expect(second.status == 0 && second.stdout.contains("3 new entries"), "\(second.stdout) \(second.stderr)")
        let third = fixture.cli.run(sync)
        #expect(third.status == 0 && third.stdout.contains("0 new entries"), "\(third.stdout) \(third.stderr)")
        server.stop()
        for table in ["entries", "checkpoints", "cosignatures"] {
            #expect(try rows(table, fixture.ledger) == rows(table, replica), "\(table) differs")
        }
        #expect(try rows("entries", replica).count == 10)
        try fixture.cli.expectOK(["verify", "--ledger", replica])
        try fixture.cli.expectOK(["status", "--ledger", replica])
    }

    /// Issue 28, case 2: a backup older than the server's last checkpoint, restored over the
    /// ledger, is not served (exit 2, the cause and the remedy in one line); restored from the
    /// freshest replica instead, the server serves, and the officer's client and the replica carry
    /// on without an error.
    @Test func aBackupBehindTheLastCheckpointIsNotServed() throws {
        let fixture = try ServerFixture()
        let backup = fixture.dir.file("backup.sqlite")
        try fixture.cli.expectOK(["backup", "--out", backup])
        var server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        let replica = fixture.dir.file("replica.sqlite")
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"])
        server.stop()
        func removeLedger() {
            for suffix in ["", "-wal", "-shm", "-writer"] { try? FileManager.default.removeItem(atPath: fixture.ledger + suffix) }
        }
        removeLedger()
        try FileManager.default.copyItem(atPath: backup, toPath: fixture.ledger)
        let state = ServerProcess.stateFolder(fixture.dir, ledger: fixture.ledger)
        let refused = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", state])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("the ledger holds 5 entries, fewer than the 6 of the checkpoint this server's log key signed"),
            "\(refused.stderr)")
        #expect(refused.stderr.contains("Restoring a ledger") && !refused.stderr.contains("enrol"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        // A guard that cannot be read is no licence to serve: exit 2, the state file named, not the ledger.
        let guardFile = try #require(try FileManager.default.contentsOfDirectory(atPath: state).first { $0.hasSuffix(".checkpoint") })
        let kept = try Data(contentsOf: URL(fileURLWithPath: state + "/" + guardFile))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: state + "/" + guardFile))
        let garbled = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", state])
        #expect(garbled.status == 2, "\(garbled.stderr)")
        #expect(garbled.stderr.contains("holds no signed checkpoint") && !garbled.stderr.contains("verify"), "\(garbled.stderr)")
        try FileManager.default.removeItem(atPath: state + "/" + guardFile)
        try FileManager.default.createDirectory(atPath: state + "/" + guardFile, withIntermediateDirectories: false)
        let folder = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", state])
        #expect(folder.status == 2 && folder.stderr.contains("is not a file it can read"), "\(folder.stderr)")
        try FileManager.default.removeItem(atPath: state + "/" + guardFile)
        try kept.write(to: URL(fileURLWithPath: state + "/" + guardFile))
        removeLedger()
        try fixture.cli.expectOK(["copy", "--from", replica, "--to", fixture.ledger])
        server = try fixture.start()
        #expect(fixture.remote(fixture.payment(ref: "R-2"), server: server).status == 0)
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", replica])
        server.stop()
    }

    /// Issue 28, case 3: a copy made by `sync` stays one. Every write command refuses it (exit 2),
    /// through any name of the file (a hard link too), naming the server to write through, and
    /// `serve` refuses it with the restore's way; `sync --detach` makes it a ledger of its own, and a
    /// later sync into it says that the entries written into it are the copy's divergence (exit 1),
    /// not the server's, and writes no evidence against the server; a detached copy with nothing
    /// written into it is a copy again after a sync.
    @Test func aReplicaStaysACopy() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        let replica = fixture.dir.file("replica.sqlite")
        let sync = ["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"]
        try fixture.cli.expectOK(sync)
        try FileManager.default.linkItem(atPath: replica, toPath: fixture.dir.file("linked.sqlite"))
        fixture.dir.write("rows.csv", ImportCommandTests.header + "contribution,de-jupiter,2026-02-01,eu,1.00,capex,payment,COPY-1,,,,,\n")
        let passphrase = ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile]
        for (arguments, name) in [
            (["import", "rows.csv", "--key", "authority.key"], replica), (fixture.payment(ref: "COPY-2"), replica),
            (["checkpoint", "--key", "authority.key"], replica), (fixture.payment(ref: "COPY-3"), fixture.dir.file("linked.sqlite")),
        ] {
            let refused = fixture.cli.run(arguments + ["--ledger", name], env: passphrase)
            #expect(refused.status == 2, "\(arguments): \(refused.stderr)")
            // Through the hard link, the mark inside the file refuses it; the URL is in the mark beside the other name.
            let advice = "kept by gigaledger sync: run the command through the server instead (add --server "
            #expect(refused.stderr.contains(advice), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
        let served = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--ledger", replica])
        #expect(served.status == 2 && served.stderr.contains("copy it into a ledger of its own first (gigaledger copy --from"), "\(served.stderr)")
        let dryRun = try fixture.cli.expectOK(["import", "rows.csv", "--key", "authority.key", "--dry-run", "--ledger", replica])
        #expect(dryRun.stdout.contains("nothing was written"), "a dry run writes nothing, so a copy takes it: \(dryRun.stdout)")
        #expect(try rows("entries", replica).count == 6)
        try #require(fixture.remote(fixture.payment(ref: "R-2"), server: server).status == 0)
        try fixture.cli.expectOK(sync)  // syncs stay allowed
        #expect(fixture.cli.run(["sync", "--detach", "--from", server.url, "--ledger", replica]).status == 64)
        // Detached with nothing written into it: a sync makes it a copy again, and says so.
        let detached = try fixture.cli.expectOK(["sync", "--detach", "--ledger", replica])
        #expect(detached.stdout.contains("detached") && detached.stdout.contains(server.url), "\(detached.stdout)")
        let again = try fixture.cli.expectOK(sync)
        #expect(again.stdout.contains("it is a copy of \(server.url) again"), "\(again.stdout)")
        #expect(fixture.cli.run(fixture.payment(ref: "COPY-4") + ["--ledger", replica], env: passphrase).status == 2)
        // Detached and written into: its own entries are said to be its own, whatever the server holds.
        try fixture.cli.expectOK(["sync", "--detach", "--ledger", replica])
        try fixture.cli.expectOK(["import", "rows.csv", "--key", "authority.key", "--ledger", replica])
        for round in 0..<2 {
            let diverged = fixture.cli.run(sync)
            #expect(diverged.status == 1, "\(diverged.stderr)")
            #expect(
                diverged.stderr.contains("entries 8 to 9 were written into the copy after it was detached, not taken from the server"),
                "\(diverged.stderr)")
            try #require(fixture.remote(fixture.payment(ref: "R-3-\(round)"), server: server).status == 0)  // the server's own entry 8
        }
        let evidence = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("gigaledger-evidence-") }
        #expect(evidence.isEmpty, "no evidence against the server: \(evidence)")
    }

    /// A client that has seen checkpoint A refuses to sign after a server that serves a fork of A,
    /// and writes the evidence; `sync` refuses likewise.
    @Test func aForkIsRefusedWithEvidence() throws {
        let fixture = try ServerFixture()
        // A copy of the ledger as it is now; later each copy gets its own entry 7: a fork.
        let fork = fixture.dir.file("fork.sqlite")
        try fixture.cli.expectOK(["backup", "--out", fork])
        let server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        let replica = fixture.dir.file("replica.sqlite")
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"])
        server.stop()
        try fixture.cli.expectOK([
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "5.00",
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", "OTHER", "--ledger", fork,
        ])
        let forked = try fixture.start(ledger: fork)
        let refused = fixture.remote(fixture.payment(ref: "R-2"), server: forked)
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("a fork"), "\(refused.stderr)")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("gigaledger-evidence-") }
        #expect(evidence.count == 1, "the evidence file: \(evidence)")
        if let file = evidence.first {
            let text = try String(contentsOfFile: fixture.dir.file(file), encoding: .utf8)
            #expect(text.hasPrefix("gigaledger-fork-evidence/v1\n") && text.contains("kept-checkpoint") && text.contains("served-checkpoint"))
        }
        let replicaRefused = fixture.cli.run(["sync", "--from", forked.url, "--ledger", replica, "--authority-key", "authority.pub"])
        #expect(replicaRefused.status == 1, "\(replicaRefused.status) \(replicaRefused.stdout) \(replicaRefused.stderr)")
        #expect(replicaRefused.stderr.contains("a fork"), "\(replicaRefused.stderr)")
        forked.stop()
        try fixture.cli.expectOK(["verify", "--ledger", replica])
        #expect(try rows("entries", replica).count == 6)
    }

    /// Receipts of a server's ledger: `prove --entry --server` makes one against the server's
    /// checked checkpoint (signed by its log key), carrying the log key's enrolment so that
    /// `check-receipt` checks it with the authority's key alone; `--server` asks whether the server
    /// still holds it, and a forked server is caught. `show` takes an entry's hash too.
    @Test func receiptsThroughTheServerCheckWithTheAuthorityKey() throws {
        let fixture = try ServerFixture()
        let fork = fixture.dir.file("fork.sqlite")
        try fixture.cli.expectOK(["backup", "--out", fork])
        let server = try fixture.start()
        let recorded = fixture.remote(fixture.payment(ref: "P-1"), server: server)
        try #require(recorded.status == 0, "\(recorded.stderr)")
        let proved = fixture.remote(["prove", "--entry", "6", "--out", "r6.txt", "--authority-key", "authority.pub"], server: server)
        #expect(proved.status == 0, "\(proved.stderr)")
        let receipt = try String(contentsOfFile: fixture.dir.file("r6.txt"), encoding: .utf8)
        #expect(receipt.contains("\ncheckpoint_key_entry 5\n"), "the log key's enrolment: \(receipt)")
        let checked = try fixture.cli.expectOK(["check-receipt", "r6.txt", "--ledger-key", "authority.pub"])
        #expect(checked.stdout.hasPrefix("receipt verified: entry 6 (contribution)"), "\(checked.stdout)")
        let held = fixture.cli.run(["check-receipt", "r6.txt", "--ledger-key", "authority.pub", "--server", server.url])
        #expect(held.status == 0 && held.stdout.contains("still held by \(server.url)"), "\(held.stdout) \(held.stderr)")
        // The key entry's signature flipped: not verified; another key than the authority's: likewise.
        let tampered = receipt.replacingOccurrences(of: "\ncheckpoint_key_entry 5\n", with: "\ncheckpoint_key_entry 4\n")
        try tampered.write(toFile: fixture.dir.file("bad.txt"), atomically: true, encoding: .utf8)
        let bad = fixture.cli.run(["check-receipt", "bad.txt", "--ledger-key", "authority.pub"])
        #expect(bad.status == 1 && bad.stderr.contains("the key entry 4 is not in the checkpoint"), "\(bad.stderr)")
        let wrongKey = fixture.cli.run(["check-receipt", "r6.txt", "--ledger-key", "officer.pub"])
        #expect(wrongKey.status == 1, "\(wrongKey.stderr)")
        // `show` by hash, through the server and on the file; the enrolment of a key by its ID.
        let hash = try #require(recorded.stdout.split(separator: "\n").first { $0.hasPrefix("hash ") }.map { String($0.dropFirst(5)) })
        let shown = fixture.remote(["show", hash, "--authority-key", "authority.pub"], server: server)
        #expect(shown.status == 0 && shown.stdout.contains("entry       6"), "\(shown.stdout) \(shown.stderr)")
        let unknown = fixture.remote(["show", String(repeating: "0", count: 64), "--authority-key", "authority.pub"], server: server)
        #expect(unknown.status == 65 && unknown.stderr.contains("is not an entry of the server's ledger"), "\(unknown.stderr)")
        let officerID = try #require(
            fixture.cli.run(["key", "list"]).stdout.split(separator: "\n").first { $0.contains("officer") }.map { String($0.prefix(16)) })
        let enrolment = try rawHTTP(server.url, request: httpRequest("GET", "/ledger/v1/keys/\(officerID)"))
        #expect(enrolment.status == 200 && enrolment.body.contains("\"type\":\"key-enroll\""), "\(enrolment.body)")
        let noKey = try rawHTTP(server.url, request: httpRequest("GET", "/ledger/v1/keys/0000000000000000"))
        #expect(noKey.status == 404 && noKey.body.hasPrefix("{\"error\":{"), "\(noKey.body)")
        server.stop()
        // The file's own receipt (the kept checkpoint is the log key's too) checks the same way.
        try fixture.cli.expectOK(["prove", "--entry", "6", "--out", "local.txt"])
        #expect(try String(contentsOfFile: fixture.dir.file("local.txt"), encoding: .utf8).contains("\ncheckpoint_key_entry 5\n"))
        try fixture.cli.expectOK(["check-receipt", "local.txt", "--ledger-key", "authority.pub"])
        // A server of a fork (another entry 6) does not hold the receipt's entry.
        try fixture.cli.expectOK([
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "5.00",
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", "OTHER", "--ledger", fork,
        ])
        let forked = try fixture.start(ledger: fork)
        let notHeld = fixture.cli.run(
            ["check-receipt", "r6.txt", "--ledger-key", "authority.pub", "--server", forked.url],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor-config")])
        #expect(notHeld.status == 1 && notHeld.stderr.contains("does not extend the receipt's"), "\(notHeld.stdout) \(notHeld.stderr)")
        forked.stop()
    }

    /// An address that served one ledger and now serves another (same port, other origin) is not
    /// followed: the client signs nothing and keeps the evidence.
    @Test func anAddressThatNowServesAnotherLedgerIsRefused() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "A-1"), server: server).status == 0)
        let port = String(server.url.split(separator: ":").last!)
        server.stop()
        let other = fixture.dir.file("other.sqlite")
        try fixture.cli.expectOK(["key", "generate", "--out", "other-authority", "--unencrypted"])
        try fixture.cli.expectOK(["init", "--ledger", other, "--key", "other-authority.key", "--origin", "other.example/ledger"])
        try fixture.cli.expectOK([
            "key", "enroll", "--ledger", other, "--key", "other-authority.key", "--pub", "log.pub", "--name", "log", "--role", "log",
        ])
        let impostor = try ServerProcess(dir: fixture.dir, ledger: other, listen: "127.0.0.1:\(port)")
        let refused = fixture.remote(fixture.payment(ref: "A-2"), server: impostor)
        #expect(
            refused.status == 1 && refused.stderr.contains("now serves the ledger other.example/ledger, not test.example/ledger"), "\(refused.stderr)"
        )
        impostor.stop()
    }

    /// A signed CSV import through the server: one request, all rows or none, a refused row named
    /// by its line, the same file twice refused; `log` and `show` read through the server too.
    @Test func anImportGoesThroughAsOneBatch() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        let header = "type,factory,source,kind,category,amount,date,ref\n"
        fixture.dir.write(
            "good.csv",
            header
                + "contribution,de-jupiter,ms:DE,payment,capex,10.00,2026-03-02,I-1\ncontribution,de-jupiter,ms:DE,payment,capex,11.00,2026-03-02,I-2\n"
        )
        fixture.dir.write(
            "bad.csv",
            header
                + "contribution,de-jupiter,ms:DE,payment,capex,12.00,2026-03-02,I-3\ncontribution,de-jupiter,ms:FR,payment,capex,13.00,2026-03-02,I-4\n"
                + "contribution,de-jupiter,ms:DE,payment,capex,14.00,2026-03-02,I-5\ncontribution,de-jupiter,ms:IT,payment,capex,15.00,2026-03-02,I-6\n"
        )
        let imported = fixture.remote(["import", "good.csv", "--key", "officer.key"], server: server)
        #expect(imported.status == 0 && imported.stdout.contains("imported 2 rows from good.csv through"), "\(imported.stderr)")
        let before = try rawHTTP(server.url, request: httpRequest("GET", "/health")).body
        let refused = fixture.remote(["import", "bad.csv", "--key", "officer.key"], server: server)
        // Every refused row named, as a local import names them.
        #expect(
            refused.status == 65 && refused.stderr.contains("2 rows refused") && refused.stderr.contains("row 3: ")
                && refused.stderr.contains("ms:FR")
                && refused.stderr.contains("row 5: ") && refused.stderr.contains("ms:IT"), "\(refused.stderr)")
        let again = fixture.remote(["import", "good.csv", "--key", "officer.key", "--allow-duplicate"], server: server)
        #expect(again.status == 65 && again.stderr.contains("was already imported"), "\(again.stderr)")
        #expect(try rawHTTP(server.url, request: httpRequest("GET", "/health")).body == before, "nothing written by the refused imports")
        let log = fixture.remote(["log"], server: server)
        #expect(log.status == 0 && log.stdout.contains("ref I-2") && log.stdout.contains("imported 2 rows from good.csv"), "\(log.stderr)")
        let show = fixture.remote(["show", "7", "--json"], server: server)
        #expect(show.status == 0 && show.stdout.contains("\"seq\":7"), "\(show.stdout) \(show.stderr)")
        server.stop()
        try fixture.cli.expectOK(["verify"])
    }

    /// Every row of a table, as text, in order.
    func rows(_ table: String, _ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2").map { $0.description }
        }
    }
}

/// The server's limits and its HTTPS, each through real processes.
@Suite(.serialized) struct ServerLimitTests {
    /// A client that sends half a body and stalls is answered 408 within the body timeout; one
    /// address over its rate gets 429s; the server keeps serving others throughout.
    @Test func slowClientsAndFloodsAreCutOff() throws {
        let fixture = try ServerFixture()
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--body-timeout", "1", "--requests-per-minute", "40"])
        let started = Date()
        let slow = try rawHTTP(
            server.url, request: httpRequest("POST", "/ledger/v1/entries", body: Array("{\"entr".utf8), length: 100), readTimeout: 10)
        #expect(slow.status == 408 && slow.body.contains("did not arrive within 1 s"), "\(slow.status) \(slow.body)")
        #expect(Date().timeIntervalSince(started) < 5)
        var statuses = [Int]()
        for _ in 0..<45 { statuses.append(try rawHTTP(server.url, request: httpRequest("GET", "/health")).status) }
        #expect(statuses.contains(200) && statuses.contains(429), "\(statuses)")
        let limited = try rawHTTP(server.url, request: httpRequest("GET", "/health"))
        #expect(limited.status == 429 && limited.body.contains("too many requests from 127.0.0.1"), "\(limited.body)")
        server.stop()
        try fixture.cli.expectOK(["verify"])
    }

    /// The attack on turns, which are gone: twenty threads asking for turns and resubmitting a
    /// public entry with a changed `recorded_at` (not covered by its hash) as fast as they can; an
    /// honest office's appends are recorded all the same, each once, and the ledger verifies.
    @Test func theTurnAttackCannotHoldAnOfficeUp() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "T-0"), server: server).status == 0)
        let stored = try EntryWire.decode(
            json: Array(try rawHTTP(server.url, request: httpRequest("GET", "/ledger/v1/entries?from=6&count=1")).body.utf8.dropLast()))
        let stop = Mutex(false)
        let answers = Mutex([Int: Int]())
        let attackers = (0..<20).map { index in
            Thread {
                while !stop.withLock({ $0 }) {
                    let turn = (try? rawHTTP(server.url, request: httpRequest("POST", "/ledger/v1/turn?known=0")))?.status ?? 0
                    // The public entry with another `recorded_at` (not covered by its hash), again and again.
                    let resent = Entry(
                        seq: stored.seq, type: stored.type, body: stored.body, prevHash: stored.prevHash, hash: stored.hash, signer: stored.signer,
                        signature: stored.signature, recordedAt: "2026-01-01T00:00:\(String(format: "%02d", index))Z")
                    let body = CanonicalJSON.object(["entries": .array([EntryWire.json(resent)])]).encoded()
                    let status = (try? rawHTTP(server.url, request: httpRequest("POST", "/ledger/v1/entries", body: body)))?.status ?? 0
                    answers.withLock {
                        $0[turn, default: 0] += 1
                        $0[status, default: 0] += 1
                    }
                }
            }
        }
        for thread in attackers { thread.start() }
        defer { stop.withLock { $0 = true } }
        for ref in ["T-1", "T-2", "T-3"] {
            let recorded = fixture.remote(fixture.payment(ref: ref), server: server)
            #expect(recorded.status == 0, "\(recorded.stderr)")
        }
        stop.withLock { $0 = true }
        #expect(answers.withLock { $0[503] ?? 0 } > 0, "the turn route answers 503: \(answers.withLock { $0 })")
        server.stop()
        let log = try fixture.cli.expectOK(["log"]).stdout
        #expect(["T-1", "T-2", "T-3"].allSatisfy { ref in log.components(separatedBy: ref).count == 2 }, "\(log)")
        try fixture.cli.expectOK(["verify"])
    }

    /// Signatures about the whole ledger, made over verified copies and kept by the server: an
    /// authority's checkpoint (`checkpoint --server`), an auditor's cosignature of the server's
    /// latest checkpoint (`cosign --server`); each copy is synced first; without a copy, one line.
    @Test func checkpointAndCosignGoThroughTheServer() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        try fixture.cli.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "auditor.pub", "--name", "Court of Auditors", "--role", "auditor",
        ])
        // The log key keeps one checkpoint at start, then none for an hour: the authority's is the next.
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--checkpoint-interval", "3600000"])
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        let health = try rawHTTP(server.url, request: httpRequest("GET", "/health")).body
        let size = try #require(
            health.split(separator: ",").first { $0.hasPrefix("\"size\":") }.flatMap { Int64($0.dropFirst(7).prefix { $0.isNumber }) })
        let signed = fixture.remote(["checkpoint", "--key", "authority.key", "--ledger", "authority-copy.sqlite"], server: server)
        #expect(signed.status == 0, "\(signed.stderr)")
        let note = try SignedNote.parse(signed.stdout)
        #expect(try Checkpoint.parse(note.text).size == size, "\(signed.stdout)")
        let served = try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body
        #expect(served.hasPrefix(note.text) && served.contains(signed.stdout.split(separator: "\n").last.map(String.init) ?? "?"), "\(served)")

        let cosigned = fixture.remote(
            ["cosign", "--key", "auditor.key", "--ledger", "auditor-copy.sqlite", "--name", "coa.example/witness"], server: server)
        #expect(cosigned.status == 0 && cosigned.stderr.contains("kept by \(server.url)"), "\(cosigned.stderr)")
        #expect(try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("— coa.example/witness "))
        let again = fixture.remote(
            [
                "cosign", "--key", "auditor.key", "--ledger", "auditor-copy.sqlite", "--name", "coa.example/witness",
                "--state", "again.cosigned",
            ], server: server)
        #expect(again.status == 0 && again.stderr.contains("already: the first one stands"), "\(again.stderr)")

        let noCopy = fixture.remote(["checkpoint", "--key", "authority.key"], server: server)
        #expect(noCopy.status == 65 && noCopy.stderr.contains("name your verified copy"), "\(noCopy.stderr)")
        server.stop()
        try fixture.cli.expectOK(["verify"])
        try fixture.cli.expectOK(["verify", "--ledger", "auditor-copy.sqlite"])
    }

    /// Issue 28, case 4: `sync --witness` with a witness that stopped cosigning takes in what the
    /// quorum cosigned and, once the server's checkpoints have waited longer than `--max-lag`,
    /// exits 2 naming the witness; a lag below it is no error.
    @Test func witnessesThatLagBeyondMaxLagAreReported() throws {
        let fixture = try ServerFixture()
        for name in ["auditor", "absent"] {
            try fixture.cli.expectOK(["key", "generate", "--out", name, "--unencrypted"])
            try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "\(name).pub", "--name", name, "--role", "auditor"])
        }
        let server = try fixture.start()
        defer { server.stop() }
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        try #require(
            fixture.remote(["cosign", "--key", "auditor.key", "--ledger", "auditor-copy.sqlite", "--name", "coa.example/witness"], server: server)
                .status == 0)
        let sync = [
            "sync", "--from", server.url, "--ledger", "witnessed.sqlite", "--authority-key", "authority.pub", "--witness", "auditor.pub",
        ]
        try fixture.cli.expectOK(sync)
        func entries() throws -> Int {
            try DatabaseQueue(path: fixture.dir.file("witnessed.sqlite")).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM entries") ?? -1 }
        }
        let witnessed = try entries()
        try #require(fixture.remote(fixture.payment(ref: "R-2"), server: server).status == 0)
        sleep(3)  // time passes: the server's checkpoint of R-2 (kept within 50 ms) is then over 2 s old, cosigned by no witness
        let lagging = fixture.cli.run(sync + ["--max-lag", "2"])
        #expect(lagging.status == 2, "\(lagging.stdout) \(lagging.stderr)")
        let auditor = try #require(fixture.cli.run(["key", "list"]).stdout.split(separator: "\n").first { $0.hasSuffix("  auditor") }?.prefix(16))
        #expect(
            lagging.stderr.contains("lacks the cosignature of auditor.pub (\(auditor))") && lagging.stderr.contains("--max-lag 2 s"),
            "\(lagging.stderr)")
        #expect(lagging.stderr.split(separator: "\n").count == 1, "\(lagging.stderr)")
        #expect(try entries() == witnessed)
        // Two witnesses, one of them required, the other never running: the same, naming both.
        let both = fixture.cli.run(sync + ["--witness", "absent.pub", "--quorum", "1", "--max-lag", "2"])
        #expect(both.status == 2 && both.stderr.contains("lacks the cosignature of auditor.pub (\(auditor)), absent.pub ("), "\(both.stderr)")
        #expect(fixture.cli.run(sync + ["--witness", "auditor.pub"]).status == 65)  // one witness counts once
        // Within the default 10 minutes, an ordinary lag.
        try fixture.cli.expectOK(sync)
        #expect(fixture.cli.run(sync + ["--max-lag", "0"]).status == 65)
        #expect(fixture.cli.run(["sync", "--from", server.url, "--ledger", "other.sqlite", "--max-lag", "5m"]).status == 64)
        // An officer's key given as a witness never cosigns: refused as input, naming it, not "retry later".
        let officer = fixture.cli.run(sync + ["--witness", "officer.pub", "--quorum", "2", "--max-lag", "2"])
        #expect(
            officer.status == 65 && officer.stderr.contains("witness: \"officer.pub\" is the key of \"DE officer\", enrolled as officer"),
            "\(officer.stderr)")
    }

    /// While `serve` runs it is the ledger's one writer: a second `serve` is refused, and so is a
    /// local write command, each naming the server to write through (exit 2); reads work beside it.
    @Test func aServedLedgerHasOneWriter() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        let second = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0"])
        #expect(second.status == 2 && second.stderr.contains("held by the server \(server.url)"), "\(second.stderr)")
        let local = fixture.cli.run(fixture.payment(ref: "LOCAL"), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        #expect(local.status == 2 && local.stderr.contains("write through it with --server \(server.url)"), "\(local.stderr)")
        #expect(local.stderr.split(separator: "\n").count == 1, "one line: \(local.stderr)")
        // Other names of the same file are the same ledger, and the URL file is not the lock.
        try FileManager.default.createSymbolicLink(atPath: fixture.dir.file("symlink.sqlite"), withDestinationPath: fixture.ledger)
        try FileManager.default.linkItem(atPath: fixture.ledger, toPath: fixture.dir.file("hardlink.sqlite"))
        try FileManager.default.removeItem(atPath: fixture.ledger + "-writer")
        for name in ["symlink.sqlite", "hardlink.sqlite", fixture.ledger] {
            let other = fixture.cli.run(
                fixture.payment(ref: "LINKED") + ["--ledger", name], env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
            #expect(other.status == 2 && other.stderr.contains("is held by"), "\(name): \(other.stderr)")
        }
        let again = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--ledger", "hardlink.sqlite"])
        #expect(again.status == 2 && again.stderr.contains("is held by"), "\(again.stderr)")
        try FileManager.default.removeItem(atPath: fixture.dir.file("hardlink.sqlite"))
        try fixture.cli.expectOK(["verify"])
        try fixture.cli.expectOK(["status"])
        try fixture.cli.expectOK(["export", "--format", "csv"])
        try fixture.cli.expectOK(["backup", "--out", "backup.sqlite"])
        server.stop()
        try fixture.cli.expectOK(fixture.payment(ref: "LOCAL"), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
    }

    /// Issue 28, case 1, through the server: a factories row inserted behind it (a role that may
    /// insert) makes no factory: the submission that relies on it is refused (exit 1, the row
    /// named), the server keeps serving the other offices, and the ledger still verifies after
    /// the row alone is taken out.
    @Test func aRowInsertedBehindTheServerIsReliedOnByNoSubmission() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        try fileBehindTheTool(fixture.ledger).write { try $0.execute(sql: "INSERT INTO factories (id, seq) VALUES ('ghost-f', 4)") }
        var ghost = fixture.payment(ref: "GHOST")
        ghost[ghost.firstIndex(of: "de-jupiter")!] = "ghost-f"
        ghost[ghost.firstIndex(of: "officer.key")!] = "authority.key"
        ghost[ghost.firstIndex(of: "ms:DE")!] = "eu"
        let refused = fixture.remote(ghost, server: server)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("the index table factories holds a row (id \"ghost-f\", seq 4)"), "\(refused.stderr)")
        try #require(fixture.remote(fixture.payment(ref: "HONEST"), server: server).status == 0)
        server.stop()
        try tamperFile(fixture.ledger, "DELETE FROM factories WHERE id = 'ghost-f'")
        try fixture.cli.expectOK(["verify"])
    }

    /// A submission recorded whose answer never comes back: the client sends the same signed entry
    /// again (the server finds it by hash, nothing twice), and when no answer comes at all it says
    /// the entry may have been recorded and how to find out, never "nothing was recorded".
    @Test func aLostAnswerIsNotTakenForNothingRecorded() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        let proxy = try RewritingProxy.droppingSubmissionAnswers(target: server.url)
        let lost = Binary.run(
            fixture.payment(ref: "LOST-ANSWER") + ["--server", proxy.url], in: fixture.dir,
            env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        #expect(lost.status == 2, "\(lost.stderr)")
        #expect(lost.stderr.contains("may have been recorded") && !lost.stderr.contains("nothing was recorded"), "\(lost.stderr)")
        server.stop()
        let log = try fixture.cli.expectOK(["log"]).stdout
        #expect(log.components(separatedBy: "LOST-ANSWER").count == 2, "recorded once: \(log)")
        try fixture.cli.expectOK(["verify"])
    }

    /// An error that is not one of GigaLedger's (here Foundation's: the configuration folder is a
    /// file) exits 2, "cannot be used", never 1, which says the ledger does not verify.
    @Test func anUnexpectedErrorIsCannotBeUsedNotNotVerified() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try "not a folder\n".write(toFile: fixture.dir.file("config-file"), atomically: true, encoding: .utf8)
        let read = fixture.remote(["log"], server: server, env: ["XDG_CONFIG_HOME": fixture.dir.file("config-file")])
        #expect(read.status == 2, "\(read.status) \(read.stderr)")
        #expect(read.stderr.hasPrefix("gigaledger: error: "), "\(read.stderr)")
        server.stop()
    }

    /// Metrics in Prometheus's text format, with the appends and refusals counted.
    @Test func metricsCountAppendsAndRefusals() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "M-1"), server: server).status == 0)
        _ = try rawHTTP(server.url, request: httpRequest("POST", "/ledger/v1/entries", body: Array("nope".utf8)))
        let metrics = try rawHTTP(server.url, request: httpRequest("GET", "/metrics"))
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("gigaledger_appends_total 1"), "\(metrics.body.prefix(1500))")
        #expect(metrics.body.contains("gigaledger_requests_total{") && metrics.body.contains("status=\"400\""), "\(metrics.body.prefix(1500))")
        #expect(metrics.body.contains("gigaledger_request_duration_seconds"), "\(metrics.body.prefix(1500))")
        server.stop()
    }

    /// The per-key limit counts what a key really signed: entries that only name an officer's key
    /// (anyone can send them) do not use up that officer's submissions.
    @Test func unsignedSubmissionsDoNotLockOutAnOfficer() throws {
        let fixture = try ServerFixture()
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--submissions-per-minute", "3"])
        try #require(fixture.remote(fixture.payment(ref: "K-1"), server: server).status == 0)
        let entries = try rawHTTP(server.url, request: httpRequest("GET", "/ledger/v1/entries?from=6&count=1"))
        let stored = try EntryWire.decode(json: Array(entries.body.utf8.dropLast()))
        guard case .object(var fields) = EntryWire.json(stored) else {
            Issue.record("an entry's wire form is not an object")
            return
        }
        fields["signature"] = .string(String(repeating: "0", count: 128))
        for _ in 0..<6 {
            _ = try rawHTTP(
                server.url,
                request: httpRequest("POST", "/ledger/v1/entries", body: CanonicalJSON.object(["entries": .array([.object(fields)])]).encoded()))
        }
        let recorded = fixture.remote(fixture.payment(ref: "K-2"), server: server)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        server.stop()
    }

    /// Issue 33: reads through a server (`status`, `factory list`, `partner list`, `key list`,
    /// `policy show`, `log` with its filters, `show`) are answered from the officer's own verified
    /// copy, brought up to the server's head first (every new entry checked): nothing read rests on
    /// the server's word, and no replica is kept by hand.
    @Test func readsThroughAServerComeFromTheOfficersOwnCopy() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        try #require(fixture.remote(fixture.payment(ref: "RD-1"), server: server).status == 0)
        let status = fixture.remote(["status"], server: server)
        #expect(
            status.status == 0 && status.stdout.contains("ledger of \(server.url) (your verified copy): verified, 6 entries"),
            "\(status.stdout) \(status.stderr)")
        #expect(status.stdout.contains("de-jupiter"), "\(status.stdout)")
        let factories = fixture.remote(["factory", "list"], server: server)
        #expect(factories.status == 0 && factories.stdout.contains("de-jupiter"), "\(factories.stdout) \(factories.stderr)")
        let keys = fixture.remote(["key", "list"], server: server)
        #expect(keys.status == 0 && keys.stdout.contains("officer"), "\(keys.stdout) \(keys.stderr)")
        let partners = fixture.remote(["partner", "list"], server: server)
        #expect(partners.status == 0, "\(partners.stderr)")
        let policy = fixture.remote(["policy", "show"], server: server)
        #expect(policy.status == 65 && policy.stderr.contains("no policy is recorded"), "\(policy.stderr)")
        // The next entry, recorded by another office, is in the copy at the next read.
        try #require(
            fixture.remote(fixture.payment(ref: "RD-2"), server: server, env: ["XDG_CONFIG_HOME": fixture.dir.file("other-office")]).status == 0)
        let log = fixture.remote(["log", "--source", "ms:DE"], server: server)
        #expect(log.status == 0 && log.stdout.contains("RD-1") && log.stdout.contains("RD-2"), "\(log.stdout) \(log.stderr)")
        let shown = fixture.remote(["show", "6"], server: server)
        #expect(shown.status == 0 && shown.stdout.contains("ref RD-1"), "\(shown.stdout) \(shown.stderr)")
    }

    /// HTTPS with a certificate the client is told to trust (GIGALEDGER_SERVER_CA); without it the
    /// client refuses to talk, and nothing is recorded.
    @Test func httpsWithAPrivateCA() throws {
        let fixture = try ServerFixture()
        let made = shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
                + "-addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.pem 2>&1", in: fixture.dir)
        try #require(made.status == 0, "\(made.stdout)")
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--tls-cert", "tls.pem", "--tls-key", "tls.key"])
        #expect(server.url.hasPrefix("https://127.0.0.1:"), "\(server.url)")
        let untrusted = fixture.remote(fixture.payment(ref: "T-1") + ["--lock-wait", "1"], server: server)
        #expect(untrusted.status == 2 && untrusted.stderr.contains("cannot reach the server"), "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("give that CA's PEM file with --server-ca"), "\(untrusted.stderr)")
        let trusted = fixture.remote(fixture.payment(ref: "T-1"), server: server, env: ["GIGALEDGER_SERVER_CA": fixture.dir.file("tls.pem")])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        // --server-ca on the command line does the same (issue 33), and every --help with --server names it.
        let option = fixture.remote(["log", "--server-ca", fixture.dir.file("tls.pem")], server: server)
        #expect(option.status == 0, "\(option.stderr)")
        for command in [["log"], ["show"], ["contribution", "record"], ["import"], ["prove"], ["sync"], ["check-receipt"]] {
            let help = fixture.cli.run(command + ["--help"])
            #expect(help.stdout.contains("--server-ca <pem>"), "\(command)")
        }
        // Plain HTTP to the TLS port, and TLS to a plain port: one line each, in plain words, no library type name.
        let http = server.url.replacingOccurrences(of: "https://", with: "http://")
        let wrongScheme = Binary.run(["log", "--server", http, "--lock-wait", "1"], in: fixture.dir)
        #expect(wrongScheme.status == 2 && wrongScheme.stderr.contains("if it speaks HTTPS, give its https:// address"), "\(wrongScheme.stderr)")
        #expect(!wrongScheme.stderr.contains("Error.") && wrongScheme.stderr.split(separator: "\n").count == 1, "\(wrongScheme.stderr)")
        let port = try freePort()
        let web = Process()
        web.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        web.arguments = ["-m", "http.server", "--bind", "127.0.0.1", String(port)]
        web.currentDirectoryURL = fixture.dir.url
        web.standardOutput = FileHandle.nullDevice
        web.standardError = FileHandle.nullDevice
        try web.run()
        // Killed outright: a child of the test process inherits its blocked signals, SIGTERM among them.
        defer {
            kill(web.processIdentifier, SIGKILL)
            web.waitUntilExit()
        }
        var tlsToPlain = Run(status: -1, stdout: "", stderr: "")
        for _ in 0..<50 {
            tlsToPlain = Binary.run(["log", "--server", "https://127.0.0.1:\(port)", "--lock-wait", "1"], in: fixture.dir)
            if !tlsToPlain.stderr.contains("refused") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(tlsToPlain.status == 2 && tlsToPlain.stderr.contains("does not speak HTTPS: give its http:// address"), "\(tlsToPlain.stderr)")
        #expect(!tlsToPlain.stderr.contains("Error.") && tlsToPlain.stderr.split(separator: "\n").count == 1, "\(tlsToPlain.stderr)")
        // A key file given as the CA, a certificate for another name, a port beyond 65535 (was a
        // crash): one plain line each (hostile pass on issue 33).
        let keyAsCA = fixture.remote(["log", "--server-ca", fixture.dir.file("tls.key")], server: server)
        #expect(keyAsCA.status == 65 && keyAsCA.stderr.contains("holds no PEM certificate"), "\(keyAsCA.stderr)")
        let other = shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other.example "
                + "-addext subjectAltName=DNS:other.example -keyout other.key -out other.pem 2>&1", in: fixture.dir)
        try #require(other.status == 0, "\(other.stdout)")
        let bigPort = Binary.run(["log", "--server", "http://127.0.0.1:99999"], in: fixture.dir)
        #expect(bigPort.status == 65 && bigPort.stderr.contains("has port 99999; a port is from 1 to 65535"), "\(bigPort.stderr)")
        for said in [keyAsCA, bigPort] {
            #expect(said.stderr.split(separator: "\n").count == 1 && !said.stderr.contains("Error"), "\(said.stderr)")
        }
        // A renewed certificate, put in place and read again on SIGHUP: new connections get it, no restart.
        try FileManager.default.copyItem(atPath: fixture.dir.file("tls.pem"), toPath: fixture.dir.file("old-ca.pem"))
        let renewed = shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
                + "-addext subjectAltName=IP:127.0.0.1 -keyout new.key -out new.pem 2>&1 && mv new.key tls.key && mv new.pem tls.pem", in: fixture.dir
        )
        try #require(renewed.status == 0, "\(renewed.stdout)")
        kill(server.process.processIdentifier, SIGHUP)
        var renewedServed = false
        for _ in 0..<50 where !renewedServed {
            Thread.sleep(forTimeInterval: 0.1)
            renewedServed = fixture.remote(["log"], server: server, env: ["GIGALEDGER_SERVER_CA": fixture.dir.file("tls.pem")]).status == 0
        }
        #expect(renewedServed, "the renewed certificate is served after SIGHUP")
        let old = fixture.remote(["log", "--lock-wait", "1"], server: server, env: ["GIGALEDGER_SERVER_CA": fixture.dir.file("old-ca.pem")])
        #expect(old.status == 2 && old.stderr.contains("cannot reach the server"), "\(old.stderr)")
        server.stop()
        let misnamed = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--tls-cert", "other.pem", "--tls-key", "other.key"])
        let wrongName = Binary.run(["log", "--server", misnamed.url, "--server-ca", fixture.dir.file("other.pem")], in: fixture.dir)
        misnamed.stop()
        #expect(wrongName.status == 2 && wrongName.stderr.contains("its TLS certificate is not issued for 127.0.0.1"), "\(wrongName.stderr)")
        #expect(wrongName.stderr.split(separator: "\n").count == 1 && !wrongName.stderr.contains("Error"), "\(wrongName.stderr)")
        let verified = try fixture.cli.expectOK(["verify"])
        #expect(verified.stdout.contains("verified: 6 entries"), "\(verified.stdout)")
    }

    /// Issue 28, case 6: the log key rotated without a restart. The new key enrolled, its file put
    /// in place of the old one, SIGHUP: the server signs with it, so the old key's revocation,
    /// refused through the server before (it signed with it), is accepted, and officers' clients,
    /// which judge keys from their own copies, go on. A key file that may not sign (not enrolled)
    /// changes nothing: the server goes on with the key it has.
    @Test func theLogKeyRotatesOnSIGHUPWithoutARestart() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        try #require(fixture.remote(fixture.payment(ref: "R-1"), server: server).status == 0)
        try fixture.cli.expectOK(["key", "generate", "--out", "log-2", "--unencrypted"])
        try fixture.cli.expectOK(["key", "generate", "--out", "stranger", "--unencrypted"])
        let enrolled = fixture.remote(
            ["key", "enroll", "--key", "authority.key", "--pub", "log-2.pub", "--name", "log key 2", "--role", "log"], server: server)
        try #require(enrolled.status == 0, "\(enrolled.stderr)")
        let old = try KeyFiles.readPublic(path: fixture.dir.file("log.pub")).id.description
        let revoke = ["key", "revoke", "--key", "authority.key", "--id", old, "--reason", "rotated"]
        let early = fixture.remote(revoke, server: server)
        #expect(early.status == 65 && early.stderr.contains("is the log key this server signs with"), "\(early.stderr)")
        // A key that may not sign: SIGHUP changes nothing.
        try FileManager.default.copyItem(atPath: fixture.dir.file("log.key"), toPath: fixture.dir.file("log-1.key"))
        try FileManager.default.removeItem(atPath: fixture.dir.file("log.key"))
        try FileManager.default.copyItem(atPath: fixture.dir.file("stranger.key"), toPath: fixture.dir.file("log.key"))
        kill(server.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(server.process.isRunning)
        let stillOld = fixture.remote(revoke, server: server)
        #expect(stillOld.status == 65 && stillOld.stderr.contains("is the log key this server signs with"), "\(stillOld.stderr)")
        try FileManager.default.removeItem(atPath: fixture.dir.file("log.key"))
        try FileManager.default.copyItem(atPath: fixture.dir.file("log-2.key"), toPath: fixture.dir.file("log.key"))
        kill(server.process.processIdentifier, SIGHUP)
        var revoked = fixture.remote(revoke, server: server)
        for _ in 0..<50 where revoked.status != 0 {
            Thread.sleep(forTimeInterval: 0.1)
            revoked = fixture.remote(revoke, server: server)
        }
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let after = fixture.remote(fixture.payment(ref: "R-2"), server: server)
        #expect(after.status == 0, "signed after a checkpoint of the new key: \(after.stderr)")
        server.stop()
        try fixture.cli.expectOK(["verify"])
    }

    /// What is refused before anything is sent or made: file commands and `init` given a server,
    /// `import --dry-run` through one, a URL holding a password (never echoed).
    @Test func serverOptionsThatCannotApplyAreRefused() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        let before = try rawHTTP(server.url, request: httpRequest("GET", "/health")).body
        let verify = fixture.remote(["verify"], server: server)
        #expect(verify.status == 65 && verify.stderr.contains("works on a ledger file, not a server"), "\(verify.stderr)")
        // `serve` serves its own file, never another server (it once took the option silently).
        let serve = fixture.remote(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0"], server: server)
        #expect(serve.status == 65 && serve.stderr.contains("works on a ledger file, not a server"), "\(serve.stderr)")
        let empty = fixture.cli.run(["verify", "--server", ""])
        #expect(empty.status == 65 && empty.stderr.contains("server") && empty.stderr.contains("is empty"), "\(empty.stderr)")
        // A ledger named in the environment is the file for a file-only command, GIGALEDGER_SERVER or not.
        let named = fixture.cli.run(["verify"], env: ["GIGALEDGER_SERVER": server.url])
        #expect(named.status == 0, "\(named.stderr)")
        let made = fixture.dir.file("new.sqlite")
        let initialised = fixture.cli.run([
            "init", "--ledger", made, "--key", "authority.key", "--origin", "new.example/ledger", "--server", server.url,
        ])
        #expect(initialised.status == 65 && !FileManager.default.fileExists(atPath: made), "\(initialised.stderr)")
        fixture.dir.write(
            "one.csv", "type,factory,source,kind,category,amount,date,ref\ncontribution,de-jupiter,ms:DE,payment,capex,10.00,2026-03-02,D-1\n")
        let dry = fixture.remote(["import", "one.csv", "--key", "officer.key", "--dry-run"], server: server)
        #expect(dry.status == 65 && dry.stderr.contains("--dry-run works on a ledger file"), "\(dry.stderr)")
        let secret = fixture.cli.run(
            fixture.payment(ref: "D-2") + ["--server", server.url.replacingOccurrences(of: "http://", with: "http://user:hunter2hunter2@")],
            env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        #expect(
            secret.status == 65 && secret.stderr.contains("holds a user name or password") && !secret.stderr.contains("hunter2"), "\(secret.stderr)")
        #expect(try rawHTTP(server.url, request: httpRequest("GET", "/health")).body == before, "nothing written")
        server.stop()
    }

    /// A replica pinned to another authority key refuses the server's ledger, and makes no file.
    @Test func aReplicaRefusesAnotherAuthority() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        try fixture.cli.expectOK(["key", "generate", "--out", "stranger", "--unencrypted"])
        let replica = fixture.dir.file("replica.sqlite")
        let refused = fixture.cli.run(["sync", "--from", server.url, "--ledger", replica, "--authority-key", "stranger.pub"])
        #expect(refused.status == 1 && refused.stderr.contains("not the ledger you trust"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: replica))
        server.stop()
    }
}
