import Foundation
import GRDB
import GigaLedgerCore
import GigaLedgerKit
import GigaLedgerStore
import Testing

/// A fresh temporary folder per test, removed when the value is released.
package final class TempDir: Sendable {
    package let url: URL
    package var path: String { url.path }

    package init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("gigaledger-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    package func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Copies every file and folder of this folder (hidden ones too) into `other`.
    package func copy(into other: TempDir) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            try FileManager.default.copyItem(atPath: file(name), toPath: other.file(name))
        }
    }

    package func write(_ name: String, _ text: String, mode: Int = 0o600) {
        precondition(
            FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8), attributes: [.posixPermissions: mode]),
            "TempDir.write: cannot create \(name)")
    }
}

/// The counts of the long loops (SIGKILLs, officers' processes, rows of a large file): small in
/// `make test`, which runs before every commit, and full in `make stress` (`GIGALEDGER_STRESS=1`),
/// which `.ci/run` runs after it. Each path is exercised by both; only the count differs.
package enum Stress {
    package static let enabled = ProcessInfo.processInfo.environment["GIGALEDGER_STRESS"] == "1"

    /// `quick` in `make test`, `full` in `make stress`; an environment variable `name`, when set, overrides both.
    package static func count(_ name: String? = nil, quick: Int, full: Int) -> Int {
        if let name, let value = ProcessInfo.processInfo.environment[name].flatMap({ Int($0) }) { return value }
        return enabled ? full : quick
    }
}

/// The result of running the real `gigaledger` binary.
package struct Run {
    package let status: Int32
    package let stdout: String
    package let stderr: String

    package init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

package enum Binary {
    /// The built executable, beside the test bundle in the build products folder.
    package static let path: String = {
        if let path = ProcessInfo.processInfo.environment["GIGALEDGER_BIN"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("gigaledger").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/gigaledger").path
        return fromSource
    }()

    /// Runs `gigaledger ARGS` in `dir` with a clean environment plus `env`; no terminal, no stdin.
    /// A `serve` (or `witness serve`) run to see it refused is killed after this long if it
    /// serves after all: the test then fails on its status (137) instead of hanging the suite.
    package static let serveRefusalSecondsMax = 120

    /// Any other run is killed after this long: a command that hangs fails its test (status 137)
    /// and the suite goes on, instead of holding the run until CI's own limit stops it unnamed.
    package static let runSecondsMax = 900

    package static func run(_ arguments: [String], in dir: TempDir, env: [String: String] = [:]) -> Run {
        let process = Process()
        let serves = arguments.first == "serve" || arguments.prefix(2) == ["witness", "serve"]
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--signal=KILL", String(serves ? serveRefusalSecondsMax : runSecondsMax), path] + arguments
        process.currentDirectoryURL = dir.url
        var environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path]
        for (name, value) in env { environment[name] = value }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let run = runToEnd(process)
        if let name = libraryTypeName(in: run.stderr) {
            Issue.record(
                "a message names a library's type (\(name)), not what happened in words: gigaledger \(arguments.joined(separator: " ")): \(run.stderr)"
            )
        }
        return run
    }

    /// A library's type in a message (`HTTPClientError.remoteConnectionClosed`, `NIOSSLError`,
    /// `DatabaseError`, `Swift.DecodingError`): every message a test makes the binary print is read
    /// for one (issue 33). Nil when there is none.
    package static func libraryTypeName(in text: String) -> String? {
        let pattern =
            /(?:Swift\.|Foundation\.)?\b(?:[A-Z][A-Za-z0-9]*(?:Error|Exception)\.[a-z][A-Za-z0-9]*|NIO[A-Z][A-Za-z]+|PSQL[A-Z][A-Za-z]+|DatabaseError|CocoaError)\b/
        return text.firstMatch(of: pattern).map { String($0.output) }
    }
}

/// The first line a started server writes to `handle` (without its newline), or nil when it
/// closes the pipe first or writes no whole line within `seconds` (a server that hangs before it
/// listens fails its test instead of holding the suite).
package func firstLine(of handle: FileHandle, withinSeconds seconds: Double = 120) -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    var line = [UInt8]()
    var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
    while true {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return nil }
        let ready = poll(&descriptor, 1, Int32(min(left, 1) * 1000))
        if ready < 0 && errno != EINTR { return nil }
        guard ready > 0 else { continue }
        var byte: UInt8 = 0
        let count = read(handle.fileDescriptor, &byte, 1)
        if count < 0 && errno == EINTR { continue }
        guard count == 1 else { return nil }
        if byte == 0x0a { return String(decoding: line, as: UTF8.self) }
        line.append(byte)
    }
}

/// Runs a shell command line and returns its standard output and status.
package func shell(_ command: String, in dir: TempDir) -> Run {
    let process = Process()
    // Killed with what it started after `Binary.runSecondsMax`, as a command of the binary is.
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--signal=KILL", String(Binary.runSecondsMax), "/bin/sh", "-c", command]
    process.currentDirectoryURL = dir.url
    // The test's own home: the authority keys trusted on first use stay in the test's folder.
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = dir.path
    environment["XDG_CONFIG_HOME"] = nil
    process.environment = environment
    return runToEnd(process)
}

/// Runs `process` to its end with its standard output and error in files, not pipes: a process
/// another test starts meanwhile (a PostgreSQL server, a web server) inherits the descriptors
/// open at that moment, and one holding a pipe's write end kept a read to the pipe's end from
/// ending while it lived (a CI run that stalled on `aWrongCapexIsAmendedAndReportsFollow`).
package func runToEnd(_ process: Process) -> Run {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("gigaledger-run-\(UUID().uuidString)").path
    let outPath = base + ".out", errPath = base + ".err"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    let out = FileHandle(forWritingAtPath: outPath)!, err = FileHandle(forWritingAtPath: errPath)!
    process.standardOutput = out
    process.standardError = err
    try! process.run()
    try? out.close()
    try? err.close()
    process.waitUntilExit()
    let outData = FileManager.default.contents(atPath: outPath) ?? Data(), errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// A small ledger made through the library: an authority, a German officer, two factories,
/// a partner, contributions and access records.
package struct Fixture {
    package let dir = TempDir()
    package let authority = SigningKey.generate()
    package let officer = SigningKey.generate()
    package let ledger: Ledger
    package var path: String { ledger.path }

    package init(extraContributions: Int = 0) throws {
        (ledger, _) = try Ledger.create(path: dir.file("ledger.sqlite"), authority: authority, authorityName: "Authority", origin: "test/ledger")
        try ledger.append(
            .factoryRegister(
                Factory(id: "de-jupiter", name: "Jupiter AI Gigafactory", kind: .gigafactory, hosts: ["DE"], capex: Cents(350_000_000_000))),
            key: authority)
        try ledger.append(
            .factoryRegister(Factory(id: "fr-alps", name: "Alps AI Factory", kind: .aiFactory, hosts: ["FR", "IT"], capex: Cents(90_000_000_000))),
            key: authority)
        try ledger.append(.partnerRegister(Partner(id: "acme", name: "ACME Compute SE", country: "DE", isSME: false)), key: authority)
        try ledger.append(
            .keyEnroll(
                KeyEnrolment(
                    checking: officer.publicKey, name: "DE officer", role: .officer,
                    scopes: [.source(.memberState("DE")), .factory("de-jupiter")])), key: authority)
        try ledger.append(Self.contribution(source: .memberState("DE"), cents: 125_000_050), key: officer)
        try ledger.append(Self.contribution(source: .union, cents: 50_000_000_000), key: authority)
        try ledger.append(Self.contribution(source: .partner("acme"), cents: 70_000_000_000), key: authority)
        try ledger.append(
            .access(
                AccessGrant(
                    factory: "de-jupiter", beneficiary: "Tiny Robotics GmbH", category: .sme, gpuHours: 12_000,
                    date: CalendarDate.parse("2026-03-01", field: "date"), pool: .union, isCommercial: false, charge: Cents(0))), key: officer)
        for index in 0..<extraContributions {
            try ledger.append(Self.contribution(source: .memberState("DE"), cents: Int64(1_000 + index)), key: officer)
        }
    }

    package static func contribution(source: Source, cents: Int64) throws -> EntryData {
        .contribution(
            try Contribution(
                factory: "de-jupiter", source: source, amount: Cents(cents), date: CalendarDate.parse("2026-02-15", field: "date"),
                category: .capex, kind: .payment, ref: "REF-\(cents)"))
    }

    /// Runs raw SQL with the append-only triggers dropped, then puts them back, as a tamperer
    /// covering their tracks would (the schema check finds triggers left dropped: `dropTriggers`).
    package func tamper(_ sql: String, arguments: StatementArguments = []) throws {
        try tamperFile(path) { try $0.execute(sql: sql, arguments: arguments) }
    }

    /// `change` run on the ledger with the append-only triggers dropped, then put back.
    package func tamper(_ change: (Database) throws -> Void) throws {
        try tamperFile(path, change)
    }
}

/// Raw SQL on the ledger at `path` with the append-only triggers dropped and then re-created.
package func tamperFile(_ path: String, _ sql: String) throws {
    try tamperFile(path) { try $0.execute(sql: sql) }
}

/// The ledger file at `path` opened as someone working behind the tool would (no foreign keys),
/// waiting up to 10 s for a running writer (a server signing its first checkpoint) to finish.
package func fileBehindTheTool(_ path: String) throws -> DatabaseQueue {
    var config = Configuration()
    config.foreignKeysEnabled = false
    config.busyMode = .timeout(10)
    return try DatabaseQueue(path: path, configuration: config)
}

/// `change` on the ledger at `path` with the append-only triggers dropped, then re-created on the
/// tables that are still there, as a tamperer covering their tracks would (verify's schema check
/// finds triggers left dropped).
package func tamperFile(_ path: String, _ change: (Database) throws -> Void) throws {
    let queue = try fileBehindTheTool(path)
    try queue.writeWithoutTransaction { db in
        let triggers = try Row.fetchAll(db, sql: "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER \(trigger["name"] as String)") }
        try change(db)
        for trigger in triggers where try db.tableExists(trigger["tbl_name"] as String) { try db.execute(sql: trigger["sql"] as String) }
    }
}

extension Fixture {

    /// Inserts a correctly chained entry signed by `key`, bypassing the rules, as a forger with raw SQL would.
    package func forge(_ body: EntryBody, after head: Entry, key: SigningKey) throws {
        let entry = try Entry.make(body: body, prevHash: head.hash, key: key)
        try tamper(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                entry.seq, entry.type, Data(entry.body), Data(entry.prevHash), Data(entry.hash), entry.signer, Data(entry.signature),
                entry.recordedAt,
            ])
    }

    package func verify() throws -> VerificationReport {
        try Ledger.open(path: path, forWriting: false).verify()
    }
}

/// Files of this repository that the tests read by path.
package enum Repository {
    /// The repository's root: this file is Tests/GigaLedgerTestSupport/TestSupport.swift.
    package static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    package static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// schema/tools/verify_ledger.py, written from schema/FORMAT.md alone.
    package static let independentVerifier = path("schema/tools/verify_ledger.py")
    /// The shipped policy file.
    package static let shippedPolicyPath = path("schema/policy/eurohpc-2026.json")

    package static func shippedPolicy() throws -> Policy {
        try Policy.parseFile([UInt8](try Data(contentsOf: URL(fileURLWithPath: shippedPolicyPath))), path: shippedPolicyPath)
    }
}

/// Test payments that differ in reference differ in amount too, as real ones do: the duplicate
/// rule refuses the same factory, source, kind, category and amount within a week whatever the
/// reference (schema/FORMAT.md, "The duplicate rule").
package enum TestAmounts {
    /// 1,000.00 EUR plus up to 99.99 EUR, a function of `ref` (FNV-1a), in cents.
    package static func cents(ref: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ref.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return 100_000 + Int64(hash % 9_999)
    }

    /// The same amount as the CLI's `--amount` text.
    package static func text(ref: String) -> String {
        let cents = cents(ref: ref)
        let part = cents % 100
        return "\(cents / 100).\(part < 10 ? "0" : "")\(part)"
    }
}
