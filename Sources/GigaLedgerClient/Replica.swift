import Foundation
import GigaLedgerCore
import GigaLedgerKit
import NIOPosix

/// An auditor's or a member state's own verified copy of a ledger (`gigaledger sync`), from a
/// server or from a publication on any web server, through the same files: `checkpoint`,
/// `ledger/v1/checkpoints` and the full-entry bundles `ledger/v1/bundle/N`. Each new entry is
/// checked against the copy's own state before it is kept, all new entries in one transaction or
/// none; a sync costs O(new entries) and holds only `bundlesAhead` bundles in memory.
public struct Replica: Sendable {
    /// Full-entry bundles (256 entries each) fetched ahead of the transaction that takes them in:
    /// what bounds a sync's memory, whatever the ledger's size.
    public static let bundlesAhead = 16
    /// New entries up to this many are asked of a server by one `entries` request, not by bundle.
    static let entriesByRequestMax: Int64 = 64
    /// Bundles checked and written together (their signatures on every core at once).
    static let bundlesPerBatch = 4

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
        /// Checkpoint and cosignature rows the copy holds now that it did not before.
        public let checkpointsKept: Int
        public var cosignaturesKept = 0
        /// The size of the checkpoint the source offered (smaller than `after` when it is behind
        /// this copy: rolled back, or a stale mirror).
        public let offered: Int64
        /// The signed checkpoint of `after` entries the copy was checked against, when it reached it.
        var reached: String? = nil
        /// The witnesses required lag behind the source beyond `--max-lag` (the caller reports it, exit 2).
        public var lagging: QuorumLagging? = nil
        /// The copy had been detached, with nothing written into it since: it is a copy again.
        public var reattached = false
    }

    /// Entries were written into the copy itself (after its last sync, or into a copy detached and
    /// synced again): the divergence is the copy's, not the server's.
    public struct CopyDiverged: GigaLedgerError {
        public let message: String
        public var description: String { message }
        public var kind: FailureKind { .notVerified }
    }

    /// Witnesses whose cosignatures a sync requires, how many of them, and for how long they may
    /// lag behind the source before that is an outage to report.
    public struct Quorum: Sendable {
        public let witnesses: [PublicKey]
        public let count: Int
        /// How long the source's checkpoints may go without the quorum's cosignatures: beyond it,
        /// the sync takes in what the quorum cosigned and exits 2, naming the witnesses missing.
        public let maxLagSeconds: Int64
        /// How each witness is named in messages (its public key file), beside its key ID.
        public let labels: [String]

        /// By default, 10 minutes: a witness cosigns within seconds of a checkpoint when it is up.
        public static let maxLagSecondsDefault: Int64 = 600

        public init(witnesses: [PublicKey], count: Int, maxLagSeconds: Int64 = maxLagSecondsDefault, labels: [String] = []) {
            self.witnesses = witnesses
            self.count = count
            self.maxLagSeconds = maxLagSeconds
            self.labels = labels
        }

        /// A duration in words: seconds below two minutes, minutes below two hours, else hours.
        static func words(_ seconds: Int64) -> String {
            seconds < 120 ? "\(seconds) s" : seconds < 7_200 ? "\(seconds / 60) min" : "\(seconds / 3_600) h"
        }

        /// When checkpoints above `witnessed` (the latest the quorum cosigned) have waited for
        /// the quorum longer than `maxLagSeconds` (the first of them signed that long before
        /// `now`): what to say, naming the witnesses whose cosignature the newest lacks.
        func lag(
            _ kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), witnessed: Int64, now: Date
        ) -> QuorumLagging? {
            let newer = kept.checkpoints.filter { $0.size > witnessed }.sorted { $0.size < $1.size }
            guard let first = newer.first, let newest = newer.last, let signedAt = Timestamp.date(first.signedAt),
                now.timeIntervalSince(signedAt) > Double(maxLagSeconds), let text = try? SignedNote.parse(newest.note).text
            else { return nil }
            let lines = kept.cosignatures.filter { $0.size == newest.size }.compactMap { try? SignedNote.parseSignature($0.line) }
            let cosigners = SignedNote(text: text, signatures: lines).cosigners(among: witnesses)
            let missing = witnesses.enumerated().filter { _, witness in !cosigners.contains { $0 == witness } }.map { index, witness in
                index < labels.count ? "\(labels[index]) (\(witness.id))" : witness.id.description
            }
            let waited = Int64(now.timeIntervalSince(signedAt))
            return QuorumLagging(
                message:
                    "the witnesses have cosigned nothing newer than \(witnessed) entries for \(Self.words(waited)) (--max-lag \(Self.words(maxLagSeconds))): the checkpoint of \(first.size) entries was signed at \(first.signedAt), and the latest, of \(newest.size), lacks the cosignature of \(missing.joined(separator: ", ")) (\(count) of \(witnesses.count) required); the copy holds the \(witnessed) entries they cosigned: a witness is down or behind, tell its operator"
            )
        }

        /// `latest(kept, above: copy - 1, atMost:)` and its note, or `QuorumNotMet` when there is none.
        func required(
            _ kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), copy: Int64,
            atMost: Int64
        ) throws -> (note: String, checkpoint: Checkpoint) {
            guard let witnessed = latest(kept, above: copy - 1, atMost: atMost) else {
                throw QuorumNotMet(
                    message:
                        "no checkpoint at or above this copy's \(copy) entries is cosigned by \(count) of the \(witnesses.count) witnesses given (a witness may be down or behind); nothing was taken in: retry later, or require fewer with --quorum"
                )
            }
            return witnessed
        }

        /// The largest kept checkpoint above `above` and at most `atMost` that `count` of the
        /// witnesses cosigned (by the kept cosignature rows); nil when there is none.
        func latest(
            _ kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), above: Int64,
            atMost: Int64
        ) -> (note: String, checkpoint: Checkpoint)? {
            for row in kept.checkpoints.sorted(by: { $0.size > $1.size }) where row.size > above && row.size <= atMost {
                guard let signed = try? SignedNote.parse(row.note), let checkpoint = try? Checkpoint.parse(signed.text) else { continue }
                let lines = kept.cosignatures.filter { $0.size == row.size }.compactMap { try? SignedNote.parseSignature($0.line) }
                if SignedNote(text: signed.text, signatures: lines).cosigners(among: witnesses).count >= count { return (row.note, checkpoint) }
            }
            return nil
        }
    }

    /// The witnesses required have cosigned none of the source's checkpoints of the last
    /// `--max-lag`: what they cosigned was taken in; an outage to report (exit 2), not a finding.
    public struct QuorumLagging: GigaLedgerError {
        public let message: String
        public var description: String { message }
        public var kind: FailureKind { .unusable }
        public var isRetryable: Bool { true }
    }

    /// Not enough witnesses cosigned any checkpoint at or above the copy's size: nothing was
    /// taken in. Not a finding (a witness may be down or behind): the copy cannot be brought up now.
    public struct QuorumNotMet: GigaLedgerError {
        public let message: String
        public var description: String { message }
        public var kind: FailureKind { .unusable }
        public var isRetryable: Bool { true }
    }

    /// Creates the copy at `path` (when there is none) or brings it up to a server's head (the
    /// checkpoint of its head answer) or a publication's `checkpoint`; with `quorum`, only up to
    /// the latest kept checkpoint that enough of the witnesses cosigned. The bundles above the
    /// copy's size are taken in, each entry checked as `verify` checks it; the copy's tree must
    /// then give the checkpoint's root, which commits to every entry, the copy's own included (a
    /// fork of the copy's history fails there, with evidence), and the checkpoint must be signed by
    /// a log or authority key of the ledger active at its size, as every kept checkpoint row
    /// taken in is.
    /// `offered`: the signed checkpoint to reach when the caller has it already (a head answer it
    /// just read), instead of asking for one; `listing` false takes in the entries alone, not the
    /// checkpoints the source lists (an officer's copy after a conflict: the next command's sync
    /// takes them in).
    public func sync(
        path: String, quorum: Quorum? = nil, lockWaitSeconds: Double = Ledger.lockWaitSecondsDefault, offered: String? = nil,
        listing: Bool = true
    ) async throws -> Outcome {
        let exists = try Ledger.exists(at: path)
        let ledger =
            exists
            ? try Ledger.open(path: path, forWriting: true, lockWaitSeconds: lockWaitSeconds, role: .replica) : try Ledger.createReplica(path: path)
        var outcome: Outcome
        let mark = ReplicaMark.read(ledger: path)
        // A PostgreSQL copy is marked inside by its tables' owner: a role that may not mark it
        // takes nothing in (marked again, as it was, before anything is written).
        if exists, Ledger.isDatabase(path), try ledger.isMarkedCopy() { try ledger.markCopy(true) }
        do {
            if let mark {
                let size = try ledger.size()
                guard size <= mark.size else {
                    throw CopyDiverged(
                        message:
                            "this copy holds \(size) entries, but its last sync from \(mark.source) took it to \(mark.size) (the server's signed checkpoint of \(mark.size) entries, kept beside the copy): entries \(mark.size + 1) to \(size) were written into the copy\(mark.detached ? " after it was detached" : ""), not taken from the server; nothing was taken in (keep a new copy with gigaledger sync into another file)"
                    )
                }
            }
            outcome = try await sync(Copy(ledger: ledger), created: !exists, quorum: quorum, offered: offered, listing: listing)
            outcome.reattached = mark?.detached == true
        } catch {
            if !exists { Ledger.removeFiles(path: path) }
            throw error
        }
        // The copy stays one: marked with its source and the checkpoint it was last checked against.
        if let reached = outcome.reached {
            try ReplicaMark(source: client.base, size: outcome.after, checkpoint: reached).write(ledger: path)
            try ledger.markCopy(true)
        }
        return outcome
    }

    /// The copy, handed to the thread that runs its transaction. `@unchecked Sendable`: used by one
    /// thread at a time, the caller's until the transaction, then the transaction's.
    private struct Copy: @unchecked Sendable { let ledger: Ledger }

    private func sync(_ copy: Copy, created: Bool, quorum: Quorum?, offered given: String?, listing: Bool) async throws -> Outcome {
        let ledger = copy.ledger
        let before = try ledger.size()
        // The copy's root of trust, checked again once new entries and checkpoints are in (a later
        // authority key trusted vouches by an entry or a checkpoint that may come with them); a copy that is
        // not taken further must hold now.
        var rootRefused: (any Error)?
        if before > 0, let (origin, authority) = try? ledger.rootOfTrust() {
            do { try trust.trustRoot(origin: origin, genesis: authority, vouching: ledger.vouchingCheckpoint) } catch let error as UntrustedAuthority
            {
                rootRefused = error
            }
        }
        let (offeredNote, offered) =
            if let given { try Self.parsedCheckpoint(given, from: client.base) } else { try await offeredCheckpoint(copySize: before) }
        // From the copy's latest kept checkpoint on: cosignatures that came after it was kept come too.
        let stored = try ledger.checkpoints(above: 0).checkpoints
        let above = max(0, (stored.last?.size ?? 0) - 1)
        let listed = listing ? try await client.checkpoints(above: above) : (checkpoints: [], cosignatures: [])
        let kept = (checkpoints: listed.checkpoints.filter { $0.size > above }, cosignatures: listed.cosignatures.filter { $0.size > above })
        let (note, target) = try quorum?.required(kept, copy: before, atMost: offered.size) ?? (offeredNote, offered)
        let own = before == 0 ? nil : Checkpoint(origin: try ledger.origin(), size: before, root: try ledger.root(size: before))
        if let own, target.origin != own.origin {
            throw Refusal(
                "\(client.base) serves the ledger \(target.origin), not this copy's, \(own.origin): give it a copy of that ledger, or this copy the address of its own; nothing was taken in"
            )
        }
        do {
            if let own {
                // A row the copy holds as listed was checked when it was taken in: only the others cost a check.
                let held = Set(stored.map(\.note))
                try checkListed(listed.checkpoints.filter { !held.contains($0.note) }, against: ledger, own: own, rootRefused: rootRefused)
            }
            guard target.size >= before else {
                if let rootRefused { throw rootRefused }
                // Behind this copy (rolled back, or a stale mirror): believed only once signed by a
                // checkpoint key of the ledger at its size (an unsigned one is no evidence of anything).
                guard (try? Checkpoint.open(note, trusting: try ledger.checkpointKeys(at: target.size))) != nil else {
                    throw VerificationFailure(
                        seq: target.size,
                        reason:
                            "the checkpoint of \(target.size) entries from \(client.base) is not signed by a checkpoint key of this ledger: refused, nothing taken in"
                    )
                }
                // It must hold the copy's history up to its size.
                guard try ledger.root(size: target.size) == target.root else {
                    throw ForkFound(
                        seq: target.size,
                        reason:
                            "the checkpoint of \(target.size) entries from \(client.base) does not match this copy's first \(target.size): its history has forked from this copy's (a fork)"
                    )
                }
                return Outcome(created: created, before: before, after: before, checkpointsKept: 0, offered: target.size)
            }
            let rowsBefore = try ledger.checkpoints(above: 0)
            let after = try await takeIn(copy, above: before, through: target, note: note, kept: kept, fromServer: given != nil)
            let rowsAfter = try ledger.checkpoints(above: 0)
            return Outcome(
                created: created, before: before, after: after,
                checkpointsKept: rowsAfter.checkpoints.count - rowsBefore.checkpoints.count,
                cosignaturesKept: rowsAfter.cosignatures.count - rowsBefore.cosignatures.count,
                offered: target.size, reached: after == target.size ? note : nil,
                lagging: offered.size > target.size ? quorum?.lag(kept, witnessed: target.size, now: Date()) : nil)
        } catch let fork as ForkFound {
            // A copy that is not of the ledger trusted proves nothing against the server.
            if let rootRefused { throw rootRefused }
            throw try trust.evidence(fork.reason, copy: own, served: note, server: client.base)
        } catch let error as any GigaLedgerError where rootRefused != nil && error.kind == .notVerified && !(error is UntrustedAuthority) {
            throw rootRefused!
        }
    }

    /// Every checkpoint the source lists at or below the copy's size (`own`) that a checkpoint key
    /// of this ledger signed must be of the copy's own first entries: one that is not is that key's
    /// signature on another history (a split view), kept as evidence, exit 1. One whose signature
    /// does not verify proves nothing and is left aside.
    private func checkListed(_ listed: [ReplicatedCheckpoint], against ledger: Ledger, own: Checkpoint, rootRefused: (any Error)?) throws {
        let rows = listed.filter { $0.size >= 1 && $0.size <= own.size }
        guard !rows.isEmpty else { return }
        for row in rows {
            guard let (checkpoint, _) = try? Checkpoint.open(row.note, trusting: try ledger.checkpointKeys(at: row.size)),
                checkpoint.origin == own.origin
            else { continue }
            let root = try ledger.root(size: checkpoint.size)
            guard root != checkpoint.root else { continue }
            if let rootRefused { throw rootRefused }
            throw try trust.evidence(
                "\(client.base) lists a checkpoint of \(checkpoint.size) entries, signed by a checkpoint key of this ledger, that does not match this copy's first \(checkpoint.size): the key signed two histories (a split view, a fork)",
                copy: Checkpoint(origin: own.origin, size: checkpoint.size, root: root), served: row.note, server: client.base)
        }
    }

    /// The checkpoint to take the copy up to: a server's head answer's (a checkpoint of the head,
    /// kept or signed for the answer), or a publication's `checkpoint`; parsed, its signature
    /// checked once the entries are in (`Ledger.replicate`).
    private func offeredCheckpoint(copySize: Int64) async throws -> (note: String, checkpoint: Checkpoint) {
        let note: String
        if try await client.servesAPI() {
            note = try await client.head(known: copySize).checkpoint
        } else {
            guard let bytes = try await client.file("checkpoint") else {
                throw ClientError.malformed(
                    "\(client.base) serves neither the GigaLedger API nor a publication: it has no checkpoint (or none is kept yet)")
            }
            note = String(decoding: bytes, as: UTF8.self)
        }
        return try Self.parsedCheckpoint(note, from: client.base)
    }

    /// A signed checkpoint note parsed (its signature is checked once the entries are in).
    static func parsedCheckpoint(_ note: String, from source: String) throws -> (note: String, checkpoint: Checkpoint) {
        guard let signed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(signed.text) else {
            throw ClientError.malformed("the checkpoint of \(source) is not a signed checkpoint note")
        }
        return (note, checkpoint)
    }

    /// Entries `above + 1` to `through.size` from the bundles, fetched `bundlesAhead` at a time
    /// while the copy's transaction (on a thread of its own: it waits for them) takes them in.
    private func takeIn(
        _ copy: Copy, above: Int64, through: Checkpoint, note: String,
        kept: (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]), fromServer: Bool
    ) async throws -> Int64 {
        let width = Int64(TilePath.width)
        let last = through.size
        let client = self.client
        let trust = self.trust
        // A few new entries from a server: one request for just those (a partial bundle would carry
        // up to 255 the copy holds, read and decoded again by both sides after every conflict).
        if fromServer, last > above, last - above <= Self.entriesByRequestMax {
            let count = Int(last - above)
            let page: [Entry]
            do { page = try await client.entries(from: above + 1, count: count) } catch ClientError.malformed(let why) {
                throw VerificationFailure(
                    seq: above + 1, reason: "the entries from \(above + 1) of \(client.base) are not valid: \(why); nothing was taken in")
            }
            guard page.count == count, page.enumerated().allSatisfy({ $0.element.seq == above + 1 + Int64($0.offset) }) else {
                throw VerificationFailure(
                    seq: above + 1, reason: "\(client.base) did not send entries \(above + 1) to \(last) when asked; nothing was taken in")
            }
            return try await NIOThreadPool.singleton.runIfActive {
                var batches = [page].makeIterator()
                return try copy.ledger.replicate(
                    batches: { batches.next() }, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: through, note: note,
                    rootOfTrust: { origin, genesis, vouching in try trust.trustRoot(origin: origin, genesis: genesis, vouching: vouching) })
            }
        }
        let indexes = above >= last ? [] : Array((above / width)...((last - 1) / width))
        let bundles = Prefetch(indexes, ahead: Self.bundlesAhead) { index in
            try await Self.bundle(index, through: last, client: client)
        }
        defer { bundles.cancel() }
        return try await NIOThreadPool.singleton.runIfActive {
            try copy.ledger.replicate(
                batches: {
                    var batch = [Entry]()
                    for _ in 0..<Self.bundlesPerBatch {
                        guard let bundle = try bundles.take() else { break }
                        batch += bundle.filter { $0.seq > above }
                    }
                    return batch.isEmpty ? nil : batch
                }, checkpoints: kept.checkpoints, cosignatures: kept.cosignatures, through: through, note: note,
                rootOfTrust: { origin, genesis, vouching in try trust.trustRoot(origin: origin, genesis: genesis, vouching: vouching) })
        }
    }

    /// Bundle `index` of a ledger of `last` entries: 256 entries, or the partial one at its end.
    /// What it holds is checked as a ledger is: a bad file is a finding (exit 1).
    static func bundle(_ index: Int64, through last: Int64, client: LedgerClient) async throws -> [Entry] {
        let width = Int64(TilePath.width)
        let count = Int(min(width, last - index * width))
        let page: [Entry]
        do { page = try await client.bundle(TilePath(level: nil, index: index, width: count)) } catch ClientError.malformed(let why) {
            throw VerificationFailure(
                seq: index * width + 1, reason: "the bundle \(index) of \(client.base) is not valid: \(why); nothing was taken in")
        }
        guard page.count == count, page.enumerated().allSatisfy({ $0.element.seq == index * width + 1 + Int64($0.offset) }) else {
            throw VerificationFailure(
                seq: index * width + 1,
                reason:
                    "the bundle \(index) of \(client.base) does not hold entries \(index * width + 1) to \(index * width + Int64(count)); nothing was taken in"
            )
        }
        return page
    }
}

/// Bundles fetched ahead, in order: at most `ahead` on the way or waiting at once. `take` blocks
/// its thread (a transaction's, never one of the cooperative pool's) until the next one is in.
final class Prefetch: @unchecked Sendable {
    // `@unchecked Sendable`: every mutable member is read and written under `condition`.
    private let condition = NSCondition()
    private let indexes: [Int64]
    private let fetch: @Sendable (Int64) async throws -> [Entry]
    private var results = [Int64: Result<[Entry], any Error>]()
    private var tasks = [Int64: Task<Void, Never>]()
    private var taken = 0
    private var started = 0

    init(_ indexes: [Int64], ahead: Int, fetch: @escaping @Sendable (Int64) async throws -> [Entry]) {
        self.indexes = indexes
        self.fetch = fetch
        condition.lock()
        while started < min(ahead, indexes.count) { startNext() }
        condition.unlock()
    }

    /// Requires `condition` held.
    private func startNext() {
        let index = indexes[started]
        started += 1
        tasks[index] = Task { [fetch] in
            let result: Result<[Entry], any Error>
            do { result = .success(try await fetch(index)) } catch { result = .failure(error) }
            self.deliver(result, for: index)
        }
    }

    /// Hands a fetched bundle to `take` (a synchronous function: NSCondition is not for async code).
    private func deliver(_ result: Result<[Entry], any Error>, for index: Int64) {
        condition.lock()
        results[index] = result
        condition.broadcast()
        condition.unlock()
    }

    /// The next bundle, in order; nil after the last. Throws the error that fetching it met.
    func take() throws -> [Entry]? {
        condition.lock()
        defer { condition.unlock() }
        guard taken < indexes.count else { return nil }
        let index = indexes[taken]
        while results[index] == nil { condition.wait() }
        let result = results.removeValue(forKey: index)!
        tasks[index] = nil
        taken += 1
        if started < indexes.count { startNext() }
        return try result.get()
    }

    /// Stops the fetches still on the way.
    func cancel() {
        condition.lock()
        let running = tasks.values
        tasks.removeAll()
        condition.unlock()
        for task in running { task.cancel() }
    }
}
