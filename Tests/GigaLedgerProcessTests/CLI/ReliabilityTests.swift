import Foundation
import GRDB
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

#if canImport(Glibc)
import Glibc
import GigaLedgerTestSupport
#endif

/// What real offices do to a ledger: kills mid-import, officers at the same minute, a held lock,
/// keys from elsewhere. Each test prints its figure (README, "What GigaLedger promises").
@Suite(.serialized) struct ReliabilityTests {
    static func spawn(_ arguments: [String], in dir: TempDir, env: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        process.environment = ["PATH": "/usr/bin:/bin"].merging(env) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGKILL `gigaledger import` at random moments; after each kill the ledger verifies and holds
    /// none or all of the file's rows: 4 in `make test`, 30 in `make stress`, GIGALEDGER_CRASH_KILLS
    /// sets how many (`make crash` runs 100).
    @Test func killedImportsLeaveNoneOrAllRows() throws {
        let kills = Stress.count("GIGALEDGER_CRASH_KILLS", quick: 4, full: 30)
        let rowsPerFile = 2_000
        let fixture = try CLIFixture()
        fixture.dir.write(
            "rows.csv",
            ImportCommandTests.header
                + (1...rowsPerFile).map {
                    "contribution,de-jupiter,2026-02-01,eu,\($0).00,capex,payment,R-\($0),,,,,\n"
                }.joined(), mode: 0o644)
        try fixture.expectOK(["backup", "--out", "base.sqlite"])
        let baseCount: Int64 = 4
        // One undisturbed run tells how long an import takes here.
        try FileManager.default.copyItem(atPath: fixture.dir.file("base.sqlite"), toPath: fixture.dir.file("timing.sqlite"))
        let started = Date()
        try fixture.expectOK(["import", "rows.csv", "--key", "authority.key", "--ledger", "timing.sqlite"])
        let duration = Date().timeIntervalSince(started)
        var random = SeededRandom(state: 2026)
        var midway = 0, completed = 0
        for round in 0..<kills {
            let work = fixture.dir.file("work\(round).sqlite")
            try FileManager.default.copyItem(atPath: fixture.dir.file("base.sqlite"), toPath: work)
            let process = try Self.spawn(["import", "rows.csv", "--key", "authority.key", "--ledger", work], in: fixture.dir)
            usleep(useconds_t(Double.random(in: 0.05...1.3, using: &random) * duration * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let report = try Ledger.open(path: work, forWriting: false).verify()
            #expect(report.isVerified, "round \(round): \(String(describing: report.failure))")
            #expect(
                report.verifiedCount == baseCount || report.verifiedCount == baseCount + Int64(rowsPerFile) + 1,
                "round \(round): \(report.verifiedCount) entries")
            if report.verifiedCount == baseCount { midway += 1 } else { completed += 1 }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: work + suffix) }
        }
        print(
            "FIGURE crash: \(kills) SIGKILLs during imports of \(rowsPerFile) rows: \(midway) mid-import left none, \(completed) had committed all; every ledger verified"
        )
    }

    /// Eight officers' processes recording at once: every entry exactly once, one unforked chain.
    @Test func eightConcurrentWritersNeverFork() throws {
        let fixture = try CLIFixture()
        let writers = 8, each = Stress.count(quick: 25, full: 250)
        let processes = try (0..<writers).map { writer -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [
                "-c",
                """
                i=1; while [ $i -le \(each) ]; do
                  "$GIGALEDGER" contribution record --key authority.key --factory de-jupiter --source eu --amount \(writer + 1)$(printf %06d $i).00 \
                    --date 2026-01-01 --category opex --kind payment --ref w\(writer)-$i >/dev/null || exit 1
                  i=$((i + 1))
                done
                """,
            ]
            process.currentDirectoryURL = fixture.dir.url
            process.environment = ["PATH": "/usr/bin:/bin", "GIGALEDGER": Binary.path, "GIGALEDGER_LEDGER": "ledger.sqlite"]
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let report = try Ledger.open(path: fixture.dir.file("ledger.sqlite"), forWriting: false).verify()
        #expect(report.isVerified)
        #expect(report.verifiedCount == Int64(4 + writers * each))
        let counts = shell(
            "sqlite3 ledger.sqlite \"SELECT COUNT(DISTINCT prev_hash), COUNT(*), COUNT(DISTINCT json_extract(CAST(body AS TEXT), '$.data.ref')) FROM entries WHERE type = 'contribution'\"",
            in: fixture.dir)
        #expect(counts.stdout == "\(writers * each)|\(writers * each)|\(writers * each)\n")
        print("FIGURE concurrency: \(writers) processes, \(writers * each) entries, each present once, no shared predecessor, chain verified")
    }

    /// A writer that waits too long for the lock fails with "busy, retry" and writes nothing.
    @Test func aWriterThatWaitsTooLongGivesUp() throws {
        let fixture = try CLIFixture()
        let holder = try DatabaseQueue(path: fixture.dir.file("ledger.sqlite"))
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            let result = fixture.run(fixture.contributionArguments + ["--lock-wait", "0.5"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("is busy (another process holds the write lock); nothing was written, retry"))
            try db.execute(sql: "ROLLBACK")
        }
        #expect(fixture.state().contains(#""entries":4"#))
        try fixture.expectOK(fixture.contributionArguments)
    }

    /// A key copied from another ledger, a truncated key file: each a clear refusal, nothing written.
    @Test func foreignAndDamagedKeysAreRefused() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        try fixture.expectOK(["key", "generate", "--out", "elsewhere", "--unencrypted"])
        var arguments = fixture.contributionArguments
        arguments[arguments.firstIndex(of: "authority.key")!] = "elsewhere.key"
        let foreign = fixture.run(arguments)
        #expect(foreign.status == 65)
        #expect(foreign.stderr.contains("is not an enrolled key"))
        _ = shell("head -c 100 authority.key > cut.key && chmod 600 cut.key", in: fixture.dir)
        arguments[arguments.firstIndex(of: "elsewhere.key")!] = "cut.key"
        let cut = fixture.run(arguments)
        #expect(cut.status == 2)
        #expect(cut.stderr.contains("cut.key"))
        #expect(fixture.state() == before)
    }
}
