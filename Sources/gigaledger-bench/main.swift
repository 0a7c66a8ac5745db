import Foundation
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// gigaledger-bench: measures GigaLedger against the raw limits of this machine, in the same run.
// Usage: gigaledger-bench GIGALEDGER_BINARY OUTPUT.md [sizes...]   (run by `make bench`)
//        gigaledger-bench --make-ledger PATH SIZE   (keeps one synthetic ledger, for profiling)
//        gigaledger-bench --raw-only                (the raw limits alone, for profiling)
// The parts: RawLimits.swift (libsodium, SHA-256 and SQLite alone), SyntheticLedger.swift (the generated
// ledgers), Measure.swift (GigaLedger at one size), Report.swift (BENCHMARKS.md).

let arguments = CommandLine.arguments
if arguments.count == 7 && arguments[1] == "--officer" {
    try await runOfficer(arguments)
    exit(0)
}
// `--server-only BINARY OUTPUT.md`: only the server's figures (a quicker run), written to OUTPUT.md.
let serverOnly = arguments.count == 4 && arguments[1] == "--server-only"
// `--publication-only BINARY OUTPUT.md [SIZE]`: only the publication's figures (issue 32).
let publicationOnly = arguments.count >= 4 && arguments[1] == "--publication-only"
// `--postgres-only BINARY OUTPUT.md`: only PostgreSQL beside SQLite (GIGALEDGER_BENCH_POSTGRES set).
let postgresOnly = arguments.count == 4 && arguments[1] == "--postgres-only"
// `--raw-only`: the raw limits alone (sign, verify on one core and on every core, SHA-256), for a
// profiling pass that compares a command's rate with them in the same session.
if arguments.count == 2 && arguments[1] == "--raw-only" {
    var limits = RawLimits()
    try limits.measure(work: FileManager.default.temporaryDirectory.path, sqliteToo: false)
    print(
        "cores \(limits.cores): sign \(fmt(limits.sign))/s, verify \(fmt(limits.verify))/s, "
            + "verify on every core \(fmt(limits.verifyAllCores))/s, SHA-256 \(fmt(limits.sha))/s")
    exit(0)
}
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: gigaledger-bench GIGALEDGER_BINARY OUTPUT.md [10000 30000 100000 1000000]\n".utf8))
    exit(64)
}
let makeLedgerOnly = arguments[1] == "--make-ledger" && arguments.count == 4
let binary = serverOnly || postgresOnly || publicationOnly ? arguments[2] : arguments[1]
let output = serverOnly || postgresOnly || publicationOnly ? arguments[3] : arguments[2]
let sizes =
    arguments.count > 3 && !serverOnly && !postgresOnly && !publicationOnly
    ? arguments[3...].compactMap { Int($0) } : [10_000, 30_000, 100_000, 1_000_000]
/// Rows of the ledger compared in both stores.
let postgresSize = 100_000
let work = FileManager.default.temporaryDirectory.appendingPathComponent("gigaledger-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

// Every bench ledger has a new authority under the same origin: the processes measured keep the
// authority they trust on first use in this run's folder, not in the user's known ledgers.
setenv("XDG_CONFIG_HOME", work, 1)

let keyPath = "\(work)/authority.key"
try KeyFiles.writeNew(path: keyPath, text: try SecretKeyFile.encode(authority, passphrase: nil, strength: .interactive), mode: 0o600)

var random = SeededRandom(state: 2026)
if makeLedgerOnly {
    let path = arguments[2], size = Int(arguments[3]) ?? 0
    let ledger = try makeLedger(path: path)
    let seconds = try fill(ledger, size: size, random: &random) { before, rows, seconds in
        log("rows \(before + 1)-\(before + rows): \(fmt(seconds, 2)) s (\(fmt(rate(rows, seconds))) rows/s)")
    }
    _ = try ledger.signCheckpoint(key: authority)
    log("\(path): \(size) rows imported in \(fmt(seconds, 1)) s (\(fmt(rate(size, seconds))) rows/s)")
    exit(0)
}

if serverOnly {
    // GIGALEDGER_BENCH_SYNC_BASES="" (or "100000"): fewer replica sizes, for profiling the rest.
    let bases =
        ProcessInfo.processInfo.environment["GIGALEDGER_BENCH_SYNC_BASES"].map { $0.split(separator: " ").compactMap { Int($0) } } ?? [
            100_000, 1_000_000,
        ]
    let server = try measureServer(binary: binary, work: work, random: &random, syncBases: bases)
    try serverFigures(server).write(toFile: output, atomically: true, encoding: .utf8)
    exit(0)
}

if publicationOnly {
    let size = arguments.count > 4 ? Int(arguments[4]) ?? 1_000_000 : 1_000_000
    try publicationFigures(try measurePublication(size: size, work: work, random: &random)).write(toFile: output, atomically: true, encoding: .utf8)
    exit(0)
}

if postgresOnly {
    guard let base = postgresBase() else {
        FileHandle.standardError.write(Data("set GIGALEDGER_BENCH_POSTGRES (make bench does)\n".utf8))
        exit(64)
    }
    try postgresFigures(try measurePostgres(base: base, work: work, size: postgresSize, random: &random)).write(
        toFile: output, atomically: true, encoding: .utf8)
    exit(0)
}

log("raw limits")
var limits = RawLimits()
try limits.measure(work: work, sqliteToo: true)
var results = [SizeResult]()
for size in sizes {
    results.append(try measure(size: size, binary: binary, work: work, keyPath: keyPath, random: &random))
}
let server = try measureServer(binary: binary, work: work, random: &random, syncBases: [100_000, 1_000_000])
let publication = try measurePublication(size: sizes.max() ?? 1_000_000, work: work, random: &random)
let postgres = try postgresBase().map { try measurePostgres(base: $0, work: work, size: postgresSize, random: &random) }
log("raw limits again")
try limits.measure(work: work, sqliteToo: false)
try writeBenchmarks(
    figures(results, limits: limits) + "\n\n" + serverFigures(server) + "\n\n" + publicationFigures(publication)
        + (postgres.map { "\n\n" + postgresFigures($0) }
            ?? "\n\n## PostgreSQL beside SQLite (issue 16)\n\nNot measured: GIGALEDGER_BENCH_POSTGRES was not set (`make bench` sets it).\n"),
    to: output)
