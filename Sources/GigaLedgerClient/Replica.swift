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
        /// The size of the checkpoint the server or publication offered (smaller than `after`
        /// when it is behind this copy: rolled back, or a stale mirror).
        public let offered: Int64
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
        @Sendable func count(from start: Int64) -> Int { Int(min(Int64(Self.pageEntries), last - start + 1)) }
        @Sendable func page(from start: Int64, count: Int) async throws -> [Entry] {
            let page = try await client.entries(from: start, count: count)
            guard !page.isEmpty, page.count <= count, page.enumerated().allSatisfy({ $0.element.seq == start + Int64($0.offset) }) else {
                throw ClientError.malformed("asked for entries from \(start), the server sent \(page.count) \(page.first.map { "from \($0.seq)" } ?? "")")
            }
            return page
        }
        let pages = try await Self.inFlight(starts) { start in try await page(from: start, count: count(from: start)) }
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

    /// Witnesses whose cosignatures a sync requires, and how many of them.
    public struct Quorum: Sendable {
        public let witnesses: [PublicKey]
        public let count: Int

        public init(witnesses: [PublicKey], count: Int) {
            self.witnesses = witnesses
            self.count = count
        }

        /// `latest(kept, above: copy - 1, atMost:)`, or `QuorumNotMet` naming `source` when there is none.
        func required(_ kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), copy: Int64, atMost: Int64,
                      source: String) throws -> Checkpoint {
            guard let witnessed = latest(kept, above: copy - 1, atMost: atMost) else {
                throw QuorumNotMet(message: "no \(source) at or above this copy's \(copy) entries is cosigned by \(count) of the \(witnesses.count) witnesses given (a witness may be down or behind); nothing was taken in: retry later, or require fewer with --quorum")
            }
            return witnessed
        }

        /// The largest kept checkpoint above `above` and at most `atMost` that `count` of the
        /// witnesses cosigned (by the kept cosignature rows); nil when there is none.
        func latest(_ kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), above: Int64, atMost: Int64) -> Checkpoint? {
            for row in kept.checkpoints.sorted(by: { $0.size > $1.size }) where row.size > above && row.size <= atMost {
                guard let signed = try? SignedNote.parse(row.note), let checkpoint = try? Checkpoint.parse(signed.text) else { continue }
                let lines = kept.cosignatures.filter { $0.size == row.size }.compactMap { try? SignedNote.parseSignature($0.line) }
                if SignedNote(text: signed.text, signatures: lines).cosigners(among: witnesses).count >= count { return checkpoint }
            }
            return nil
        }
    }

    /// Not enough witnesses cosigned any checkpoint at or above the copy's size: nothing was
    /// taken in. Not a finding (a witness may be down or behind): the copy cannot be brought up now.
    public struct QuorumNotMet: GigaLedgerError {
        public let message: String
        public var description: String { message }
        public var kind: FailureKind { .unusable }
        public var isRetryable: Bool { true }
    }

    /// Creates the copy at `path` (when there is none) or brings it up to the server's checked
    /// head, in one transaction: all new entries or none. With `quorum`, only up to the latest
    /// kept checkpoint that enough of the witnesses cosigned.
    public func sync(path: String, quorum: Quorum? = nil) async throws -> Outcome {
        let exists = try Ledger.exists(at: path)
        let ledger = exists ? try Ledger.open(path: path, forWriting: true) : try Ledger.createReplica(path: path)
        do {
            let before = try ledger.size()
            if try await !client.servesAPI() {
                let (after, kept, offered) = try await syncPublished(ledger, before: before, quorum: quorum)
                return Outcome(created: !exists, before: before, after: after, checkpointsKept: kept, offered: offered)
            }
            // The copy's own tree stands for what it holds: the server must prove it extends it.
            let answer = try await client.head(known: before)
            let own: KeptCheckpoints.Kept? = before == 0 ? nil : try {
                let root = try ledger.root(size: before)
                let checkpoint = Checkpoint(origin: try ledger.origin(), size: before, root: root)
                return KeptCheckpoints.Kept(note: checkpoint.text, checkpoint: checkpoint)
            }()
            var (_, checkpoint, _) = try trust.check(answer, previous: own, server: client.base)
            // From the copy's latest kept checkpoint on: cosignatures that came after it was kept come too.
            let kept = try await client.checkpoints(above: max(0, (try ledger.checkpoints(above: 0).checkpoints.last?.size ?? 0) - 1))
            if let quorum { checkpoint = try quorum.required(kept, copy: before, atMost: checkpoint.size, source: "checkpoint of the server") }
            let entries = try await fetch(from: before + 1, through: checkpoint.size)
            let after = try ledger.replicate(entries, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: checkpoint)
            return Outcome(created: !exists, before: before, after: after, checkpointsKept: kept.checkpoints.filter { $0.size <= after }.count,
                           offered: checkpoint.size)
        } catch {
            if !exists { Ledger.removeFiles(path: path) }
            throw error
        }
    }

    /// A sync from a publication (static files, FORMAT.md section 18): the published checkpoint
    /// must be one of the published kept checkpoints (each checked by `replicate` as `verify`
    /// checks a stored one: signed by a log or authority key of the ledger active at its size);
    /// the full-entry bundles above the copy's size are taken in as from a server, and the copy's
    /// tree must then give the checkpoint's root, which commits to every entry, the copy's own
    /// included: a fork of the copy's history fails there. A publication behind the copy must
    /// give the copy's own root at its size. The genesis authority must be the one trusted.
    func syncPublished(_ ledger: Ledger, before: Int64, quorum: Quorum?) async throws -> (after: Int64, kept: Int, offered: Int64) {
        guard let noteBytes = try await client.file("checkpoint") else {
            throw ClientError.malformed("\(client.base) serves neither the GigaLedger API (no health) nor a publication (no checkpoint)")
        }
        let note = String(decoding: noteBytes, as: UTF8.self)
        guard let signed = try? SignedNote.parse(note), var checkpoint = try? Checkpoint.parse(signed.text) else {
            throw ClientError.malformed("the published checkpoint is not a signed checkpoint note")
        }
        let kept = try await client.publishedCheckpoints()
        if let quorum { checkpoint = try quorum.required(kept, copy: before, atMost: checkpoint.size, source: "published checkpoint") }
        guard kept.checkpoints.contains(where: { $0.size == checkpoint.size && (try? SignedNote.parse($0.note))?.text == checkpoint.text }) else {
            throw VerificationFailure(seq: checkpoint.size, reason: "the published checkpoint (\(checkpoint.size) entries) is not among the published kept checkpoints; nothing was taken in")
        }
        if before > 0, let (origin, authority) = try? ledger.rootOfTrust() {
            _ = try trust.known.check(origin: origin, authority: authority, pinned: trust.pinned)
        }
        guard checkpoint.size >= before else {
            guard try ledger.root(size: checkpoint.size) == checkpoint.root else {
                throw VerificationFailure(seq: checkpoint.size, reason: "the published checkpoint of \(checkpoint.size) entries does not match this copy's first \(checkpoint.size): its history has forked from this copy's; nothing was taken in")
            }
            return (before, 0, checkpoint.size)
        }
        let entries = try await fetchPublished(from: before + 1, through: checkpoint.size)
        if before == 0, case .genesis(let genesis)? = entries.first.flatMap({ try? EntryBody.decode($0.body) })?.data {
            _ = try trust.known.check(origin: genesis.origin, authority: genesis.authority.publicKey.id, pinned: trust.pinned)
        }
        let after = try ledger.replicate(entries, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: checkpoint)
        return (after, kept.checkpoints.filter { $0.size > before && $0.size <= after }.count, checkpoint.size)
    }

    /// Entries `first` to `last` from the published full-entry bundles, `pagesInFlight` at once.
    func fetchPublished(from first: Int64, through last: Int64) async throws -> [Entry] {
        guard first <= last else { return [] }
        let width = Int64(TilePath.width)
        let indexes = Array(((first - 1) / width)...((last - 1) / width))
        let bundles = try await Self.inFlight(indexes) { index -> [Entry] in
            let count = index < last / width ? TilePath.width : Int(last % width)
            // What a publication holds is checked as a ledger is: a bad file is a finding (exit 1).
            let page: [Entry]
            do { page = try await client.publishedBundle(TilePath(level: nil, index: index, width: count)) } catch ClientError.malformed(let why) {
                throw VerificationFailure(seq: index * width + 1, reason: "the published bundle \(index) is not valid: \(why); nothing was taken in")
            }
            guard page.count == count, page.enumerated().allSatisfy({ $0.element.seq == index * width + 1 + Int64($0.offset) }) else {
                throw VerificationFailure(seq: index * width + 1, reason: "the published bundle \(index) does not hold entries \(index * width + 1) to \(index * width + Int64(count)); nothing was taken in")
            }
            return page
        }
        return indexes.flatMap { bundles[$0] ?? [] }.filter { $0.seq >= first }
    }

    /// `fetch` of every key, `pagesInFlight` at once (each answer read on its own task), by key.
    static func inFlight(_ keys: [Int64], _ fetch: @escaping @Sendable (Int64) async throws -> [Entry]) async throws -> [Int64: [Entry]] {
        var results = [Int64: [Entry]]()
        try await withThrowingTaskGroup(of: (Int64, [Entry]).self) { group in
            var queued = 0
            func enqueue() {
                guard queued < keys.count else { return }
                let key = keys[queued]
                queued += 1
                group.addTask { (key, try await fetch(key)) }
            }
            for _ in 0..<pagesInFlight { enqueue() }
            while let (key, fetched) = try await group.next() {
                results[key] = fetched
                enqueue()
            }
        }
        return results
    }
}
