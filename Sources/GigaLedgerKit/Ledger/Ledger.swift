import Foundation
import GigaLedgerCore
import GigaLedgerStore
import Synchronization

/// A ledger file: an append-only chain of signed entries in SQLite (schema/FORMAT.md).
///
/// Appends happen in one `BEGIN IMMEDIATE` transaction each, which takes SQLite's write lock
/// before the head is read, so two processes appending at once queue up instead of both
/// chaining onto the same head.
public final class Ledger {
    public var path: String { store.path }
    package let store: LedgerStore

    init(store: LedgerStore) {
        self.store = store
    }

    /// Whether `location` names a PostgreSQL database (a URL), not a SQLite file.
    public static func isDatabase(_ location: String) -> Bool { LedgerStore.isPostgres(location) }

    /// How messages name the ledger at `location`: a file's path, or a PostgreSQL URL without its password.
    public static func displayName(_ location: String) -> String {
        guard LedgerStore.isPostgres(location) else { return location }
        return (try? PostgresLocation(url: location).description) ?? PostgresLocation.redacted(location)
    }

    /// What the database lets the role in use do that it should not (a PostgreSQL role that may update,
    /// delete or truncate the ledger's tables, or owns them); none for a SQLite file.
    public func storeWarnings() throws -> [String] {
        try store.read { try $0.privilegeWarnings() }
    }

    /// Whether a ledger exists at `location` (a file, or a database with the ledger's tables).
    public static func exists(at location: String) throws -> Bool {
        try LedgerStore.exists(path: location)
    }

    /// Whether this ledger is a PostgreSQL database rather than a SQLite file.
    public var isPostgres: Bool { store.isPostgres }

    /// The SQL an administrator runs so that the server's and officers' role may read and append
    /// to this PostgreSQL ledger and nothing else; nil for a SQLite file.
    public var grantSQL: String? { store.grantSQL }

    /// The newest schema migration this code knows.
    public static var latestMigration: String { LedgerStore.latestMigration }

    /// How long a writer waits, by default, for another writer's lock before giving up with "busy, retry".
    public static let lockWaitSecondsDefault = LedgerStore.lockWaitSecondsDefault

    /// Refuses what `create` would refuse of its path and origin, before a key is loaded: an
    /// origin that is not a C2SP key name, a file that exists, a folder that does not.
    public static func checkCreatable(path: String, origin: String) throws {
        _ = try Codes.origin(origin, field: "origin")
        try LedgerStore.checkCreatable(path: path)
    }

    /// Creates a new ledger at `path` whose genesis entry enrols `authority` under `name`.
    /// Refuses an existing file; leaves no file behind when anything fails.
    public static func create(path: String, authority: any Signer, authorityName: String, origin: String) throws -> (Ledger, Entry) {
        let origin = try Codes.origin(origin, field: "origin")
        let enrolment = try KeyEnrolment(checking: authority.publicKey, name: authorityName, role: .authority, scopes: [])
        let (store, genesis) = try LedgerStore.create(path: path) { writer in
            var tree = TreeAppender()
            return try Self.append(.genesis(Genesis(origin: origin, authority: enrolment)), key: authority, writer: writer, tree: &tree)
        }
        return (Ledger(store: store), genesis)
    }

    /// Opens an existing ledger. `forWriting` also refuses a file marked read-only. A writer waits
    /// up to `lockWaitSeconds` for another writer's lock, then fails with `LedgerError.busy`.
    /// `role`: a command's writes are refused while `gigaledger serve` holds the ledger; the server
    /// opens it as `.server`, its one writer (README, "One writer").
    public static func open(
        path: String, forWriting: Bool, lockWaitSeconds: TimeInterval = lockWaitSecondsDefault,
        role: WriterRole = .command
    ) throws -> Ledger {
        let open = { Ledger(store: try LedgerStore.open(path: path, forWriting: forWriting, lockWaitSeconds: lockWaitSeconds, role: role)) }
        // A copy kept by `sync` is written by its syncs alone (`ReplicaMark`): marked beside the
        // file (a mark file that cannot be read still marks it), or inside it, which every name of
        // the file sees (a hard link has no mark beside it); not once detached.
        guard forWriting, role == .command || role == .server else { return try open() }
        let mark = ReplicaMark.read(ledger: path)
        let refusal = LedgerError.replica(path: displayName(path), of: mark?.source, serving: role == .server)
        if mark?.detached == true { return try open() }
        if ReplicaMark.isMarked(ledger: path) { throw refusal }
        let ledger = try open()
        if try ledger.store.isMarkedCopy() { throw refusal }
        return ledger
    }

    /// Whether this ledger is marked inside as a copy kept by `sync`.
    public func isMarkedCopy() throws -> Bool { try store.isMarkedCopy() }

    /// Marks this ledger inside as a copy kept by `sync` (or clears it): see `ReplicaMark`.
    public func markCopy(_ on: Bool) throws { try store.markCopy(on) }

    /// Names the server holding this ledger (opened as `.server`) for the commands it refuses.
    public func announce(server url: String) {
        store.announce(server: url)
    }

    /// For the server: its one-writer lock is held, or taken again now; throws when another writer holds it.
    public func holdWriterLock(waitSeconds: TimeInterval) throws {
        try store.holdWriterLock(waitSeconds: waitSeconds)
    }

    /// Appends `data` signed by `key` as the next entry and returns it.
    /// Throws `Refusal` when the rules refuse it, `LedgerError` when the file cannot be written;
    /// either way nothing is written.
    /// `deliver` hands the entry out (prints it) inside the transaction: when it throws (output
    /// lost to a full disk), nothing is recorded, so a caller that retries never records twice.
    /// `checks` are the plausibility checks the rules do not make (`EntryChecks`): on by default.
    /// `dryRun` checks and signs the entry as for real, then writes nothing.
    @discardableResult
    public func append(
        _ data: EntryData, key: any Signer, checks: EntryChecks = EntryChecks(), dryRun: Bool = false,
        deliver: (Entry) throws -> Void = { _ in }
    ) throws -> Entry {
        try store.write(commit: !dryRun) { writer in
            var tree = TreeAppender()
            let entry = try Self.append(data, key: key, checks: checks, writer: writer, tree: &tree)
            try deliver(entry)
            return entry
        }
    }

    /// Checks and appends one entry in the open transaction.
    static func append(
        _ data: EntryData, key: any Signer, checks: EntryChecks = EntryChecks(), writer: StoreWriter, tree: inout TreeAppender
    ) throws -> Entry {
        let head = try checkedHead(writer.reader)
        var data = data
        // `--allow-duplicate` lets a repeat through and the entry says so; one that repeats nothing says nothing.
        if checks.allowDuplicate, !checks.duplicateOnlyWhereSaid, data.saysDuplicate,
            DuplicateRule.conflict(data, among: try DuplicateRule.candidates(for: data, reader: writer.reader)) == nil
        {
            data = data.withDuplicateFlag(false)
        }
        let body = EntryBody(seq: (head?.seq ?? 0) + 1, signer: key.id, recordedAt: try Timestamp.now(), data: data)
        if let enrolled = try writer.reader.facts.key(key.id), enrolled.enrolment.publicKey != key.publicKey {
            throw Refusal("signer \(key.id) is enrolled with another public key")
        }
        let entry = try Entry.make(body: body, prevHash: head?.hash ?? Entry.genesisPrevHash, key: key)
        try admit(entry, as: body, checks: checks, reader: writer.reader)
        try writer.append(entry, body: body, tree: &tree)
        return entry
    }

    /// Everything an entry must pass before it is written, through one function whether it was
    /// signed here (`append`), submitted to a server (`submit`) or fetched by a replica
    /// (`replicate`): its columns and canonical body read back as `verify` reads them, its hash,
    /// the rules against the ledger's state (signer enrolled, active, in scope; references), its
    /// signature by the enrolled key, and the plausibility `checks` (nil for a replica: it accepts
    /// exactly what `verify` accepts, as the checks are the recording office's). Returns the body read.
    /// `expected` is the body the caller built (a local append): it must read back unchanged.
    @discardableResult
    static func admit(_ entry: Entry, as expected: EntryBody? = nil, checks: EntryChecks?, reader: StoreReader) throws -> EntryBody {
        let (body, signerKey) = try admitBeforeSignature(entry, as: expected, checks: checks, reader: reader)
        try checkSignature(entry, by: signerKey, signer: body.signer)
        return body
    }

    /// The signature part of `admit`: by the key the rules found enrolled for the signer.
    static func checkSignature(_ entry: Entry, by signerKey: PublicKey, signer: some CustomStringConvertible) throws {
        guard signerKey.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash)) else {
            throw signatureRefusal(entry, signer: signer)
        }
    }

    static func signatureRefusal(_ entry: Entry, signer: some CustomStringConvertible) -> Refusal {
        Refusal("entry \(entry.seq): its signature does not verify with the public key enrolled for \(signer)")
    }

    /// The fewest entries whose signatures `admitAll` checks on other threads too (and that a
    /// server reads on other threads): handing a few to another thread costs more than it saves.
    public static let parallelAdmissionMin = 16

    /// `admit` of many entries in the open transaction, in order, before anything commits: a batch
    /// whose every check passes is written, else none of it. `admitted(index, entry, body)` writes
    /// each as soon as the rest of its checks pass (a later entry's rules see the earlier ones).
    /// The same checks as `admit`, spread over the cores: each entry's own checks (its body read
    /// back, its hash) on every core first; then the rules in order on this thread while the other
    /// cores check the signatures against the keys enrolled before the batch (a key ID names one
    /// public key for good, so a signature checked that way is the check `admit` makes; an entry
    /// whose signer the rules find with another key, or enrolled in the batch, is checked again).
    /// A refusal names the entry's index in `entries` (`SubmissionRefusal`). With `listRefusals`,
    /// refused input does not stop the checks: nothing more is written, the later entries are still
    /// checked, and every refusal is thrown together (`SubmissionRefusals`, as an import names every
    /// bad row); else the first stops it.
    static func admitAll(
        _ entries: [Entry], checks: EntryChecks?, reader: StoreReader, listRefusals: Bool = false,
        admitted: (Int, Entry, EntryBody) throws -> Void
    ) throws {
        let isBatch = entries.count >= Self.parallelAdmissionMin
        // The signatures first: the most work, and none of it waits for the rest (a batch's other
        // cores start on them while this thread reads the entries and asks for their keys).
        let known = try keysBefore(entries, facts: reader.facts)
        // A few entries (an office's append) are checked on this thread: handing one signature to
        // another thread costs more than it saves, and the server admits one entry per append.
        let workers = isBatch ? max(1, Parallel.workers - 1) : 0
        let signatures = SharedMap(entries, backgroundWorkers: workers) { entry -> (PublicKey, Bool)? in
            known[entry.signer].map { ($0, $0.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash))) }
        }
        // Each entry read back and hashed, and for a batch that is checked (not a replica's copy)
        // its duplicate keys made, on every core.
        let read =
            isBatch
            ? Parallel.map(entries) { readChecked($0, withKeys: checks != nil) } : entries.map { (body: readChecked($0), keys: nil) }
        // Which of a batch's keys the ledger holds at all, asked in a few statements, and the keys
        // of the batch's entries as they are written: an entry none of whose keys is held repeats
        // nothing (`candidates` would find nothing) and is not looked up on its own.
        var held = isBatch && checks != nil ? try DuplicateRule.Held(read.compactMap(\.keys), reader: reader) : nil
        // The facts contributions and access records ask for again and again (the signer's key, the
        // factory), remembered until an entry of another type may change them.
        let facts = CachedFacts(reader.facts)
        var signers = [PublicKey]()
        signers.reserveCapacity(entries.count)
        var refusals = [SubmissionRefusal]()
        for (index, entry) in entries.enumerated() {
            do {
                let body = try read[index].body.get()
                let duplicates = read[index].keys.map { keys in (keys, held?.mayHold(keys) ?? true) }
                let signerKey = try admitRules(body, checks: checks, reader: reader, facts: facts, duplicates: duplicates)
                signers.append(signerKey)
                if refusals.isEmpty {
                    try admitted(index, entry, body)
                    if let keys = read[index].keys { held?.add(keys) }
                    facts.written(body)
                }
                if !["contribution", "access"].contains(body.type) { facts.forget() }
            } catch let error as any GigaLedgerError {
                let refusal = SubmissionRefusal(index: index, underlying: error)
                guard listRefusals, error.kind == .refused else {
                    if refusals.isEmpty { throw refusal }
                    break
                }
                refusals.append(refusal)
            }
        }
        let checked = signatures.join()
        if refusals.count == 1 { throw refusals[0] }
        if !refusals.isEmpty { throw SubmissionRefusals(refusals: refusals) }
        for (index, entry) in entries.enumerated() {
            let signerKey = signers[index]
            if let (key, valid) = checked[index], key == signerKey {
                if valid { continue }
                throw SubmissionRefusal(index: index, underlying: signatureRefusal(entry, signer: entry.signer))
            }
            do { try checkSignature(entry, by: signerKey, signer: entry.signer) } catch let refusal as Refusal {
                throw SubmissionRefusal(index: index, underlying: refusal)
            }
        }
    }

    /// The public keys enrolled before a batch for the batch's signers, by signer column.
    private static func keysBefore(_ entries: [Entry], facts: LedgerFacts) throws -> [String: PublicKey] {
        var keys = [String: PublicKey]()
        for signer in Set(entries.map(\.signer)) {
            guard let id = try? KeyID.parse(signer, field: "signer"), let record = try facts.key(id) else { continue }
            keys[signer] = record.enrolment.publicKey
        }
        return keys
    }

    /// Every check of `admit` but the signature; returns the body and the signer's enrolled key.
    static func admitBeforeSignature(
        _ entry: Entry, as expected: EntryBody? = nil, checks: EntryChecks?, reader: StoreReader
    ) throws -> (EntryBody, PublicKey) {
        let body = try readChecked(entry, as: expected).get()
        return (body, try admitRules(body, checks: checks, reader: reader, facts: reader.facts))
    }

    /// The checks of an entry on its own: its columns and canonical body read back as `verify`
    /// reads them (as `expected`, when the caller built it), and its hash.
    static func readChecked(_ entry: Entry, as expected: EntryBody? = nil) -> Result<EntryBody, Refusal> {
        let body: EntryBody
        switch Entry.readBody(entry) {
        case .success(let read): body = read
        case .failure(let failure): return .failure(Refusal("the \(entry.type) entry would not verify: \(failure.reason); nothing was written"))
        }
        if let expected, body != expected {
            return .failure(Refusal("the \(entry.type) entry would not verify: its body reads back as other values; nothing was written"))
        }
        guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
            return .failure(Refusal("entry \(entry.seq): its hash is not SHA-256 of its prev_hash and body"))
        }
        return .success(body)
    }

    /// `readChecked`, and `withKeys`, the keys the duplicate rule looks up a contribution or access record by.
    static func readChecked(_ entry: Entry, withKeys: Bool) -> (body: Result<EntryBody, Refusal>, keys: DuplicateRule.Keys?) {
        let body = readChecked(entry)
        guard withKeys, case .success(let read) = body, ["contribution", "access"].contains(read.type) else { return (body, nil) }
        return (body, DuplicateRule.Keys(read.data, digests: Facts.digests(type: entry.type, body: entry.body)))
    }

    /// The checks of an entry against the ledger's state: the rules (signer enrolled, active, in
    /// scope; references) and the plausibility `checks`. Returns the signer's enrolled key.
    /// `duplicates`: see `EntryChecks.check`.
    static func admitRules(
        _ body: EntryBody, checks: EntryChecks?, reader: StoreReader, facts: LedgerFacts,
        duplicates: (keys: DuplicateRule.Keys, mayBeHeld: Bool)? = nil
    ) throws -> PublicKey {
        let signerKey: PublicKey
        do { signerKey = try Rules.check(body, facts: facts) } catch let refusal as Refusal {
            throw Refusal(refusal.message + (try Suggestions.hint(for: body.data, reader: reader)))
        }
        try checks?.check(
            body.data, today: try CalendarDate.parse(String(body.recordedAt.prefix(10)), field: "recorded_at"), reader: reader, signer: body.signer,
            duplicates: duplicates)
        return signerKey
    }

    /// The head entry, its hash recomputed and its signature checked, so a damaged head is never built on.
    /// A head equal in every column to `verified`, an entry the caller admitted or verified itself
    /// (a server's own last head), is that entry: the checks would give what they gave then.
    static func checkedHead(_ reader: StoreReader, verified: Entry? = nil) throws -> Entry? {
        guard let head = try reader.head() else { return nil }
        if let verified, head == verified { return head }
        guard Entry.hash(prevHash: head.prevHash, body: head.body) == head.hash else {
            throw LedgerError.headInvalid(seq: head.seq, "its hash does not match its body")
        }
        // The signer's key as its enrolment entry gives it (its `keys` row checked against that entry).
        guard let signer = try? KeyID.parse(head.signer, field: "signer"), let record = try reader.facts.key(signer),
            record.enrolment.publicKey.verify(signature: head.signature, message: Entry.signedMessage(hash: head.hash))
        else { throw LedgerError.headInvalid(seq: head.seq, "its signature does not verify") }
        try checkEnrolmentChain(of: record, head: head, reader: reader)
        return head
    }

    /// The head's signer was enrolled by an authority, and that authority by one before it, back
    /// to the genesis: each enrolling entry signed by the key its own enrolment gives. A role that
    /// may insert rows could otherwise put a key-enroll of its own key, signed by that key, under a
    /// head it signs, and a local append would build on it. Enrolments checked so are remembered
    /// per process (by entry hash: an entry never changes).
    static func checkEnrolmentChain(of record: KeyRecord, head: Entry, reader: StoreReader) throws {
        var record = record
        // Remembered only once the whole chain back to the genesis (or to one remembered) holds.
        var links = [[UInt8]]()
        func remember() {
            Self.enrolmentsChecked.withLock { checked in
                if checked.count + links.count >= Self.enrolmentsCheckedMax { checked.removeAll() }
                checked.formUnion(links)
            }
        }
        for _ in 0..<Self.enrolmentChainMax {
            guard record.enrolledAt > 1 else { return remember() }  // the genesis enrols the first authority itself
            guard let enrolling = try reader.entry(record.enrolledAt) else {
                throw LedgerError.headInvalid(seq: head.seq, "the entry that enrolled its signer's key is missing")
            }
            if Self.enrolmentsChecked.withLock({ $0.contains(enrolling.hash) }) { return remember() }
            guard let signer = try? KeyID.parse(enrolling.signer, field: "signer"), let authority = try reader.facts.key(signer),
                authority.enrolment.role == .authority, authority.enrolledAt < enrolling.seq,
                Entry.hash(prevHash: enrolling.prevHash, body: enrolling.body) == enrolling.hash,
                authority.enrolment.publicKey.verify(signature: enrolling.signature, message: Entry.signedMessage(hash: enrolling.hash))
            else {
                throw LedgerError.headInvalid(
                    seq: head.seq,
                    "its signer's key was enrolled by entry \(enrolling.seq), which no earlier authority key signed (an entry written outside GigaLedger)"
                )
            }
            links.append(enrolling.hash)
            record = authority
        }
        throw LedgerError.headInvalid(seq: head.seq, "its signer's enrolments go back more than \(Self.enrolmentChainMax) authorities")
    }

    /// The most enrolments followed back from a head's signer (a few authority rotations in practice).
    static let enrolmentChainMax = 64
    /// Enrolling entries found signed by an earlier authority, by hash, in this process.
    private static let enrolmentsChecked = Mutex<Set<[UInt8]>>([])
    static let enrolmentsCheckedMax = 10_000

    // MARK: - Reading

    /// The body of entry `seq` as verify reads it, or nil when there is no such entry.
    public func body(_ seq: Int64) throws -> EntryBody? {
        guard let entry = try entry(seq) else { return nil }
        switch Entry.readBody(entry) {
        case .success(let body): return body
        case .failure(let failure): throw LedgerError.damaged("entry \(seq): \(failure.reason)")
        }
    }

    /// The entry at `seq`, or nil.
    public func entry(_ seq: Int64) throws -> Entry? {
        try store.read { try $0.entry(seq) }
    }

    /// The entry a sequence number or hash names, or nil.
    public func entry(_ reference: EntryReference) throws -> Entry? {
        switch reference {
        case .seq(let seq): return try entry(seq)
        case .hash(let hash): return try store.read { try $0.entry(hash: hash) }
        }
    }

    /// Whether `entry` hashes to its hash and is signed by the key enrolled for its signer (whatever
    /// its place in the chain): a server keeps a turn only for such an entry.
    public func isSignedByEnrolledKey(_ entry: Entry) throws -> Bool {
        guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, let id = try? KeyID.parse(entry.signer, field: "signer"),
            let record = try store.read({ try $0.facts.key(id) })
        else { return false }
        return (try? Self.checkSignature(entry, by: record.enrolment.publicKey, signer: id)) != nil
    }

    /// The entry that enrolled key `id` (the genesis for the first authority), or nil.
    public func enrolmentEntry(of id: KeyID) throws -> Entry? {
        guard let record = try keys().first(where: { $0.enrolment.publicKey.id == id }) else { return nil }
        return try entry(record.enrolledAt)
    }

    /// Every enrolled key, in enrolment order, with its revocation if any: the keys entries
    /// enrolled. A key whose index rows no entry made (written outside GigaLedger, or left behind
    /// by a cut) is left out: nothing relies on such a row, and `verify` names it.
    public func keys() throws -> [KeyRecord] {
        try store.read { try Self.keys($0) }
    }

    static func keys(_ reader: StoreReader) throws -> [KeyRecord] {
        let facts = reader.facts
        return try reader.keyIDs().compactMap { text in
            guard let id = try? KeyID.parse(text, field: "key_id") else {
                throw LedgerError.damaged("index table keys holds \(InputError.quoted(text)), not a key ID")
            }
            do { return try facts.key(id) } catch LedgerError.unmadeIndexRow { return nil }
        }
    }

    /// Calls `body` with each entry in sequence order, streaming, inside one read transaction.
    public func forEachEntry(_ body: (Entry) throws -> Void) throws {
        try store.read { reader in
            let entries = try reader.entries()
            while let entry = try entries.next() { try body(entry) }
        }
    }
}

/// Who writes a ledger: a command, or the server that holds it (GigaLedgerStore's `WriterRole`).
public typealias WriterRole = GigaLedgerStore.WriterRole
