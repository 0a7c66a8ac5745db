import Foundation
import GigaLedgerTestSupport
import Synchronization
import Testing

@testable import GigaLedgerCore

/// A `gigaledger witness serve` process on 127.0.0.1 with a free port.
final class WitnessProcess: @unchecked Sendable {
    let process = Process()
    let url: String

    init(
        dir: TempDir, key: String, name: String, state: String, logs: [String], port: Int = 0, extra: [String] = [], env: [String: String] = [:]
    ) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments =
            ["witness", "serve", "--key", key, "--name", name, "--state", state, "--listen", "127.0.0.1:\(port)"] + logs.flatMap { ["--log", $0] }
            + extra
        process.currentDirectoryURL = dir.url
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path].merging(env) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        guard let text = firstLine(of: output.fileHandleForReading) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ServerStartFailure(output: "the witness printed no address")
        }
        guard let range = text.range(of: "https://") ?? text.range(of: "http://") else { throw ServerStartFailure(output: text) }
        url = String(text[range.lowerBound...])
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Witnesses (C2SP tlog-witness): an auditor's service cosigns the log's checkpoints while they
/// stay consistent; the server keeps the cosignatures; receipts and syncs require them; a fork is
/// refused with evidence; and the state never rolls back under concurrent requests.
@Suite(.serialized) struct WitnessTests {
    /// `fixture` plus an auditor key enrolled, whose witness follows the log key.
    func witnessed(_ fixture: ServerFixture) throws -> (WitnessProcess, String) {
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        let witness = try WitnessProcess(
            dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("witness-state"),
            logs: ["test.example/ledger=log.pub"])
        return (witness, "coa.example/witness=\(witness.url)=witness.pub")
    }

    /// Waits (bounded by `seconds`) until `process` has ended; whether it has. A server asks a
    /// witness that failed (timed out on a loaded machine) again after a pause that doubles up to
    /// `Witnessing.retrySecondsMax` (30 s): the bounds leave room for a few such pauses.
    func stops(_ process: Process, within seconds: Double) -> Bool {
        for _ in 0..<Int(seconds * 10) where process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        return !process.isRunning
    }

    /// Waits (bounded) until `condition` holds.
    func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<100 {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    @Test func theServerKeepsItsWitnessesCosignatures() throws {
        let fixture = try ServerFixture()
        let (witness, option) = try witnessed(fixture)
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        try #require(fixture.remote(fixture.payment(ref: "W-1"), server: server).status == 0)
        #expect(
            try eventually {
                try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.hasPrefix("test.example/ledger\n7\n")
                    && rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("\n— coa.example/witness ")
            })
        // A receipt through the server carries the cosignature; check-receipt requires it.
        let proved = fixture.remote(["prove", "--entry", "7", "--out", "r7.txt", "--authority-key", "authority.pub"], server: server)
        #expect(proved.status == 0, "\(proved.stderr)")
        let checked = fixture.cli.run(["check-receipt", "r7.txt", "--ledger-key", "authority.pub", "--witness", "witness.pub"])
        #expect(checked.status == 0, "\(checked.stdout) \(checked.stderr)")
        let copy = fixture.dir.file("copy.sqlite")
        let synced = fixture.cli.run(
            ["sync", "--from", server.url, "--ledger", copy, "--authority-key", "authority.pub", "--witness", "witness.pub"],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        #expect(synced.status == 0, "\(synced.stdout) \(synced.stderr)")
        let unmet = fixture.cli.run(
            [
                "sync", "--from", server.url, "--ledger", fixture.dir.file("copy2.sqlite"), "--authority-key", "authority.pub",
                "--witness", "witness.pub", "--witness", "officer.pub",
            ], env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        #expect(unmet.status == 2 && unmet.stderr.contains("cosigned by 2 of the 2 witnesses"), "\(unmet.stderr)")
        server.stop()
        witness.stop()
        // The stored cosignatures verify as an auditor's.
        let verified = try fixture.cli.expectOK(["verify", "--witness", "witness.pub"])
        #expect(verified.stdout.contains("verified"), "\(verified.stdout)")
    }

    /// Issue 34: a witness over HTTPS with a certificate of the auditors' own CA, which the server
    /// is told to trust (`--witness-ca`), cosigns the server's checkpoints; bad TLS files and
    /// options are refused in one line at start.
    @Test func aWitnessOverTLSCosignsTheServersCheckpoints() throws {
        let fixture = try ServerFixture()
        let made = shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
                + "-addext subjectAltName=IP:127.0.0.1 -keyout witness-tls.key -out witness-ca.pem 2>&1", in: fixture.dir)
        try #require(made.status == 0, "\(made.stdout)")
        // Bad TLS options: one line each, before anything listens.
        let half = fixture.cli.run([
            "witness", "serve", "--key", "x.key", "--name", "n", "--state", "s", "--log", "o=p", "--tls-cert", "witness-ca.pem",
        ])
        #expect(half.status == 64 && half.stderr.contains("--tls-key is missing"), "\(half.stderr)")
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        let notPEM = fixture.cli.run(
            [
                "witness", "serve", "--key", "witness.key", "--name", "coa.example/witness", "--state", "ws", "--log", "test.example/ledger=log.pub",
                "--listen", "127.0.0.1:0", "--tls-cert", "witness.pub", "--tls-key", "witness-tls.key",
            ])
        #expect(notPEM.status == 2 && notPEM.stderr.split(separator: "\n").count == 1, "\(notPEM.stderr)")
        #expect(
            notPEM.stderr.contains("TLS certificate witness.pub: holds no PEM certificate") && !notPEM.stderr.contains("NIOSSL"), "\(notPEM.stderr)")
        let witness = try WitnessProcess(
            dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("witness-state"),
            logs: ["test.example/ledger=log.pub"], extra: ["--tls-cert", "witness-ca.pem", "--tls-key", "witness-tls.key"])
        defer { witness.stop() }
        #expect(witness.url.hasPrefix("https://127.0.0.1:"), "\(witness.url)")
        let option = "coa.example/witness=\(witness.url)=witness.pub"
        let badCA = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--witness", option, "--witness-ca", "witness.pub"])
        #expect(badCA.status == 2 && badCA.stderr.contains("holds no PEM certificate"), "\(badCA.stderr)")
        let server = try ServerProcess(
            dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option, "--witness-ca", fixture.dir.file("witness-ca.pem")])
        try #require(fixture.remote(fixture.payment(ref: "WT-1"), server: server).status == 0)
        #expect(
            try eventually {
                let body = try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body
                return body.hasPrefix("test.example/ledger\n7\n") && body.contains("\n— coa.example/witness ")
            })
        server.stop()
        let verified = try fixture.cli.expectOK(["verify", "--witness", "witness.pub"])
        #expect(verified.stdout.contains("verified"), "\(verified.stdout)")
    }

    /// Issue 28, case 6: the log key rotated as the runbook says, the witness first: its `--log`
    /// file gets the new key beside the old one and a SIGHUP (no restart), and it cosigns the
    /// checkpoints the new key signs; before that, it refused them.
    @Test func aWitnessFollowsALogKeyRotationOnSIGHUP() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        try fixture.cli.expectOK(["key", "generate", "--out", "log-2", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "log-2.pub", "--name", "log key 2", "--role", "log"])
        try FileManager.default.copyItem(atPath: fixture.dir.file("log.pub"), toPath: fixture.dir.file("followed.pub"))
        let witness = try WitnessProcess(
            dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("witness-state"),
            logs: ["test.example/ledger=followed.pub"])
        defer { witness.stop() }
        let server = try ServerProcess(
            dir: fixture.dir, ledger: fixture.ledger,
            extra: ["--log-key", "log-2.key", "--witness", "coa.example/witness=\(witness.url)=witness.pub"])
        defer { server.stop() }
        func cosigned() throws -> Bool {
            try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("\n— coa.example/witness ")
        }
        try #require(fixture.remote(fixture.payment(ref: "W-1"), server: server).status == 0)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try !cosigned(), "the new log key is not followed yet")
        let both =
            try String(contentsOfFile: fixture.dir.file("log.pub"), encoding: .utf8)
            + String(contentsOfFile: fixture.dir.file("log-2.pub"), encoding: .utf8)
        try both.write(toFile: fixture.dir.file("followed.pub"), atomically: true, encoding: .utf8)
        kill(witness.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(witness.process.isRunning, "SIGHUP reloads, it does not stop the witness")
        try #require(fixture.remote(fixture.payment(ref: "W-2"), server: server).status == 0)
        #expect(try eventually { try cosigned() })
        kill(server.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(server.process.isRunning, "SIGHUP does not stop the server")
    }

    /// A witness that was down: the checkpoint kept meanwhile has no cosignature, and a copy takes
    /// it so; once the witness is back and has cosigned it, the next sync brings the cosignature,
    /// and `sync --witness` is then up to date (exit 0), not a finding. `key export` gives the log key.
    @Test func aLateCosignatureReachesTheCopies() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        let port = try freePort()
        let option = "coa.example/witness=http://127.0.0.1:\(port)=witness.pub"
        var server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        try #require(fixture.remote(fixture.payment(ref: "L-1"), server: server).status == 0)
        #expect(try eventually { try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.hasPrefix("test.example/ledger\n7\n") })
        let copy = fixture.dir.file("copy.sqlite")
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("auditor")]
        try fixture.cli.expectOK(["sync", "--from", server.url, "--ledger", copy, "--authority-key", "authority.pub"], env: auditor)
        let down = fixture.cli.run(["sync", "--from", server.url, "--ledger", copy, "--witness", "witness.pub"], env: auditor)
        #expect(down.status == 2 && down.stderr.contains("retry later"), "\(down.stdout) \(down.stderr)")
        server.stop()
        let witness = try WitnessProcess(
            dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("witness-state"),
            logs: ["test.example/ledger=log.pub"], port: port)
        server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        #expect(try eventually { try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("— coa.example/witness ") })
        let caughtUp = fixture.cli.run(["sync", "--from", server.url, "--ledger", copy, "--witness", "witness.pub"], env: auditor)
        #expect(
            caughtUp.status == 0 && caughtUp.stdout.contains("0 new entries") && caughtUp.stdout.contains("is cosigned by 1 of the 1 witnesses"),
            "\(caughtUp.stdout) \(caughtUp.stderr)")
        try fixture.cli.expectOK(["verify", "--ledger", copy, "--witness", "witness.pub"], env: auditor)
        // The log key, as the authority enrolled it, for the independent tile reader.
        let logID = try #require(
            fixture.cli.run(["key", "list", "--ledger", copy], env: auditor).stdout.split(separator: "\n").first { $0.contains("  log ") }.map {
                String($0.prefix(16))
            })
        try fixture.cli.expectOK(["key", "export", "--ledger", copy, "--id", logID, "--out", "exported-log.pub"], env: auditor)
        #expect(
            try String(contentsOfFile: fixture.dir.file("exported-log.pub"), encoding: .utf8)
                == String(contentsOfFile: fixture.dir.file("log.pub"), encoding: .utf8))
        server.stop()
        witness.stop()
    }

    /// A server on a forked copy (another entry at the same place) signs with the same log key;
    /// the witness that cosigned the original refuses it and keeps the evidence, and the forked
    /// server, told so, stops.
    @Test func aWitnessRefusesAFork() throws {
        let fixture = try ServerFixture()
        let (witness, option) = try witnessed(fixture)
        let fork = fixture.dir.file("fork.sqlite")
        try fixture.cli.expectOK(["backup", "--out", fork])
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        try #require(fixture.remote(fixture.payment(ref: "F-1"), server: server).status == 0)
        #expect(
            try eventually {
                try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("— coa.example/witness ")
                    && String(
                        contentsOfFile: fixture.dir.file("witness-state/test.example_ledger.cosigned"), encoding: .utf8
                    ).hasPrefix("test.example/ledger\n7\n")
            })
        server.stop()
        try fixture.cli.expectOK([
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "5.00",
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", "OTHER", "--ledger", fork,
        ])
        let forked = try ServerProcess(dir: fixture.dir, ledger: fork, extra: ["--witness", option])
        #expect(
            try eventually {
                (try? FileManager.default.contentsOfDirectory(atPath: fixture.dir.file("witness-state")))?.contains { $0.hasPrefix("evidence-") }
                    == true
            })
        // The forked server learns that the witness refused its history, and stops (exit 2).
        #expect(stops(forked.process, within: 90))
        forked.stop()
        #expect(forked.process.terminationStatus == 2 && forked.process.terminationReason == .exit, "\(forked.log)")
        witness.stop()
        #expect(
            try String(contentsOfFile: fixture.dir.file("witness-state/test.example_ledger.cosigned"), encoding: .utf8).hasPrefix(
                "test.example/ledger\n7\n"))
    }

    /// Issue 28, rollback guard: a server whose state folder was lost with its disk, restarted on
    /// a backup older than what its witness cosigned, learns the witness's size from its 409 at
    /// its first checkpoint, keeps it in the new state folder and stops (exit 2); started again, it
    /// refuses that ledger at once, naming the witness and the restore's way.
    @Test func aServerLearnsFromItsWitnessThatItsLedgerWasRolledBack() throws {
        let fixture = try ServerFixture()
        let (witness, option) = try witnessed(fixture)
        defer { witness.stop() }
        let backup = fixture.dir.file("backup.sqlite")
        try fixture.cli.expectOK(["backup", "--out", backup])
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        try #require(fixture.remote(fixture.payment(ref: "W-1"), server: server).status == 0)
        #expect(
            try eventually {
                let body = try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body
                return body.hasPrefix("test.example/ledger\n7\n") && body.contains("\n— coa.example/witness ")
            })
        server.stop()
        for suffix in ["", "-wal", "-shm", "-writer"] { try? FileManager.default.removeItem(atPath: fixture.ledger + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: fixture.ledger)
        let lostState = fixture.dir.file("new-disk-state")
        let restored = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option, "--state", lostState])
        #expect(stops(restored.process, within: 90), "the server stops once its witness says it cosigned more")
        restored.stop()
        #expect(restored.process.terminationStatus == 2, "\(restored.log)")
        let learnt = try FileManager.default.contentsOfDirectory(atPath: lostState).first { $0.hasSuffix(".witnessed") }
        let text = try String(contentsOfFile: lostState + "/" + #require(learnt), encoding: .utf8)
        #expect(text.hasSuffix(" 7 - coa.example/witness\n"), "\(text)")
        let refused = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", lostState, "--witness", option])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("the ledger holds 6 entries, fewer than the 7 witness coa.example/witness (key ")
                && refused.stderr.contains("Restoring a ledger") && !refused.stderr.contains("enrol"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
    }

    /// The hostile review's case: restored without its state folder and served without its witness,
    /// the server took new entries past the witness's size (another history). Served with the
    /// witness, it hears its size (409), then its refusal of the consistency proof from it (422): the server
    /// keeps that this history's first 7 entries are not the witnessed ones, stops, and refuses
    /// the ledger at its next start; a state folder it cannot write is refused at start.
    @Test(.disabled("intermittent under load: the server sometimes never learns the witness's refusal (issue 28 note, left)"))
    func aServerStopsWhenItsWitnessRefusesItsHistory() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        let backup = fixture.dir.file("backup.sqlite")
        try fixture.cli.expectOK(["backup", "--out", backup])
        let port = try freePort()
        let option = "coa.example/witness=http://127.0.0.1:\(port)=witness.pub"
        func startWitness() throws -> WitnessProcess {
            try WitnessProcess(
                dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("witness-state"),
                logs: ["test.example/ledger=log.pub"], port: port)
        }
        var witness = try startWitness()
        let server = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option])
        try #require(fixture.remote(fixture.payment(ref: "W-1"), server: server).status == 0)
        #expect(try eventually { try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body.contains("\n— coa.example/witness ") })
        server.stop()
        witness.stop()
        for suffix in ["", "-wal", "-shm", "-writer"] { try? FileManager.default.removeItem(atPath: fixture.ledger + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: fixture.ledger)
        let lostState = fixture.dir.file("new-disk-state")
        // Served without its witness at first (it was not reachable): new entries, another history.
        let unwitnessed = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--state", lostState])
        let newcomer = ["XDG_CONFIG_HOME": fixture.dir.file("newcomer")]
        try #require(fixture.remote(fixture.payment(ref: "OTHER-7"), server: unwitnessed, env: newcomer).status == 0)
        try #require(fixture.remote(fixture.payment(ref: "OTHER-8"), server: unwitnessed, env: newcomer).status == 0)
        unwitnessed.stop()
        // Then with it, reachable from the start: it asks for the latest kept checkpoint at once.
        witness = try startWitness()
        defer { witness.stop() }
        let restored = try ServerProcess(dir: fixture.dir, ledger: fixture.ledger, extra: ["--witness", option, "--state", lostState])
        #expect(stops(restored.process, within: 90), "the server stops once its witness refuses its history")
        restored.stop()
        #expect(restored.process.terminationStatus == 2, "\(restored.log)")
        let refused = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", lostState])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("the ledger's first 7 entries are not those witness coa.example/witness (key ")
                && refused.stderr.contains("move ") && refused.stderr.contains("aside knowingly"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        // A state folder the server cannot write: refused at start, not a guard that keeps nothing.
        let locked = fixture.dir.file("locked-state")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        chmod(locked, 0o500)
        defer { chmod(locked, 0o700) }
        if getuid() != 0 {
            let unwritable = fixture.cli.run(["serve", "--log-key", "log.key", "--listen", "127.0.0.1:0", "--state", locked])
            #expect(unwritable.status == 2 && unwritable.stderr.contains("cannot be written (--state)"), "\(unwritable.stderr)")
        }
    }

    /// The spec's race: requests from the same old size for sizes N and N+K at once. Only one is
    /// cosigned; the others are told the size now held (409); the state never goes back.
    @Test func concurrentRequestsNeverRollTheStateBack() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "witness", "--unencrypted"])
        let small = try fixture.cli.expectOK(["checkpoint", "--key", "authority.key"]).stdout
        for ref in ["C-1", "C-2", "C-3"] {
            try fixture.cli.expectOK(fixture.payment(ref: ref), env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile])
        }
        try fixture.cli.expectOK(["checkpoint", "--key", "authority.key"])
        let notes = try fixture.cli.expectOK(["prove", "--entry", "1"]).stdout
        let large = String(notes[notes.range(of: "\ncheckpoint\n")!.upperBound...])
        let smallNote = String(small[small.range(of: "test.example/ledger\n")!.lowerBound...])
        let witness = try WitnessProcess(
            dir: fixture.dir, key: "witness.key", name: "coa.example/witness", state: fixture.dir.file("race-state"),
            logs: ["test.example/ledger=authority.pub"])
        let statuses = Mutex([Int]())
        let threads = (0..<8).map { index in
            Thread {
                let note = index % 2 == 0 ? smallNote : large
                let answer = try? rawHTTP(witness.url, request: httpRequest("POST", "/add-checkpoint", body: Array(("old 0\n\n" + note).utf8)))
                statuses.withLock { $0.append(answer?.status ?? 0) }
            }
        }
        threads.forEach { $0.start() }
        #expect(eventually { statuses.withLock { $0.count } == 8 })
        let seen = statuses.withLock { $0 }
        #expect(seen.filter { $0 == 200 }.count == 1 && seen.filter { $0 == 409 }.count == 7, "\(seen)")
        let held = try String(contentsOfFile: fixture.dir.file("race-state/test.example_ledger.cosigned"), encoding: .utf8)
        // From the size held, the larger checkpoint is cosigned with its proof; the smaller never again.
        let heldSize = Int(held.split(separator: "\n")[1])!
        let stale = try rawHTTP(witness.url, request: httpRequest("POST", "/add-checkpoint", body: Array(("old 0\n\n" + smallNote).utf8)))
        #expect(stale.status == 409 && stale.body == "\(heldSize)\n", "\(stale.status) \(stale.body)")
        // A false proof with a real checkpoint (anyone can send one): 422, and no "evidence" kept.
        if heldSize < 8 {
            let junk = try rawHTTP(
                witness.url,
                request: httpRequest(
                    "POST", "/add-checkpoint",
                    body: Array(
                        ("old \(heldSize)\n" + String(repeating: Encoding.base64([UInt8](repeating: 7, count: 32)) + "\n", count: 3) + "\n" + large)
                            .utf8)))
            #expect(junk.status == 422, "\(junk.status) \(junk.body)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.file("race-state")).filter { $0.hasPrefix("evidence-") }.isEmpty)
        }
        let unknown = try rawHTTP(
            witness.url,
            request: httpRequest(
                "POST", "/add-checkpoint",
                body: Array(("old 0\n\n" + large.replacingOccurrences(of: "test.example/ledger\n", with: "other.example/x\n")).utf8)))
        #expect(unknown.status == 404 || unknown.status == 400, "\(unknown.status) \(unknown.body)")
        let garbage = try rawHTTP(witness.url, request: httpRequest("POST", "/add-checkpoint", body: Array("old x\n\nnot a note".utf8)))
        #expect(garbage.status == 400, "\(garbage.status) \(garbage.body)")
        witness.stop()
    }
}
