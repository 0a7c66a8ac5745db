import Foundation
import GRDB

/// The first thing found wrong in a ledger: which entry, and what was expected and found.
public struct VerificationFailure: Error, Equatable, CustomStringConvertible {
    /// The sequence number of the first failing entry (for an index-table mismatch, the entry it names).
    public let seq: Int64
    public let reason: String

    public var description: String { "entry \(seq): \(reason)" }
}

/// The result of replaying a whole ledger.
public struct VerificationReport: Equatable {
    /// Entries checked and found good (all of them when `failure` is nil).
    public let verifiedCount: Int64
    /// The hash of the last good entry.
    public let headHash: [UInt8]?
    public let origin: String
    public let failure: VerificationFailure?
    /// The Merkle root of the first n verified entries, for each n asked for that was reached.
    public let roots: [Int64: [UInt8]]

    public var isVerified: Bool { failure == nil }
    /// The same report with `failure`, when there is one.
    public func failing(_ failure: VerificationFailure?) -> VerificationReport {
        guard let failure else { return self }
        return VerificationReport(verifiedCount: verifiedCount, headHash: headHash, origin: origin, failure: failure, roots: roots)
    }

    /// The Merkle root of all verified entries.
    public var root: [UInt8] { roots[verifiedCount] ?? Merkle.emptyRoot }
}

extension Ledger {
    /// Re-reads every entry and checks, in order: the sequence has no gap, the link to the
    /// previous hash, the hash of the stored bytes, the body's form, that the columns match the
    /// body, the rules (signer enrolled, unrevoked, allowed; references exist), and the
    /// signature. Then rebuilds the index tables and compares them. Stops at the first failure.
    /// `rootsAt` asks for the Merkle roots at some sizes too (a checkpoint's, to compare).
    /// `parallel: false` checks every signature in turn (for tests that compare the two paths).
    /// `progress(done, total)` is called now and then with the entries checked so far.
    public func verify(rootsAt sizes: Set<Int64> = [], parallel: Bool = true, progress: ((Int64, Int64) -> Void)? = nil) throws -> VerificationReport {
        do {
            return try queue.read { db in
                let verifier = try Verifier(db: db, rootsAt: sizes, signatureBatchMax: parallel ? Verifier.signatureBatchDefault : 1)
                if let progress {
                    let total = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM entries") ?? 0
                    verifier.progress = { progress($0, total) }
                }
                return try verifier.run()
            }
        } catch {
            throw LedgerDatabase.map(error, path: path)
        }
    }
}

final class Verifier {
    let db: Database
    var facts: ReplayedFacts!
    var expectedIndex = [String: [[DatabaseValue]]]()
    var previousHash = Entry.genesisPrevHash
    var count: Int64 = 0
    var frontier = MerkleFrontier()
    var treeNodes: Int64 = 0
    let checksTree: Bool
    let rootsWanted: Set<Int64>
    var roots = [Int64: [UInt8]]()

    init(db: Database, rootsAt sizes: Set<Int64>, signatureBatchMax: Int) throws {
        self.db = db
        self.signatureBatchMax = signatureBatchMax
        checksTree = try db.tableExists("merkle_nodes")
        rootsWanted = sizes
        facts = ReplayedFacts { [unowned self] seq in
            guard seq <= self.count, let data = try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE seq = ?", arguments: [seq]) else { return nil }
            return try EntryBody.decode([UInt8](data))
        }
    }

    func report(_ failure: VerificationFailure?) -> VerificationReport {
        var roots = self.roots
        roots[count] = frontier.root
        return VerificationReport(verifiedCount: count, headHash: count > 0 ? previousHash : nil, origin: facts.origin, failure: failure, roots: roots)
    }

    /// Signatures waiting to be checked, in sequence order.
    struct PendingSignature {
        let seq: Int64
        let signer: KeyID
        let key: PublicKey
        let hash: [UInt8]
        let signature: [UInt8]
    }
    var pending = [PendingSignature]()
    /// The hash of the entry before the first pending one.
    var hashBeforePending = Entry.genesisPrevHash
    /// How many signatures are checked together: bounds memory whatever the ledger's size.
    static let signatureBatchDefault = 4_096
    let signatureBatchMax: Int
    var progress: ((Int64) -> Void)?

    /// Hashes, links, bodies, rules and the tree are checked in order, one entry at a time;
    /// signatures, which depend on nothing but the entry and its enrolled key, are collected and
    /// checked in parallel, a batch at a time. The first failure reported is the same as a fully
    /// serial check's: the lowest entry that fails, and for one entry the signature comes first.
    func run() throws -> VerificationReport {
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM entries ORDER BY seq")
        while let row = try rows.next() {
            let entry = Ledger.entry(from: row)
            switch try check(entry) {
            case .failure(let failure):
                return report(checkPendingSignatures() ?? failure)
            case .success(let (body, key)):
                pending.append(PendingSignature(seq: entry.seq, signer: body.signer, key: key, hash: entry.hash, signature: entry.signature))
                facts.apply(body)
                for row in IndexRow.rows(for: body) { expectedIndex[row.table, default: []].append(row.values) }
            }
            if let failure = try checkTree(entry) { return report(checkPendingSignatures() ?? failure) }
            previousHash = entry.hash
            count = entry.seq
            if rootsWanted.contains(count) { roots[count] = frontier.root }
            if pending.count >= signatureBatchMax, let failure = checkPendingSignatures() { return report(failure) }
            if count % 1_024 == 0 { progress?(count) }
        }
        progress?(count)
        if let failure = checkPendingSignatures() { return report(failure) }
        if count == 0 { return report(VerificationFailure(seq: 1, reason: "the ledger has no entries (no genesis)")) }
        if let failure = try compareIndexTables() { return report(failure) }
        return report(try checkNoExtraTreeNodes())
    }

    /// Checks the pending signatures in parallel. On a bad one, rewinds the count and head to the
    /// entry before it, so the report says what a serial check would.
    private func checkPendingSignatures() -> VerificationFailure? {
        let good = Parallel.map(pending) { $0.key.verify(signature: $0.signature, message: Entry.signedMessage(hash: $0.hash)) }
        defer {
            pending.removeAll(keepingCapacity: true)
            hashBeforePending = previousHash
        }
        guard let bad = good.firstIndex(of: false) else { return nil }
        let failing = pending[bad]
        count = failing.seq - 1
        previousHash = bad == 0 ? hashBeforePending : pending[bad - 1].hash
        return VerificationFailure(seq: failing.seq, reason: "signature does not verify under signer \(failing.signer)'s enrolled key")
    }

    /// Everything about one entry but its signature: the failure, or the body and the key that must have signed it.
    private func check(_ entry: Entry) throws -> Result<(EntryBody, PublicKey), VerificationFailure> {
        let expectedSeq = count + 1
        func fail(_ reason: String) -> Result<(EntryBody, PublicKey), VerificationFailure> { .failure(VerificationFailure(seq: expectedSeq, reason: reason)) }
        guard entry.seq == expectedSeq else { return fail("entry \(expectedSeq) is missing (the next stored entry is \(entry.seq))") }
        guard entry.prevHash == previousHash else {
            return fail("prev_hash \(Encoding.hex(entry.prevHash)) does not match the hash of entry \(count), \(Encoding.hex(previousHash))")
        }
        let hash = Entry.hash(prevHash: entry.prevHash, body: entry.body)
        guard hash == entry.hash else { return fail("stored hash \(Encoding.hex(entry.hash)) does not match the hash of its body, \(Encoding.hex(hash))") }
        let body: EntryBody
        do { body = try EntryBody.decode(entry.body) } catch { return fail("body cannot be read: \(error)") }
        if let mismatch = columnMismatch(entry, body) { return fail(mismatch) }
        do { return .success((body, try Rules.check(body, facts: facts))) } catch let refusal as Refusal { return fail(refusal.message) }
    }

    /// Recomputes the Merkle nodes this entry completes and compares each with the stored one.
    private func checkTree(_ entry: Entry) throws -> VerificationFailure? {
        let finished = frontier.append(leafHash: Merkle.leafHash(entry.hash))
        guard checksTree else { return nil }
        for node in finished {
            treeNodes += 1
            let stored = try Data.fetchOne(db, sql: "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", arguments: [node.level, node.index])
            guard let stored, [UInt8](stored) == node.hash else {
                return VerificationFailure(seq: entry.seq, reason: "merkle_nodes level \(node.level) index \(node.index) is \(stored == nil ? "missing" : "not the hash the entries give")")
            }
        }
        return nil
    }

    private func checkNoExtraTreeNodes() throws -> VerificationFailure? {
        guard checksTree else { return nil }
        let stored = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM merkle_nodes") ?? 0
        guard stored == treeNodes else {
            return VerificationFailure(seq: count, reason: "merkle_nodes holds \(stored) nodes, the entries give \(treeNodes)")
        }
        return nil
    }

    /// The columns outside the body must say what the body says.
    private func columnMismatch(_ entry: Entry, _ body: EntryBody) -> String? {
        if body.seq != entry.seq { return "body says sequence \(body.seq), the row is \(entry.seq)" }
        if body.type != entry.type { return "type column \(InputError.quoted(entry.type)) differs from the body's \(body.type)" }
        if body.signer.description != entry.signer { return "signer column \(InputError.quoted(entry.signer)) differs from the body's \(body.signer)" }
        if body.recordedAt != entry.recordedAt { return "recorded_at column \(InputError.quoted(entry.recordedAt)) differs from the body's \(body.recordedAt)" }
        return nil
    }

    /// Index tables must hold exactly the rows the entries imply.
    private func compareIndexTables() throws -> VerificationFailure? {
        for table in IndexRow.tables {
            let stored = try Row.fetchAll(db, sql: "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name) ORDER BY seq")
                .map { row in table.columns.map { row[$0] as DatabaseValue } }
            let expected = expectedIndex[table.name] ?? []
            guard stored != expected else { continue }
            let firstDifference = (0..<min(stored.count, expected.count)).first { stored[$0] != expected[$0] } ?? min(stored.count, expected.count)
            let seqValue = (firstDifference < expected.count ? expected : stored)[firstDifference].last!
            let seq = Int64.fromDatabaseValue(seqValue) ?? 0
            return VerificationFailure(seq: seq, reason: "index table \(table.name) does not match the entries (\(stored.count) rows stored, \(expected.count) implied)")
        }
        return nil
    }
}
