import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// Publication (`gigaledger publish`, FORMAT.md section 18): the ledger's latest kept checkpoint as
/// static files that any web server or object store serves, byte for byte what `serve` answers for
/// the same paths: `checkpoint` (with the cosignatures kept for it), the C2SP tlog-tiles
/// (`tile/<L>/<N>[.p/<W>]`, `tile/entries/...`), the full-entry bundles a replica takes in
/// (`ledger/v1/bundle/<N>[.p/<W>]`), the kept checkpoints with their cosignatures
/// (`ledger/v1/checkpoints`), and the public pages (`PublicSite`).
extension Ledger {
    /// What a publication wrote.
    public struct Publication: Sendable {
        /// The size of the checkpoint published, and of the one the folder published before (0: none).
        public let size: Int64
        public let before: Int64
        /// The ledger's size: entries after `size` are in no checkpoint yet, so not published.
        public let ledgerSize: Int64
        /// Files written now; files already there (full tiles and bundles never change) are kept.
        public let written: Int
        public let kept: Int
        /// Superseded partial tiles and bundles removed (their full one older than the grace period).
        public let removed: Int
        /// The time spent on the summary page's figures (the year's report at the checkpoint: one
        /// pass over the ledger), apart from the rest, which costs O(new entries).
        public let summaryNanoseconds: UInt64
    }

    /// How long a partial tile or bundle stays once its full one is published: a reader holding an
    /// older checkpoint may still ask for it (C2SP tlog-tiles lets it fall back to the full one).
    public static let partialGraceSecondsDefault: TimeInterval = 3600

    /// Writes the publication of the latest kept checkpoint under `directory`, at the cost of what
    /// is new since the checkpoint the folder publishes: the tiles and bundles from there (a full
    /// one already there is not written again; a partial one is added beside the narrower ones,
    /// which stay valid for older checkpoints), the list pages from each list's open page on (a
    /// full page is written once), the summary, and `checkpoint` last, so a reader never sees a
    /// checkpoint whose files are missing (every file is written whole: a temporary file, synced,
    /// renamed). Partial tiles and bundles whose full one was published more than `partialGrace`
    /// seconds ago are removed.
    public func publish(
        to directory: String, reports: String? = nil, partialGrace: TimeInterval = Ledger.partialGraceSecondsDefault
    ) throws -> Publication {
        try Self.checkPublicationFolder(directory)
        // One publish into a folder at a time (a server's and a timer's): the second waits.
        let lock = try Self.lockPublication(directory)
        defer { Glibc.close(lock) }
        // A killed publish left its file being written beside the one it replaced.
        Files.removeLeftovers(under: directory, marker: ".new-")
        var writer = PublicationWriter(directory: directory)
        let (latest, before, checkpoints, checkpoint, keysDocument, ledgerSize) = try store.read {
            reader -> (StoredCheckpoint, Int64, [UInt8], [UInt8], [UInt8], Int64) in
            guard let latest = try reader.latestCheckpoint() else {
                throw Refusal("the ledger keeps no checkpoint yet: sign one (`gigaledger checkpoint`, or a server's log key) before publishing")
            }
            let size = latest.size
            guard size <= (try reader.size()), try Merkle.root(size: size, node: reader.treeNode) == latest.root else {
                throw LedgerError.checkpointMismatch("the ledger no longer matches its latest checkpoint (\(size) entries); nothing was published")
            }
            let before = try Self.checkNotRolledBack(directory: directory, size: size, origin: try Self.origin(reader), reader: reader)
            // Hash tiles, level by level, while the level has a complete node; from the tile the
            // folder's checkpoint ends in.
            var level = 0
            while TilePath.height * level < 63, size >> (TilePath.height * level) > 0 {
                let shift = TilePath.height * level
                try writer.series(prefix: "tile/", level: level, count: size >> shift, from: before >> shift) { index, width in
                    try Self.tile(reader, level: level, index: index, width: width, size: size)
                }
                level += 1
            }
            try writer.series(prefix: "tile/", level: nil, count: size, from: before) { index, width in
                try Self.bundle(reader, index: index, width: width, size: size, full: false)
            }
            try writer.series(prefix: "ledger/v1/bundle/", level: nil, count: size, from: before) { index, width in
                try Self.bundle(reader, index: index, width: width, size: size, full: true)
            }
            return (
                latest, before, try Self.checkpointsDocument(reader, above: 0) + [0x0a],
                Array(try Self.withCosignatures(latest.note, size: size, reader: reader).utf8),
                try Self.keysDocument(reader, size: size), try reader.size()
            )
        }
        let size = latest.size
        let lists = try writeLists(into: &writer, directory: directory, published: before, size: size)
        // The summary: the year's report at this checkpoint.
        let started = DispatchTime.now().uptimeNanoseconds
        let keys = try self.keys()
        let published = try publishedReports(reports, size: size)
        let index = try PublicSummary.make(
            ledger: self, checkpoint: latest, note: String(decoding: checkpoint, as: UTF8.self), keys: keys, lists: lists, reports: published)
        let summaryNanoseconds = DispatchTime.now().uptimeNanoseconds - started
        let site = PublicSite(
            size: size, note: String(decoding: checkpoint, as: UTF8.self), index: index, lists: lists, keyNames: [:], origin: try origin(),
            reportsDirectory: reports, reports: published)
        try writer.replaceIfChanged("index.html", with: index, sync: false)
        for report in published {
            for file in report.files {
                guard let bytes = try site.reportFile(report.name, file) else { continue }
                try writer.replaceIfChanged("reports/\(report.name)/\(file)", with: bytes)
            }
        }
        try writer.replaceIfChanged("ledger/v1/key-entries", with: keysDocument)
        try writer.replaceIfChanged("ledger/v1/checkpoints", with: checkpoints)
        try writer.replaceIfChanged("checkpoint", with: checkpoint)
        // Measured from now, once this publication's full tiles are written (a grace of 0 removes
        // the partials they supersede at once).
        let removed = try writer.removeSuperseded(olderThan: Date().addingTimeInterval(-partialGrace))
        return Publication(
            size: size, before: before, ledgerSize: ledgerSize, written: writer.written, kept: writer.kept, removed: removed,
            summaryNanoseconds: summaryNanoseconds)
    }

    /// How long a publish waits for another into the same folder.
    static let publicationLockWaitSeconds = 600

    /// The folder publishes this ledger, or is empty or new: a folder of other things (a web site,
    /// the folder of the ledger and its keys) is refused, nothing touched in it.
    static func checkPublicationFolder(_ directory: String) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let ours: Set<String> = ["checkpoint", "tile", "ledger", "entries", "index.html", "reports", "receipts", publicationLockFile]
        let others = names.filter { !ours.contains($0) && !$0.contains(".new-") }
        guard others.isEmpty else {
            throw FileRefusal(
                "folder \(directory)",
                "holds files that are not a publication (\(others.sorted().prefix(3).joined(separator: ", "))\(others.count > 3 ? ", ..." : "")): publish into an empty folder of its own, or an earlier publication; nothing was written"
            )
        }
    }

    static let publicationLockFile = ".publish.lock"

    /// Locks the folder for one publish (`flock`, released when the process ends): waits for
    /// another publish into it, up to `publicationLockWaitSeconds`.
    static func lockPublication(_ directory: String) throws -> Int32 {
        do { try Files.makeFolders(directory, mode: 0o755) } catch {
            throw OutputError(path: directory, why: "cannot create the folder (\(error))")
        }
        let path = directory + "/" + publicationLockFile
        // Read-only is enough for flock: a lock file another user made (a publish run as root) locks as well.
        let descriptor = Glibc.open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw OutputError(
                path: path, why: errno == EACCES ? "permission denied: " + Files.whyUnwritable(directory) : String(cString: strerror(errno)))
        }
        for _ in 0..<(publicationLockWaitSeconds * 10) {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return descriptor }
            usleep(100_000)
        }
        Glibc.close(descriptor)
        throw Refusal("another publish into \(directory) has run for \(publicationLockWaitSeconds) s; nothing was written, retry")
    }

    /// Where a publication keeps its lists' open pages (`EntryLists.encoded`).
    static let listsFile = "entries/lists.json"

    /// The list pages from each list's open page on, for the entries after `published` (the size
    /// of the checkpoint the folder publishes): a page is written when it fills and once more for
    /// the open page it leaves. Lists the folder does not hold in a shape this ledger confirms (a
    /// first publish, a folder of an older layout, an interrupted publish) are made again from
    /// the first entry, the folder's old lists and per-entry pages removed first.
    private func writeLists(into writer: inout PublicationWriter, directory: String, published: Int64, size: Int64) throws -> EntryLists {
        let keyNames = Dictionary(try keys().map { ($0.enrolment.publicKey.id.description, $0.enrolment.name) }, uniquingKeysWith: { a, _ in a })
        var rows = [Int64: PublicSite.Row]()
        var lists = EntryLists(keepsAll: false)
        if published > 0, let state = FileManager.default.contents(atPath: directory + "/" + Self.listsFile),
            let read = EntryLists.decode([UInt8](state), pages: PublicSite.listPagesVersion), read.size == published,
            try heldEntriesBelong(read, rows: &rows, keyNames: keyNames)
        {
            lists = read
        } else {
            rows = [:]
            for folder in ["entries", "receipts"] { try? FileManager.default.removeItem(atPath: directory + "/" + folder) }
        }
        var touched = Set<EntryList>()
        while lists.size < size {
            let page = try store.read { try $0.entries(from: lists.size + 1, limit: Int(min(10_000, size - lists.size))) }
            guard !page.isEmpty else { throw LedgerError.damaged("entry \(lists.size + 1) cannot be read") }
            for entry in page {
                let (data, reversed) = try PublicSite.listed(entry, ledger: self)
                let on = lists.add(seq: entry.seq, data: data, reversed: reversed)
                rows[entry.seq] = PublicSite.Row(entry, data: .some(data), reversed: reversed, keyNames: keyNames)
                for list in on {
                    touched.insert(list)
                    if lists.holdsFullPage(list) {
                        let number = lists.firstHeldPage(list)
                        try writePage(list, number, lists: lists, rows: rows, into: &writer)
                        lists.dropFullPage(list)
                    }
                }
            }
            let held = lists.held
            rows = rows.filter { held.contains($0.key) }
        }
        if published == 0 && size == 0 { touched.insert(.all) }
        for list in touched.sorted() { try writePage(list, lists.firstHeldPage(list), lists: lists, rows: rows, into: &writer) }
        try writer.replaceIfChanged(Self.listsFile, with: lists.encoded(pages: PublicSite.listPagesVersion))
        return lists
    }

    private func writePage(
        _ list: EntryList, _ number: Int, lists: EntryLists, rows: [Int64: PublicSite.Row], into writer: inout PublicationWriter
    ) throws {
        guard let seqs = lists.page(number, of: list) else { throw LedgerError.damaged("page \(number) of \(list.folder) is not held") }
        let page = try seqs.map { seq in
            guard let row = rows[seq] else { throw LedgerError.damaged("entry \(seq) of \(list.folder) was not read") }
            return row
        }
        // A full page is written once and never again: durable before lists.json says it is done.
        try writer.replace(
            list.folder + "page-\(number).html", with: PublicSite.listPage(list, page: number, rows: page, origin: try origin()),
            sync: page.count == EntryLists.perPage)
    }

    /// Whether every entry the folder's lists hold open is on its list (read here, into `rows`): a
    /// folder whose lists this ledger does not give is listed again.
    private func heldEntriesBelong(_ lists: EntryLists, rows: inout [Int64: PublicSite.Row], keyNames: [String: String]) throws -> Bool {
        var on = [Int64: [EntryList]]()
        for list in lists.lists {
            guard let seqs = lists.page(lists.firstHeldPage(list), of: list) else { return false }
            for seq in seqs {
                if on[seq] == nil {
                    guard let entry = try entry(seq) else { return false }
                    let (data, reversed) = try PublicSite.listed(entry, ledger: self)
                    rows[seq] = PublicSite.Row(entry, data: .some(data), reversed: reversed, keyNames: keyNames)
                    on[seq] = [.all] + EntryList.lists(of: data, reversed: reversed)
                }
                guard on[seq]!.contains(list) else { return false }
            }
        }
        return true
    }
}

extension Ledger {
    /// A publication never goes back: the folder's checkpoint, when there is one, must be of this
    /// ledger (same origin, the root this ledger has at its size) and no larger than the one about
    /// to replace it (a lagging replica publishing into the same folder would roll it back).
    /// Returns the size of the folder's checkpoint (0 when it has none).
    @discardableResult
    static func checkNotRolledBack(directory: String, size: Int64, origin: String, reader: StoreReader) throws -> Int64 {
        let path = directory + "/checkpoint"
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        let text = try OutputFiles.readText(path, what: "published checkpoint", bytesMax: SignedNote.bytesMax)
        guard let note = try? SignedNote.parse(text), let published = try? Checkpoint.parse(note.text) else {
            throw FileRefusal("published checkpoint \(path)", "is not a checkpoint: publish into an empty folder, or remove it")
        }
        guard published.origin == origin else {
            throw FileRefusal("folder \(directory)", "holds a publication of \(published.origin), not of \(origin)")
        }
        guard published.size <= size else {
            throw Refusal(
                "\(directory) already publishes a checkpoint of \(published.size) entries, more than this ledger's \(size): publish from the ledger (or replica) that has it; nothing was written"
            )
        }
        guard try Merkle.root(size: published.size, node: reader.treeNode) == published.root else {
            throw LedgerError.checkpointMismatch(
                "\(directory) publishes a checkpoint of \(published.size) entries that this ledger's first \(published.size) do not give: another history; nothing was written"
            )
        }
        return published.size
    }

    /// `ledger/v1/key-entries` at the latest kept checkpoint, as `serve` answers it; nil when none is kept.
    public func keysDocument() throws -> [UInt8]? {
        try store.read { reader in try reader.latestCheckpoint().map { try Self.keysDocument(reader, size: $0.size) } }
    }

    /// `ledger/v1/key-entries`: every entry that enrols or revokes a key (the genesis included) up to
    /// `size`, in order, as bundle lines (FORMAT.md section 18): what a reader of a publication
    /// needs to find a signer's key and the checkpoint key's enrolment, each entry proven by its
    /// inclusion in the checkpoint (the file itself is not trusted).
    static func keysDocument(_ reader: StoreReader, size: Int64) throws -> [UInt8] {
        var seqs = Set<Int64>()
        for record in try Self.keys(reader) where record.enrolledAt <= size {
            seqs.insert(record.enrolledAt)
            if let revoked = record.revokedAt, revoked <= size { seqs.insert(revoked) }
        }
        let entries = try seqs.sorted().map { seq in
            guard let entry = try reader.entry(seq) else { throw LedgerError.damaged("entry \(seq) cannot be read") }
            return entry
        }
        return EntryWire.encodeLines(entries)
    }
}

/// Writes a publication's files: each whole or not at all, the immutable ones once.
struct PublicationWriter {
    let directory: String
    var written = 0
    var kept = 0

    init(directory: String) { self.directory = directory }

    /// Every tile (or bundle) of a series of `count` leaves or nodes from the one that holds leaf
    /// (or node) `from` on: the full ones of 256 and, when `count` is not a multiple of 256, the
    /// partial one of the rest. `make(index, width)`.
    mutating func series(prefix: String, level: Int?, count: Int64, from: Int64 = 0, make: (Int64, Int) throws -> [UInt8]?) throws {
        let width = Int64(TilePath.width)
        for index in min(from, count) / width..<(count / width) {
            try once(prefix + bundlePath(TilePath(level: level, index: index, width: TilePath.width), prefix: prefix)) {
                try make(index, TilePath.width)
            }
        }
        if count % width > 0 {
            let path = TilePath(level: level, index: count / width, width: Int(count % width))
            try once(prefix + bundlePath(path, prefix: prefix)) { try make(path.index, path.width) }
        }
    }

    /// A bundle's path under `ledger/v1/bundle/` drops the `entries/` of a tile path.
    private func bundlePath(_ path: TilePath, prefix: String) -> String {
        prefix == "tile/" ? path.path : String(path.path.dropFirst("entries/".count))
    }

    /// Writes `relative` unless it holds these bytes already: a tile's or a bundle's bytes never
    /// change, but one found in the folder is not taken on trust (a killed publish, another
    /// ledger's publication, a hand's edit): it is compared with what the ledger gives.
    private mutating func once(_ relative: String, _ make: () throws -> [UInt8]?) throws {
        guard let bytes = try make() else { throw LedgerError.damaged("the publication's \(relative) cannot be made from the stored tree") }
        try replaceIfChanged(relative, with: bytes)
    }

    /// Writes `relative` unless it holds `bytes` already (a report file, the keys document).
    mutating func replaceIfChanged(_ relative: String, with bytes: [UInt8], sync: Bool = true) throws {
        if let data = FileManager.default.contents(atPath: directory + "/" + relative), [UInt8](data) == bytes {
            kept += 1
            return
        }
        try replace(relative, with: bytes, sync: sync)
    }

    /// Removes the partial tiles and bundles (`<N>.p/<W>`) whose full one (`<N>`) was written
    /// before `cutoff`; returns how many files it removed.
    func removeSuperseded(olderThan cutoff: Date) throws -> Int {
        var removed = 0
        for top in ["tile", "ledger/v1/bundle"] {
            let root = directory + "/" + top
            guard let walk = FileManager.default.enumerator(atPath: root) else { continue }
            var partials = [String]()
            while let relative = walk.nextObject() as? String {
                if relative.hasSuffix(".p") {
                    partials.append(relative)
                    walk.skipDescendants()
                }
            }
            for partial in partials {
                let folder = root + "/" + partial
                let full = String(folder.dropLast(2))
                // Only a real folder of partial files is touched: a link planted in the folder
                // (to elsewhere on the machine) is never followed, nor is anything but a plain file removed.
                guard Files.kind(folder) == .typeDirectory, Files.kind(full) == .typeRegular,
                    let written = (try? FileManager.default.attributesOfItem(atPath: full))?[.modificationDate] as? Date, written < cutoff
                else { continue }
                for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                where Files.kind(folder + "/" + file) == .typeRegular && unlink(folder + "/" + file) == 0 {
                    removed += 1
                }
                rmdir(folder)
            }
        }
        return removed
    }

    /// Writes `relative` whole: a temporary file beside it, synced (unless `sync` is false), then
    /// renamed over it.
    mutating func replace(_ relative: String, with bytes: [UInt8], sync: Bool = true) throws {
        let path = directory + "/" + relative
        let folder = (path as NSString).deletingLastPathComponent
        do { try Files.makeFolders(folder, mode: 0o755) } catch {
            throw OutputError(path: folder, why: "cannot create the folder (\(error))")
        }
        let temporary = path + ".new-\(getpid())"
        unlink(temporary)
        do { try Files.writeNew(path: temporary, bytes: bytes, mode: 0o644, sync: sync) } catch {
            switch error {
            case .exists: throw OutputError(path: temporary, why: "it already exists")
            case .failed(let why): throw OutputError(path: path, why: why)
            }
        }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputError(path: path, why: why)
        }
        written += 1
    }
}
