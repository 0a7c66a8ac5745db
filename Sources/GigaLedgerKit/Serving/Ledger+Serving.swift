import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// What became of entries submitted to a ledger signed elsewhere (an officer's client).
public enum SubmissionOutcome: Equatable, Sendable {
    /// Appended now; the last entry of the submission.
    case recorded(Entry)
    /// The same entries (same hashes at the same sequence numbers) were recorded before: a retry
    /// whose first answer was lost. Nothing is recorded twice.
    case alreadyRecorded(Entry)
    /// The ledger's head is not the one the entries were signed after: sign again after `head`.
    case conflict(head: Entry)
}

/// What a copy is given does not extend what it holds: the source's history has forked from the
/// copy's (or the source serves entries that are not its checkpoint's). The evidence is the caller's to keep.
public struct ForkFound: GigaLedgerError {
    public let seq: Int64
    public let reason: String

    public init(seq: Int64, reason: String) {
        self.seq = seq
        self.reason = reason
    }

    public var description: String { reason }
    public var kind: FailureKind { .notVerified }
}

/// One entry of a batch refused, and which (0-based), so the client can name the file's row.
public struct SubmissionRefusal: GigaLedgerError {
    public let index: Int
    public let underlying: any GigaLedgerError
    public var description: String { underlying.description }
    public var kind: FailureKind { underlying.kind }
    public var isRetryable: Bool { underlying.isRetryable }
}

/// Every refused entry of a batch (an import through a server names every bad row).
public struct SubmissionRefusals: GigaLedgerError {
    public let refusals: [SubmissionRefusal]
    public var description: String {
        "\(refusals.count) entries of the submission refused; nothing was written: "
            + refusals.map { "entries[\($0.index)]: \($0.underlying)" }.joined(separator: "; ")
    }
    public var kind: FailureKind { .refused }
}

/// The ledger as a server offers it, and as a replica takes it in: entries signed elsewhere, ranges
/// of entries, tlog tiles. Every entry taken in passes `admit`, the checks of a local append.
extension Ledger {
    /// How far an entry's `recorded_at`, set by the signing client, may be from the server's clock.
    public static let clockSkewSecondsMax: Int64 = 300
    /// The most entries one submission or one range holds.
    public static let entriesPerRequestMax = 10_000

    /// Appends `entries`, signed by an officer's client after the head it saw, all or none, in one
    /// transaction: each must follow the head (else `.conflict`), carry a `recorded_at` within
    /// `clockSkewSecondsMax` of `now`, and pass `admit` with `checks`, exactly as a local append.
    /// `written` is called inside the transaction, after the writes and before the commit, with
    /// the sequence numbers written (a server notes them as its own before another reader can see them).
    /// `verifiedHead`: the head as the caller admitted it (see `checkedHead`).
    public func submit(
        _ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool = false, now: Date = Date(),
        verifiedHead: Entry? = nil, written: (ClosedRange<Int64>) -> Void = { _ in }
    ) throws -> SubmissionOutcome {
        guard let first = entries.first, let last = entries.last else {
            throw InputError(field: "entries", value: "0", problem: "is empty: submit at least one entry")
        }
        guard entries.count <= Self.entriesPerRequestMax else {
            throw InputError(field: "entries", value: String(entries.count), problem: "is more than \(Self.entriesPerRequestMax) in one submission")
        }
        return try store.write { writer in
            let reader = writer.reader
            if let stored = try reader.entry(first.seq), stored == first {
                // A retry: recorded before if every entry is (every column the same), else not.
                for entry in entries.dropFirst() where try reader.entry(entry.seq) != entry {
                    throw Refusal(
                        "entry \(first.seq) of the submission is recorded already, entry \(entry.seq) is not as submitted: submit only the entries after the ledger's head"
                    )
                }
                return .alreadyRecorded(try reader.entry(last.seq) ?? stored)
            }
            guard let head = try Self.checkedHead(reader, verified: verifiedHead) else { throw Refusal("the ledger has no genesis entry") }
            guard first.seq == head.seq + 1 else { return .conflict(head: head) }
            guard first.prevHash == head.hash else {
                throw Refusal("entry \(first.seq)'s prev_hash is not the hash of entry \(head.seq), the head")
            }
            var tree = TreeAppender()
            var previous = head
            for (index, entry) in entries.enumerated() {
                do {
                    guard entry.seq == previous.seq + 1, entry.prevHash == previous.hash else {
                        throw Refusal("entry \(entry.seq) of the submission does not follow entry \(previous.seq) (its seq or prev_hash)")
                    }
                    try Self.checkClock(entry, now: now)
                } catch let error as any GigaLedgerError {
                    throw SubmissionRefusal(index: index, underlying: error)
                }
                previous = entry
            }
            // An import's file already imported is refused before its rows are, as a local import
            // refuses it: one answer, not a list of repeated rows first.
            if !allowDuplicateFile, case .success(let body) = Entry.readBody(last), case .importRecord(let record) = body.data,
                let earlier = try reader.importEntry(fileSHA256: record.fileSHA256)
            {
                throw SubmissionRefusal(index: entries.count - 1, underlying: Self.fileImportedAgain(record.fileSHA256, at: earlier))
            }
            try Self.admitAll(entries, checks: checks, reader: reader, listRefusals: true) { _, entry, body in
                // An import's record: the same file twice is refused, as a local import refuses it.
                if case .importRecord(let record) = body.data, !allowDuplicateFile,
                    let earlier = try reader.importEntry(fileSHA256: record.fileSHA256)
                {
                    throw Self.fileImportedAgain(record.fileSHA256, at: earlier)
                }
                try writer.append(entry, body: body, tree: &tree)
            }
            written(first.seq...last.seq)
            return .recorded(last)
        }
    }

    /// The refusal of a file imported before (the same SHA-256), locally or through a server.
    static func fileImportedAgain(_ sha256: [UInt8], at earlier: Int64) -> Refusal {
        Refusal(
            "this file (sha256 \(Encoding.hex(sha256))) was already imported, recorded at entry \(earlier); to import its rows a second time, give both --allow-duplicate-file and --allow-duplicate (each row is then marked as a deliberate repeat); nothing was written"
        )
    }

    /// An entry's `recorded_at` is a UTC time within `clockSkewSecondsMax` of `now`.
    static func checkClock(_ entry: Entry, now: Date) throws {
        guard let recorded = Timestamp.date(entry.recordedAt) else {
            throw Refusal("recorded_at \(InputError.quoted(entry.recordedAt)) is not a UTC time YYYY-MM-DDTHH:MM:SSZ")
        }
        let skew = Int64(recorded.timeIntervalSince(now).rounded())
        guard abs(skew) <= clockSkewSecondsMax else {
            throw Refusal(
                "recorded_at \(entry.recordedAt) is \(abs(skew)) s \(skew < 0 ? "behind" : "ahead of") the server's clock (at most \(clockSkewSecondsMax) s): set the signing machine's clock"
            )
        }
    }

    /// The head entry, checked (`nil` for a ledger without entries).
    public func head() throws -> Entry? {
        try store.read { try Self.checkedHead($0) }
    }

    /// Up to `limit` entries from `seq` on, as stored.
    public func entries(from seq: Int64, limit: Int) throws -> [Entry] {
        try store.read { try $0.entries(from: seq, limit: min(limit, Self.entriesPerRequestMax)) }
    }

    /// Every stored checkpoint above `size`, smallest first, and the cosignatures kept for them.
    public func checkpoints(above size: Int64) throws -> (checkpoints: [StoredCheckpoint], cosignatures: [StoredCosignature]) {
        try store.read { reader in
            (try reader.checkpoints().filter { $0.size > size }, try reader.cosignatures().filter { $0.size > size })
        }
    }

    /// The entries that enrolled every key whose checkpoint signatures the ledger accepts (the
    /// genesis, and key-enroll entries of authority and log keys), so that a client holding only the
    /// authority's public key can check a log key's checkpoint: the authority signed its enrolment.
    public func checkpointKeyEntries() throws -> [Entry] {
        try keys().filter { $0.enrolment.role.signsCheckpoints }.compactMap { try entry($0.enrolledAt) }
    }

    // MARK: - Checkpoints signed by the log key

    /// Signs a checkpoint of the first `size` entries with `key`, an active log (or authority) key
    /// enrolled at or before `size`, after checking that the stored tree still gives the root of
    /// the last checkpoint kept (the ledger never signs two inconsistent checkpoints). The caller
    /// vouches that those entries verified: the server verifies the whole ledger when it starts and
    /// admits every entry after through `admit`. It is kept in `checkpoints`. (A checkpoint signed
    /// for one answer and not kept is `headProofs`'s.)
    public func signCheckpoint(key: any Signer, verifiedSize size: Int64) throws -> String {
        try store.write { writer in
            let signed = try Self.signedCheckpoint(writer.reader, key: key, size: size, node: writer.reader.treeNode)
            if signed.isNew { try writer.insertCheckpoint(size: size, root: signed.root, note: signed.note, signedAt: try Timestamp.now()) }
            return signed.note
        }
    }

    /// The parts of a head answer at `size` (FORMAT.md section 17), read in one snapshot (a turn's
    /// answer is on every remote append's path, so one read transaction, not one per part): with
    /// `head`, the head entry and its inclusion proof; the consistency proof from `known` (none
    /// from 0 or from `size`); with `proving`, that entry's inclusion proof; with `signing`, a
    /// checkpoint of exactly `size` signed for this answer (checked as `signCheckpoint` checks, not kept).
    public func headProofs(size: Int64, head: Bool = true, known: Int64, proving seq: Int64?, signing key: (any Signer)?) throws -> HeadProofs {
        try store.read { reader in
            guard size >= 1 else { throw Refusal("a head answer needs a size of 1 or more, not \(size)") }
            try Self.requireEntries(reader, size: size)
            let node = reader.committedTreeNode
            var entry: Entry?
            if head {
                guard let stored = try reader.entry(size) else {
                    throw VerificationFailure(seq: size, reason: "there is no entry \(size) under the checkpoint")
                }
                entry = stored
            }
            return HeadProofs(
                head: entry, inclusion: head ? try Merkle.proveInclusion(index: size - 1, size: size, node: node) : nil,
                consistency: known >= 1 && known < size ? try Merkle.proveConsistency(old: known, new: size, node: node) : [],
                entryInclusion: try seq.flatMap { $0 >= 1 && $0 <= size ? try Merkle.proveInclusion(index: $0 - 1, size: size, node: node) : nil },
                note: try key.map { try Self.signedCheckpoint(reader, key: $0, size: size, node: node).note })
        }
    }

    /// A consistency proof made from the tree nodes this process read before, reading nothing
    /// (so on any thread); nil when one is missing.
    public func keptConsistencyProof(old: Int64, new: Int64) -> [Merkle.Hash]? {
        guard old >= 1, old <= new else { return nil }
        return store.keptConsistencyProof(old: old, new: new)
    }

    public struct HeadProofs: Sendable {
        /// The head entry and its inclusion proof, when asked for.
        public let head: Entry?
        public let inclusion: [Merkle.Hash]?
        public let consistency: [Merkle.Hash]
        public let entryInclusion: [Merkle.Hash]?
        /// The checkpoint signed for the answer, when asked for.
        public let note: String?
    }

    /// A checkpoint of the first `size` entries signed with `key` (see `signCheckpoint`), and
    /// whether it is newer than the latest kept one (else that one is returned).
    private static func signedCheckpoint(
        _ reader: StoreReader, key: any Signer, size: Int64, node: Merkle.NodeSource
    ) throws -> (note: String, root: [UInt8], isNew: Bool) {
        guard let signer = try reader.facts.key(key.id), signer.enrolment.role.signsCheckpoints, signer.isActive,
            signer.enrolment.publicKey == key.publicKey, signer.enrolledAt <= size
        else {
            throw Refusal("key \(key.id) is not an active log or authority key of this ledger enrolled by entry \(size); only those sign checkpoints")
        }
        let last = try reader.latestCheckpoint()
        if let last {
            guard try Merkle.root(size: last.size, node: node) == last.root else {
                throw LedgerError.checkpointMismatch(
                    "the ledger no longer matches the checkpoint it signed at size \(last.size); refusing to sign another")
            }
            if last.size == size { return (last.note, last.root, false) }
        }
        let root = try Merkle.root(size: size, node: node)
        let checkpoint = Checkpoint(origin: try Self.origin(reader), size: size, root: root)
        let note = SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: checkpoint.origin, key: key)]).encoded
        return (note, root, last.map { $0.size < size } ?? true)
    }

    // MARK: - tlog tiles (C2SP tlog-tiles) and full-entry bundles

    /// The hashes of tile `level`/`index` of width `width` (1 to 256), concatenated: the stored
    /// tree nodes of level 8·`level`, indexes 256·`index` to 256·`index` + `width` − 1, each of
    /// which must be complete in a tree of `size` entries.
    public func tile(level: Int, index: Int64, width: Int, size: Int64) throws -> [UInt8]? {
        try store.read { try Self.tile($0, level: level, index: index, width: width, size: size) }
    }

    /// The entry bundle `index` of width `width`: the leaf data (each entry's 32-byte hash) of
    /// entries 256·`index` + 1 to 256·`index` + `width`, each preceded by its length as two bytes
    /// big-endian (C2SP tlog-tiles).
    public func entryBundle(index: Int64, width: Int, size: Int64) throws -> [UInt8]? {
        try store.read { try Self.bundle($0, index: index, width: width, size: size, full: false) }
    }

    /// The full-entry bundle `index` of width `width`: entries 256·`index` + 1 to 256·`index` +
    /// `width` as JSON lines (FORMAT.md section 17), what a replica takes in.
    public func fullEntryBundle(index: Int64, width: Int, size: Int64) throws -> [UInt8]? {
        try store.read { try Self.bundle($0, index: index, width: width, size: size, full: true) }
    }

    /// The kept checkpoints above `size` and their cosignatures, as the JSON document of
    /// `ledger/v1/checkpoints` (FORMAT.md section 17), without its final newline.
    public func checkpointsDocument(above size: Int64) throws -> [UInt8] {
        try store.read { try Self.checkpointsDocument($0, above: size) }
    }

    static func tile(_ reader: StoreReader, level: Int, index: Int64, width: Int, size: Int64) throws -> [UInt8]? {
        let height = TilePath.height * level
        let first = index * Int64(TilePath.width)
        guard height < 63, first + Int64(width) <= size >> height else { return nil }
        let hashes = try reader.treeNodes(level: height, from: first, count: width)
        guard hashes.count == width else { throw LedgerError.treeIncomplete(level: height, index: first + Int64(hashes.count)) }
        return hashes.flatMap { $0 }
    }

    static func bundle(_ reader: StoreReader, index: Int64, width: Int, size: Int64, full: Bool) throws -> [UInt8]? {
        let first = index * Int64(TilePath.width) + 1
        guard first + Int64(width) - 1 <= size else { return nil }
        let entries = try reader.entries(from: first, limit: width)
        guard entries.count == width else { throw LedgerError.damaged("entry bundle \(index): \(entries.count) of \(width) entries stored") }
        if full { return EntryWire.encodeLines(entries) }
        var out = [UInt8]()
        out.reserveCapacity(width * 34)
        for entry in entries { out += [0, UInt8(entry.hash.count)] + entry.hash }
        return out
    }

    static func checkpointsDocument(_ reader: StoreReader, above size: Int64) throws -> [UInt8] {
        let checkpoints = try reader.checkpoints().filter { $0.size > size }
            .map { ReplicatedCheckpoint(size: $0.size, root: $0.root, note: $0.note, signedAt: $0.signedAt) }
        return CheckpointWire.document(checkpoints: checkpoints, cosignatures: try reader.cosignatures().filter { $0.size > size })
    }
}
