import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// The result of replaying a whole ledger.
public struct VerificationReport: Equatable, Sendable {
    /// Entries checked and found good (all of them when `failure` is nil).
    public let verifiedCount: Int64
    /// The hash of the last good entry.
    public let headHash: [UInt8]?
    public let origin: String
    public let failure: VerificationFailure?
    /// The Merkle root of the first n verified entries, for each n asked for that was reached.
    public let roots: [Int64: [UInt8]]
    /// When the signatures of entries 1 to this size were not checked again, because a checkpoint
    /// the ledger's authority signed after verifying them binds their bytes (see `verify`).
    public var signaturesTrustedThrough: Int64? = nil

    public var isVerified: Bool { failure == nil }
    /// The same report with `failure`, when there is one.
    public func failing(_ failure: VerificationFailure?) -> VerificationReport {
        guard let failure else { return self }
        return VerificationReport(
            verifiedCount: verifiedCount, headHash: headHash, origin: origin, failure: failure, roots: roots,
            signaturesTrustedThrough: signaturesTrustedThrough)
    }

    /// The Merkle root of all verified entries.
    public var root: [UInt8] { roots[verifiedCount] ?? Merkle.emptyRoot }
}

extension Ledger {
    /// Re-reads every entry and checks, in order: the sequence has no gap, the link to the
    /// previous hash, the hash of the stored bytes, the body's form, that the columns match the
    /// body, the rules (signer enrolled, unrevoked, allowed; references exist), and the
    /// signature; and the Merkle nodes and index rows each entry implies against the stored ones,
    /// then that no stored node or row is left over. Stops at the first failure.
    /// `rootsAt` asks for the Merkle roots at some sizes too (a checkpoint's, to compare).
    /// `parallel: false` checks every signature in turn (for tests that compare the two paths).
    /// `progress(done, total)` is called now and then with the entries checked so far.
    ///
    /// `trustingLatestCheckpoint` skips one check for the entries the latest checkpoint in the
    /// ledger covers: their signatures. Everything else is checked as usual, and when the replay
    /// reaches the checkpoint's size, the checkpoint must be signed by an authority key active at
    /// that point, for this origin, with the root the entries give; otherwise verification fails
    /// there. `checkpoint` verifies the whole ledger before it signs, so a signed root stands for
    /// entries whose signatures were checked, and binds their bytes (hashes cover bodies and links).
    /// A replaced signature column under the checkpoint is the one thing only a full verify finds.
    ///
    /// `visit` is called with each entry's body once it is verified, in order, so a caller can
    /// add figures up in the same pass.
    public func verify(
        rootsAt sizes: Set<Int64> = [], parallel: Bool = true, trustingLatestCheckpoint: Bool = false,
        visit: ((EntryBody) -> Void)? = nil, progress: ((Int64, Int64) -> Void)? = nil
    ) throws -> VerificationReport {
        try store.read { reader in
            let verifier = Verifier(reader: reader, rootsAt: sizes, parallel: parallel)
            verifier.visit = visit
            if trustingLatestCheckpoint { try verifier.trustLatestCheckpoint() }
            if let progress {
                let total = try reader.size()
                verifier.progress = { progress($0, total) }
            }
            return try verifier.run()
        }
    }
}

/// Replays a ledger in batches. Per batch, what depends on nothing but the entry itself (its hash,
/// its body's form, its signature under a key enrolled before the batch) is checked in parallel,
/// while the previous batch goes through what depends on order (links, rules, the tree, the index
/// tables) on this thread. The first failure reported is a serial check's: the lowest entry that
/// fails, and within one entry the checks in the order `checkInOrder` makes them.
final class Verifier {
    let reader: StoreReader
    let facts: ReplayedFacts
    var previousHash = Entry.genesisPrevHash
    var count: Int64 = 0
    var frontier = MerkleFrontier()
    var treeNodes: Int64 = 0
    let rootsWanted: Set<Int64>
    var roots = [Int64: [UInt8]]()
    let parallel: Bool
    var progress: ((Int64) -> Void)?
    var visit: ((EntryBody) -> Void)?
    /// The latest checkpoint the ledger signed, when its entries' signatures are not checked again.
    private var trusted: (note: String, size: Int64)?
    private var signaturesTrustedThrough: Int64 { trusted?.size ?? 0 }
    /// One ordered scan per tree level and per index table, compared as the entries arrive.
    /// The stored checkpoints not yet reached, smallest first.
    private var storedCheckpoints = [StoredCheckpoint]()
    /// The text of each stored checkpoint that verified, by size: what cosignatures sign.
    private var checkpointTexts = [Int64: String]()
    private var levelScans = [Int: TreeLevelScan]()
    private var indexScans = [String: IndexScan]()
    /// The index tables the file has: a ledger read without migrating it (read-only media) may
    /// predate a table (`facts`, migration 0006). The schema check has already established that
    /// its migrations are the code's first ones, so a missing table is a version, not damage.
    private lazy var indexTables: [IndexRow.Table] = IndexRow.tables.filter { (try? reader.hasTable($0.name)) ?? true }
    /// Whether the file stores the tree (migration 0002 made `merkle_nodes`): a ledger of migration
    /// 0001 alone has none to compare, and its roots are still computed (FORMAT.md section 1).
    private lazy var storesTree: Bool = (try? reader.hasTable("merkle_nodes")) ?? true

    /// Entries read and checked together: bounds memory whatever the ledger's size.
    static let batchEntriesMax = 4_096
    static let firstBatchEntries = 64

    init(reader: StoreReader, rootsAt sizes: Set<Int64>, parallel: Bool) {
        self.reader = reader
        self.parallel = parallel
        rootsWanted = sizes
        // A correction names an earlier entry, which has been verified already: its body is read
        // again rather than every body kept.
        facts = ReplayedFacts { seq in try reader.body(seq).map { try EntryBody.decode($0) } }
    }

    func report(_ failure: VerificationFailure?) -> VerificationReport {
        var roots = self.roots
        roots[count] = frontier.root
        return VerificationReport(
            verifiedCount: count, headHash: count > 0 ? previousHash : nil, origin: facts.origin, failure: failure, roots: roots,
            signaturesTrustedThrough: trusted?.size)
    }

    /// Takes the latest stored checkpoint as the one whose entries' signatures are not checked
    /// again. Its size is read from the note (the `size` column is not signed); a note that does
    /// not parse is ignored, and every signature is checked.
    func trustLatestCheckpoint() throws {
        guard let note = try reader.latestCheckpoint()?.note,
            let signed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(signed.text), checkpoint.size >= 1
        else { return }
        trusted = (note, checkpoint.size)
    }

    /// A stored checkpoint, when the replay reaches its size: signed by an authority or log key active at
    /// that entry, for this origin, its note saying the row's size and root, the root the entries
    /// give, and a `signed_at` that is a UTC time. Nothing in the checkpoints table is trusted
    /// unchecked (reports and receipts hand these notes out).
    private func checkStoredCheckpoint(_ stored: StoredCheckpoint) -> VerificationFailure? {
        let signers = facts.keys.values.filter { $0.enrolment.role.signsCheckpoints && $0.isActive }.map(\.enrolment.publicKey)
        let trustedNote = stored.size == trusted?.size ? ", whose entries' signatures were taken as checked," : ""
        func fail(_ why: String) -> VerificationFailure {
            VerificationFailure(
                seq: count, reason: "stored checkpoint \(stored.size)\(trustedNote) \(why)" + (trustedNote.isEmpty ? "" : "; run a full verify"))
        }
        guard let (checkpoint, _) = try? Checkpoint.open(stored.note, trusting: signers) else {
            return fail("is not signed by an active authority or log key of this ledger")
        }
        guard checkpoint.origin.sameBytes(as: facts.origin) else { return fail("is for \(checkpoint.origin), not \(facts.origin)") }
        guard checkpoint.size == stored.size else { return fail("says size \(checkpoint.size) in its signed note") }
        guard checkpoint.root == stored.root else { return fail("has a root column that differs from its signed note") }
        guard checkpoint.root == frontier.root else { return fail("has another root than the entries give (rewritten?)") }
        guard Timestamp.isValid(stored.signedAt) else { return fail("has a signed_at that is not a UTC time") }
        checkpointTexts[stored.size] = checkpoint.text
        return nil
    }

    /// After the replay: every stored cosignature is by an enrolled auditor key, of a stored
    /// checkpoint that verified, and verifies over that checkpoint's text.
    private func checkCosignatures() throws -> VerificationFailure? {
        for cosignature in try reader.cosignatures() {
            func fail(_ why: String) -> VerificationFailure {
                VerificationFailure(
                    seq: max(1, min(cosignature.size, count)),
                    reason: "stored cosignature of checkpoint \(cosignature.size) by \(InputError.quoted(cosignature.keyID)) \(why)")
            }
            guard let text = checkpointTexts[cosignature.size] else { return fail("is of a checkpoint the ledger does not keep") }
            if let problem = try cosignature.problem(checkpointText: text, facts: facts) { return fail(problem) }
        }
        return nil
    }

    /// Checks every stored checkpoint whose size the replay has just reached.
    private func checkCheckpointsReached() -> VerificationFailure? {
        while let next = storedCheckpoints.first, next.size <= count {
            storedCheckpoints.removeFirst()
            if let failure = checkStoredCheckpoint(next) { return failure }
        }
        return nil
    }

    /// What can be known of one entry without the entries before it.
    struct Prepared {
        let entry: Entry
        let computedHash: [UInt8]
        /// The body read and its columns compared (`Entry.readBody`, which `append` runs too).
        let body: Result<EntryBody, VerificationFailure>
        /// The signature checked under the key its signer had when the batch began, if it had one.
        let signatureCheck: (key: PublicKey, good: Bool)?
        /// The index rows the body implies (`IndexRow.rows`, its facts digest and near keys among
        /// them), and its Merkle leaf hash: made here in parallel, compared in order.
        let indexRows: [IndexRow]
        let leafHash: [UInt8]
    }

    static func prepare(_ entry: Entry, keys: [KeyID: PublicKey], signaturesTrustedThrough: Int64) -> Prepared {
        let body = Entry.readBody(entry)
        var signatureCheck: (PublicKey, Bool)?
        if entry.seq > signaturesTrustedThrough, case .success(let decoded) = body, let key = keys[decoded.signer] {
            signatureCheck = (key, key.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash)))
        }
        var indexRows = [IndexRow]()  // a body that does not read fails before its rows are compared
        if case .success(let decoded) = body {
            indexRows = IndexRow.rows(for: decoded, factsDigest: Facts.digest(type: entry.type, body: entry.body))
        }
        return Prepared(
            entry: entry, computedHash: Entry.hash(prevHash: entry.prevHash, body: entry.body), body: body, signatureCheck: signatureCheck,
            indexRows: indexRows, leafHash: Merkle.leafHash(entry.hash))
    }

    func run() throws -> VerificationReport {
        // The schema first: a dropped trigger or table would otherwise pass unseen.
        if let difference = try reader.schemaDifference() {
            // A later GigaLedger's schema: nothing is judged of it (exit 2).
            return report(VerificationFailure(seq: 0, reason: "schema: \(difference)", isNewerFormat: difference.isNewer))
        }
        // SQLite's check of the file runs beside the replay (it is a tenth of the time at 30,000
        // entries, on one core); its finding, like the schema's, is the one reported.
        let storageCheck = reader.startStorageCheck()
        let replayed: VerificationReport
        do {
            replayed = try replay()
        } catch {
            // A damaged page may stop the replay's reads first: the check's words say what is wrong.
            if let problem = try storageCheck.result() { return storageFailure(problem) }
            throw error
        }
        if let problem = try storageCheck.result() { return storageFailure(problem) }
        return replayed
    }

    /// A finding of SQLite's own check, before any entry (none counted as verified).
    private func storageFailure(_ problem: String) -> VerificationReport {
        VerificationReport(
            verifiedCount: 0, headHash: nil, origin: facts.origin,
            failure: VerificationFailure(seq: 0, reason: "SQLite's check of the file: \(problem)"),
            roots: [0: Merkle.emptyRoot])
    }

    /// Every entry in order, then what must be checked after the last.
    private func replay() throws -> VerificationReport {
        storedCheckpoints = try reader.checkpoints()
        if let first = storedCheckpoints.first, first.size < 1 {
            return report(VerificationFailure(seq: 1, reason: "stored checkpoint \(first.size) is of no entries"))
        }
        let entries = try reader.entries()
        func readBatch(_ size: Int = Self.batchEntriesMax) throws -> [Entry] {
            var batch = [Entry]()
            batch.reserveCapacity(size)
            while batch.count < size, let entry = try entries.next() { batch.append(entry) }
            return batch
        }
        // A small first batch: its signatures are checked in order, since no key is known before genesis.
        var batch = try readBatch(Self.firstBatchEntries)
        // The work on other threads holds values only, never this verifier or its database cursors,
        // which must be released on the database's thread.
        defer {
            levelScans.removeAll()
            indexScans.removeAll()
        }
        // Each batch is prepared by the other cores (none when not `parallel`) and by this thread
        // once it has nothing else to do. The keys are those known when the batch is handed out.
        let trustedThrough = signaturesTrustedThrough, helpers = parallel ? max(1, Parallel.workers - 1) : 0
        func prepare(_ batch: [Entry]) -> SharedMap<Entry, Prepared> {
            SharedMap(batch, backgroundWorkers: helpers) { [keys = facts.publicKeys] in
                Self.prepare($0, keys: keys, signaturesTrustedThrough: trustedThrough)
            }
        }
        var prepared = prepare(batch).join()
        // The first batch is checked before the second is handed out, so that the signers it enrols
        // have their keys when the second is prepared: handed out beside it, the second batch's
        // signatures were all checked here in order (4,096 of them on this thread alone).
        if let failure = try checkInOrder(prepared) { return report(failure) }
        if count > 0 { progress?(count) }
        let second = prepare(try readBatch())
        batch = try readBatch()
        prepared = second.join()
        while !prepared.isEmpty {
            // The next batch is prepared while this one is checked in order here and the one after is read.
            let next = prepare(batch)
            let failure = try checkInOrder(prepared)
            let following = failure == nil ? try readBatch() : []
            let nextPrepared = next.join()
            if let failure { return report(failure) }
            progress?(count)
            prepared = nextPrepared
            batch = following
        }
        if count == 0 { return report(VerificationFailure(seq: 1, reason: "the ledger has no entries (no genesis)")) }
        if let beyond = storedCheckpoints.first {
            // A cut tail: entries, tree nodes and index rows removed together still chain, but a
            // checkpoint signed over them remains.
            return report(
                VerificationFailure(seq: count + 1, reason: "stored checkpoint \(beyond.size) covers more entries than the ledger holds (truncated?)")
            )
        }
        if let failure = try checkScansFinished() { return report(failure) }
        if let failure = try checkCosignatures() { return report(failure) }
        return report(nil)
    }

    private func checkInOrder(_ batch: [Prepared]) throws -> VerificationFailure? {
        for item in batch {
            let entry = item.entry
            let expectedSeq = count + 1
            func fail(_ reason: String) -> VerificationFailure { VerificationFailure(seq: expectedSeq, reason: reason) }
            guard entry.seq == expectedSeq else { return fail("entry \(expectedSeq) is missing (the next stored entry is \(entry.seq))") }
            guard entry.prevHash == previousHash else {
                return fail("prev_hash \(Encoding.hex(entry.prevHash)) does not match the hash of entry \(count), \(Encoding.hex(previousHash))")
            }
            guard item.computedHash == entry.hash else {
                return fail("stored hash \(Encoding.hex(entry.hash)) does not match the hash of its body, \(Encoding.hex(item.computedHash))")
            }
            let body: EntryBody
            switch item.body {
            case .success(let decoded): body = decoded
            case .failure(let failure):
                // Written by a newer GigaLedger: this version can judge nothing of it (exit 2).
                if failure.isNewerFormat { return VerificationFailure(seq: expectedSeq, reason: failure.reason, isNewerFormat: true) }
                return fail(failure.reason)
            }
            let key: PublicKey
            do { key = try Rules.check(body, facts: facts) } catch let refusal as Refusal { return fail(refusal.message) }
            if entry.seq > signaturesTrustedThrough {
                let good =
                    item.signatureCheck.flatMap { $0.key == key ? $0.good : nil }
                    ?? key.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash))
                guard good else { return fail("signature does not verify under signer \(body.signer)'s enrolled key") }
            }
            facts.apply(body)
            if let failure = try checkIndexRows(item.indexRows, seq: body.seq) { return failure }
            if let failure = try checkTree(entry, leafHash: item.leafHash) { return failure }
            previousHash = entry.hash
            count = entry.seq
            if rootsWanted.contains(count) { roots[count] = frontier.root }
            if let failure = checkCheckpointsReached() { return failure }
            visit?(body)
        }
        return nil
    }

    /// Recomputes the Merkle nodes this entry completes and compares each with the stored one,
    /// read by one ordered scan per level.
    private func checkTree(_ entry: Entry, leafHash: [UInt8]) throws -> VerificationFailure? {
        for node in try frontier.append(leafHash: leafHash) {
            treeNodes += 1
            guard storesTree else { continue }
            let scan = try levelScan(node.level)
            let stored = try scan.next(expectingIndex: node.index)
            guard let stored, stored == node.hash else {
                return VerificationFailure(
                    seq: entry.seq,
                    reason: "merkle_nodes level \(node.level) index \(node.index) is \(stored == nil ? "missing" : "not the hash the entries give")")
            }
        }
        return nil
    }

    private func levelScan(_ level: Int) throws -> TreeLevelScan {
        if let scan = levelScans[level] { return scan }
        let scan = try reader.treeLevelScan(level: level)
        levelScans[level] = scan
        return scan
    }

    /// The index rows this entry implies must be the next rows of their tables, in sequence order.
    private func checkIndexRows(_ rows: [IndexRow], seq: Int64) throws -> VerificationFailure? {
        for row in rows where indexTables.contains(row.table) {
            let scan = try indexScan(row.table)
            guard let stored = try scan.next(), stored == row.values else {
                return VerificationFailure(
                    seq: seq, reason: "index table \(row.table.name) does not match the entries (its row for this entry is missing or differs)")
            }
        }
        return nil
    }

    private func indexScan(_ table: IndexRow.Table) throws -> IndexScan {
        if let scan = indexScans[table.name] { return scan }
        let scan = try reader.indexScan(table: table)
        indexScans[table.name] = scan
        return scan
    }

    /// After the last entry: no stored tree node or index row the entries do not give.
    private func checkScansFinished() throws -> VerificationFailure? {
        for table in indexTables {
            let scan = try indexScan(table)
            if let extra = try scan.next() {
                let seq = extra.last?.integer ?? count
                return VerificationFailure(seq: seq, reason: "index table \(table.name) has a row no entry gives (seq \(seq))")
            }
        }
        let stored = storesTree ? try reader.treeNodeCount() : treeNodes
        guard stored == treeNodes else {
            return VerificationFailure(seq: count, reason: "merkle_nodes holds \(stored) nodes, the entries give \(treeNodes)")
        }
        return nil
    }
}
