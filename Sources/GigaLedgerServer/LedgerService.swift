import Foundation
import GigaLedgerCore
import GigaLedgerKit
import NIOPosix
import Synchronization

/// The ledger as the server holds it: its one writer (no other process writes it while the server
/// runs, `WriterRole.server`), the log key, and the size up to which every entry was verified at
/// start or admitted since. Every call into the ledger (SQLite or PostgreSQL, blocking) runs on
/// NIO's thread pool, never on an event loop.
final class LedgerService: Sendable {
    /// The ledger is not Sendable (its store holds a GRDB `DatabaseQueue` or a PostgreSQL
    /// connection pool); every use of it goes through that queue, which runs one statement sequence
    /// at a time, or that pool, which hands each transaction its own connection under a lock, or
    /// (`keptConsistencyProof`) only through the store's node cache, behind its own lock; so sharing
    /// the reference across threads is sound.
    private struct Handle: @unchecked Sendable { let ledger: any LedgerServing }

    private let handle: Handle
    /// The largest checkpoint this server signed or kept, outside the ledger (`--state`).
    private let rollbackGuard: RollbackGuard?
    /// The log key it signs checkpoints with; replaced on SIGHUP (`reloadLogKey`).
    var logKey: any Signer { logKeyHolder.withLock { $0 } }
    private let logKeyHolder: Mutex<any Signer>
    let origin: String
    let limits: ServerLimits
    /// The folder of report folders the public page shows.
    private let reports: String?

    private struct State {
        /// Every entry up to here was verified at start or admitted by this server, its one writer.
        var verifiedSize: Int64
        /// When the log key last kept a checkpoint.
        var lastKept: ContinuousClock.Instant
        /// The latest checkpoint kept in the ledger, as this server last read or kept it.
        var kept: (size: Int64, note: String)?
        /// What every head answer at the latest size shares, made once per size.
        var common: HeadCommon?
        /// The enrolments of the checkpoint keys, as every head answer carries them; read again
        /// after an entry that enrols or revokes a key.
        var keyEntries: [Entry]?
        /// Counts the times `keyEntries` was forgotten: a read that began before is not kept.
        var keyEntriesGeneration: UInt64 = 0
        /// Entries (seq → hash) of submissions whose commit may or may not have happened: the
        /// database answered nothing (a failover: a synchronous standby may hold the commit).
        var inDoubt = [Int64: [UInt8]]()

        mutating func forgetKeyEntries() {
            keyEntries = nil
            keyEntriesGeneration += 1
        }
    }
    private let state: Mutex<State>
    /// The public pages at the latest kept checkpoint, made once per checkpoint.
    private let site = Mutex<PublicSite?>(nil)

    /// Opens the ledger as its one writer (a second server, or a local command writing, is
    /// refused), verifies all of it (a server never serves, nor signs over, a ledger that does not
    /// verify), and checks that `logKey` may sign its checkpoints.
    init(
        path: String, logKey: any Signer, limits: ServerLimits, reports: String? = nil, listening: Bool = false,
        stateDirectory: String? = nil
    ) throws {
        self.reports = reports
        self.listening = Mutex(listening)
        let ledger = try Ledger.open(path: path, forWriting: true, lockWaitSeconds: limits.lockWaitSeconds, role: .server)
        let verification = try ledger.verify()
        if let failure = verification.failure { throw failure }
        // Never a history shorter than, or beside, one this server vouched for (a restored backup,
        // a stale former primary): said before anything else of the ledger, the log key included.
        let rollbackGuard = try stateDirectory.map { try RollbackGuard(directory: $0, origin: verification.origin) }
        try rollbackGuard?.check(size: verification.verifiedCount) { try ledger.root(size: $0) }
        self.rollbackGuard = rollbackGuard
        try Self.checkLogKey(logKey, keys: ledger.keys(), path: path)
        handle = Handle(ledger: ledger)
        logKeyHolder = Mutex(logKey)
        self.origin = verification.origin
        self.limits = limits
        let kept = try ledger.latestCheckpoint().flatMap { note in (try? Checkpoint.parse(SignedNote.parse(note).text)).map { ($0.size, note) } }
        state = Mutex(State(verifiedSize: verification.verifiedCount, lastKept: .now - .seconds(3600), kept: kept))
    }

    /// Refuses a key that may not sign this ledger's checkpoints: not an enrolled log (or
    /// authority) key, or revoked.
    /// `running`: the server is serving (SIGHUP): a key is then enrolled through it.
    static func checkLogKey(_ logKey: any Signer, keys: [KeyRecord], path: String, running: Bool = false) throws {
        guard let record = keys.first(where: { $0.enrolment.publicKey == logKey.publicKey }), record.enrolment.role.signsCheckpoints
        else {
            let how =
                running
                ? "enrol it through this server first (`gigaledger key enroll --server URL --role log --pub LOG.pub --name NAME --key AUTHORITY_KEY`), then send SIGHUP again"
                : "enrol it on this machine with `gigaledger key enroll --ledger \(Ledger.displayName(path)) --role log --pub LOG.pub --name NAME --key AUTHORITY_KEY`"
            throw Refusal("key \(logKey.id) is not a log key of this ledger: \(how)")
        }
        if let revokedAt = record.revokedAt {
            throw Refusal(
                "log key \(logKey.id) (\(record.enrolment.name)) was revoked at entry \(revokedAt): start the server with the log key that replaced it"
            )
        }
    }

    /// Signs with `key` from now on (SIGHUP); the caller checked it as at start (`checkLogKey`).
    /// The key it replaces stays valid for what it signed until the authority revokes it (through
    /// this server, now allowed).
    func replaceLogKey(_ key: any Signer) {
        logKeyHolder.withLock { $0 = key }
    }

    /// Names this server in the ledger's writer lock, for the local commands it refuses, once it
    /// listens; from then on the log key may keep checkpoints.
    func announce(_ url: String) {
        handle.ledger.announce(server: url)
        listening.withLock { $0 = true }
    }

    /// Whether the server listens (or, routes tested in process, is taken to).
    let listening: Mutex<Bool>

    /// The public site at the latest kept checkpoint (made again after each new one, its lists
    /// extended with the new entries: O(new) apart from the summary's report).
    func publicSite() async throws -> PublicSite? {
        let keptSize = state.withLock { $0.kept?.size }
        let cached = site.withLock { $0 }
        if let cached, cached.size == keptSize { return cached }
        let reports = self.reports
        let lists = cached.map(\.lists) ?? EntryLists(keepsAll: true)
        let built = try await run { try $0.publicSite(reports: reports, lists: lists) }
        site.withLock { $0 = built }
        return built
    }

    /// Refuses witnesses whose cosignatures the ledger could not keep: each key must be an enrolled,
    /// unrevoked auditor key (as `verify` requires of a stored cosignature).
    func checkWitnesses(_ witnesses: [WitnessEndpoint]) async throws {
        try Self.checkWitnesses(witnesses, keys: try await run { try $0.keys() })
    }

    /// `checkWitnesses` against the keys given (read once by the caller).
    static func checkWitnesses(_ witnesses: [WitnessEndpoint], keys: [KeyRecord]) throws {
        for witness in witnesses {
            guard let record = keys.first(where: { $0.enrolment.publicKey == witness.key }), record.enrolment.role == .auditor, record.isActive else {
                throw Refusal(
                    "witness \(witness.name)'s key \(witness.key.id) is not an enrolled, unrevoked auditor key of this ledger: enrol it with `gigaledger key enroll --role auditor --pub WITNESS.pub --name NAME --key AUTHORITY_KEY`, so that its cosignatures can be kept"
                )
            }
        }
    }

    /// Runs `body` with the ledger on the thread pool.
    func run<T: Sendable>(_ body: @escaping @Sendable (any LedgerServing) throws -> T) async throws -> T {
        let handle = handle
        return try await NIOThreadPool.singleton.runIfActive { try body(handle.ledger) }
    }

    /// Submits signed entries; on success the server has admitted them itself. The revocation of
    /// the key this server signs with is refused: the server could sign nothing after it, and the
    /// submitter would not get the proof of its own entry (the runbook's rotation: enrol the new
    /// key, restart with it, then revoke the old one; to stop at once, stop the server).
    /// Entries recorded now come with their answer's head parts (from `known`, proving the last),
    /// made on the same thread right after the commit.
    func submit(_ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool, known: Int64) async throws -> (SubmissionOutcome, HeadParts?) {
        let own = logKey.id
        // Only entries whose type column says so are read: admission refuses an entry whose body says otherwise.
        for entry in entries where entry.type == "key-revoke" {
            if case .success(let body) = Entry.readBody(entry), case .keyRevoke(let revocation) = body.data, revocation.keyID == own {
                throw Refusal(
                    "key \(own) is the log key this server signs with: to revoke it, enrol a new log key, put its key file where the server's --log-key names and send the server SIGHUP first (the operator runbook, \"gigaledger serve on SIGHUP\"), or stop the server and revoke it on its machine (`gigaledger key revoke --ledger LEDGER`)"
                )
            }
        }
        let changesKeys = entries.contains { ["genesis", "key-enroll", "key-revoke"].contains($0.type) }
        let key = logKey
        // The head this server served last: admitted or verified by it, not checked again.
        let served = state.withLock { $0.common?.head }
        return try await run { ledger -> (SubmissionOutcome, HeadParts?) in
            // One submission at a time from here to the state's update (the store would queue their
            // commits anyway): the ledger's size is then always the size this server knows.
            self.writing.lock()
            defer { self.writing.unlock() }
            if !self.state.withLock({ $0.inDoubt.isEmpty }) { try self.reconcile(ledger) }
            let outcome: SubmissionOutcome
            do {
                outcome = try ledger.submit(
                    entries, checks: checks, allowDuplicateFile: allowDuplicateFile, now: Date(), verifiedHead: served, written: { _ in })
            } catch let error as any GigaLedgerError where error.isRetryable {
                // Checked, sent, and no answer: the commit may have happened (see `reconcile`).
                self.state.withLock { state in
                    if state.inDoubt.count + entries.count > Self.inDoubtEntriesMax { state.inDoubt.removeAll() }
                    for entry in entries { state.inDoubt[entry.seq] = entry.hash }
                }
                throw error
            }
            if case .conflict(let head) = outcome, head.seq > self.state.withLock({ $0.verifiedSize }) {
                // Entries this server neither verified nor admitted: its lock was got around.
                throw WrittenBehind(head: head.seq, verified: self.state.withLock { $0.verifiedSize })
            }
            let (size, keyEntries, generation) = self.state.withLock { state in
                if changesKeys { state.forgetKeyEntries() }
                // One writer: once entry N commits, every entry up to N is committed.
                if case .recorded(let last) = outcome { state.verifiedSize = max(state.verifiedSize, last.seq) }
                return (state.verifiedSize, state.keyEntries, state.keyEntriesGeneration)
            }
            // The answer is made by the caller when these entries are not the head (any more).
            guard case .recorded(let last) = outcome, last.seq == size,
                let parts = try? Self.parts(
                    ledger, size: size, known: known, proving: last.seq, common: nil, keptNote: nil, key: key, keyEntries: keyEntries)
            else { return (outcome, nil) }
            self.remember(parts, hadKeys: keyEntries != nil, keysGeneration: generation)
            return (outcome, parts)
        }
    }

    /// Keeps a checkpoint an authority signed (`checkpoint --server`): checked as `verify` checks a
    /// stored one (a log or authority key active at its size, this origin, the root the first
    /// `size` entries give) unless one as recent is kept already, which stands. Returns the note
    /// kept for the newest size and whether this one is new.
    func keepSignedCheckpoint(_ note: String) async throws -> (note: String, isNew: Bool) {
        let size = state.withLock { $0.verifiedSize }
        let kept = try await run { try $0.keepCheckpoint(note, verifiedSize: size) }
        if kept.isNew, let checkpoint = try? Checkpoint.parse(SignedNote.parse(kept.note).text) {
            rollbackGuard?.keep(kept.note, size: checkpoint.size)
            state.withLock { state in
                if (state.kept?.size ?? 0) < checkpoint.size { state.kept = (checkpoint.size, kept.note) }
            }
        }
        return kept
    }

    /// Keeps an auditor's cosignature of a kept checkpoint (`cosign --server`), checked as `verify`
    /// checks a stored one. Returns whether it is new (false: the same line was kept before).
    func keepCosignature(_ cosignature: ReplicatedCosignature) async throws -> Bool {
        try await run { try $0.keepCosignature(cosignature) }
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

    /// What every head answer at one size shares: its checkpoint (the kept one when it covers the
    /// size, else one signed for answers), the head entry and the head's inclusion proof. Made once
    /// per size, by the submission that reached it or else by the first answer at that size.
    struct HeadCommon: Sendable {
        let size: Int64
        let note: String
        let head: Entry
        let inclusion: [Merkle.Hash]
    }

    /// The parts of a head answer. What is shared at this size is made once; an answer that needs
    /// nothing more than a consistency proof from nodes read before reads nothing; the rest is read
    /// in one snapshot on the pool. The key enrolments are kept between answers.
    func headParts(known: Int64, proving seq: Int64?) async throws -> HeadParts {
        let (size, common, keptNote, cachedKeys, keysGeneration) = state.withLock { state in
            (
                state.verifiedSize, state.common.flatMap { $0.size == state.verifiedSize ? $0 : nil },
                state.kept.flatMap { $0.size == state.verifiedSize ? $0.note : nil }, state.keyEntries, state.keyEntriesGeneration
            )
        }
        if let common, let cachedKeys, seq == nil || seq == size {
            // A consistency proof from nodes read before (a recent size's are): no read, no hop.
            let consistency = known < 1 || known >= size ? [] : handle.ledger.keptConsistencyProof(old: known, new: size)
            if let consistency {
                return HeadParts(
                    size: size, note: common.note, head: common.head, inclusion: common.inclusion, consistency: consistency,
                    entryInclusion: seq == nil ? nil : common.inclusion, keyEntries: cachedKeys)
            }
        }
        let key = logKey
        let parts = try await run { ledger in
            try Self.parts(ledger, size: size, known: known, proving: seq, common: common, keptNote: keptNote, key: key, keyEntries: cachedKeys)
        }
        remember(parts, hadKeys: cachedKeys != nil, keysGeneration: keysGeneration)
        return parts
    }

    /// Keeps what answers at `parts.size` share, and the key enrolments read (unless a key changed
    /// meanwhile: then the next answer reads them again).
    private func remember(_ parts: HeadParts, hadKeys: Bool, keysGeneration: UInt64) {
        rollbackGuard?.keep(parts.note, size: parts.size)
        state.withLock { state in
            if (state.common?.size ?? 0) < parts.size {
                state.common = HeadCommon(size: parts.size, note: parts.note, head: parts.head, inclusion: parts.inclusion)
            }
            if !hadKeys && state.keyEntriesGeneration == keysGeneration { state.keyEntries = parts.keyEntries }
        }
    }

    /// A head answer's parts at `size`, on the pool: what `common` and `keptNote` do not give is
    /// read (and the checkpoint signed) in one snapshot.
    private static func parts(
        _ ledger: any LedgerServing, size: Int64, known: Int64, proving seq: Int64?, common: HeadCommon?, keptNote: String?,
        key: any Signer, keyEntries: [Entry]?
    ) throws -> HeadParts {
        let proofs: Ledger.HeadProofs
        do {
            proofs = try ledger.headProofs(
                size: size, head: common == nil, known: known, proving: seq == size ? nil : seq,
                signing: common == nil && keptNote == nil ? key : nil)
        } catch let refusal as Refusal {
            // The log key can no longer sign: the server's fault, not the request's.
            throw ServiceFailure(
                message: "this server cannot sign checkpoints (\(refusal.message)); its operator must restart it with an active log key")
        }
        guard let note = common?.note ?? keptNote ?? proofs.note, let head = common?.head ?? proofs.head,
            let inclusion = common?.inclusion ?? proofs.inclusion
        else { preconditionFailure("LedgerService.parts: headProofs gives the head and signs when asked to") }
        // The head's inclusion proof is the proof of entry `size`.
        return HeadParts(
            size: size, note: note, head: head, inclusion: inclusion, consistency: proofs.consistency,
            entryInclusion: seq == size ? inclusion : proofs.entryInclusion, keyEntries: try keyEntries ?? ledger.checkpointKeyEntries())
    }

    /// Keeps a checkpoint of new entries when the last was kept at least the interval ago; called
    /// by the server's checkpoint task. Returns the size kept, if any.
    func keepCheckpointIfDue() async throws -> Int64? {
        let interval = Duration.milliseconds(limits.checkpointIntervalMilliseconds)
        let (due, size, keptSize) = state.withLock { (ContinuousClock.now - $0.lastKept >= interval, $0.verifiedSize, $0.kept?.size ?? 0) }
        guard due, size > keptSize else { return nil }
        let key = logKey
        let note = try await run { try $0.signCheckpoint(key: key, verifiedSize: size) }
        rollbackGuard?.keep(note, size: size)
        state.withLock { state in
            state.lastKept = .now
            if (state.kept?.size ?? 0) < size { state.kept = (size, note) }
        }
        return size
    }

    /// That this server is still the ledger's one writer: its lock held (taken again after a lost
    /// PostgreSQL session) and the ledger's size the size it verified or admitted. Throws when
    /// another writer holds the lock or wrote behind it: the server stops (its operator restarts it,
    /// and it verifies the ledger again before it serves).
    func checkOneWriter() async throws {
        let wait = limits.lockWaitSeconds
        try await run { ledger in
            try ledger.holdWriterLock(waitSeconds: wait)
            self.writing.lock()
            defer { self.writing.unlock() }
            try self.reconcile(ledger)
            try self.rollbackGuard?.checkWitnessed(size: self.state.withLock { $0.verifiedSize }) { try ledger.root(size: $0) }
        }
    }

    /// A witness said it cosigned `size` entries (its 409): the rollback guard keeps it, and the
    /// next one-writer check stops the server when the ledger is behind it.
    func witnessSaid(_ size: Int64, witness: WitnessEndpoint) {
        rollbackGuard?.learn(witnessKeyID: witness.key.id.description, name: witness.name, size: size)
    }

    /// A witness refused a consistency proof from `size` entries (422, or a 409 at that very
    /// size): this ledger's first `size` entries are not those it cosigned. The rollback guard
    /// keeps it with their root; the next one-writer check stops the server.
    func witnessRefused(from size: Int64, witness: WitnessEndpoint) async {
        guard size > 0, let root = try? await run({ try $0.root(size: size) }) else { return }
        rollbackGuard?.learn(witnessKeyID: witness.key.id.description, name: witness.name, size: size, refusedRoot: root)
    }

    /// Held by a submission from its first read to the state's update, and by the one-writer check.
    private let writing = NSLock()

    /// The most entries of submissions in doubt remembered (a batch is at most 10,000).
    static let inDoubtEntriesMax = 20_000

    /// The ledger's size is the size this server verified or admitted, or beyond it only by
    /// entries of its own submissions in doubt (their commit happened, its answer was lost: they
    /// passed every check before it, so they are taken as admitted); else something wrote behind
    /// the server, and it throws. On the pool, with `writing` held.
    private func reconcile(_ ledger: any LedgerServing) throws {
        let (verified, inDoubt) = state.withLock { ($0.verifiedSize, $0.inDoubt) }
        let size = try ledger.size()
        guard size != verified else { return }
        guard size > verified, size - verified <= Int64(inDoubt.count) else { throw WrittenBehind(head: size, verified: verified) }
        let beyond = try ledger.entries(from: verified + 1, limit: Int(size - verified))
        guard beyond.count == Int(size - verified), beyond.allSatisfy({ inDoubt[$0.seq] == $0.hash }) else {
            throw WrittenBehind(head: size, verified: verified)
        }
        state.withLock { state in
            state.verifiedSize = max(state.verifiedSize, size)
            state.inDoubt.removeAll()
            state.forgetKeyEntries()
        }
    }

    /// The size of the latest checkpoint kept, as this server knows it.
    var keptSize: Int64? { state.withLock { $0.kept?.size } }
}

/// The ledger holds entries the server did not admit (its one-writer lock was got around): it
/// serves nothing more about them and signs nothing over them; its operator stops it, verifies the
/// ledger and starts it again. 500, not a retry: the clients cannot fix it.
struct WrittenBehind: GigaLedgerError {
    let head: Int64
    let verified: Int64
    var description: String {
        let what =
            head > verified
            ? "the ledger's head is entry \(head), written behind this server's back (it verified or admitted entries up to \(verified))"
            : "the ledger holds \(head) entries, fewer than the \(verified) this server verified or admitted (rolled back behind its back)"
        return what + ": its operator must stop it, run `gigaledger verify` and start it again"
    }
    var kind: FailureKind { .unusable }
}

/// The server cannot do its part (its log key can no longer sign): 503, the operator's to fix.
struct ServiceFailure: GigaLedgerError {
    let message: String
    var description: String { message }
    var kind: FailureKind { .unusable }
    var isRetryable: Bool { true }
}
