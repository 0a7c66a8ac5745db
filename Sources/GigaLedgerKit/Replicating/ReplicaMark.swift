import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// A ledger file kept by `gigaledger sync` is a copy of a server's, and stays one: `LEDGER-replica`
/// beside the file's real path names the server (or publication) it is a copy of, and the size and
/// signed checkpoint its last sync took it to. Every write command refuses a ledger so marked
/// (`LedgerError.replica`: write through the server); `sync --detach` removes the mark. The size
/// tells, at the next sync, entries written into the copy from entries the server holds: a copy
/// larger than its last sync took it is the copy's divergence, not the server's.
///
/// A text file: `gigaledger replica`, `source URL`, `size N`, an empty line, then the checkpoint
/// note (signed by the server's log key). A PostgreSQL copy carries no mark.
public struct ReplicaMark: Equatable, Sendable {
    /// The server's or publication's URL.
    public let source: String
    /// The ledger's size after the last sync.
    public let size: Int64
    /// The signed checkpoint of `size` entries the last sync checked the copy against.
    public let checkpoint: String

    public init(source: String, size: Int64, checkpoint: String) {
        self.source = source
        self.size = size
        self.checkpoint = checkpoint
    }

    /// The mark's file for the ledger at `ledger`: beside its real path (links resolved).
    static func file(of ledger: String) -> String {
        guard let resolved = realpath(ledger, nil) else { return ledger + "-replica" }
        defer { free(resolved) }
        return String(cString: resolved) + "-replica"
    }

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
        guard fields.count == 3, fields[0] == "gigaledger replica", fields[1].hasPrefix("source "), fields[2].hasPrefix("size "),
            let size = Int64(fields[2].dropFirst(5)), size >= 0
        else { return nil }
        let source = String(fields[1].dropFirst(7))
        // Only printable ASCII is repeated to a terminal.
        guard source.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return ReplicaMark(source: source, size: size, checkpoint: String(text[split.upperBound...]))
    }

    /// Whether the ledger at `ledger` carries a mark file, readable or not.
    public static func isMarked(ledger: String) -> Bool {
        !LedgerStore.isPostgres(ledger) && FileManager.default.fileExists(atPath: file(of: ledger))
    }

    /// Writes the mark (a new file renamed over the old: never half-written).
    public func write(ledger: String) throws {
        guard !LedgerStore.isPostgres(ledger) else { return }
        let path = Self.file(of: ledger)
        let partial = path + ".partial-\(getpid())"
        let text = "gigaledger replica\nsource \(source)\nsize \(size)\n\n\(checkpoint)"
        guard FileManager.default.createFile(atPath: partial, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw LedgerError.readOnly(path: ledger, "its copy mark \(path) cannot be written")
        }
        guard rename(partial, path) == 0 else {
            let why = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: partial)
            throw LedgerError.readOnly(path: ledger, "its copy mark \(path) cannot be written: \(why)")
        }
    }

    /// Removes the mark: the ledger is a copy no more (`sync --detach`). Returns the mark removed.
    @discardableResult
    public static func remove(ledger: String) throws -> ReplicaMark? {
        let mark = read(ledger: ledger)
        let path = file(of: ledger)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw LedgerError.readOnly(path: ledger, "its copy mark \(path) cannot be removed: \(error.localizedDescription)")
        }
        return mark
    }
}
