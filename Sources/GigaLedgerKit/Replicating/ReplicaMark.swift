import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// A ledger file kept by `gigaledger sync` is a copy of a server's, and stays one: `LEDGER-replica`
/// beside the file's real path names the server (or publication) it is a copy of, and the size and
/// signed checkpoint its last sync took it to. Every write command refuses a ledger so marked
/// (`LedgerError.replica`: write through the server); `sync --detach` marks it detached, and write
/// commands then write into it. The size tells, at the next sync, entries written into the copy
/// from entries the server holds: a copy larger than its last sync took it is the copy's
/// divergence, not the server's, detached or not; a detached copy with nothing written into it is
/// a copy again after a sync.
///
/// A text file: `gigaledger replica`, `source URL`, `size N`, `detached` when it is, an empty line,
/// then the checkpoint note (signed by the server's log key). A PostgreSQL copy carries no mark.
public struct ReplicaMark: Equatable, Sendable {
    /// The server's or publication's URL.
    public let source: String
    /// The ledger's size after the last sync.
    public let size: Int64
    /// The signed checkpoint of `size` entries the last sync checked the copy against.
    public let checkpoint: String
    /// Detached (`sync --detach`): write commands write into it.
    public let detached: Bool

    public init(source: String, size: Int64, checkpoint: String, detached: Bool = false) {
        self.source = source
        self.size = size
        self.checkpoint = checkpoint
        self.detached = detached
    }

    /// The mark's file for the ledger at `ledger`: beside its real path (links resolved).
    static func file(of ledger: String) -> String { Files.realPath(ledger) + "-replica" }

    /// The largest mark read (a URL and a checkpoint note are well under it).
    static let fileBytesMax = 65_536

    /// The mark of the ledger at `ledger`, if it has one. A mark file that cannot be read as one
    /// still marks the ledger as a copy (of a source not known): `isMarked` says so.
    public static func read(ledger: String) -> ReplicaMark? {
        guard !LedgerStore.isPostgres(ledger), let data = FileManager.default.contents(atPath: file(of: ledger)),
            data.count <= fileBytesMax
        else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\n\n") else { return nil }
        let fields = text[..<split.lowerBound].split(separator: "\n")
        guard fields.count == 3 || (fields.count == 4 && fields[3] == "detached"), fields[0] == "gigaledger replica",
            fields[1].hasPrefix("source "), fields[2].hasPrefix("size "), let size = Int64(fields[2].dropFirst(5)), size >= 0
        else { return nil }
        let source = String(fields[1].dropFirst(7))
        // Only printable ASCII is repeated to a terminal.
        guard source.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return ReplicaMark(source: source, size: size, checkpoint: String(text[split.upperBound...]), detached: fields.count == 4)
    }

    /// Whether the ledger at `ledger` carries a mark file, readable or not.
    public static func isMarked(ledger: String) -> Bool {
        var status = stat()
        // lstat: a link to nothing marks the copy too (it is not taken for "no mark").
        return !LedgerStore.isPostgres(ledger) && lstat(file(of: ledger), &status) == 0
    }

    /// Writes the mark (a new file renamed over the old: never half-written).
    public func write(ledger: String) throws {
        guard !LedgerStore.isPostgres(ledger) else { return }
        let path = Self.file(of: ledger)
        let text = "gigaledger replica\nsource \(source)\nsize \(size)\n\(detached ? "detached\n" : "")\n\(checkpoint)"
        do { try OutputFiles.replace(text, at: path, sync: false) } catch {
            throw LedgerError.readOnly(path: ledger, "its copy mark \(path) cannot be written: \(error.why)")
        }
    }

    /// The mark of a copy detached (`sync --detach`): write commands write into it; a later sync
    /// into it still tells the entries written into it from the server's.
    public var detachedMark: ReplicaMark { ReplicaMark(source: source, size: size, checkpoint: checkpoint, detached: true) }
}

extension Ledger {
    /// What makes this file unusable as a copy of its source, judged from the file alone (every
    /// entry was checked when it was taken in): a damaged file or schema; written into after it was
    /// detached; more or fewer entries than its last sync took it to; entries that no longer give
    /// the checkpoint that sync reached. nil when nothing. Asked after a sync failed, to tell a
    /// broken copy from a server that serves what does not verify.
    public func copyProblem(path: String) -> String? {
        do {
            let (problem, difference) = try store.read { (try $0.storageProblem(), try $0.schemaDifference()) }
            if let problem { return "the file is damaged: \(problem)" }
            if let difference { return "its schema is not GigaLedger's: \(difference)" }
            let size = try size()
            guard let mark = ReplicaMark.read(ledger: path) else { return size > 0 ? "it carries no copy mark beside it" : nil }
            if mark.detached { return "it was detached (gigaledger sync --detach) and may hold entries of its own" }
            guard size == mark.size else { return "it holds \(size) entries; its last sync took it to \(mark.size)" }
            guard let checkpoint = try? Checkpoint.parse(SignedNote.parse(mark.checkpoint).text), checkpoint.size == size,
                try root(size: size) == checkpoint.root
            else { return "its entries do not give the checkpoint its last sync reached" }
            return nil
        } catch { return "\(error)" }
    }
}
