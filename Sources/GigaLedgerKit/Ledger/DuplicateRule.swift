import GigaLedgerCore
import GigaLedgerStore

/// The duplicate rule (schema/FORMAT.md, "The duplicate rule"): a contribution or access record is
/// refused, unless its signer says it is a second one (`--allow-duplicate`), when an earlier one no
/// correction cancels
/// - records the same facts (the `facts` digest), or
/// - records the same factory, source, kind, category and amount (access: factory, beneficiary
///   as `NearKeys.foldedName` folds it, GPU-hours) dated at most `NearKeys.windowDays` apart,
///   whatever the reference, or
/// - carries the same reference of the same source with other facts (a payment may carry the
///   reference of a commitment of its factory it pays), or a reference differing only in case.
/// An earlier one is found through the `facts` and `near_facts` index tables (or a file's earlier
/// rows, in an import) and compared here; `verify` never applies the rule.
enum DuplicateRule {
    /// An earlier record, named as the message will name it (`entry 12`, `row 4`).
    struct Earlier {
        let name: String
        let data: EntryData
        /// The entry's sequence number; nil for a file's row not written yet.
        var seq: Int64? = nil
        /// The file's row, for a row not written yet.
        var row: Int? = nil
    }

    /// Why `data` repeats one of `earlier` (all found through its keys), or nil: a clause that
    /// follows "this" or a row number (`repeats entry 12 (...)`, `looks like row 4: ...`, `has ref ...`).
    static func conflict(_ data: EntryData, among earlier: [Earlier]) -> Conflict? {
        guard !earlier.isEmpty else { return nil }
        // Compared as canonical bytes: texts are never taken as equivalent strings.
        let plain = bytes(data)
        for other in earlier where bytes(other.data) == plain {
            return Conflict(text: "repeats \(other.name) (\(Facts.words(data)))", byReference: false)
        }
        switch data {
        case .contribution(let item):
            let contributions = earlier.compactMap { other -> (String, Contribution)? in
                if case .contribution(let earlierItem) = other.data { return (other.name, earlierItem) }
                return nil
            }
            for (name, other) in contributions
            where other.factory == item.factory && other.source == item.source && other.kind == item.kind && other.category == item.category
                && other.amount == item.amount && abs(other.date.dayNumber - item.date.dayNumber) <= NearKeys.windowDays
            {
                let days = abs(other.date.dayNumber - item.date.dayNumber)
                return Conflict(
                    text: "looks like \(name): the same factory, source, kind, category and amount (\(item.amount)), dated \(other.date)"
                        + (other.ref.isEmpty ? " without a ref" : " with ref \(InputError.quoted(other.ref))")
                        + " (\(days == 0 ? "the same day" : days == 1 ? "1 day apart" : "\(days) days apart"); the check covers \(NearKeys.windowDays) days either way, whatever the ref)",
                    byReference: false)
            }
            guard !item.ref.isEmpty else { return nil }
            let folded = Array(NearKeys.foldedASCII(item.ref).utf8), exact = Array(item.ref.utf8)
            let sameRef = contributions.filter { $0.1.source == item.source && Array(NearKeys.foldedASCII($0.1.ref).utf8) == folded }
            if let (name, other) = sameRef.first(where: { Array($0.1.ref.utf8) != exact }) {
                return Conflict(
                    text:
                        "has ref \(InputError.quoted(item.ref)), which differs only in case from the ref \(InputError.quoted(other.ref)) of \(name)",
                    byReference: true)
            }
            let paysACommitment = item.kind == .payment && sameRef.contains { $0.1.kind == .commitment && $0.1.factory == item.factory }
            if !paysACommitment, let (name, other) = sameRef.first {
                return Conflict(
                    text:
                        "has ref \(InputError.quoted(item.ref)), already the ref of \(name), which records other facts (\(other.kind.rawValue) of \(other.amount) for \(other.factory), dated \(other.date)); only a payment may carry the ref of the commitment it pays",
                    byReference: true)
            }
            return nil
        case .access(let grant):
            let beneficiary = NearKeys.foldedName(grant.beneficiary)
            for other in earlier {
                guard case .access(let earlierGrant) = other.data, earlierGrant.factory == grant.factory, earlierGrant.gpuHours == grant.gpuHours,
                    abs(earlierGrant.date.dayNumber - grant.date.dayNumber) <= NearKeys.windowDays,
                    NearKeys.foldedName(earlierGrant.beneficiary) == beneficiary
                else { continue }
                return Conflict(
                    text:
                        "looks like \(other.name): the same factory, beneficiary and GPU-hours (\(grant.gpuHours)), dated \(earlierGrant.date) (the check covers \(NearKeys.windowDays) days either way)",
                    byReference: false)
            }
            return nil
        default:
            return nil
        }
    }

    /// Why a record looks like an earlier one, and what to do about it.
    struct Conflict {
        /// A clause that follows "this" or a row number.
        let text: String
        /// Found by the reference alone (reused, or in other case): another reference is the usual fix.
        let byReference: Bool

        /// What the officer can do: `importing` for an import's row.
        func advice(importing: Bool) -> String {
            let flag = importing ? "import with --allow-duplicate" : "record it with --allow-duplicate"
            return byReference
                ? "give it another ref (\(flag) only if it really is the same money recorded again)"
                : "\(flag) if it really is a second one"
        }
    }

    /// The data's canonical bytes, the duplicate flag aside.
    static func bytes(_ data: EntryData) -> [UInt8] {
        CanonicalJSON.object(EntryBody.encode(data.withDuplicateFlag(false))).encoded()
    }

    /// The keys a record's repeats are found by, computed once (for an import, on every core):
    /// its facts digests without and with the duplicate flag, its own near keys, and the amount
    /// keys of its week and the two beside it.
    struct Keys: Sendable {
        let digests: [Int64]
        let near: NearKeys?
        let around: [Int64]

        /// `digests`, when given, are the facts digests of `data` without and with the duplicate
        /// flag (`Facts.digests`), as the bytes just encoded or read give them.
        init(_ data: EntryData, digests known: (plain: Int64, flagged: Int64)? = nil) {
            digests = (known ?? Facts.digests(data)).map { [$0.plain, $0.flagged] } ?? []
            let around = NearKeys.around(data)
            near = around?.own
            self.around = around?.amountKeys ?? []
        }

        /// The digest of the facts as a repeat compares them (the flag aside).
        var digest: Int64? { digests.first }

        /// Whether any key this record is looked up by is held: its facts digests (`digest`),
        /// the amount keys of its week and the two beside it (`amount`), its reference key (`ref`).
        func anyHeld(digest: (Int64) -> Bool, amount: (Int64) -> Bool, ref: (Int64) -> Bool) -> Bool {
            digests.contains(where: digest) || around.contains(where: amount) || (near.map { $0.ref != 0 && ref($0.ref) } ?? false)
        }

        /// The keys this record adds to the index tables once written: both facts digests (the
        /// one its bytes say is among them), its own amount key, its reference key when it has one.
        func forEachWritten(digest: (Int64) -> Void, amount: (Int64) -> Void, ref: (Int64) -> Void) {
            for each in digests { digest(each) }
            if let near {
                amount(near.amount)
                if near.ref != 0 { ref(near.ref) }
            }
        }
    }

    /// Which of many records' keys the ledger's index tables hold at all, read in a few
    /// statements: a record none of whose keys is held repeats no entry, and is not looked up
    /// on its own (`candidates`). Found is not checked here: `candidates` checks what it reads.
    struct Held {
        private(set) var digests: Set<Int64>
        private(set) var amounts: Set<Int64>
        private(set) var refs: Set<Int64>

        init(_ keys: [Keys], reader: StoreReader) throws {
            (digests, amounts, refs) = try reader.heldKeys(
                digests: keys.flatMap(\.digests), amountKeys: keys.flatMap(\.around), refKeys: keys.compactMap { $0.near?.ref }.filter { $0 != 0 })
        }

        /// The keys of a record written since (a batch's earlier entry, in the same transaction):
        /// held from now on. Its facts digest with and without the flag, its own near keys.
        mutating func add(_ keys: Keys) {
            keys.forEachWritten(digest: { digests.insert($0) }, amount: { amounts.insert($0) }, ref: { refs.insert($0) })
        }

        func mayHold(_ keys: Keys) -> Bool {
            keys.anyHeld(digest: digests.contains, amount: amounts.contains, ref: refs.contains)
        }
    }

    /// The earlier entries no correction cancels that `data`'s keys find (its facts digest, the
    /// amount keys of its week and the two beside it, its reference key), in order.
    static func candidates(for data: EntryData, keys: Keys? = nil, reader: StoreReader) throws -> [Earlier] {
        let keys = keys ?? Keys(data)
        var seqs = Set<Int64>()
        for digest in keys.digests { seqs.formUnion(try reader.uncorrectedEntries(factsDigest: digest)) }
        seqs.formUnion(try reader.uncorrectedEntries(amountKeys: keys.around, refKey: keys.near?.ref ?? 0))
        var found = [Earlier]()
        for seq in seqs.sorted() {
            guard let entry = try reader.entry(seq), case .success(let body) = Entry.readBody(entry) else { continue }
            found.append(Earlier(name: "entry \(seq)", data: body.data, seq: seq))
        }
        return found
    }

    /// An import's most recent rows, by their keys: the rows not yet written when a later row is
    /// checked (the batch being signed and the one being checked). Older rows are in the ledger's
    /// index tables within the import's transaction and found there like entries; so memory stays
    /// bounded whatever the file's size. (After a refused row nothing more is written: a repeat of
    /// a row further back than this window is then named in the next run.)
    struct Rows {
        /// Each key's rows in the window, by their numbers (the first row added is 0), oldest first.
        private var byKey = [Int64: [Int]]()
        /// The rows in the window from `kept[start]` on, numbered from `first`.
        private var kept = [(row: Int, data: EntryData, keys: [Int64])]()
        private var start = 0
        private var first = 0
        /// How many rows are kept.
        let window: Int

        init(window: Int) { self.window = window }

        /// The earlier rows `data` may repeat, in file order; then `data` added as `row`.
        mutating func candidatesAdding(_ data: EntryData, keys: Keys, row: Int) -> [Earlier] {
            // Its own keys (facts digest, amount key of its week, reference key), each once; then
            // those it is looked up by: its own and the amount keys of the weeks beside.
            var own = [Int64]()
            own.reserveCapacity(3)
            if let digest = keys.digest { own.append(digest) }
            if let near = keys.near {
                if !own.contains(near.amount) { own.append(near.amount) }
                if near.ref != 0 && !own.contains(near.ref) { own.append(near.ref) }
            }
            var numbers = [Int]()
            var looked = own
            for key in keys.around where !looked.contains(key) { looked.append(key) }
            for key in looked { if let rows = byKey[key] { numbers += rows } }
            numbers.sort()
            var found = [Earlier]()
            for (index, number) in numbers.enumerated() where index == 0 || numbers[index - 1] != number {
                let earlier = kept[start + number - first]
                found.append(Earlier(name: "row \(earlier.row)", data: earlier.data, row: earlier.row))
            }
            add(row: row, data: data, keys: own)
            return found
        }

        private mutating func add(row: Int, data: EntryData, keys: [Int64]) {
            let number = first + kept.count - start
            for key in keys { byKey[key, default: []].append(number) }
            kept.append((row, data, keys))
            guard kept.count - start > window else { return }
            // The oldest row leaves: it is the first of each of its keys' rows.
            for key in kept[start].keys {
                byKey[key]?.removeFirst()
                if byKey[key]?.isEmpty == true { byKey[key] = nil }
            }
            start += 1
            first += 1
            if start >= window {
                kept.removeFirst(start)
                start = 0
            }
        }
    }
}
