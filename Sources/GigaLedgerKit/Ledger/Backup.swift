import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// A backup whose copy does not verify: the copy is removed, nothing is kept.
public struct BackupNotVerified: GigaLedgerError, Equatable {
    public let failure: VerificationFailure
    public var description: String { "the copy does not verify (\(failure)); it was removed, nothing was written" }
    public var kind: FailureKind { .notVerified }
}

extension Ledger {
    /// Copies the ledger with SQLite's online backup API, a consistent snapshot while other
    /// processes may be appending, verifies the copy, and only then puts it at `target`. Refuses to
    /// overwrite; a copy that does not verify, or a killed run, leaves nothing at `target`.
    /// Returns the copy's verification.
    public func backup(to target: String) throws -> VerificationReport {
        let partial = try store.backupCopy(for: target)
        let report: VerificationReport
        do { report = try Ledger.open(path: partial, forWriting: false).verify() } catch {
            LedgerStore.removeFiles(path: partial)
            throw error
        }
        if let failure = report.failure {
            LedgerStore.removeFiles(path: partial)
            throw BackupNotVerified(failure: failure)
        }
        try LedgerStore.publishCopy(partial, to: target)
        return report
    }
}
