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
    /// Copies the ledger into a SQLite file with SQLite's online backup API, a consistent snapshot
    /// while other processes may be appending (a PostgreSQL ledger: with `copy`, entry by entry,
    /// checked as it goes), verifies the copy, and only then puts it at `target`. Refuses to
    /// overwrite; a copy that does not verify, or a killed run, leaves nothing at `target`.
    /// Returns the copy's verification.
    public func backup(to target: String) throws -> VerificationReport {
        guard !LedgerStore.isPostgres(target) else {
            throw InputError(
                field: "out", value: Ledger.displayName(target),
                problem: "is a database: a backup is a SQLite file (use `gigaledger copy` to copy a ledger into PostgreSQL)")
        }
        let partial: String
        if store.isPostgres {
            partial = target + ".partial-\(getpid())"
            LedgerStore.removeFiles(path: partial)
            try LedgerStore.checkCreatable(path: target)
            _ = try copy(to: partial)
        } else {
            partial = try store.backupCopy(for: target)
        }
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
