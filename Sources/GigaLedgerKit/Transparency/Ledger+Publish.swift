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
        /// The size of the checkpoint published.
        public let size: Int64
        /// Files written now; files already there (full tiles and bundles never change) are kept.
        public let written: Int
        public let kept: Int
    }

    /// Writes the publication of the latest kept checkpoint under `directory`, incrementally (a
    /// full tile or bundle already there is not written again; a partial one is added beside the
    /// narrower ones, which stay valid for older checkpoints) and in an order that never shows a
    /// reader a checkpoint whose files are missing: every file is written whole (a temporary file,
    /// synced, renamed), and `checkpoint` last. The tiles, bundles and checkpoint documents come from
    /// one read of the ledger, the pages from the same checkpoint.
    public func publish(to directory: String, reports: String? = nil) throws -> Publication {
        // The pages first (they read the ledger on their own); the files below must be of the same checkpoint.
        guard let site = try publicSite(reports: reports) else {
            throw Refusal("the ledger keeps no checkpoint yet: sign one (`gigaledger checkpoint`, or a server's log key) before publishing")
        }
        // A killed publish left its file being written beside the one it replaced.
        Files.removeLeftovers(under: directory, marker: ".new-")
        var writer = PublicationWriter(directory: directory)
        let (checkpoints, checkpoint) = try store.read { reader -> ([UInt8], [UInt8]) in
            guard let latest = try reader.checkpoints().last, latest.size == site.size else {
                throw Refusal("a checkpoint was kept while publishing; publish again")
            }
            let size = latest.size
            guard size <= (try reader.size()), try Merkle.root(size: size, node: reader.treeNode) == latest.root else {
                throw LedgerError.checkpointMismatch("the ledger no longer matches its latest checkpoint (\(size) entries); nothing was published")
            }
            try Self.checkNotRolledBack(directory: directory, size: size, origin: try Self.origin(reader), reader: reader)
            // Hash tiles, level by level, while the level has a complete node.
            var level = 0
            while TilePath.height * level < 63, size >> (TilePath.height * level) > 0 {
                let nodes = size >> (TilePath.height * level)
                try writer.series(prefix: "tile/", level: level, count: nodes) { index, width in
                    try Self.tile(reader, level: level, index: index, width: width, size: size)
                }
                level += 1
            }
            try writer.series(prefix: "tile/", level: nil, count: size) { index, width in
                try Self.bundle(reader, index: index, width: width, size: size, full: false)
            }
            try writer.series(prefix: "ledger/v1/bundle/", level: nil, count: size) { index, width in
                try Self.bundle(reader, index: index, width: width, size: size, full: true)
            }
            return (
                try Self.checkpointsDocument(reader, above: 0) + [0x0a],
                Array(try Self.withCosignatures(latest.note, size: size, reader: reader).utf8)
            )
        }
        // The pages and receipts change with every checkpoint (they name it): written again each
        // time, not synced one by one (the checkpoint, written last and synced, is what a reader trusts).
        let receipts = try receiptMaker(checkpointNote: site.note)
        for path in site.paths {
            guard let page = try site.page(path, ledger: self, receipts: receipts) else {
                throw LedgerError.damaged("the public page \(path) cannot be made")
            }
            try writer.replace(path, with: page, sync: false)
        }
        try writer.replace("ledger/v1/checkpoints", with: checkpoints)
        try writer.replace("checkpoint", with: checkpoint)
        return Publication(size: site.size, written: writer.written, kept: writer.kept)
    }
}

extension Ledger {
    /// A publication never goes back: the folder's checkpoint, when there is one, must be of this
    /// ledger (same origin, the root this ledger has at its size) and no larger than the one about
    /// to replace it (a lagging replica publishing into the same folder would roll it back).
    static func checkNotRolledBack(directory: String, size: Int64, origin: String, reader: StoreReader) throws {
        let path = directory + "/checkpoint"
        guard FileManager.default.fileExists(atPath: path) else { return }
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
    }
}

/// Writes a publication's files: each whole or not at all, the immutable ones once.
struct PublicationWriter {
    let directory: String
    var written = 0
    var kept = 0

    init(directory: String) { self.directory = directory }

    /// Every tile (or bundle) of a series of `count` leaves or nodes: the full ones of 256 and, when
    /// `count` is not a multiple of 256, the partial one of the rest. `make(index, width)`.
    mutating func series(prefix: String, level: Int?, count: Int64, make: (Int64, Int) throws -> [UInt8]?) throws {
        let width = Int64(TilePath.width)
        for index in 0..<(count / width) {
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

    /// Writes `relative` unless it is there: a tile's or a bundle's bytes never change.
    private mutating func once(_ relative: String, _ make: () throws -> [UInt8]?) throws {
        let path = directory + "/" + relative
        if FileManager.default.fileExists(atPath: path) {
            kept += 1
            return
        }
        guard let bytes = try make() else { throw LedgerError.damaged("the publication's \(relative) cannot be made from the stored tree") }
        try replace(relative, with: bytes)
    }

    /// Writes `relative` whole: a temporary file beside it, synced (unless `sync` is false), then
    /// renamed over it.
    mutating func replace(_ relative: String, with bytes: [UInt8], sync: Bool = true) throws {
        let path = directory + "/" + relative
        let folder = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw OutputError(path: folder, why: "cannot create the folder (\(error.localizedDescription))")
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
