import CSodium
import Foundation
import GRDB
import GigaLedgerCore
import GigaLedgerKit
import GigaLedgerStore

#if canImport(Glibc)
import Glibc
#endif

// The raw limits of this machine, measured in the same run as GigaLedger: libsodium's sign and
// verify, SHA-256, SQLite's insert and scan.

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
    let message = Entry.signedMessage(hash: SHA256State.hash(Array(String(index).utf8)))
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
    for _ in 0..<count { _ = SHA256State.hash(input) }
    return rate(count, now() - start)
}
func measureSQLite(work: String) throws -> (insert: Double, scan: Double) {
    let queue = try DatabaseQueue(path: "\(work)/raw.sqlite")
    // A ledger's page size, set before the first write.
    try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA page_size = \(LedgerStore.sqlitePageSizeBytes)") }
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
        while let row = try rows.next() {
            let data: Data = row["a"]
            seen += data.count > 0 ? 1 : 0
        }
    }
    return (insert, rate(seen, now() - start))
}

/// The raw limits of one run: each the best seen before and after the ledgers.
struct RawLimits {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var sign = 0.0, verify = 0.0, sha = 0.0, verifyAllCores = 0.0
    var sqlite = (insert: 0.0, scan: 0.0)

    /// Measures every limit, keeping the better of this and any earlier measurement.
    mutating func measure(work: String, sqliteToo: Bool) throws {
        sign = max(sign, best(measureSign))
        verify = max(verify, best(measureVerify))
        sha = max(sha, best(measureSHA256))
        let cores = self.cores
        verifyAllCores = max(verifyAllCores, best { measureVerifyAllCores(cores) })
        if sqliteToo { sqlite = try measureSQLite(work: work) }
    }
}
