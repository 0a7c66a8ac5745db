import Foundation
import GigaLedgerCore
import GigaLedgerKit
import NIOPosix
import Synchronization

/// The ledger as the server holds it: one writer connection, the log key, and what the server
/// knows it has verified. Every call into the ledger (SQLite, blocking) runs on NIO's thread pool,
/// never on the event loops.
final class LedgerService: Sendable {
    /// The ledger is not Sendable (it holds a GRDB `DatabaseQueue`); every use of it goes through
    /// that queue, which runs one statement sequence at a time, so sharing the reference across
    /// the pool's threads is sound.
    private struct Handle: @unchecked Sendable { let ledger: Ledger }

    private let handle: Handle
    let logKey: SigningKey
    let origin: String
    private let limits: ServerLimits

    private struct State {
        /// Every entry up to here has been verified (at start) or admitted by this server.
        var verifiedSize: Int64
        /// Entries above `verifiedSize` admitted by this server, by seq: answers of concurrent
        /// submissions arrive in any order; `verifiedSize` advances over them.
        var admittedAbove = Set<Int64>()
        /// Entries written by a submission whose transaction may not have returned yet: the
        /// checkpoint task must not take them for another process's and verify everything again.
        var pending = [ClosedRange<Int64>]()

        mutating func admitted(_ seqs: ClosedRange<Int64>) {
            for seq in seqs where seq > verifiedSize { admittedAbove.insert(seq) }
            while admittedAbove.remove(verifiedSize + 1) != nil { verifiedSize += 1 }
        }
        /// When the log key last kept a checkpoint.
        var lastKept: ContinuousClock.Instant
        /// The latest checkpoint kept in the ledger, as this server last read or kept it (another
        /// process keeping one only makes this server sign one more for the same size).
        var kept: (size: Int64, note: String)?
        /// A checkpoint signed for a head and not kept, by size: signed once per size.
        var unkept: (size: Int64, note: String)?
        /// The enrolments of the checkpoint keys, as every head answer carries them; read again
        /// after an entry that enrols or revokes a key, or another process's entries.
        var keyEntries: [Entry]?
        /// Counts the times `keyEntries` was forgotten: a read that began before is not kept.
        var keyEntriesGeneration: UInt64 = 0

        mutating func forgetKeyEntries() {
            keyEntries = nil
            keyEntriesGeneration += 1
        }
    }
    private let state: Mutex<State>
    /// The public pages at the latest kept checkpoint, made once per checkpoint.
    private let site = Mutex<PublicSite?>(nil)

    /// Opens the ledger for writing, verifies all of it (a server never serves, nor signs over, a
    /// ledger that does not verify), and checks that `logKey` may sign its checkpoints.
    /// The folder of report folders the public page shows.
    private let reports: String?

    init(path: String, logKey: SigningKey, limits: ServerLimits, reports: String? = nil) throws {
        self.reports = reports
        let ledger = try Ledger.open(path: path, forWriting: true)
        let verification = try ledger.verify()
        if let failure = verification.failure { throw failure }
        guard let record = try ledger.keys().first(where: { $0.enrolment.publicKey == logKey.publicKey }), record.enrolment.role.signsCheckpoints else {
            throw Refusal("key \(logKey.id) is not a log key of this ledger: enrol it on this machine with `gigaledger key enroll --ledger \(path) --role log --pub LOG.pub --name NAME --key AUTHORITY_KEY`")
        }
        if let revokedAt = record.revokedAt {
            throw Refusal("log key \(logKey.id) (\(record.enrolment.name)) was revoked at entry \(revokedAt): start the server with the log key that replaced it")
        }
        handle = Handle(ledger: ledger)
        self.logKey = logKey
        self.origin = verification.origin
        self.limits = limits
        let kept = try ledger.latestCheckpoint().flatMap { note in (try? Checkpoint.parse(SignedNote.parse(note).text)).map { ($0.size, note) } }
        state = Mutex(State(verifiedSize: verification.verifiedCount, lastKept: .now - .seconds(3600), kept: kept, unkept: nil))
    }

    /// The public site at the latest kept checkpoint (made again after each new one).
    func publicSite() async throws -> PublicSite? {
        let keptSize = state.withLock { $0.kept?.size }
        if let cached = site.withLock({ $0 }), cached.size == keptSize { return cached }
        let reports = self.reports
        let built = try await run { try $0.publicSite(reports: reports) }
        site.withLock { $0 = built }
        return built
    }

    /// Refuses witnesses whose cosignatures the ledger could not keep: each key must be an enrolled,
    /// unrevoked auditor key (as `verify` requires of a stored cosignature).
    func checkWitnesses(_ witnesses: [WitnessEndpoint]) async throws {
        let keys = try await run { try $0.keys() }
        for witness in witnesses {
            guard let record = keys.first(where: { $0.enrolment.publicKey == witness.key }), record.enrolment.role == .auditor, record.isActive else {
                throw Refusal("witness \(witness.name)'s key \(witness.key.id) is not an enrolled, unrevoked auditor key of this ledger: enrol it with `gigaledger key enroll --role auditor --pub WITNESS.pub --name NAME --key AUTHORITY_KEY`, so that its cosignatures can be kept")
            }
        }
    }

    /// Runs `body` with the ledger on the thread pool.
    func run<T: Sendable>(_ body: @escaping @Sendable (Ledger) throws -> T) async throws -> T {
        let handle = handle
        return try await NIOThreadPool.singleton.runIfActive { try body(handle.ledger) }
    }

    /// Submits signed entries; on success the server has admitted them itself. The revocation of
    /// the key this server signs with is refused: the server could sign nothing after it, and the
    /// submitter would not get the proof of its own entry (the README's rotation: enrol the new
    /// key, restart with it, then revoke the old one; to stop at once, stop the server).
    func submit(_ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool) async throws -> SubmissionOutcome {
        let own = logKey.id
        for entry in entries {
            if case .success(let body) = Entry.readBody(entry), case .keyRevoke(let revocation) = body.data, revocation.keyID == own {
                throw Refusal("key \(own) is the log key this server signs with: to revoke it, enrol and start the server with a new log key first, or stop the server and revoke it on its machine (`gigaledger key revoke --ledger LEDGER`)")
            }
        }
        let (outcome, written) = try await run { ledger -> (SubmissionOutcome, ClosedRange<Int64>?) in
            var range: ClosedRange<Int64>?
            do {
                let outcome = try ledger.submit(entries, checks: checks, allowDuplicateFile: allowDuplicateFile) { seqs in
                    range = seqs
                    self.state.withLock { $0.pending.append(seqs) }
                }
                return (outcome, range)
            } catch {
                // Written and then not committed: nothing of this submission is pending any more.
                if let seqs = range { self.state.withLock { $0.pending.removeAll { $0 == seqs } } }
                throw error
            }
        }
        let changesKeys = entries.contains { ["genesis", "key-enroll", "key-revoke"].contains($0.type) }
        state.withLock { state in
            if changesKeys { state.forgetKeyEntries() }
            guard let seqs = written else { return }
            state.pending.removeAll { $0 == seqs }
            if case .recorded = outcome { state.admitted(seqs) }
        }
        return outcome
    }

    /// The entries the server may sign a checkpoint over: those verified when it started and those
    /// it admitted since. Answers never wait for more: entries another process appended to the file
    /// are verified by the checkpoint task (`catchUp`), and until then the head served is the last
    /// verified entry (a client signing after it gets a 409 and signs again).
    private func verifiedSize() -> Int64 {
        state.withLock { $0.verifiedSize }
    }

    /// Verifies the whole ledger again when it holds entries this server did not admit (a local
    /// CLI on the same file), so that they too can be covered by checkpoints.
    private func catchUp() async throws {
        let size = try await run { try $0.size() }
        // Read after the size: a submission still returning holds its entries in `pending`.
        guard state.withLock({ $0.pending.isEmpty && size > $0.verifiedSize }) else { return }
        let verification = try await run { try $0.verify() }
        if let failure = verification.failure { throw failure }
        state.withLock { state in
            state.verifiedSize = max(state.verifiedSize, verification.verifiedCount)
            state.admitted(state.verifiedSize...state.verifiedSize)
            state.forgetKeyEntries()
        }
    }

    /// What a head answer holds (FORMAT.md section 17): the verified head, a checkpoint of exactly
    /// its size, the head's inclusion proof, the consistency proof from `known`, the enrolments of
    /// the checkpoint keys and, with `proving`, that entry's inclusion proof.
    struct HeadParts: Sendable {
        let size: Int64
        let note: String
        let head: Entry
        let inclusion: [Merkle.Hash]
        let consistency: [Merkle.Hash]
        let entryInclusion: [Merkle.Hash]?
        let keyEntries: [Entry]
    }

    /// The parts of a head answer, read in one go on the pool (each hop to a thread costs a wait
    /// for a core, and a turn's answer is on every append's path). The checkpoint is the latest
    /// kept one when it covers the head, else one signed for this size and not kept (signed once
    /// per size); the key enrolments are kept between answers.
    func headParts(known: Int64, proving seq: Int64?) async throws -> HeadParts {
        let size = verifiedSize()
        let (cachedNote, cachedKeys, keysGeneration) = state.withLock { state in
            ([state.kept, state.unkept].compactMap { $0 }.first { $0.size == size }?.note, state.keyEntries, state.keyEntriesGeneration)
        }
        let key = logKey
        let parts = try await run { ledger -> HeadParts in
            let note: String
            if let cachedNote { note = cachedNote } else {
                do { note = try ledger.signCheckpoint(key: key, verifiedSize: size, keep: false) } catch let refusal as Refusal {
                    // The log key can no longer sign (revoked by another process): the server's fault, not the request's.
                    throw ServiceFailure(message: "this server cannot sign checkpoints (\(refusal.message)); its operator must restart it with an active log key")
                }
            }
            guard let head = try ledger.entry(size) else { throw VerificationFailure(seq: size, reason: "there is no entry \(size) under the checkpoint") }
            return HeadParts(size: size, note: note, head: head, inclusion: try ledger.inclusionProof(seq: size, size: size),
                             consistency: known >= 1 && known < size ? try ledger.consistencyProof(old: known, new: size) : [],
                             entryInclusion: try seq.flatMap { $0 <= size ? try ledger.inclusionProof(seq: $0, size: size) : nil },
                             keyEntries: try cachedKeys ?? ledger.checkpointKeyEntries())
        }
        state.withLock { state in
            if cachedNote == nil { state.unkept = (size, parts.note) }
            // Unless a key changed meanwhile: then the next answer reads them again.
            if cachedKeys == nil && state.keyEntriesGeneration == keysGeneration { state.keyEntries = parts.keyEntries }
        }
        return parts
    }

    /// Keeps a checkpoint of new entries when the last was kept at least the interval ago; called
    /// by the server's checkpoint task. Returns the size kept, if any.
    func keepCheckpointIfDue() async throws -> Int64? {
        let interval = Duration.milliseconds(limits.checkpointIntervalMilliseconds)
        guard state.withLock({ ContinuousClock.now - $0.lastKept >= interval }) else { return nil }
        try await catchUp()
        let size = verifiedSize()
        guard size > state.withLock({ $0.kept?.size ?? 0 }) else { return nil }
        let key = logKey
        let note = try await run { try $0.signCheckpoint(key: key, verifiedSize: size, keep: true) }
        state.withLock { state in
            state.lastKept = .now
            state.kept = (size, note)
        }
        return size
    }
}

/// The server cannot do its part (its log key can no longer sign): 503, the operator's to fix.
struct ServiceFailure: GigaLedgerError {
    let message: String
    var description: String { message }
    var kind: FailureKind { .unusable }
    var isRetryable: Bool { true }
}
