import Foundation
import GRDB

/// What an import did, or would do with `dryRun`.
public struct ImportResult: Equatable {
    public let entries: [Entry]
    public let record: Entry
    public let dryRun: Bool
}

extension Ledger {
    /// Appends every row, then an `import` record naming the file's SHA-256, in one transaction:
    /// all rows or none. A row the rules refuse names its file row. The same file again is refused
    /// unless `allowDuplicate`. `dryRun` does all the checks and signing, then rolls back.
    /// `progress(done, total)` is called after each row.
    public func importRows(_ rows: [ImportRow], fileName: String, fileSHA256: [UInt8], key: SigningKey, allowDuplicate: Bool = false,
                           dryRun: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> ImportResult {
        let record = try ImportRecord(fileName: fileName, fileSHA256: fileSHA256, rows: Int64(rows.count))
        do {
            return try queue.writeWithoutTransaction { db in
                var result: ImportResult?
                try db.inTransaction(.immediate) {
                    if !allowDuplicate, let earlier = try Int64.fetchOne(db, sql: "SELECT seq FROM imports WHERE file_sha256 = ? ORDER BY seq LIMIT 1",
                                                                         arguments: [Encoding.hex(fileSHA256)]) {
                        throw Refusal("this file (sha256 \(Encoding.hex(fileSHA256))) was already imported, recorded at entry \(earlier); use --allow-duplicate-file to import it again")
                    }
                    var entries = [Entry]()
                    entries.reserveCapacity(rows.count)
                    for (index, row) in rows.enumerated() {
                        do { entries.append(try Self.appendInTransaction(db, data: row.data, key: key)) } catch let refusal as Refusal {
                            throw ImportError(row: row.row, column: nil, value: nil, problem: refusal.message)
                        }
                        progress?(index + 1, rows.count)
                    }
                    let recordEntry = try Self.appendInTransaction(db, data: .importRecord(record), key: key)
                    result = ImportResult(entries: entries, record: recordEntry, dryRun: dryRun)
                    return dryRun ? .rollback : .commit
                }
                return result!
            }
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }
}
