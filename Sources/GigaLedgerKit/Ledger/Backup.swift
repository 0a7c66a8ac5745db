import Foundation
import GRDB

extension Ledger {
    /// Copies the ledger to a new file with SQLite's online backup API (sqlite.org/backup.html),
    /// which takes a consistent snapshot while other processes may be appending. Refuses to
    /// overwrite; removes a partial copy on failure. Returns the copy, opened read-only.
    public func backup(to target: String) throws -> Ledger {
        try LedgerDatabase.refuseExisting(path: target)
        do {
            let copy = try DatabaseQueue(path: target, configuration: LedgerDatabase.configuration(readOnly: false))
            try queue.backup(to: copy)
            try copy.close()
        } catch {
            LedgerDatabase.removeFiles(path: target)
            throw LedgerDatabase.map(error, path: target)
        }
        return try Ledger.open(path: target, forWriting: false)
    }
}
