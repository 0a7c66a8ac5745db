import Foundation
import GigaLedgerCore
import GigaLedgerKit

// PostgreSQL beside SQLite (issue 16), in the same run: appends (one durable transaction each),
// an import, and verify, on the same synthetic ledger in both stores. The server is the one
// scripts/with-postgres.sh starts for `make bench` (GIGALEDGER_BENCH_POSTGRES names a database URL
// without the database; each measurement makes its own database).

struct PostgresResult {
    var entries = 0
    var appends = 0
    var sqliteAppendsPerSecond = 0.0, postgresAppendsPerSecond = 0.0
    var sqliteImportPerSecond = 0.0, postgresImportPerSecond = 0.0
    var sqliteVerifyPerSecond = 0.0, postgresVerifyPerSecond = 0.0
    var copyPerSecond = 0.0
}

/// The database server's URL up to the host list, from the environment; nil when none was started.
func postgresBase() -> String? {
    ProcessInfo.processInfo.environment["GIGALEDGER_BENCH_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
}

func measurePostgres(base: String, work: String, size: Int, random: inout SeededRandom) throws -> PostgresResult {
    var result = PostgresResult(entries: size, appends: 500)
    func appends(_ ledger: Ledger) throws -> Double {
        let start = now()
        for index in 0..<result.appends {
            try ledger.append(
                .contribution(
                    Contribution(
                        factory: "aigf-0", source: .union, amount: Cents(Int64(index + 1)),
                        date: CalendarDate.parse("2026-06-01", field: "d"), category: .capex, kind: .payment, ref: "")), key: authority)
        }
        return rate(result.appends, now() - start)
    }
    log("postgres: appends and an import of \(size) rows in both stores")
    var sqliteRandom = random, postgresRandom = random
    let sqlite = try makeLedger(path: "\(work)/pg-compare.sqlite")
    result.sqliteAppendsPerSecond = try appends(sqlite)
    result.sqliteImportPerSecond = rate(size, try fill(sqlite, size: size, random: &sqliteRandom))
    let postgres = try makeLedger(path: "\(base)/bench_import")
    result.postgresAppendsPerSecond = try appends(postgres)
    result.postgresImportPerSecond = rate(size, try fill(postgres, size: size, random: &postgresRandom))
    random = sqliteRandom
    log("postgres: verify in both stores, and a copy between them")
    var start = now()
    guard try sqlite.verify().isVerified else { throw BenchFailure(message: "the SQLite ledger does not verify") }
    result.sqliteVerifyPerSecond = rate(size, now() - start)
    start = now()
    guard try postgres.verify().isVerified else { throw BenchFailure(message: "the PostgreSQL ledger does not verify") }
    result.postgresVerifyPerSecond = rate(size, now() - start)
    start = now()
    _ = try sqlite.copy(to: "\(base)/bench_copy")
    result.copyPerSecond = rate(size, now() - start)
    return result
}

struct BenchFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

func postgresFigures(_ result: PostgresResult) -> String {
    func ratio(_ a: Double, _ b: Double) -> String { fmt(a / max(b, 1e-9), 2) + "×" }
    return """
        ## PostgreSQL beside SQLite (issue 16)

        The same synthetic ledger in both stores, on this machine in the same run; PostgreSQL (Debian's) on
        127.0.0.1 with its default settings (`synchronous_commit = on`, one fsync per commit, as SQLite's
        `synchronous = FULL`); started by scripts/with-postgres.sh.

        | | SQLite | PostgreSQL | PostgreSQL / SQLite |
        |---|---:|---:|---:|
        | appends (\(result.appends), one durable transaction each), per second | \(fmt(result.sqliteAppendsPerSecond)) | \(fmt(result.postgresAppendsPerSecond)) | \(ratio(result.postgresAppendsPerSecond, result.sqliteAppendsPerSecond)) |
        | import of \(result.entries) rows, rows per second | \(fmt(result.sqliteImportPerSecond)) | \(fmt(result.postgresImportPerSecond)) | \(ratio(result.postgresImportPerSecond, result.sqliteImportPerSecond)) |
        | verify of \(result.entries + 26) entries, entries per second | \(fmt(result.sqliteVerifyPerSecond)) | \(fmt(result.postgresVerifyPerSecond)) | \(ratio(result.postgresVerifyPerSecond, result.sqliteVerifyPerSecond)) |
        | `copy` SQLite → PostgreSQL, entries per second | | \(fmt(result.copyPerSecond)) | |
        """
}
