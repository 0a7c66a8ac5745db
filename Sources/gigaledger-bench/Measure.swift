import CSodium
import Foundation
import GRDB
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// Measuring GigaLedger at one ledger size: import, verify, appends, a checkpoint, reports, proofs, size.

/// Runs the real binary under GNU time and returns (seconds, its peak resident memory in KiB).
/// Not wait4's ru_maxrss of a child spawned from here: Linux carries the parent's peak into a
/// vfork-style child at exec, so that figure would be this process's memory, not gigaledger's.
/// GNU time is a small process whose own child's figure is gigaledger's.
/// `environment`: variables set for that process on top of this one's.
func runMeasured(_ args: [String], binary: String, work: String, environment: [String: String] = [:]) -> (Double, Int) {
    let timeBinary = "/usr/bin/time", report = "\(work)/maxrss.txt"
    var pid: pid_t = 0
    let argv = ([timeBinary, "-f", "%M", "-o", report, binary] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var devnull = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&devnull)
    posix_spawn_file_actions_addopen(&devnull, 1, "/dev/null", O_WRONLY, 0)
    let start = now()
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { variables.forEach { free($0) } }
    guard posix_spawn(&pid, timeBinary, &devnull, nil, argv, variables) == 0 else { fatalError("cannot run \(timeBinary) (Debian package time)") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let seconds = now() - start
    guard status == 0 else { fatalError("bench: gigaledger \(args.joined(separator: " ")) failed (wait status \(status))") }
    let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
    guard let kib = Int(text.split(separator: "\n").last.map(String.init) ?? "") else {
        fatalError("bench: no peak memory from \(timeBinary): \(text)")
    }
    return (seconds, kib)
}

struct SizeResult {
    var size = 0, importRate = 0.0, verifyRate = 0.0, verifyMemoryKiB = 0, appendMilliseconds = 0.0
    var recordMilliseconds = 0.0, reportCommandSeconds = 0.0, reportCommandMemoryKiB = 0, checkpointSeconds = 0.0, reportSeconds = 0.0,
        reportFullSeconds = 0.0, sqlSeconds = 0.0, inclusionMilliseconds = 0.0, consistencyMilliseconds = 0.0, bytesPerEntry = 0.0
}

/// Builds a ledger of `size` entries in `work` and measures it against nothing: the ratios to the
/// raw limits are made when the table is written.
func measure(size: Int, binary: String, work: String, keyPath: String, random: inout SeededRandom) throws -> SizeResult {
    log("ledger of \(size) entries")
    let path = "\(work)/ledger-\(size).sqlite"
    let ledger = try makeLedger(path: path)
    var result = SizeResult(size: size)
    result.importRate = rate(size, try fill(ledger, size: size, random: &random))
    let entries = Int(try ledger.size())
    // Single appends (no KDF: the key is in memory), at this size.
    let start = now()
    for index in 0..<200 {
        try ledger.append(
            .contribution(
                Contribution(
                    factory: "aigf-0", source: .union, amount: Cents(Int64(index + 1)),
                    date: CalendarDate.parse("2026-06-01", field: "d"), category: .capex, kind: .payment, ref: "")), key: authority)
    }
    result.appendMilliseconds = (now() - start) / 200 * 1000
    // `gigaledger contribution record` end to end (process start, open, append, exit) with an
    // unencrypted key file, so no passphrase KDF: the median of 21.
    var records = [Double]()
    for index in 0..<21 {  // each with its own reference: the duplicate check looks, and finds nothing
        records.append(
            runMeasured(
                [
                    "contribution", "record", "--ledger", path, "--key", keyPath, "--factory", "aigf-1", "--source", "eu",
                    "--amount", "\(1000 + index).00", "--date", "2026-06-01", "--category", "capex", "--kind", "payment",
                    "--ref", "BENCH-\(index)",
                ], binary: binary, work: work
            ).0)
    }
    result.recordMilliseconds = records.sorted()[records.count / 2] * 1000
    // This process keeps the ledger open, so the imports are still in the WAL; a `gigaledger import`
    // checkpoints when it exits. Checkpoint here too, so verify reads the ledger as it would be.
    _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    // Best of 3, as the raw limits are: a neighbour on this VM can slow any single run.
    for _ in 0..<3 {
        let (verifySeconds, memory) = runMeasured(["verify", "--ledger", path], binary: binary, work: work)
        result.verifyRate = max(result.verifyRate, rate(entries, verifySeconds))
        result.verifyMemoryKiB = max(result.verifyMemoryKiB, memory)
    }
    // The quarter-end routine: a checkpoint (which verifies everything first), then the report,
    // which takes the signatures under that checkpoint as checked; and the report checking them all.
    var reportStart = now()
    _ = try ledger.signCheckpoint(key: authority)
    result.checkpointSeconds = now() - reportStart
    let quarter = try Quarter.parse("2026-Q2", field: "q")
    result.reportSeconds = .infinity
    for _ in 0..<2 {
        reportStart = now()
        let trusting = try ledger.periodReport(period: .quarter(quarter), fullVerify: false)
        let checkpointed = try ledger.size()
        precondition(trusting.verification.signaturesTrustedThrough == checkpointed, "bench: the report did not use the checkpoint")
        result.reportSeconds = min(result.reportSeconds, now() - reportStart)
    }
    reportStart = now()
    _ = try ledger.quarterlyReport(quarter: quarter, fullVerify: true)
    result.reportFullSeconds = now() - reportStart
    // `gigaledger report` as a finance officer runs it: the same, plus writing every file (the CSVs
    // list every row up to the quarter's end).
    result.reportCommandSeconds = .infinity
    for attempt in 0..<2 {
        let (seconds, memory) = runMeasured(
            ["report", "--ledger", path, "--quarter", "2026-Q2", "--out", "\(work)/report-\(size)-\(attempt)"], binary: binary, work: work)
        result.reportCommandSeconds = min(result.reportCommandSeconds, seconds)
        result.reportCommandMemoryKiB = max(result.reportCommandMemoryKiB, memory)
    }
    // The same rows, added up by SQLite alone: contributions and access records by factory, source, kind and category.
    result.sqlSeconds = .infinity
    for _ in 0..<2 {
        reportStart = now()
        _ = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT type, json_extract(body, '$.data.factory'), json_extract(body, '$.data.source'), json_extract(body, '$.data.kind'),
                           json_extract(body, '$.data.category'), SUM(json_extract(body, '$.data.amount_cents')), SUM(json_extract(body, '$.data.gpu_hours'))
                    FROM entries WHERE type IN ('contribution', 'access') GROUP BY 1, 2, 3, 4, 5
                    """)
        }
        result.sqlSeconds = min(result.sqlSeconds, now() - reportStart)
    }
    let total = try ledger.size()
    var proofRandom = SeededRandom(state: 7)
    var proofStart = now()
    for _ in 0..<500 { _ = try ledger.inclusionProof(seq: Int64.random(in: 1...total, using: &proofRandom), size: total) }
    result.inclusionMilliseconds = (now() - proofStart) / 500 * 1000
    proofStart = now()
    for _ in 0..<500 { _ = try ledger.consistencyProof(old: Int64.random(in: 1...total, using: &proofRandom), new: total) }
    result.consistencyMilliseconds = (now() - proofStart) / 500 * 1000
    _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? NSNumber }.reduce(0) {
        $0 + $1.intValue
    }
    result.bytesPerEntry = Double(bytes) / Double(total)
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    return result
}
