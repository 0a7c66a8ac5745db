import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// An auditor's or a member state's own verified copy of a server's ledger (`gigaledger sync`):
/// the same rows, the same hashes, each new entry checked against the copy's own state before it
/// is kept. A sync costs O(new entries): the copy's state is its index tables, not a replay.
public struct Replica: Sendable {
    /// Entries fetched per request.
    public static let pageEntries = 1_000

    public let client: LedgerClient
    public let trust: HeadTrust

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// What a sync did.
    public struct Outcome: Sendable {
        public let created: Bool
        public let before: Int64
        public let after: Int64
        public let checkpointsKept: Int
    }

    /// Creates the copy at `path` (when there is none) or brings it up to the server's checked
    /// head, in one transaction: all new entries or none.
    public func sync(path: String) async throws -> Outcome {
        let exists = FileManager.default.fileExists(atPath: path)
        let ledger = exists ? try Ledger.open(path: path, forWriting: true) : try Ledger.createReplica(path: path)
        do {
            let before = try ledger.size()
            // The copy's own tree stands for what it holds: the server must prove it extends it.
            let answer = try await client.head(known: before)
            let own: KeptCheckpoints.Kept? = before == 0 ? nil : try {
                let root = try ledger.root(size: before)
                let checkpoint = Checkpoint(origin: try ledger.origin(), size: before, root: root)
                return KeptCheckpoints.Kept(note: checkpoint.text, checkpoint: checkpoint)
            }()
            let (_, checkpoint, _) = try trust.check(answer, previous: own, server: client.base)
            var entries = [Entry]()
            var next = before + 1
            while next <= checkpoint.size {
                let page = try await client.entries(from: next, count: min(Self.pageEntries, Int(checkpoint.size - next + 1)))
                guard let last = page.last, page.first?.seq == next else {
                    throw ClientError.malformed("asked for entries from \(next), the server sent \(page.first.map { "from \($0.seq)" } ?? "none")")
                }
                entries += page
                next = last.seq + 1
            }
            let kept = try await client.checkpoints(above: try ledger.checkpoints(above: 0).checkpoints.last?.size ?? 0)
            let after = try ledger.replicate(entries, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: checkpoint)
            return Outcome(created: !exists, before: before, after: after, checkpointsKept: kept.checkpoints.filter { $0.size <= after }.count)
        } catch {
            if !exists { Ledger.removeFiles(path: path) }
            throw error
        }
    }
}

