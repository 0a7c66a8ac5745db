import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// What a client checks of a server's head before it signs after it, so that it never signs a fork:
/// the checkpoint is signed by a log (or authority) key that the trusted authority enrolled; it is
/// consistent with the checkpoint this client kept last time (same origin, no smaller, a valid
/// consistency proof); and the head is its last entry (an inclusion proof). Any failure writes the
/// evidence to a file and stops the command (exit 1: what the server serves does not verify).
public struct HeadTrust: Sendable {
    /// The authority key given (`--authority-key`), if any.
    public let pinned: PublicKey?
    /// The known-ledgers file: the authority of each origin, recorded on first use.
    public let known: TrustedAuthorities
    /// Where the last checkpoint seen of each origin is kept.
    public let kept: KeptCheckpoints
    /// Where evidence of a fork is written.
    public let evidenceDirectory: String

    public init(pinned: PublicKey?, known: TrustedAuthorities, kept: KeptCheckpoints, evidenceDirectory: String) {
        self.pinned = pinned
        self.known = known
        self.kept = kept
        self.evidenceDirectory = evidenceDirectory
    }

    /// The server's head, checked, and the checkpoint it is in; the checkpoint is kept for next time.
    public func checkedHead(_ client: LedgerClient) async throws -> (head: Entry, checkpoint: Checkpoint, note: String) {
        let previous = try kept.read(origin: nil, server: client.base)
        let answer = try await client.head(known: previous?.checkpoint.size ?? 0)
        let checked = try check(answer, previous: previous, server: client.base)
        try kept.write(checked.note, server: client.base)
        return checked
    }

    /// Checks a head answer against the checkpoint kept before (nil the first time).
    public func check(_ answer: LedgerClient.Head, previous: KeptCheckpoints.Kept?, server: String) throws -> (head: Entry, checkpoint: Checkpoint, note: String) {
        let keys = try checkpointKeys(answer.checkpointKeyEntries, origin: answer.origin)
        let checkpoint: Checkpoint
        do { (checkpoint, _) = try Checkpoint.open(answer.checkpoint, trusting: keys) } catch {
            throw try evidence("the server's checkpoint is not signed by a log or authority key of \(answer.origin) (\(error))", answer: answer, previous: previous, server: server)
        }
        guard checkpoint.origin == answer.origin, checkpoint.size == answer.size, answer.head.seq == answer.size else {
            throw try evidence("the server's checkpoint (\(checkpoint.origin), size \(checkpoint.size)) does not describe its head (entry \(answer.head.seq))", answer: answer, previous: previous, server: server)
        }
        guard Entry.hash(prevHash: answer.head.prevHash, body: answer.head.body) == answer.head.hash else {
            throw try evidence("the server's head entry \(answer.head.seq) does not hash to its hash", answer: answer, previous: previous, server: server)
        }
        do {
            try Merkle.checkInclusion(index: answer.size - 1, size: answer.size, leafHash: Merkle.leafHash(answer.head.hash), proof: answer.inclusion, root: checkpoint.root)
        } catch {
            throw try evidence("the server's head entry \(answer.head.seq) is not the last entry of its checkpoint (\(error))", answer: answer, previous: previous, server: server)
        }
        if let previous {
            guard previous.checkpoint.origin == checkpoint.origin else {
                throw try evidence("the server now serves \(checkpoint.origin), not \(previous.checkpoint.origin) as before", answer: answer, previous: previous, server: server)
            }
            guard previous.checkpoint.size <= checkpoint.size else {
                throw try evidence("the server's checkpoint has \(checkpoint.size) entries, fewer than the \(previous.checkpoint.size) it signed before: history was removed", answer: answer, previous: previous, server: server)
            }
            do {
                guard answer.consistencyFrom == previous.checkpoint.size else { throw ClientError.malformed("the proof is from size \(answer.consistencyFrom), not \(previous.checkpoint.size)") }
                try Merkle.checkConsistency(old: previous.checkpoint.size, new: checkpoint.size, oldRoot: previous.checkpoint.root,
                                            newRoot: checkpoint.root, proof: answer.consistency)
            } catch {
                throw try evidence("the server's checkpoint of \(checkpoint.size) entries does not extend the one of \(previous.checkpoint.size) it signed before (\(error)): a fork", answer: answer, previous: previous, server: server)
            }
        }
        return (answer.head, checkpoint, answer.checkpoint)
    }

    /// The keys whose checkpoint signatures count: the genesis authority (which must be the one
    /// trusted for the origin) and every authority or log key an accepted authority enrolled, in
    /// order, each enrolment checked (hash, signature by an accepted authority key).
    func checkpointKeys(_ entries: [Entry], origin: String) throws -> [PublicKey] {
        var authorities = [PublicKey]()
        var keys = [PublicKey]()
        for entry in entries.sorted(by: { $0.seq < $1.seq }) {
            guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, case .success(let body) = Entry.readBody(entry) else {
                throw ClientError.malformed("a key entry the server sent (\(entry.seq)) does not read back")
            }
            switch body.data {
            case .genesis(let genesis) where entry.seq == 1:
                guard genesis.origin == origin else { throw ClientError.malformed("the genesis the server sent is of \(genesis.origin), not \(origin)") }
                _ = try known.check(origin: origin, authority: genesis.authority.publicKey.id, pinned: pinned)
                guard genesis.authority.publicKey.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash)) else {
                    throw ClientError.malformed("the genesis the server sent is not signed by its authority")
                }
                authorities.append(genesis.authority.publicKey)
                keys.append(genesis.authority.publicKey)
            case .keyEnroll(let enrolment) where enrolment.role.signsCheckpoints:
                guard let signer = authorities.first(where: { $0.id == body.signer }),
                      signer.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash))
                else { continue }
                if enrolment.role == .authority { authorities.append(enrolment.publicKey) }
                keys.append(enrolment.publicKey)
            default:
                continue
            }
        }
        guard !authorities.isEmpty else { throw ClientError.malformed("the server sent no genesis entry with its checkpoint keys") }
        return keys
    }

    /// Writes what the server served and what was kept before to a file, and returns the error
    /// that stops the command.
    func evidence(_ what: String, answer: LedgerClient.Head, previous: KeptCheckpoints.Kept?, server: String) throws -> ForkEvidence {
        let text = """
            gigaledger-fork-evidence/v1
            server \(server)
            found \(what)
            kept-checkpoint \(previous.map { Array($0.note.utf8).count } ?? 0)
            \(previous?.note ?? "")served-checkpoint \(Array(answer.checkpoint.utf8).count)
            \(answer.checkpoint)served-consistency-from \(answer.consistencyFrom)
            served-consistency \(answer.consistency.count)
            \(answer.consistency.map { Encoding.hex($0) + "\n" }.joined())served-head \(String(decoding: EntryWire.encode(answer.head), as: UTF8.self))
            served-inclusion \(answer.inclusion.count)
            \(answer.inclusion.map { Encoding.hex($0) + "\n" }.joined())
            """
        let path = evidenceDirectory + "/gigaledger-evidence-\(Timestamp.format(Date()).replacingOccurrences(of: ":", with: "")).txt"
        try OutputFiles.writeNew(text, to: path)
        return ForkEvidence(what: what, path: path)
    }
}

/// The server serves what does not extend what it served before, or what its keys did not sign.
public struct ForkEvidence: GigaLedgerError {
    public let what: String
    public let path: String
    public var description: String { "\(what); nothing was signed; the evidence is in \(path)" }
    public var kind: FailureKind { .notVerified }
}

/// The last checkpoint this user's client saw of each server, in the configuration folder
/// (`$XDG_CONFIG_HOME/gigaledger/checkpoints/`), one file per server.
public struct KeptCheckpoints: Sendable {
    public let directory: String?

    public init(directory: String?) { self.directory = directory }

    /// `$XDG_CONFIG_HOME/gigaledger/checkpoints`, else `$HOME/.config/gigaledger/checkpoints`.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        TrustedAuthorities.defaultPath(environment: environment).map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("checkpoints").path }
    }

    public struct Kept: Sendable {
        public let note: String
        public let checkpoint: Checkpoint
    }

    /// The file name for a server: its URL with every character outside [A-Za-z0-9.-] as `_`.
    func file(server: String) -> String? {
        let name = String(server.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "_" })
        return directory.map { "\($0)/\(name)" }
    }

    public func read(origin: String?, server: String) throws -> Kept? {
        guard let path = file(server: server), FileManager.default.fileExists(atPath: path) else { return nil }
        let note = try OutputFiles.readText(path, what: "kept checkpoint", bytesMax: SignedNote.bytesMax)
        guard let signed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(signed.text) else {
            throw ClientError.malformed("the checkpoint kept in \(path) does not parse; move it aside to start again")
        }
        return Kept(note: note, checkpoint: checkpoint)
    }

    /// Keeps `note` (written to a temporary file and renamed: never half a checkpoint).
    public func write(_ note: String, server: String) throws {
        guard let path = file(server: server) else { return }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try OutputFiles.replace(note, at: path)
    }
}
