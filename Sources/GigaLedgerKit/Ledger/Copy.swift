import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// What `copy` did: the entries, checkpoints and cosignatures the new ledger holds, the same as the original's.
public struct CopyOutcome: Equatable, Sendable {
    public let entries: Int64
    public let headHash: [UInt8]?
    public let checkpoints: Int
    public let cosignatures: Int
}

extension Ledger {
    /// Entries read from the original and taken in per step of a copy.
    static let copyEntriesPerStep = 10_000

    /// Copies this ledger, as it stands when the copy starts, into a new ledger at `target` (a
    /// SQLite file or a `postgres://` database without a ledger): every entry, checkpoint and
    /// cosignature verbatim, each taken in through the checks a replica makes (`replicate`: chain,
    /// hash, signature by the enrolled key, the rules; each checkpoint signed and matching the tree
    /// the entries give), all in one transaction. A SQLite copy is made beside `target` and put in
    /// place only when whole; a PostgreSQL copy commits once. Either way a failure or a kill leaves
    /// no ledger at `target`. Refuses a target that exists.
    public func copy(to target: String) throws -> CopyOutcome {
        try LedgerStore.checkCreatable(path: target)
        let isFile = !LedgerStore.isPostgres(target)
        let destination = isFile ? target + ".partial-\(getpid())" : target
        if isFile {
            LedgerStore.removeFiles(path: destination)
            Files.removeLeftovers(of: target, markers: [".partial-"])  // a killed copy's
        }
        do {
            let outcome = try copyEntries(to: destination)
            if isFile { try LedgerStore.publishCopy(destination, to: target) }
            return outcome
        } catch {
            // A PostgreSQL copy's schema and rows were one transaction: nothing of it stands.
            if isFile { LedgerStore.removeFiles(path: destination) }
            throw error
        }
    }

    private func copyEntries(to destination: String) throws -> CopyOutcome {
        let (size, checkpoints, cosignatures) = try store.read { reader in
            (try reader.size(), try reader.checkpoints(), try reader.cosignatures())
        }
        let rows = checkpoints.filter { $0.size <= size }.map {
            ReplicatedCheckpoint(size: $0.size, root: $0.root, note: $0.note, signedAt: $0.signedAt)
        }
        let cosigned = cosignatures.filter { $0.size <= size }
        let originalHead = try store.read { try $0.entry(size)?.hash }
        let (_, result) = try LedgerStore.create(path: destination, bulk: true) { writer in
            var next: Int64 = 1
            while next <= size {
                let entries = try store.read { try $0.entries(from: next, limit: Int(min(Int64(Self.copyEntriesPerStep), size - next + 1))) }
                guard let last = entries.last, entries.first?.seq == next else {
                    throw LedgerError.damaged("entry \(next) cannot be read from the original")
                }
                _ = try Self.replicate(entries, checkpoints: rows, cosignatures: cosigned, through: nil, source: "the original's", writer: writer)
                next = last.seq + 1
            }
            // Before anything commits: the copy holds what the original held when the copy started,
            // row for row (what was appended or signed meanwhile is not part of it).
            let reader = writer.reader
            let result = (try reader.head()?.hash, try reader.checkpoints(), try reader.cosignatures())
            guard result.0 == originalHead, result.1 == checkpoints.filter({ $0.size <= size }), result.2 == cosigned else {
                throw LedgerError.damaged("the copy's head, checkpoints or cosignatures differ from the original's when the copy started")
            }
            return result
        }
        return CopyOutcome(entries: size, headHash: result.0, checkpoints: result.1.count, cosignatures: result.2.count)
    }
}
