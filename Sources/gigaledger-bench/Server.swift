import Foundation
import GRDB
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// Many offices, one ledger (issue 13): a replica's sync, officers appending through a server at
// once, and a signed CSV batch through it, each against its local counterpart in the same run.

struct ServerResult {
    /// Seconds to sync `syncNew` new entries onto a replica of each base size.
    var syncSeconds = [(base: Int, seconds: Double)]()
    var syncNew = 50_000
    /// A first sync of a whole ledger of each size, as a process: seconds and peak memory (KiB).
    var firstSyncs = [(size: Int, seconds: Double, peakKiB: Int)]()
    /// `contribution record` as a process, through the server and locally (medians of `recordRuns`).
    var recordRuns = 21, remoteRecordMilliseconds = 0.0, localRecordMilliseconds = 0.0
    /// Appends per second by `officers` processes through the server, with conflicts and waits.
    var officers = 8, remoteAppends = 0, remoteAppendRate = 0.0, inProcessAppendRate = 0.0
    var conflictsPerAppend = 0.0, p50Milliseconds = 0.0, p99Milliseconds = 0.0, maxMilliseconds = 0.0, failedAppends = 0
    /// Rows per second of one CSV file imported locally and through the server.
    var batchRows = 9_000, batchRuns = 3, localImportRate = 0.0, remoteImportRate = 0.0
}

/// A `gigaledger serve` process over `ledger`, with the log key at `logKeyPath`.
final class BenchServer {
    let process = Process()
    let url: String

    init(binary: String, ledger: String, logKeyPath: String, work: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        // The limits meant for people lifted: the benchmark is one address and few keys, by design.
        process.arguments = [
            // A state folder per ledger: the bench's ledgers share an origin and are not one another's rollbacks.
            "serve", "--ledger", ledger, "--listen", "127.0.0.1:0", "--log-key", logKeyPath, "--state",
            "\(work)/state-\(URL(fileURLWithPath: ledger).lastPathComponent)",
            "--requests-per-minute", "100000000", "--submissions-per-minute", "100000000",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        let output = Pipe()
        process.standardOutput = output
        // What the servers log, kept (appended) for a run that fails.
        if !FileManager.default.fileExists(atPath: "\(work)/server.log") {
            FileManager.default.createFile(atPath: "\(work)/server.log", contents: nil)
        }
        let log = FileHandle(forWritingAtPath: "\(work)/server.log")
        log?.seekToEndOfFile()
        process.standardError = log
        try process.run()
        var line = [UInt8]()
        while let byte = output.fileHandleForReading.readData(ofLength: 1).first, byte != 0x0a { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "http://") else { fatalError("bench: the server did not start: \(text)") }
        url = String(text[range.lowerBound...])
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// Writes `key`'s unencrypted secret key file and its public key file as `NAME.key`, `NAME.pub`.
func writeKeyFiles(_ key: SigningKey, name: String, work: String) throws {
    try KeyFiles.writeNew(path: "\(work)/\(name).key", text: try SecretKeyFile.encode(key, passphrase: nil, strength: .interactive), mode: 0o600)
    try KeyFiles.writeNew(path: "\(work)/\(name).pub", text: key.publicKey.minisignFile(), mode: 0o644)
}

/// A ledger at `path` of `size` synthetic rows with the log key enrolled, its checkpoint signed
/// and its WAL merged; closed when this returns (a server then takes it as its one writer).
func makeServedLedger(path: String, size: Int, logKey: SigningKey, officers: [SigningKey] = [], random: inout SeededRandom) throws {
    let ledger = try makeLedger(path: path)
    try ledger.append(.keyEnroll(KeyEnrolment(checking: logKey.publicKey, name: "log", role: .log, scopes: [])), key: authority)
    for (index, key) in officers.enumerated() {
        try ledger.append(
            .keyEnroll(KeyEnrolment(checking: key.publicKey, name: "officer \(index)", role: .officer, scopes: [.source(.union)])), key: authority)
    }
    _ = try fill(ledger, size: size, random: &random)
    _ = try ledger.signCheckpoint(key: authority)
    _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
}

func removeLedger(_ path: String) {
    for suffix in ["", "-wal", "-shm", "-writer"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

func measureServer(binary: String, work: String, random: inout SeededRandom, syncBases: [Int]) throws -> ServerResult {
    var result = ServerResult()
    try writeKeyFiles(authority, name: "server-authority", work: work)
    let logKey = SigningKey.generate()
    try writeKeyFiles(logKey, name: "log", work: work)
    let officerKeys = (1...result.officers).map { _ in SigningKey.generate() }
    for (index, key) in officerKeys.enumerated() { try writeKeyFiles(key, name: "officer-\(index)", work: work) }

    // Sync: a first sync of the whole ledger (its peak memory), then `syncNew` entries more on
    // the server, then a sync of those onto the copy; `gigaledger sync` as a process each time.
    for base in syncBases {
        log("a first sync of \(base) entries, then \(result.syncNew) new entries onto it")
        let path = "\(work)/server-\(base).sqlite", replica = "\(work)/replica-\(base).sqlite"
        try makeServedLedger(path: path, size: base, logKey: logKey, random: &random)
        var server = try BenchServer(binary: binary, ledger: path, logKeyPath: "\(work)/log.key", work: work)
        func sync(_ server: BenchServer) -> [String] {
            ["sync", "--from", server.url, "--ledger", replica, "--authority-key", "\(work)/server-authority.pub"]
        }
        let (firstSeconds, peakKiB) = runMeasured(sync(server), binary: binary, work: work)
        result.firstSyncs.append((base, firstSeconds, peakKiB))
        server.stop()
        do {
            let ledger = try Ledger.open(path: path, forWriting: true)
            _ = try fill(ledger, size: result.syncNew, random: &random)
        }
        server = try BenchServer(binary: binary, ledger: path, logKeyPath: "\(work)/log.key", work: work)
        // The server keeps a checkpoint of the new entries within its interval; the sync takes in up to it.
        try waitForCheckpoint(path, size: Int64(base + result.syncNew))
        let (seconds, _) = runMeasured(sync(server), binary: binary, work: work)
        server.stop()
        result.syncSeconds.append((base, seconds))
        removeLedger(path)
        removeLedger(replica)
    }

    // One office's command, as a process: `contribution record` through the server against the
    // same command on a local file of the same size (unencrypted key: no passphrase's KDF in either).
    log("contribution record through the server and locally, \(result.recordRuns) times each")
    let records = "\(work)/server-records.sqlite", localRecords = "\(work)/local-records.sqlite"
    try makeServedLedger(path: records, size: 10_000, logKey: logKey, officers: officerKeys, random: &random)
    try FileManager.default.copyItem(atPath: records, toPath: localRecords)
    let recordServer = try BenchServer(binary: binary, ledger: records, logKeyPath: "\(work)/log.key", work: work)
    var remoteTimes = [Double](), localTimes = [Double]()
    for run in 0..<result.recordRuns {
        let payment = [
            "contribution", "record", "--key", "\(work)/officer-0.key", "--factory", "aigf-0", "--source", "eu", "--amount", "\(run + 1).00",
            "--date", "2026-06-01", "--category", "capex", "--kind", "payment", "--ref", "REC-\(run)", "--authority-key",
            "\(work)/server-authority.pub",
        ]
        remoteTimes.append(
            runMeasured(
                payment + ["--server", recordServer.url], binary: binary, work: work, environment: ["XDG_CONFIG_HOME": "\(work)/record-office"]
            ).0)
        localTimes.append(runMeasured(payment + ["--ledger", localRecords], binary: binary, work: work).0)
    }
    recordServer.stop()
    removeLedger(records)
    removeLedger(localRecords)
    result.remoteRecordMilliseconds = remoteTimes.sorted()[remoteTimes.count / 2] * 1000
    result.localRecordMilliseconds = localTimes.sorted()[localTimes.count / 2] * 1000

    // Officers at once: 8 processes, each appending one entry per request through the server (one
    // durable transaction each), signing again after each conflict; against `append` in this
    // process on a ledger of the same size.
    log("\(result.officers) officers appending through the server")
    let path = "\(work)/server-appends.sqlite"
    try makeServedLedger(path: path, size: 100_000, logKey: logKey, officers: officerKeys, random: &random)
    do {
        let ledger = try Ledger.open(path: path, forWriting: true)
        let start = now()
        for index in 0..<500 {
            try ledger.append(
                .contribution(
                    Contribution(
                        factory: "aigf-0", source: .union, amount: Cents(Int64(index + 1)),
                        date: CalendarDate.parse("2026-06-01", field: "d"), category: .capex, kind: .payment, ref: "LOCAL-\(index)")),
                key: authority)
        }
        result.inProcessAppendRate = rate(500, now() - start)
    }
    let server = try BenchServer(binary: binary, ledger: path, logKeyPath: "\(work)/log.key", work: work)
    let each = 250
    let start = now()
    let officers = try (0..<result.officers).map { index -> Process in
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = [
            "--officer", server.url, "\(work)/officer-\(index).key", "\(work)/server-authority.pub", String(each), "\(work)/officer-\(index).times",
        ]
        process.environment = ["XDG_CONFIG_HOME": "\(work)/officer-\(index)", "PATH": "/usr/bin:/bin"]
        try process.run()
        return process
    }
    for officer in officers { officer.waitUntilExit() }
    let seconds = now() - start
    server.stop()
    var latencies = [Double](), conflicts = 0
    for index in 0..<result.officers {
        for line in try String(contentsOfFile: "\(work)/officer-\(index).times", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ")
            latencies.append(Double(parts[0]) ?? 0)
            let count = Int(parts[1]) ?? 0
            if count < 0 { result.failedAppends += 1 } else { conflicts += count }
        }
    }
    latencies.sort()
    result.remoteAppends = latencies.count - result.failedAppends
    result.remoteAppendRate = rate(result.remoteAppends, seconds)
    result.conflictsPerAppend = Double(conflicts) / Double(max(1, latencies.count))
    result.p50Milliseconds = latencies[latencies.count / 2] * 1000
    result.p99Milliseconds = latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000
    result.maxMilliseconds = (latencies.last ?? 0) * 1000

    // One CSV file: `gigaledger import` into a copy of the ledger, and `import --server` into
    // another copy; `batchRuns` times (each a fresh pair of copies), the medians kept: one import
    // takes well under a second, which one busy moment of this shared machine moves by a third.
    log("a signed CSV batch of \(result.batchRows) rows, locally and through the server, \(result.batchRuns) times")
    _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    var csv = "type,factory,source,kind,category,amount,date,ref\n"
    for index in 0..<result.batchRows { csv += "contribution,aigf-\(index % 5),eu,payment,opex,\(index + 1).00,2026-07-01,CSV-\(index)\n" }
    try csv.write(toFile: "\(work)/batch.csv", atomically: true, encoding: .utf8)
    var localSeconds = [Double](), remoteSeconds = [Double]()
    for run in 1...result.batchRuns {
        let local = "\(work)/batch-local-\(run).sqlite", served = "\(work)/batch-served-\(run).sqlite"
        for copy in [local, served] { try FileManager.default.copyItem(atPath: path, toPath: copy) }
        localSeconds.append(
            runMeasured(
                [
                    "import", "\(work)/batch.csv", "--ledger", local, "--key", "\(work)/officer-0.key",
                    "--authority-key", "\(work)/server-authority.pub",
                ], binary: binary, work: work
            ).0)
        let batchServer = try BenchServer(binary: binary, ledger: served, logKeyPath: "\(work)/log.key", work: work)
        // Each run's office keeps its own checkpoint (the copies are not one another's history).
        // Its verified copy of the ledger is made first, untimed, as an officer's is by its first
        // use: the batch is timed as a day's import is, syncing only what is new (issue 35).
        _ = runMeasured(
            ["status", "--server", batchServer.url, "--authority-key", "\(work)/server-authority.pub"], binary: binary, work: work,
            environment: ["XDG_CONFIG_HOME": "\(work)/batch-office-\(run)"])
        remoteSeconds.append(
            runMeasured(
                [
                    "import", "\(work)/batch.csv", "--server", batchServer.url, "--key", "\(work)/officer-0.key",
                    "--authority-key", "\(work)/server-authority.pub",
                ], binary: binary, work: work,
                environment: ["XDG_CONFIG_HOME": "\(work)/batch-office-\(run)"]
            ).0)
        batchServer.stop()
        removeLedger(local)
        removeLedger(served)
    }
    result.localImportRate = rate(result.batchRows, localSeconds.sorted()[localSeconds.count / 2])
    result.remoteImportRate = rate(result.batchRows, remoteSeconds.sorted()[remoteSeconds.count / 2])
    removeLedger(path)
    return result
}

/// Waits (reading the ledger's kept checkpoints, at most 30 s) until the server at `path` keeps a
/// checkpoint of `size` entries or more.
func waitForCheckpoint(_ path: String, size: Int64) throws {
    for _ in 0..<300 {
        if let last = try Ledger.open(path: path, forWriting: false).checkpoints(above: 0).checkpoints.last, last.size >= size { return }
        usleep(100_000)
    }
    fatalError("bench: the server kept no checkpoint of \(size) entries within 30 s")
}

/// `gigaledger-bench --officer URL KEY AUTHORITY_PUB COUNT OUT`: one officer's process, appending
/// COUNT payments one at a time through the server; writes each append's seconds and conflicts.
func runOfficer(_ arguments: [String]) async throws {
    let (url, keyPath, authorityPath, count, out) = (arguments[2], arguments[3], arguments[4], Int(arguments[5]) ?? 0, arguments[6])
    let key = try SecretKeyFile.open(try KeyFiles.readSecret(path: keyPath), passphrase: nil)
    let environment = ProcessInfo.processInfo.environment
    let trust = HeadTrust(
        pinned: try KeyFiles.readPublic(path: authorityPath), known: TrustedAuthorities(path: nil),
        kept: KeptCheckpoints(directory: KeptCheckpoints.defaultDirectory(environment: environment)),
        evidenceDirectory: FileManager.default.temporaryDirectory.path,
        copies: OwnCopies.defaultDirectory(environment: environment).map { OwnCopies(directory: $0) })
    let remote = RemoteAppend(client: try LedgerClient(url: url), trust: trust)
    let tag = String(key.id.description.prefix(8))
    // Each officer's amounts its own (the duplicate rule refuses the same amount twice in a week).
    let offset = (Int64(tag.prefix(4), radix: 16) ?? 0) + 1
    var lines = [String]()
    do {
        var head: HeadTrust.Checked?
        for index in 0..<count {
            let data = EntryData.contribution(
                try Contribution(
                    factory: "aigf-\(index % 5)", source: .union, amount: Cents(offset * 10_000 + Int64(index + 1)),
                    date: CalendarDate.parse("2026-06-02", field: "d"), category: .capex, kind: .payment, ref: "\(tag)-\(index)"))
            let start = ContinuousClock.now
            var conflicts = -1
            do {
                let appended = try await remote.appendCounting(data, key: key, checks: EntryChecks(), after: head)
                (conflicts, head) = (appended.conflicts, appended.next)
            } catch is ServerBusy {
                // Gave up after its retries: counted as a failed append with its wait.
                head = nil
            }
            let elapsed = ContinuousClock.now - start
            lines.append("\(Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)) \(conflicts)")
        }
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
}
