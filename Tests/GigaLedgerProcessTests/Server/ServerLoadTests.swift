import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// Offices appending at once through one server, and the server killed under that load: nothing
/// acknowledged is lost, nothing recorded twice, the chain never forks.
@Suite(.serialized) struct ServerLoadTests {
    /// Officer processes (`officers` keys, each a shell loop of real `gigaledger` commands).
    static let officers = 8

    /// A ledger with `officers` unencrypted officer keys scoped to ms:DE, and a log key.
    static func fixture() throws -> ServerFixture {
        let fixture = try ServerFixture()
        for n in 1...officers {
            try fixture.cli.expectOK(["key", "generate", "--out", "o\(n)", "--unencrypted"])
            try fixture.cli.expectOK([
                "key", "enroll", "--key", "authority.key", "--pub", "o\(n).pub", "--name", "officer \(n)", "--role", "officer", "--scope", "ms:DE",
            ])
        }
        return fixture
    }

    /// Starts the officers' loops: officer k records payments with refs `O<k>-<i>` for i in 1...`each`;
    /// each prints `ACK <ref>` when the command exited 0 (the entry was acknowledged). `port` is
    /// read from a file each time, so a restarted server on a new port is found.
    static func startOfficers(_ fixture: ServerFixture, each: Int, portFile: String) throws -> [Process] {
        try (1...officers).map { k in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [
                "-c",
                """
                for i in $(seq 1 \(each)); do
                  url=$(cat '\(portFile)')
                  if '\(Binary.path)' contribution record --key o\(k).key --factory de-jupiter --source ms:DE --amount $((\(k) * 1000 + i)).00 --date 2026-02-15 \
                       --category capex --kind payment --ref O\(k)-$i --server "$url" --lock-wait 60 >/dev/null 2>>errors-\(k).txt; then echo "ACK O\(k)-$i"; fi
                done
                """,
            ]
            process.currentDirectoryURL = fixture.dir.url
            // Each office on a machine of its own: its own configuration folder, its own verified copy.
            // `--lock-wait 60`: 8 processes appending back to back on 2 shared cores, beside the other
            // stress suites, each bringing its copy up after every conflict, may lose races for more
            // than the default 10 s (3 of 2,000 did); what is tested is that nothing is lost or forked.
            process.environment = ["PATH": "/usr/bin:/bin", "HOME": fixture.dir.path, "XDG_CONFIG_HOME": fixture.dir.file("office-\(k)")]
            process.standardOutput =
                FileHandle(forWritingAtPath: fixture.dir.file("acks-\(k).txt"))
                ?? {
                    FileManager.default.createFile(atPath: fixture.dir.file("acks-\(k).txt"), contents: nil)
                    return FileHandle(forWritingAtPath: fixture.dir.file("acks-\(k).txt"))!
                }()
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return process
        }
    }

    /// The refs of the contributions in the ledger, in order.
    static func refs(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM entries WHERE type = 'contribution' ORDER BY seq").compactMap { data in
                guard case .contribution(let item) = try EntryBody.decode([UInt8](data)).data else { return nil }
                return item.ref
            }
        }
    }

    static func acknowledged(_ fixture: ServerFixture) throws -> [String] {
        try (1...officers).flatMap { k in
            try String(contentsOfFile: fixture.dir.file("acks-\(k).txt"), encoding: .utf8).split(separator: "\n").map { String($0.dropFirst(4)) }
        }
    }

    /// 8 officers, 2,000 entries through one server (`make stress`; 96 in `make test`): each present once, the chain verified.
    @Test func eightOfficersAppendAtOnce() throws {
        let fixture = try Self.fixture()
        let server = try fixture.start()
        let portFile = fixture.dir.file("server-url")
        try server.url.write(toFile: portFile, atomically: true, encoding: .utf8)
        let each = Stress.count("GIGALEDGER_SERVER_LOAD", quick: 12, full: 250)
        let started = Date()
        let officers = try Self.startOfficers(fixture, each: each, portFile: portFile)
        for officer in officers { officer.waitUntilExit() }
        let seconds = Date().timeIntervalSince(started)
        server.stop()
        let acks = try Self.acknowledged(fixture)
        let refs = try Self.refs(fixture.ledger)
        let errors = (1...Self.officers).compactMap { try? String(contentsOfFile: fixture.dir.file("errors-\($0).txt"), encoding: .utf8) }.joined()
        #expect(acks.count == Self.officers * each, "every append acknowledged: \(acks.count)")
        #expect(errors.isEmpty, "\(errors.split(separator: "\n").prefix(5).joined(separator: "\n"))")
        #expect(Set(refs).count == refs.count, "no entry twice")
        #expect(Set(acks).isSubset(of: Set(refs)), "every acknowledged entry is in the ledger")
        try fixture.cli.expectOK(["verify"])
        print(
            "FIGURE server appends: \(refs.count) entries by \(Self.officers) officer processes in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(refs.count) / seconds)) appends/s, one process per entry)"
        )
    }

    /// The server killed with SIGKILL at random moments under that load, and restarted each time:
    /// every entry a client reported as recorded is there, none twice, and the ledger verifies.
    @Test func killedServersLoseNothingAcknowledged() throws {
        let kills = Stress.count("GIGALEDGER_SERVER_KILLS", quick: 3, full: 30)
        let fixture = try Self.fixture()
        var server = try fixture.start()
        let portFile = fixture.dir.file("server-url")
        try server.url.write(toFile: portFile, atomically: true, encoding: .utf8)
        let officers = try Self.startOfficers(fixture, each: 20 + kills * 2, portFile: portFile)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<kills {
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.4, using: &generator))
            server.kill()
            server = try fixture.start()
            try server.url.write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        for officer in officers { officer.waitUntilExit() }
        server.stop()
        let acks = try Self.acknowledged(fixture)
        let refs = try Self.refs(fixture.ledger)
        #expect(!acks.isEmpty)
        #expect(Set(refs).count == refs.count, "no entry twice")
        let lost = Set(acks).subtracting(refs)
        #expect(lost.isEmpty, "acknowledged and lost: \(lost.sorted().prefix(10))")
        try fixture.cli.expectOK(["verify"])
        print("FIGURE server kills: \(kills) SIGKILLs under load; \(acks.count) acknowledged, \(refs.count) recorded, none lost, none twice")
    }
}
