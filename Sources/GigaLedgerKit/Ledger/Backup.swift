import Foundation
import GigaLedgerCore
import GigaLedgerStore

extension Ledger {
    /// Copies the ledger to a new file with SQLite's online backup API, a consistent snapshot while
    /// other processes may be appending. Refuses to overwrite; removes a partial copy on failure.
    /// Returns the copy, opened read-only.
    public func backup(to target: String) throws -> Ledger {
        try store.backup(to: target)
        return try Ledger.open(path: target, forWriting: false)
    }
}
