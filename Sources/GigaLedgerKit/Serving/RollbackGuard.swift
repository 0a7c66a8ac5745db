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
/// Beside it, `<same stem>.witnessed`: what each of the server's witnesses said of this ledger, one
/// line per witness, `<witness key ID> <size> <root> <witness name>`: the largest size it said it
/// cosigned (C2SP tlog-witness: a witness answers an `add-checkpoint` from the wrong old size with
/// 409 and the size it holds), and `-` for root, or, when it refused a consistency proof from
/// that size (422, or a 409 naming the size asked from: another checkpoint of that size), the hex
/// root of this ledger's first `size` entries, which are then not those it cosigned. A server whose
/// state folder was lost with its disk learns from its witnesses, at its first checkpoint, that the
/// ledger it serves is behind or beside what they cosigned: it stops, and refuses that ledger from
/// then on (a ledger whose first `size` entries give another root is not refused for it). A
/// witness's answer is not signed: an operator who doubts a witness moves the file aside knowingly.
public final class RollbackGuard: @unchecked Sendable {
    // `@unchecked Sendable`: `guarded`, `witnessed` and `cleared` are read and written only under `lock`.
    public let file: String
    /// The witnesses' sizes, beside `file`.
    public let witnessedFile: String
    private let lock = NSLock()
    private var guarded: Int64
    private var witnessed: [String: Witnessed]
    /// Refused roots this ledger's entries were found not to give (see `checkWitnessed`).
    private var cleared = Set<[UInt8]>()

    /// What one witness said: the size it cosigned, and the root of this ledger's first `size`
    /// entries when it refused them (nil when it only said the size).
    struct Witnessed: Equatable {
        var size: Int64
        var refusedRoot: [UInt8]?
        var name: String
    }

    /// The guard of `origin` in `directory` (created when missing).
    public init(directory: String, origin: String) throws {
        let safe = String(
            String.UnicodeScalarView(
                origin.unicodeScalars.map { scalar in
                    scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "-") ? scalar : "_"
                }))
        let stem = directory + "/" + safe.prefix(100) + "-" + Encoding.hex(Array(SHA256State.hash(Array(origin.utf8)).prefix(4)))
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
        try Self.checkWritable(directory)
        guarded = 0
        witnessed = [:]
        guarded = (try largest())?.size ?? 0
        witnessed = try Self.readWitnessed(witnessedFile)
    }

    /// What the witnesses said, kept in `path` (nothing when it is missing); a file that is not made
    /// of such lines is refused, as a damaged guard is.
    static func readWitnessed(_ path: String) throws -> [String: Witnessed] {
        var status = stat()
        guard lstat(path, &status) == 0 else { return [:] }
        let unusable = StateUnusable(
            message:
                "the server's record of what its witnesses cosigned, \(path), is not lines of \"<key ID> <size> <root> <name>\" (damaged?): the server cannot tell whether this ledger was rolled back; nothing was served (move it aside knowingly: the operator runbook, \"Restoring a ledger\")"
        )
        guard (status.st_mode & S_IFMT) == S_IFREG, let data = FileManager.default.contents(atPath: path), data.count <= fileBytesMax,
            let text = String(data: data, encoding: .utf8)
        else { throw unusable }
        var said = [String: Witnessed]()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.count == 4, let size = Int64(parts[1]), size >= 0 else { throw unusable }
            let root: [UInt8]?
            if parts[2] == "-" {
                root = nil
            } else {
                guard let bytes = Encoding.unhex(String(parts[2])), bytes.count == 32 else { throw unusable }
                root = bytes
            }
            said[String(parts[0])] = Witnessed(size: size, refusedRoot: root, name: String(parts[3]))
        }
        return said
    }

    /// Refuses a state folder this process cannot write: a guard that cannot keep what it learns
    /// guards nothing.
    static func checkWritable(_ directory: String) throws {
        let probe = directory + "/.gigaledger-probe-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            let why = errno == EACCES || errno == EPERM ? "permission denied: " + Files.whyUnwritable(directory) : String(cString: strerror(errno))
            throw StateUnusable(
                message:
                    "the server's state folder \(directory) cannot be written (--state): \(why); the rollback guard could keep nothing there; nothing was served"
            )
        }
        close(descriptor)
        unlink(probe)
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
        try checkWitnessed(size: size, root: root)
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

    /// Refuses a ledger of `size` entries behind what a witness said it cosigned, or whose first
    /// entries are those a witness refused (`root(n)`: the root of the first n entries).
    public func checkWitnessed(size: Int64, root: (Int64) throws -> [UInt8]) throws {
        let witnessed = lock.withLock { self.witnessed }
        let doubt =
            "(a witness's answer is not signed: if that witness is wrong, move \(witnessedFile) aside knowingly)"
        if let (id, ahead) = witnessed.max(by: { $0.value.size < $1.value.size }), ahead.size > size {
            throw RolledBack(
                message:
                    "the ledger holds \(size) entries, fewer than the \(ahead.size) witness \(ahead.name) (key \(id)) said it cosigned (\(witnessedFile)): it is a backup restored from before that checkpoint, or a former primary that missed the last commits; serve a copy that holds at least \(ahead.size) entries (a replica or a publication: the operator runbook, \"Restoring a ledger\") \(doubt); nothing was served"
            )
        }
        for (id, said) in witnessed.sorted(by: { $0.key < $1.key }) {
            // A ledger's first entries never change under its one writer: a refused root found
            // not to be this ledger's is not looked up again (the one-writer check runs often).
            guard let refused = said.refusedRoot, said.size <= size, !lock.withLock({ cleared.contains(refused) }) else { continue }
            guard try root(said.size) == refused else {
                lock.withLock { _ = cleared.insert(refused) }
                continue
            }
            throw RolledBack(
                message:
                    "the ledger's first \(said.size) entries are not those witness \(said.name) (key \(id)) cosigned: it refused a consistency proof from them (\(witnessedFile)): another history (a fork, or a backup restored and written after), not the one this server's log key had witnessed; serve a copy of the witnessed history (the operator runbook, \"Restoring a ledger\") \(doubt); nothing was served"
            )
        }
    }

    /// Keeps what a witness said: the size it cosigned (its 409), when larger than the one kept for
    /// it, or (`refusedRoot`) that it refused this ledger's first `size` entries, whose root that
    /// is. Kept in memory at once (the server stops on it), and in the file, all or nothing (a new
    /// file renamed over the old); returns false when the file could not be written.
    @discardableResult
    public func learn(witnessKeyID: String, name: String, size: Int64, refusedRoot: [UInt8]? = nil) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let known = witnessed[witnessKeyID]
        let safeName = String(String.UnicodeScalarView(name.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        if size > (known?.size ?? 0) {
            witnessed[witnessKeyID] = Witnessed(size: size, refusedRoot: refusedRoot, name: safeName)
        } else if size == known?.size, let refusedRoot, known?.refusedRoot == nil {
            witnessed[witnessKeyID] = Witnessed(size: size, refusedRoot: refusedRoot, name: safeName)
        } else {
            return true
        }
        let text = witnessed.keys.sorted().map { id -> String in
            let said = witnessed[id]!
            return "\(id) \(said.size) \(said.refusedRoot.map(Encoding.hex) ?? "-") \(said.name)\n"
        }.joined()
        return (try? OutputFiles.replace(text, at: witnessedFile, sync: true)) != nil
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
