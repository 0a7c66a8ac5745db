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

    /// Pages fetched at once: the server reads and encodes one while this process reads another.
    public static let pagesInFlight = 4

    /// Entries `first` to `last`, fetched a page at a time with `pagesInFlight` pages on the way
    /// (each read from its JSON on its own task), in order. A page must start where it was asked
    /// to and run on without a gap; a short one (a server with a smaller page) is completed by
    /// asking again from where it stopped.
    func fetch(from first: Int64, through last: Int64) async throws -> [Entry] {
        guard first <= last else { return [] }
        let starts = Array(stride(from: first, through: last, by: Self.pageEntries))
        func count(from start: Int64) -> Int { Int(min(Int64(Self.pageEntries), last - start + 1)) }
        func page(from start: Int64, count: Int) async throws -> [Entry] {
            let page = try await client.entries(from: start, count: count)
            guard !page.isEmpty, page.count <= count, page.enumerated().allSatisfy({ $0.element.seq == start + Int64($0.offset) }) else {
                throw ClientError.malformed("asked for entries from \(start), the server sent \(page.count) \(page.first.map { "from \($0.seq)" } ?? "")")
            }
            return page
        }
        var pages = [Int64: [Entry]]()
        try await withThrowingTaskGroup(of: (Int64, [Entry]).self) { group in
            var queued = 0
            func enqueue() {
                guard queued < starts.count else { return }
                let start = starts[queued]
                queued += 1
                group.addTask { (start, try await page(from: start, count: count(from: start))) }
            }
            for _ in 0..<Self.pagesInFlight { enqueue() }
            while let (start, fetched) = try await group.next() {
                pages[start] = fetched
                enqueue()
            }
        }
        var entries = [Entry]()
        entries.reserveCapacity(Int(last - first + 1))
        for start in starts {
            entries += pages[start] ?? []
            let end = start + Int64(count(from: start))
            while Int64(entries.count) + first < end {
                let next = Int64(entries.count) + first
                entries += try await page(from: next, count: Int(end - next))
            }
        }
        return entries
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
            let entries = try await fetch(from: before + 1, through: checkpoint.size)
            let kept = try await client.checkpoints(above: try ledger.checkpoints(above: 0).checkpoints.last?.size ?? 0)
            let after = try ledger.replicate(entries, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: checkpoint)
            return Outcome(created: !exists, before: before, after: after, checkpointsKept: kept.checkpoints.filter { $0.size <= after }.count)
        } catch {
            if !exists { Ledger.removeFiles(path: path) }
            throw error
        }
    }
}

