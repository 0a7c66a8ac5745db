import CSodium
import Foundation
import GigaLedgerCore
import GigaLedgerKit
import GRDB
#if canImport(Glibc)
import Glibc
#endif

// gigaledger-bench: measures GigaLedger against the raw limits of this machine, in the same run.
// Usage: gigaledger-bench GIGALEDGER_BINARY OUTPUT.md [sizes...]   (run by `make bench`)
//        gigaledger-bench --make-ledger PATH SIZE   (keeps one synthetic ledger, for profiling)

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: gigaledger-bench GIGALEDGER_BINARY OUTPUT.md [10000 100000 1000000]\n".utf8))
    exit(64)
}
let makeLedgerOnly = arguments[1] == "--make-ledger" && arguments.count == 4
let binary = arguments[1], output = arguments[2]
let sizes = arguments.count > 3 ? arguments[3...].compactMap { Int($0) } : [10_000, 100_000, 1_000_000]
let work = FileManager.default.temporaryDirectory.appendingPathComponent("gigaledger-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

func now() -> Double { Date().timeIntervalSince1970 }
func log(_ text: String) { FileHandle.standardError.write(Data("bench: \(text)\n".utf8)) }
func rate(_ count: Int, _ seconds: Double) -> Double { Double(count) / max(seconds, 1e-9) }
func fmt(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

// MARK: - Raw limits, single core

/// This machine is shared (a VM): a short run can be slowed by a neighbour. Each raw limit is the
/// best of several runs, before and after the ledgers are measured, so the ceiling is not underrated.
let rawRepetitions = 5
func best(_ measure: () throws -> Double) rethrows -> Double {
    var top = 0.0
    for _ in 0..<rawRepetitions { top = max(top, try measure()) }
    return top
}

let key = SigningKey.generate()
func measureSign() -> Double {
    let message = [UInt8](repeating: 7, count: 62), count = 20_000
    let start = now()
    for _ in 0..<count { _ = key.sign(message) }
    return rate(count, now() - start)
}
/// Distinct signed messages, as a ledger's are (one message verified again and again runs about 5%
/// faster here, its work staying in the caches).
let signedMessages: [(message: [UInt8], signature: [UInt8])] = (0..<4_096).map { index in
    let message = Entry.signedMessage(hash: Sodium.sha256(Array(String(index).utf8)))
    return (message, key.sign(message))
}
func measureVerify() -> Double {
    let start = now()
    for item in signedMessages + signedMessages { _ = key.publicKey.verify(signature: item.signature, message: item.message) }
    return rate(2 * signedMessages.count, now() - start)
}
/// Every core verifying at once: what the machine gives when the cores share caches and clocks.
func measureVerifyAllCores(_ cores: Int) -> Double {
    let start = now()
    DispatchQueue.concurrentPerform(iterations: cores) { _ in
        for item in signedMessages + signedMessages { _ = key.publicKey.verify(signature: item.signature, message: item.message) }
    }
    return rate(2 * signedMessages.count * cores, now() - start)
}
func measureSHA256() -> Double {
    let input = [UInt8](repeating: 1, count: 320), count = 200_000
    let start = now()
    for _ in 0..<count { _ = Sodium.sha256(input) }
    return rate(count, now() - start)
}
func measureSQLite() throws -> (insert: Double, scan: Double) {
    let queue = try DatabaseQueue(path: "\(work)/raw.sqlite")
    try queue.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, a BLOB, b BLOB, c TEXT)") }
    let count = 300_000, blob = Data(repeating: 3, count: 300), hash = Data(repeating: 4, count: 32)
    var start = now()
    try queue.write { db in
        let statement = try db.makeStatement(sql: "INSERT INTO t (id, a, b, c) VALUES (?, ?, ?, ?)")
        for id in 1...count { try statement.execute(arguments: [id, blob, hash, "2026-01-01T00:00:00Z"]) }
    }
    let insert = rate(count, now() - start)
    start = now()
    var seen = 0
    try queue.read { db in
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM t ORDER BY id")
        while let row = try rows.next() { let data: Data = row["a"]; seen += data.count > 0 ? 1 : 0 }
    }
    return (insert, rate(seen, now() - start))
}

if !makeLedgerOnly { log("raw limits") }
let cores = ProcessInfo.processInfo.activeProcessorCount
var signRate = makeLedgerOnly ? 0 : best(measureSign), verifyRate = makeLedgerOnly ? 0 : best(measureVerify)
var shaRate = makeLedgerOnly ? 0 : best(measureSHA256), verifyAllCoresRate = makeLedgerOnly ? 0 : best { measureVerifyAllCores(cores) }
let sqlite = makeLedgerOnly ? (insert: 0.0, scan: 0.0) : try measureSQLite()

// MARK: - Synthetic ledger

let memberStates = Array(Codes.memberStates).sorted()
let authority = key
let policyPath = "schema/policy/eurohpc-2026.json"

func makeLedger(path: String) throws -> Ledger {
    let (ledger, _) = try Ledger.create(path: path, authority: authority, authorityName: "Bench authority", origin: "bench.example/ledger")
    try ledger.append(.policy(try Policy.parseFile([UInt8](try Data(contentsOf: URL(fileURLWithPath: policyPath))), path: policyPath)), key: authority)
    for (index, host) in ["DE", "FR", "IT", "ES", "PL"].enumerated() {
        try ledger.append(.factoryRegister(Factory(id: "aigf-\(index)", name: "Gigafactory \(index)", kind: .gigafactory, hosts: [host],
                                                   capex: Cents(400_000_000_000))), key: authority)
    }
    for index in 0..<20 {
        try ledger.append(.partnerRegister(Partner(id: "partner-\(index)", name: "Partner \(index)", country: memberStates[index % memberStates.count],
                                                   isSME: index % 3 == 0)), key: authority)
    }
    return ledger
}

/// Rows as a finance office would import them: contributions from every member state, the Union and
/// partners, and access records of every category, dated across 2026.
func rows(_ count: Int, random: inout SeededRandom) throws -> [ImportRow] {
    var out = [ImportRow]()
    out.reserveCapacity(count)
    for index in 0..<count {
        let factory = "aigf-\(Int.random(in: 0..<5, using: &random))"
        let date = try CalendarDate.parse(String(format: "2026-%02d-%02d", Int.random(in: 1...12, using: &random), Int.random(in: 1...28, using: &random)), field: "date")
        if index % 4 == 3 {
            out.append(ImportRow(row: index + 2, data: .access(try AccessGrant(
                factory: factory, beneficiary: "Beneficiary \(Int.random(in: 0..<5_000, using: &random))",
                category: AccessCategory.allCases.randomElement(using: &random)!, gpuHours: Int64.random(in: 100...200_000, using: &random),
                date: date, pool: Bool.random(using: &random) ? .union : .host, isCommercial: Int.random(in: 0..<10, using: &random) == 0,
                charge: Cents(0)))))
        } else {
            let pick = Int.random(in: 0..<10, using: &random)
            let source: Source = pick == 0 ? .union : pick < 6 ? .memberState(memberStates.randomElement(using: &random)!) : .partner("partner-\(Int.random(in: 0..<20, using: &random))")
            out.append(ImportRow(row: index + 2, data: .contribution(try Contribution(
                factory: factory, source: source, amount: Cents(Int64.random(in: 100...5_000_000_000, using: &random)), date: date,
                category: Bool.random(using: &random) ? .capex : .opex, kind: Bool.random(using: &random) ? .commitment : .payment,
                ref: "REF-\(index)"))))
        }
    }
    return out
}

/// Runs the real binary under GNU time and returns (seconds, its peak resident memory in KiB).
/// Not wait4's ru_maxrss of a child spawned from here: Linux carries the parent's peak into a
/// vfork-style child at exec, so that figure would be this process's memory, not gigaledger's.
/// GNU time is a small process whose own child's figure is gigaledger's.
func runMeasured(_ args: [String]) -> (Double, Int) {
    let timeBinary = "/usr/bin/time", report = "\(work)/maxrss.txt"
    var pid: pid_t = 0
    let argv = ([timeBinary, "-f", "%M", "-o", report, binary] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var devnull = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&devnull)
    posix_spawn_file_actions_addopen(&devnull, 1, "/dev/null", O_WRONLY, 0)
    let start = now()
    guard posix_spawn(&pid, timeBinary, &devnull, nil, argv, environ) == 0 else { fatalError("cannot run \(timeBinary) (Debian package time)") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let seconds = now() - start
    guard status == 0 else { fatalError("bench: gigaledger \(args.joined(separator: " ")) failed (wait status \(status))") }
    let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
    guard let kib = Int(text.split(separator: "\n").last.map(String.init) ?? "") else { fatalError("bench: no peak memory from \(timeBinary): \(text)") }
    return (seconds, kib)
}

struct SizeResult {
    var size = 0, importRate = 0.0, verifyRate = 0.0, verifyMemoryKiB = 0, appendMilliseconds = 0.0
    var recordMilliseconds = 0.0, reportCommandSeconds = 0.0, reportCommandMemoryKiB = 0, checkpointSeconds = 0.0, reportSeconds = 0.0, reportFullSeconds = 0.0, sqlSeconds = 0.0, inclusionMilliseconds = 0.0, consistencyMilliseconds = 0.0, bytesPerEntry = 0.0
}

/// Imports `size` generated rows in files of 100,000; returns the seconds spent importing.
func fill(_ ledger: Ledger, size: Int, random: inout SeededRandom) throws -> Double {
    var imported = 0, importSeconds = 0.0
    let chunk = 100_000
    while imported < size {
        let batch = try rows(min(chunk, size - imported), random: &random)
        let start = now()
        _ = try ledger.importRows(batch, fileName: "bench-\(imported).csv", fileSHA256: Sodium.sha256(Array("\(size)-\(imported)".utf8)), key: authority)
        importSeconds += now() - start
        imported += batch.count
    }
    return importSeconds
}

let keyPath = "\(work)/authority.key"
try KeyFiles.writeNew(path: keyPath, text: try SecretKeyFile.encode(authority, passphrase: nil, strength: .interactive), mode: 0o600)

var random = SeededRandom(state: 2026)
if makeLedgerOnly {
    let path = arguments[2], size = Int(arguments[3]) ?? 0
    let ledger = try makeLedger(path: path)
    let seconds = try fill(ledger, size: size, random: &random)
    _ = try ledger.signCheckpoint(key: authority)
    log("\(path): \(size) rows imported in \(fmt(seconds, 1)) s (\(fmt(rate(size, seconds))) rows/s)")
    exit(0)
}
var results = [SizeResult]()
for size in sizes {
    log("ledger of \(size) entries")
    let path = "\(work)/ledger-\(size).sqlite"
    let ledger = try makeLedger(path: path)
    var result = SizeResult(size: size)
    result.importRate = rate(size, try fill(ledger, size: size, random: &random))
    let entries = Int(try ledger.size())
    // Single appends (no KDF: the key is in memory), at this size.
    let start = now()
    for index in 0..<200 {
        try ledger.append(.contribution(Contribution(factory: "aigf-0", source: .union, amount: Cents(Int64(index + 1)),
                                                     date: CalendarDate.parse("2026-06-01", field: "d"), category: .capex, kind: .payment, ref: "")), key: authority)
    }
    result.appendMilliseconds = (now() - start) / 200 * 1000
    // `gigaledger contribution record` end to end (process start, open, append, exit) with an
    // unencrypted key file, so no passphrase KDF: the median of 21.
    var records = [Double]()
    for _ in 0..<21 {
        records.append(runMeasured(["contribution", "record", "--ledger", path, "--key", keyPath, "--factory", "aigf-1", "--source", "eu",
                                    "--amount", "1000.00", "--date", "2026-06-01", "--category", "capex", "--kind", "payment"]).0)
    }
    result.recordMilliseconds = records.sorted()[records.count / 2] * 1000
    // This process keeps the ledger open, so the imports are still in the WAL; a `gigaledger import`
    // checkpoints when it exits. Checkpoint here too, so verify reads the ledger as it would be.
    _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    // Best of 3, as the raw limits are: a neighbour on this VM can slow any single run.
    for _ in 0..<3 {
        let (verifySeconds, memory) = runMeasured(["verify", "--ledger", path])
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
        let trusting = try ledger.quarterlyReportVerified(quarter: quarter, fullVerify: false)
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
        let (seconds, memory) = runMeasured(["report", "--ledger", path, "--quarter", "2026-Q2", "--out", "\(work)/report-\(size)-\(attempt)"])
        result.reportCommandSeconds = min(result.reportCommandSeconds, seconds)
        result.reportCommandMemoryKiB = max(result.reportCommandMemoryKiB, memory)
    }
    // The same rows, added up by SQLite alone: contributions and access records by factory, source, kind and category.
    result.sqlSeconds = .infinity
    for _ in 0..<2 {
        reportStart = now()
        _ = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: """
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
    let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? NSNumber }.reduce(0) { $0 + $1.intValue }
    result.bytesPerEntry = Double(bytes) / Double(total)
    results.append(result)
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

// MARK: - The table

log("raw limits again")
signRate = max(signRate, best(measureSign))
verifyRate = max(verifyRate, best(measureVerify))
shaRate = max(shaRate, best(measureSHA256))
verifyAllCoresRate = max(verifyAllCoresRate, best { measureVerifyAllCores(cores) })

func target(_ met: Bool) -> String { met ? "met" : "NOT met" }
var lines = [String]()
lines.append("| size | import entries/s | × 1-core sign | verify entries/s | × (cores × 1-core verify) | × all-core verify | verify peak MiB | append ms | record ms | checkpoint s | report s | report --full-verify s | `gigaledger report` s | its peak MiB | SQL aggregate s | report ÷ SQL | inclusion proof ms | consistency proof ms | bytes/entry |")
lines.append("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for r in results {
    lines.append("| \(r.size) | \(fmt(r.importRate)) | \(fmt(r.importRate / signRate, 2)) | \(fmt(r.verifyRate)) | \(fmt(r.verifyRate / (Double(cores) * verifyRate), 2)) | \(fmt(r.verifyRate / verifyAllCoresRate, 2)) | \(fmt(Double(r.verifyMemoryKiB) / 1024, 1)) | \(fmt(r.appendMilliseconds, 2)) | \(fmt(r.recordMilliseconds, 1)) | \(fmt(r.checkpointSeconds, 2)) | \(fmt(r.reportSeconds, 2)) | \(fmt(r.reportFullSeconds, 2)) | \(fmt(r.reportCommandSeconds, 2)) | \(fmt(Double(r.reportCommandMemoryKiB) / 1024, 1)) | \(fmt(r.sqlSeconds, 2)) | \(fmt(r.reportSeconds / max(r.sqlSeconds, 1e-9), 1)) | \(fmt(r.inclusionMilliseconds, 3)) | \(fmt(r.consistencyMilliseconds, 3)) | \(fmt(r.bytesPerEntry)) |")
}
let largest = results.last!
let appendGrowth = results.count >= 2 ? largest.appendMilliseconds / results[results.count - 2].appendMilliseconds : 1
var targets = [String]()
targets.append("- verify ≥ 0.85 × (cores × 1-core verify rate): \(fmt(largest.verifyRate / (Double(cores) * verifyRate), 2)) at \(largest.size): \(target(largest.verifyRate >= 0.85 * Double(cores) * verifyRate))")
targets.append("- verify peak memory < 100 MiB: \(fmt(Double(largest.verifyMemoryKiB) / 1024, 1)) MiB at \(largest.size): \(target(largest.verifyMemoryKiB < 100 * 1024))")
targets.append("- bulk import ≥ 1.3 × 1-core sign rate: \(fmt(largest.importRate / signRate, 2)): \(target(largest.importRate >= 1.3 * signRate))")
targets.append("- report ≤ 3 × plain SQL aggregate: \(fmt(largest.reportSeconds / max(largest.sqlSeconds, 1e-9), 1)) × (`gigaledger report` with its files: \(fmt(largest.reportCommandSeconds / max(largest.sqlSeconds, 1e-9), 1)) ×): \(target(largest.reportSeconds <= 3 * largest.sqlSeconds))")
targets.append("- a proof under 10 ms: inclusion \(fmt(largest.inclusionMilliseconds, 3)) ms, consistency \(fmt(largest.consistencyMilliseconds, 3)) ms: \(target(max(largest.inclusionMilliseconds, largest.consistencyMilliseconds) < 10))")
targets.append("- append from the second-largest to the largest size slows by ≤ 2 ×: \(fmt(appendGrowth, 2)) ×: \(target(appendGrowth <= 2))")
targets.append("- under 1 KiB per entry: \(fmt(largest.bytesPerEntry)) bytes: \(target(largest.bytesPerEntry < 1024))")

let sqliteVersion = (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }) ?? "?"
let machine = "\(cores) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB, libsodium \(String(cString: sodium_version_string())), SQLite \(sqliteVersion)"
let raw = """
| raw limit (this run) | per second |
|---|--:|
| Ed25519 sign, 1 core (libsodium) | \(fmt(signRate)) |
| Ed25519 verify, 1 core (libsodium, 4,096 distinct signed messages) | \(fmt(verifyRate)) |
| Ed25519 verify, all \(cores) cores at once | \(fmt(verifyAllCoresRate)) |
| SHA-256 of 320 bytes, 1 core | \(fmt(shaRate)) |
| SQLite insert, one transaction (300-byte rows) | \(fmt(sqlite.insert)) |
| SQLite full scan | \(fmt(sqlite.scan)) |
"""
let text = """
# GigaLedger benchmarks

Measured by `make bench` (release build; `gigaledger-bench`, Sources/gigaledger-bench/main.swift) on \(machine).
The synthetic ledgers come from a fixed-seed generator: 5 gigafactories, all 27 member states, 20 private
partners, contributions (75%) and access records (25%) across 2026, imported in files of 100,000 rows.
Every ratio is against a raw limit measured in the same run: the best of 5 runs before and 5 after the
ledgers (this is a shared VM; the best run is the ceiling, so no ratio is flattered by a slow moment).

\(raw)

\(lines.joined(separator: "\n"))

Columns: import = `importRows` (chain in order, sign in parallel, one transaction per 100,000 rows); verify =
`gigaledger verify` run as a process (best of 3; peak resident memory from GNU time, the largest of the 3), as a ratio to the issue's ceiling
(cores × the 1-core rate) and to the rate all cores reach together in the raw test; append = one `append` with
the key in memory (no passphrase KDF), averaged over 200 at that size; record = `gigaledger contribution record` run as
a process with an unencrypted key file (no KDF), the median of 21; checkpoint = `signCheckpoint`, which
verifies the whole ledger first; report = `quarterlyReport` for 2026-Q2 (best of 2) as `gigaledger report` makes it: one
verifying pass that takes the signatures under that checkpoint as checked and adds up in the same pass;
report --full-verify = the same checking every signature; `gigaledger report` = the command as a process,
writing every file (best of 2), and its peak memory (it holds the quarter's rows for the CSV files); SQL aggregate = one `GROUP BY` (best of 2) with json_extract
over the same contribution and access rows; proofs = average of 500 random proofs against the whole
ledger; bytes/entry = file size ÷ entries.

## Targets at \(largest.size) entries

\(targets.joined(separator: "\n"))

## What bounds the targets not met (profiles of 2026-11-29 with perf and timers; re-check after changes)

- **verify** reaches about 0.75 of (cores × the 1-core verify rate). Work per entry: libsodium's
  Ed25519 verification is 85% of the CPU `verify` spends (perf, 100,000 entries); reading the row,
  its hash, the body's form (a direct canonical reader for contributions and access records), the
  rules, the Merkle nodes (one ordered scan per tree level) and the index rows (one ordered scan per
  table) are the other 15%. Bodies, hashes and signatures are checked on every core while this
  thread checks the previous batch in order and reads the next; the cores are busy about 95% of the
  time (user time ÷ wall time ≈ 1.9). So the ceiling of this design is about 0.85 × 0.95 ≈ 0.8 of the
  all-core rate, and inside a busy process each verification also runs a little slower than in the
  raw loop (caches shared with the other work). Reaching 0.85 of cores × the 1-core rate would need
  the non-signature work to vanish and two cores of this VM to scale perfectly (the raw test gives
  1.8 to 2.0 ×). What is left to take: the row's bytes are copied into Swift arrays and the body's
  strings materialised; a reader over SQLite's own buffers would save part of the 15%.
- **bulk import** reaches about 0.9 of the 1-core sign rate. Per row (timers, 100,000 rows): signing
  about 19 µs of CPU, on the other core and on this thread when it has nothing else to do; writing
  the row in order (the entry and about two Merkle nodes, bound through SQLite's C interface, in one
  transaction) about 9 µs on this thread; rules, encoding (in parallel) and the hash chain about
  4 µs. With two cores the floor is (19 + 9 + 4) ÷ 2 = 16 µs a row, 1.16 × the 1-core sign rate;
  1.3 × leaves 10 µs a row for everything but signing, while SQLite alone needs about 7 µs to
  insert the three rows an entry makes (its raw insert rate above). What would move it: one row
  fewer per entry (the leaf level of `merkle_nodes` can be derived from the entries' hashes), which
  is a format change (FORMAT.md section 11) left for a later issue.
"""
try text.write(toFile: output, atomically: true, encoding: String.Encoding.utf8)
print(text)
