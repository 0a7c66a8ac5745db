import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// The largest checkpoint a server's log key signed for a ledger, kept outside the ledger (in the
/// server's state folder), so that a server never serves a history shorter than one it vouched
/// for: a backup restored over the ledger, or a former primary that missed the last commits, is
/// refused at start with what happened and what to do (the operator runbook, "Restoring a
/// ledger"), before anything else is said of it. Officers' clients and replicas that saw the
/// larger checkpoint would refuse such a server anyway; this makes the operator see it first.
///
/// One file per origin, `<origin with every byte but [A-Za-z0-9.-] as _>-<8 hex of its SHA-256>.checkpoint`,
/// holding the signed note; replaced whole (a new file renamed over it) each time the server signs
/// a larger checkpoint (for an answer, or to keep).
///
/// Beside it, `<same stem>.witnessed`: the largest size each of the server's witnesses said it
/// cosigned (C2SP tlog-witness: a witness answers an `add-checkpoint` from the wrong old size with
/// 409 and the size it holds), one line `<witness key ID> <size> <witness name>` per witness. A
/// server whose state folder was lost with its disk learns from its witnesses, at its first
/// checkpoint, that the ledger it serves is behind: it stops, and refuses that ledger from then on.
public final class RollbackGuard: @unchecked Sendable {
    // `@unchecked Sendable`: `guarded` and `witnessed` are read and written only under `lock`.
    public let file: String
    /// The witnesses' sizes, beside `file`.
    public let witnessedFile: String
    private let lock = NSLock()
    private var guarded: Int64
    private var witnessed: [String: (size: Int64, name: String)]

    /// The guard of `origin` in `directory` (created when missing).
    public init(directory: String, origin: String) throws {
        let safe = String(
            String.UnicodeScalarView(
                origin.unicodeScalars.map { scalar in
                    scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "-") ? scalar : "_"
                }))
        let stem = directory + "/" + safe.prefix(100) + "-" + Encoding.hex(Array(Sodium.sha256(Array(origin.utf8)).prefix(4)))
        file = stem + ".checkpoint"
        witnessedFile = stem + ".witnessed"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw StateUnusable(message: "the server's state folder \(directory) is a file, not a folder (--state); nothing was served")
        }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw StateUnusable(
                message: "the server's state folder \(directory) cannot be made (--state): \(error.localizedDescription); nothing was served")
        }
        guarded = 0
        witnessed = [:]
        guarded = (try largest())?.size ?? 0
        witnessed = try Self.readWitnessed(witnessedFile)
    }

    /// The witnesses' sizes kept in `path` (none when it is missing); a file that is not made of
    /// such lines is refused, as a damaged guard is.
    static func readWitnessed(_ path: String) throws -> [String: (size: Int64, name: String)] {
        var status = stat()
        guard lstat(path, &status) == 0 else { return [:] }
        let unusable = StateUnusable(
            message:
                "the server's record of its witnesses' sizes \(path) is not lines of \"<key ID> <size> <name>\" (damaged?): the server cannot tell whether this ledger was rolled back; nothing was served (move it aside knowingly: the operator runbook, \"Restoring a ledger\")"
        )
        guard let data = FileManager.default.contents(atPath: path), data.count <= fileBytesMax, let text = String(data: data, encoding: .utf8) else {
            throw unusable
        }
        var sizes = [String: (size: Int64, name: String)]()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let size = Int64(parts[1]), size >= 0 else { throw unusable }
            sizes[String(parts[0])] = (size, String(parts[2]))
        }
        return sizes
    }

    /// Where a server keeps its state by default: `$XDG_STATE_HOME/gigaledger/serve`, else
    /// `$HOME/.local/state/gigaledger/serve`.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/gigaledger/serve" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/gigaledger/serve" }
        return nil
    }

    /// The checkpoint guarded, if any; a file that is not a checkpoint note is refused (an
    /// operator removes it knowingly, never this code).
    public func largest() throws -> Checkpoint? {
        var status = stat()
        // Nothing there (not even a link to nothing): no checkpoint signed yet.
        guard lstat(file, &status) == 0 else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
            let data = FileManager.default.contents(atPath: file), data.count <= Self.fileBytesMax
        else {
            throw StateUnusable(
                message:
                    "the server's rollback guard \(file) is not a file it can read (a folder, a link to nothing, or too large): the server cannot tell whether this ledger was rolled back; nothing was served (put it right, or move it aside knowingly: the operator runbook, \"Restoring a ledger\")"
            )
        }
        guard let checkpoint = try? Checkpoint.parse(SignedNote.parse(String(decoding: data, as: UTF8.self)).text) else {
            throw StateUnusable(
                message:
                    "the server's rollback guard \(file) holds no signed checkpoint (damaged?): the server cannot tell whether this ledger was rolled back; nothing was served (move it aside knowingly: the operator runbook, \"Restoring a ledger\")"
            )
        }
        return checkpoint
    }

    /// The largest guard file read: a signed checkpoint note is well under it.
    static let fileBytesMax = 65_536

    /// Refuses a ledger of `size` entries that is behind the guarded checkpoint or does not extend
    /// it (`root(n)` is the root of its first n entries).
    public func check(size: Int64, root: (Int64) throws -> [UInt8]) throws {
        try checkWitnessed(size: size)
        guard let kept = try largest() else { return }
        guard size >= kept.size else {
            throw RolledBack(
                message:
                    "the ledger holds \(size) entries, fewer than the \(kept.size) of the checkpoint this server's log key signed (\(file)): it is a backup restored from before that checkpoint, or a former primary that missed the last commits; serve a copy that holds at least \(kept.size) entries (a replica or a publication: the operator runbook, \"Restoring a ledger\"); nothing was served"
            )
        }
        guard try root(kept.size) == kept.root else {
            throw RolledBack(
                message:
                    "the ledger's first \(kept.size) entries are not those of the checkpoint this server's log key signed (\(file)): it is another history (a fork), not this server's; serve a copy of this server's ledger (the operator runbook, \"Restoring a ledger\"); nothing was served"
            )
        }
    }

    /// Refuses a ledger of `size` entries behind what a witness said it cosigned.
    public func checkWitnessed(size: Int64) throws {
        let witnessed = lock.withLock { self.witnessed }
        guard let (id, ahead) = witnessed.max(by: { $0.value.size < $1.value.size }), ahead.size > size else { return }
        throw RolledBack(
            message:
                "the ledger holds \(size) entries, fewer than the \(ahead.size) witness \(ahead.name) (key \(id)) said it cosigned (\(witnessedFile)): it is a backup restored from before that checkpoint, or a former primary that missed the last commits; serve a copy that holds at least \(ahead.size) entries (a replica or a publication: the operator runbook, \"Restoring a ledger\"); nothing was served"
        )
    }

    /// Keeps the size a witness said it cosigned (its 409), when larger than the one kept for it;
    /// all or nothing (a new file renamed over the old). Returns whether it was kept.
    @discardableResult
    public func learn(witnessKeyID: String, name: String, size: Int64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard size > (witnessed[witnessKeyID]?.size ?? 0) else { return false }
        var next = witnessed
        next[witnessKeyID] = (size, name.replacingOccurrences(of: "\n", with: " "))
        let text = next.keys.sorted().map { "\($0) \(next[$0]!.size) \(next[$0]!.name)\n" }.joined()
        guard (try? OutputFiles.replace(text, at: witnessedFile, sync: true)) != nil else { return false }
        witnessed = next
        return true
    }

    /// Keeps `note` when its checkpoint is larger than the one guarded.
    public func keep(_ note: String, size: Int64) {
        lock.lock()
        defer { lock.unlock() }
        guard size > guarded, (try? OutputFiles.replace(note, at: file, sync: false)) != nil else { return }
        guarded = size
    }
}

/// The server's state folder or rollback guard cannot be used: the server does not start (exit 2).
public struct StateUnusable: GigaLedgerError {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .unusable }
}

/// The ledger is behind (or beside) what the server vouched for: not served. An operator's
/// matter (exit 2), named with its remedy.
public struct RolledBack: GigaLedgerError {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .unusable }
}
