import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// What an import did, or would do with `dryRun`: how many rows, the first and last entry they
/// became, and the import record. (The entries themselves are not kept: an import holds one batch.)
public struct ImportResult: Equatable {
    public let rowCount: Int
    public let first: Entry
    public let last: Entry
    public let record: Entry
    public let dryRun: Bool
}

extension Ledger {
    /// Appends every row, then an `import` record naming the file's SHA-256, in one transaction:
    /// all rows or none. Every refused row is named (`ImportErrors`), not only the first. The same
    /// file again is refused unless `allowDuplicate`; a row whose facts repeat an earlier entry's
    /// or another row's is refused unless `checks.allowDuplicate`. `dryRun` does all the checks and
    /// signing, then rolls back.
    /// `progress(done, total)` is called after each batch of rows written.
    public func importRows(
        _ rows: [ImportRow], fileName: String, fileSHA256: [UInt8], key: any Signer, allowDuplicate: Bool = false,
        checks: EntryChecks = EntryChecks(), dryRun: Bool = false, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ImportResult {
        var source = ImportRowArray(rows)
        return try importRows(
            from: &source, fileName: fileName, fileSHA256: fileSHA256, key: key, allowDuplicate: allowDuplicate,
            checks: checks, dryRun: dryRun, rowsEstimate: rows.count, progress: progress)
    }

    /// `importRows` over rows read a batch at a time: memory holds a batch whatever the file's size.
    /// `onRow` is called with each row and the entry it became (a dry run lists them);
    /// `progress(done, estimate)` after each batch.
    public func importRows<Source: ImportRowSource>(
        from source: inout Source, fileName: String, fileSHA256: [UInt8], key: any Signer,
        allowDuplicate: Bool = false, checks: EntryChecks = EntryChecks(), dryRun: Bool = false, rowsEstimate: Int = 0,
        onRow: ((ImportRow, Entry) -> Void)? = nil,
        progress: ((Int, Int) -> Void)? = nil,
        deliver: (ImportResult) throws -> Void = { _ in }
    ) throws -> ImportResult {
        _ = try ImportRecord(fileName: fileName, fileSHA256: fileSHA256, rows: 1)  // the file's name, checked before anything is read
        return try store.write(commit: !dryRun, bulk: true) { writer in
            if !allowDuplicate, let earlier = try writer.reader.importEntry(fileSHA256: fileSHA256) {
                throw Self.fileImportedAgain(fileSHA256, at: earlier)
            }
            var tree = TreeAppender()
            let (count, first, last) = try Self.appendRows(
                writer, source: &source, key: key, checks: checks, tree: &tree, rowsEstimate: rowsEstimate,
                onRow: onRow, progress: progress)
            guard let first, let last else { throw ImportError(row: 2, column: nil, value: nil, problem: "the file has no rows to import") }
            let record = try ImportRecord(fileName: fileName, fileSHA256: fileSHA256, rows: Int64(count))
            let recordEntry = try Self.append(.importRecord(record), key: key, writer: writer, tree: &tree)
            let result = ImportResult(rowCount: count, first: first, last: last, record: recordEntry, dryRun: dryRun)
            try deliver(result)  // handed out before the commit: output that is lost records nothing
            return result
        }
    }
}

extension Ledger {
    /// How many rows are chained, signed and written per step: bounds the memory an import holds.
    static let importBatchRowsMax = 8_192
    /// The first step's rows: few, so that the other cores start signing at once instead of idling
    /// while a whole batch is read (the file's first rows are read on this thread) and chained.
    static let importFirstBatchRows = 256

    /// An import reads every key the ledger's index tables hold into a `KeyFilter` when the
    /// ledger has at most this many entries for each row the file is expected to hold: one scan
    /// of them costs less than asking about each batch's keys (about six a row, each a look-up
    /// into an index). Measured at 100,000 rows into 500,000 entries: the batches' look-ups were
    /// 19 % of the in-order thread's samples.
    static let keyFilterEntriesPerRow: Int64 = 16

    /// The filter of the ledger's duplicate keys an import of about `rowsEstimate` rows into a
    /// ledger of `entries` reads first, or nil when asking the ledger batch by batch costs less
    /// (or the filter would be larger than `KeyFilter.keysMax` keys allow).
    static func keyFilter(_ reader: StoreReader, entries: Int64, rowsEstimate: Int) throws -> KeyFilter? {
        let keys = Int(clamping: entries) * 3 + rowsEstimate * 4
        guard rowsEstimate > 0, entries <= keyFilterEntriesPerRow * Int64(rowsEstimate), keys <= KeyFilter.keysMax else { return nil }
        var filter = KeyFilter(keys: keys)
        try reader.forEachDuplicateKey { filter.insert($0) }
        return filter
    }

    /// The rows of the step after one of `previous` rows (0: the first): doubling from
    /// `importFirstBatchRows` to `importBatchRowsMax`, so that each batch is read ahead while the
    /// one before, half its size, is worked on (`PrefetchingSource` reads ahead by this too).
    static func importBatchRows(after previous: Int) -> Int {
        previous == 0 ? importFirstBatchRows : min(2 * previous, importBatchRowsMax)
    }

    /// Appends contribution and access rows in the open transaction, a batch at a time as `source`
    /// gives them. The rules and the hash chain go in order; the bodies are encoded and the
    /// signatures made in parallel (a signature covers the hash, FORMAT.md section 3); the writes go
    /// in order. The steps overlap: a batch is signed on other threads while the next one is read
    /// and chained and the one before is written here. Contributions and access records change no
    /// fact a later row's check reads, so the rules are checked against the ledger as it was when
    /// the import began. Unlike a single append, the fresh signatures are not verified again here:
    /// that would cost more than signing; `verify` checks them.
    static func appendRows<Source: ImportRowSource>(
        _ writer: StoreWriter, source: inout Source, key: any Signer, checks: EntryChecks, tree: inout TreeAppender,
        rowsEstimate: Int, onRow: ((ImportRow, Entry) -> Void)?,
        progress: ((Int, Int) -> Void)?
    ) throws -> (count: Int, first: Entry?, last: Entry?) {
        let head = try checkedHead(writer.reader)
        let recordedAt = try Timestamp.now()
        var chain = ImportChain(
            seq: head?.seq ?? 0, prevHash: head?.hash ?? Entry.genesisPrevHash, key: key,
            facts: CachedFacts(writer.reader.facts), recordedAt: recordedAt,
            checks: checks, today: try CalendarDate.parse(String(recordedAt.prefix(10)), field: "recorded_at"),
            earlier: { data, keys in try DuplicateRule.candidates(for: data, keys: keys, reader: writer.reader) },
            held: { keys in try DuplicateRule.Held(keys, reader: writer.reader) },
            hint: { try Suggestions.hint(for: $0, reader: writer.reader) })
        chain.keyFilter = try keyFilter(writer.reader, entries: head?.seq ?? 0, rowsEstimate: rowsEstimate)
        var count = 0, first: Entry?, last: Entry?
        typealias Signatures = SharedMap<(prevHash: [UInt8], hash: [UInt8]), Result<[UInt8], any Error>>
        // Each entry is written as soon as its signature is made: the last rows are signed while
        // the first are written. A token that fails (removed) fails the import: nothing is committed.
        // The batch's index rows follow its entries, in the order of their keys (`insertFacts`):
        // the duplicate rule reads them only between batches (`ImportChain.finish`), and the batch
        // after the next is checked after this one is written.
        func write(_ batch: ImportChain.Batch, rows: [ImportRow], signatures: Signatures) throws {
            var index = 0
            var facts = [FactsRow]()
            facts.reserveCapacity(batch.bodies.count)
            try signatures.forEachInOrder { (signature) throws(any Error) in
                let body = batch.bodies[index]
                let entry = Entry(
                    seq: body.seq, type: body.type, body: batch.encoded[index], prevHash: batch.links[index].prevHash,
                    hash: batch.links[index].hash, signer: key.id.description, signature: try signature.get(), recordedAt: chain.recordedAt)
                try writer.appendRow(entry, tree: &tree)
                facts.append(FactsRow(seq: entry.seq, digest: batch.digests[index], near: batch.near[index]))
                if first == nil { first = entry }
                last = entry
                onRow?(rows[index], entry)
                index += 1
            }
            try writer.insertFacts(facts)
            count += batch.bodies.count
            progress?(count, max(count, rowsEstimate))
        }
        var signing: (batch: ImportChain.Batch, rows: [ImportRow], signatures: Signatures)?
        var asked = importBatchRows(after: 0)
        var rows = try source.next(upTo: asked)
        var encoding = try chain.start(rows[...])
        while !rows.isEmpty {
            let batch = try chain.finish(encoding)
            let batchRows = rows
            // The next batch's rows are checked against the rules here and encoded by the other
            // cores, with this batch's signatures, while this thread writes the previous batch.
            asked = importBatchRows(after: asked)
            rows = try source.next(upTo: asked)
            encoding = try chain.start(rows[...])
            // Once a row is refused nothing will be written: the rest is only checked, so every
            // refused row can be named at once.
            guard source.refused.isEmpty && chain.refused.isEmpty else {
                signing = nil
                continue
            }
            // Signed by the other cores while this thread writes the previous batch, then by this one too.
            let signatures = SharedMap(batch.links, backgroundWorkers: max(1, Parallel.workers - 1)) { link in
                Result { try key.sign(Entry.signedMessage(hash: link.hash)) }
            }
            if let previous = signing { try write(previous.batch, rows: previous.rows, signatures: previous.signatures) }
            signing = (batch, batchRows, signatures)
        }
        var refused = chain.refused
        refused.merge(source.refused)
        try refused.throwIfAny()
        if let final = signing { try write(final.batch, rows: final.rows, signatures: final.signatures) }
        return (count, first, last)
    }
}

/// The in-order part of an import: rules and hash links, a batch at a time.
struct ImportChain {
    var seq: Int64
    var prevHash: [UInt8]
    let key: any Signer
    let facts: CachedFacts
    let recordedAt: String
    let checks: EntryChecks
    let today: CalendarDate
    /// The earlier uncorrected entries the duplicate rule compares a row with (`DuplicateRule.candidates`).
    let earlier: (EntryData, DuplicateRule.Keys) throws -> [DuplicateRule.Earlier]
    /// Which of a batch's keys the ledger holds at all (`DuplicateRule.Held`): rows with none are not looked up one by one.
    let held: ([DuplicateRule.Keys]) throws -> DuplicateRule.Held
    /// What to add to a refusal: the registered IDs closest to one that is not (`Suggestions`).
    let hint: (EntryData) throws -> String
    /// The rows refused so far (rules, duplicates, dates).
    var refused = ImportErrorList()
    /// The rows not yet written, by their keys: a file that repeats a row (the duplicate rule
    /// within the file; rows written before are found as entries, named by `rowOf`).
    var seen = DuplicateRule.Rows(window: 2 * Ledger.importBatchRowsMax)
    /// The file row of each entry this import chains, from the first (`firstSeq`).
    var rowOf = [Int32]()
    /// Every key the ledger held when the import began, and the keys of the rows chained since:
    /// when set, a batch's keys are checked against it instead of the ledger's index tables.
    var keyFilter: KeyFilter?
    lazy var firstSeq = seq + 1

    struct Batch {
        let bodies: [EntryBody]
        let encoded: [[UInt8]]
        let digests: [Int64]
        let near: [NearKeys]
        let links: [(prevHash: [UInt8], hash: [UInt8])]
    }

    /// A body encoded, read back as verify will read it (the same code as a single append), and its
    /// facts digested without and with the duplicate flag (the duplicate rule; the `facts` index
    /// holds the one its bytes say, `digest`).
    static func encode(_ body: EntryBody) -> (bytes: [UInt8], problem: String?, digests: (plain: Int64, flagged: Int64)) {
        let bytes = body.encoded()
        let entry = Entry(
            seq: body.seq, type: body.type, body: bytes, prevHash: [], hash: [], signer: body.signer.description,
            signature: [], recordedAt: body.recordedAt)
        // The same values either way: a body just encoded always has its shape.
        let digests = Facts.digests(type: body.type, body: bytes) ?? Facts.digests(body.data)!
        return (bytes, entry.checkStored(as: body), digests)
    }

    /// The facts digest a body's bytes give: with the flag when it says it repeats on purpose.
    static func digest(of body: EntryBody, _ digests: (plain: Int64, flagged: Int64)) -> Int64 {
        body.data.saysDuplicate ? digests.flagged : digests.plain
    }

    /// A body encoded (`encode`) and the keys the duplicate rule looks it up by.
    struct Encoded: Sendable {
        let bytes: [UInt8]
        let problem: String?
        let digests: (plain: Int64, flagged: Int64)
        let keys: DuplicateRule.Keys
    }

    /// A batch's rows checked against the rules, their entries being encoded on other cores.
    struct Started {
        let bodies: [EntryBody]
        let bodyRows: [Int]
        let encoding: SharedMap<EntryBody, Encoded>
    }

    /// Checks the rows against the rules, in order, and hands their entries to the other cores to
    /// encode: `finish` takes them from there. Each batch is started after the one before is finished.
    mutating func start(_ rows: ArraySlice<ImportRow>) throws -> Started {
        var bodies = [EntryBody](), bodyRows = [Int]()
        bodies.reserveCapacity(rows.count)
        for row in rows {
            switch row.data {
            case .contribution, .access: break
            default: preconditionFailure("ImportChain: imports hold contributions and access records only")
            }
            let body = EntryBody(seq: seq + 1, signer: key.id, recordedAt: recordedAt, data: row.data)
            do {
                guard try Rules.check(body, facts: facts) == key.publicKey else {
                    throw Refusal("signer \(key.id) is enrolled with another public key")
                }
                try checks.checkDate(row.data, today: today)
            } catch let refusal as Refusal {
                refused.add(ImportError(row: row.row, column: nil, value: nil, problem: refusal.message + (try hint(row.data))))
                continue
            } catch let error as InputError {
                refused.add(ImportError(row: row.row, column: error.field, value: error.value, problem: error.problem))
                continue
            }
            if facts.chained == nil { facts.chained = (firstSeq, body.version) }
            seq += 1
            rowOf.append(Int32(clamping: row.row))
            bodies.append(body)
            bodyRows.append(row.row)
        }
        // Encoded, read back as verify will read them (the same code as a single append), their
        // facts digested, and the keys the duplicate rule looks a row up by (its facts digests
        // the ones just made from its bytes), on the other cores.
        let encoding = SharedMap(bodies, backgroundWorkers: max(1, Parallel.workers - 1)) { body in
            let (bytes, problem, digests) = Self.encode(body)
            return Encoded(bytes: bytes, problem: problem, digests: digests, keys: DuplicateRule.Keys(body.data, digests: digests))
        }
        return Started(bodies: bodies, bodyRows: bodyRows, encoding: encoding)
    }

    /// A started batch's duplicate rule, then its hash links: the rows as they will be written.
    mutating func finish(_ started: Started) throws -> Batch {
        var bodies = started.bodies
        let bodyRows = started.bodyRows
        let made = started.encoding.join()
        var checked = made.map { (bytes: $0.bytes, problem: $0.problem, digests: $0.digests) }
        let keys = made.map(\.keys)
        // Which of the keys the ledger holds at all: by the filter, or in a few statements for the batch.
        let held = keyFilter == nil ? try held(keys) : nil
        for (index, result) in checked.enumerated() {
            let row = bodyRows[index]
            if let problem = result.problem {
                refused.add(ImportError(row: row, column: nil, value: nil, problem: "the entry would not verify: \(problem)"))
            }
            let data = bodies[index].data
            // Entries this import wrote are its rows: named so.
            let mayHold = held?.mayHold(keys[index]) ?? keyFilter?.mayHold(keys[index]) ?? true
            let written = try (mayHold ? earlier(data, keys[index]) : []).map { found -> DuplicateRule.Earlier in
                guard let seq = found.seq, seq >= firstSeq, seq - firstSeq < rowOf.count else { return found }
                return DuplicateRule.Earlier(name: "row \(rowOf[Int(seq - firstSeq)])", data: found.data)
            }
            let conflict = DuplicateRule.conflict(data, among: seen.candidatesAdding(data, keys: keys[index], row: row) + written)
            guard let conflict else { continue }
            if checks.allowDuplicate {
                // Allowed, and said in the entry (`allow_duplicate`) when it does repeat a row or an entry.
                let body = bodies[index]
                bodies[index] = EntryBody(seq: body.seq, signer: body.signer, recordedAt: body.recordedAt, data: body.data.withDuplicateFlag(true))
                checked[index] = Self.encode(bodies[index])
                continue
            }
            refused.add(
                ImportError(row: row, column: nil, value: nil, problem: "\(conflict.text); \(conflict.advice(importing: true))"))
        }
        // This batch's rows will be in the index tables when the batch after the next is checked
        // (the next finds them among the recent rows, `seen`).
        if keyFilter != nil { for rowKeys in keys { keyFilter?.add(rowKeys) } }
        let encoded = checked.map(\.bytes)
        var links = [(prevHash: [UInt8], hash: [UInt8])]()
        links.reserveCapacity(encoded.count)
        for bytes in encoded {
            let hash = Entry.hash(prevHash: prevHash, body: bytes)
            links.append((prevHash, hash))
            prevHash = hash
        }
        return Batch(
            bodies: bodies, encoded: encoded, digests: zip(bodies, checked).map { Self.digest(of: $0, $1.digests) }, near: keys.map { $0.near! },
            links: links)
    }
}

/// Memoises the facts an import's rows ask for again and again (the signer's key, a factory, a partner).
final class CachedFacts: LedgerFacts {
    private let base: LedgerFacts
    private var keys = [KeyID: KeyRecord?]()
    private var factories = [String: Bool]()
    private var partners = [String: Bool]()

    init(_ base: LedgerFacts) { self.base = base }

    /// Forgets every remembered fact: an entry that may change them was admitted.
    func forget() {
        keys.removeAll()
        factories.removeAll()
        partners.removeAll()
    }

    func key(_ id: KeyID) throws -> KeyRecord? {
        if let known = keys[id] { return known }
        let record = try base.key(id)
        keys[id] = record
        return record
    }

    func activeAuthorityCount() throws -> Int { try base.activeAuthorityCount() }

    func hasFactory(_ id: String) throws -> Bool {
        if let known = factories[id] { return known }
        let found = try base.hasFactory(id)
        factories[id] = found
        return found
    }

    func hasPartner(_ id: String) throws -> Bool {
        if let known = partners[id] { return known }
        let found = try base.hasPartner(id)
        partners[id] = found
        return found
    }

    func correction(of seq: Int64) throws -> Int64? { try base.correction(of: seq) }
    func body(_ seq: Int64) throws -> EntryBody? { try base.body(seq) }
    func latestNonRowEntry(before seq: Int64) throws -> (seq: Int64, type: String)? { try base.latestNonRowEntry(before: seq) }
    func formatVersion(of seq: Int64) throws -> Int? {
        if let rows = chained, seq >= rows.from { return rows.version }
        if let version = writtenVersions[seq] { return version }
        return try base.formatVersion(of: seq)
    }

    /// The format of each entry a batch has written so far (`admitAll`), by seq: the rules ask
    /// for the one before each entry, which is then not read back.
    private var writtenVersions = [Int64: Int]()

    /// Notes an entry just written in the open transaction.
    func written(_ body: EntryBody) { writtenVersions[body.seq] = body.version }

    /// The import's own rows from `from` on, of one format `version`: what the rules ask of the
    /// entry before each row, answered without reading it back.
    var chained: (from: Int64, version: Int)?
}
