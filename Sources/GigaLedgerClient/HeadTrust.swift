import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Synchronization

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
    /// Where this user's own verified copy of each ledger is kept (`OwnCopies`), brought up to the
    /// server's head before each command: keys and revocations are judged from entries checked
    /// here, never from what a server lists. nil: no copy (no configuration folder); keys are then
    /// judged from the key entries the server's answer carries, each checked.
    public let copies: OwnCopies?
    /// The checkpoint keys found in the key entries of an answer, by the entries' hashes: every
    /// answer carries the same few entries, checked once per process.
    private let checkedKeys = CheckedKeys()

    public init(pinned: PublicKey?, known: TrustedAuthorities, kept: KeptCheckpoints, evidenceDirectory: String, copies: OwnCopies? = nil) {
        self.pinned = pinned
        self.known = known
        self.kept = kept
        self.evidenceDirectory = evidenceDirectory
        self.copies = copies
    }

    /// This trust without an own copy: the one a copy's own sync uses (it is the copy).
    var withoutCopies: HeadTrust { HeadTrust(pinned: pinned, known: known, kept: kept, evidenceDirectory: evidenceDirectory) }

    /// Checks the checkpoint a submission's answer carries: it extends `after` (the one checked
    /// before signing) and includes `entry`; then keeps it: the next command starts from a
    /// checkpoint that holds this office's own entry, so a server that later drops it is caught.
    @discardableResult
    public func keepRecorded(_ entry: Entry, proof: LedgerClient.Head, after checked: Checked, server: String, batch: [Entry] = []) throws -> Checked
    {
        let previous = KeptCheckpoints.Kept(note: checked.note, checkpoint: checked.checkpoint)
        // The entries recorded follow the head checked: the keys valid there sign the answer's
        // checkpoint, but for those the batch itself revokes.
        // (Only entries whose type column says so are read: the server refuses one whose body says otherwise.)
        let revoked = Set(
            batch.compactMap { entry -> KeyID? in
                guard entry.type == "key-revoke", case .keyRevoke(let revocation)? = (try? EntryBody.decode(entry.body))?.data else { return nil }
                return revocation.keyID
            })
        let keys = try copies?.keys(origin: proof.origin, at: checked.checkpoint.size)?.filter { !revoked.contains($0.id) }
        let proven = try check(proof, previous: previous, server: server, keys: keys)
        do {
            guard let inclusion = proof.entryInclusion, entry.seq <= proven.checkpoint.size else {
                throw ClientError.malformed("the answer has no inclusion proof of entry \(entry.seq)")
            }
            try Merkle.checkInclusion(
                index: entry.seq - 1, size: proven.checkpoint.size, leafHash: Merkle.leafHash(entry.hash), proof: inclusion,
                root: proven.checkpoint.root)
        } catch {
            throw try evidence(
                "the server acknowledged entry \(entry.seq) but its checkpoint of \(proven.checkpoint.size) entries does not include it (\(error))",
                answer: proof, previous: previous, server: server)
        }
        try kept.write(proven.note, origin: proven.checkpoint.origin, server: server)
        copies?.acknowledge(batch.isEmpty ? [entry] : batch, origin: proven.checkpoint.origin)
        return proven
    }

    public typealias Checked = (head: Entry, checkpoint: Checkpoint, note: String)

    /// The server's head, checked, and the checkpoint it is in; the checkpoint is kept for next
    /// time, per origin: any server of that ledger must extend it.
    public func checkedHead(_ client: LedgerClient) async throws -> Checked {
        try await checkedHeadAnswer(client).checked
    }

    /// `checkedHead`, with the answer it checked (its checkpoint keys: a receipt names the one
    /// that signed).
    public func checkedHeadAnswer(_ client: LedgerClient) async throws -> (checked: Checked, answer: LedgerClient.Head) {
        // The origin this server served last time says which kept checkpoint to ask a proof from.
        let hint = kept.origin(server: client.base)
        var previous = try hint.flatMap { try kept.read(origin: $0) }
        var answer = try await client.head(known: previous?.checkpoint.size ?? 0)
        if let hint, answer.origin != hint {
            // The same address now serves another ledger: not this client's to follow silently.
            throw try evidence(
                "the server now serves the ledger \(answer.origin), not \(hint) as before (if that is right, remove its line from \(kept.directory ?? "")/servers)",
                answer: answer, previous: previous, server: client.base)
        }
        if hint == nil, let known = try kept.read(origin: answer.origin) {
            previous = known
            answer = try await client.head(known: known.checkpoint.size)
        }
        let checked =
            if let copies {
                try await copies.synced(client, answer: answer, previous: previous, trust: self)
            } else {
                try check(answer, previous: previous, server: client.base)
            }
        try kept.write(checked.note, origin: checked.checkpoint.origin, server: client.base)
        return (checked, answer)
    }

    /// The head to sign after once another office appended first (a 409's head): with an own copy,
    /// the copy brought up to the server's head again (the entries between are checked here, keys
    /// and revocations included); else the answer's head, checked against the one before.
    public func checkedAfterConflict(_ proof: LedgerClient.Head, checked: Checked, client: LedgerClient) async throws -> Checked {
        let previous = KeptCheckpoints.Kept(note: checked.note, checkpoint: checked.checkpoint)
        guard let copies else { return try check(proof, previous: previous, server: client.base) }
        guard proof.origin == checked.checkpoint.origin else {
            throw try evidence(
                "the server's conflict answer is of \(proof.origin), not \(checked.checkpoint.origin)", answer: proof, previous: previous,
                server: client.base)
        }
        return try await copies.synced(client, answer: proof, previous: previous, trust: self, listing: false)
    }

    /// The keys whose signature on a checkpoint of `size` entries of the answer's ledger counts:
    /// from the own copy when there is one, else from the answer's key entries.
    public func checkpointKeys(_ answer: LedgerClient.Head, size: Int64) throws -> [PublicKey] {
        try copies?.keys(origin: answer.origin, at: size) ?? checkpointKeys(answer.checkpointKeyEntries, origin: answer.origin)
    }

    /// Keeps a checked checkpoint for next time (never one older than the one kept).
    public func keep(_ checked: Checked, server: String) throws {
        try kept.write(checked.note, origin: checked.checkpoint.origin, server: server)
    }

    /// Checks a head answer against the checkpoint kept before (nil the first time).
    /// `keys`: the checkpoint keys to trust (from the own copy); nil takes them from the answer's
    /// key entries.
    public func check(
        _ answer: LedgerClient.Head, previous: KeptCheckpoints.Kept?, server: String, keys given: [PublicKey]? = nil
    ) throws -> (head: Entry, checkpoint: Checkpoint, note: String) {
        let keys = try given ?? checkpointKeys(answer.checkpointKeyEntries, origin: answer.origin)
        let checkpoint: Checkpoint
        do { (checkpoint, _) = try Checkpoint.open(answer.checkpoint, trusting: keys) } catch {
            throw try evidence(
                "the server's checkpoint is not signed by a log or authority key of \(answer.origin) (\(error))", answer: answer, previous: previous,
                server: server)
        }
        guard checkpoint.origin == answer.origin, checkpoint.size == answer.size, answer.head.seq == answer.size else {
            throw try evidence(
                "the server's checkpoint (\(checkpoint.origin), size \(checkpoint.size)) does not describe its head (entry \(answer.head.seq))",
                answer: answer, previous: previous, server: server)
        }
        guard Entry.hash(prevHash: answer.head.prevHash, body: answer.head.body) == answer.head.hash else {
            throw try evidence(
                "the server's head entry \(answer.head.seq) does not hash to its hash", answer: answer, previous: previous, server: server)
        }
        do {
            try Merkle.checkInclusion(
                index: answer.size - 1, size: answer.size, leafHash: Merkle.leafHash(answer.head.hash), proof: answer.inclusion, root: checkpoint.root
            )
        } catch {
            throw try evidence(
                "the server's head entry \(answer.head.seq) is not the last entry of its checkpoint (\(error))", answer: answer, previous: previous,
                server: server)
        }
        if let previous {
            guard previous.checkpoint.origin == checkpoint.origin else {
                throw try evidence(
                    "the server now serves \(checkpoint.origin), not \(previous.checkpoint.origin) as before", answer: answer, previous: previous,
                    server: server)
            }
            guard previous.checkpoint.size <= checkpoint.size else {
                throw try evidence(
                    "the server's checkpoint has \(checkpoint.size) entries, fewer than the \(previous.checkpoint.size) it signed before: history was removed\(copies?.lostSentence(origin: checkpoint.origin, beyond: checkpoint.size, checkpointFile: kept.file(origin: checkpoint.origin)) ?? "")",
                    answer: answer, previous: previous, server: server)
            }
            do {
                guard answer.consistencyFrom == previous.checkpoint.size else {
                    throw ClientError.malformed("the proof is from size \(answer.consistencyFrom), not \(previous.checkpoint.size)")
                }
                try Merkle.checkConsistency(
                    old: previous.checkpoint.size, new: checkpoint.size, oldRoot: previous.checkpoint.root,
                    newRoot: checkpoint.root, proof: answer.consistency)
            } catch {
                throw try evidence(
                    "the server's checkpoint of \(checkpoint.size) entries does not extend the one of \(previous.checkpoint.size) it signed before (\(error)): a fork",
                    answer: answer, previous: previous, server: server)
            }
        }
        return (answer.head, checkpoint, answer.checkpoint)
    }

    /// The keys whose checkpoint signatures count: the genesis authority (which must be the one
    /// trusted for the origin) and every authority or log key an accepted authority enrolled, in
    /// order, each enrolment checked (hash, signature by an accepted authority key).
    func checkpointKeys(_ entries: [Entry], origin: String) throws -> [PublicKey] {
        let index = origin + " " + entries.map { Encoding.hex($0.hash) }.joined(separator: " ")
        if let keys = checkedKeys.keys(index) { return keys }
        let keys = try checkKeyEntries(entries, origin: origin)
        checkedKeys.keep(keys, index: index)
        return keys
    }

    private func checkKeyEntries(_ entries: [Entry], origin: String) throws -> [PublicKey] {
        var authorities = [PublicKey]()
        var keys = [PublicKey]()
        for entry in entries.sorted(by: { $0.seq < $1.seq }) {
            guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, case .success(let body) = Entry.readBody(entry) else {
                throw ClientError.malformed("a key entry the server sent (\(entry.seq)) does not read back")
            }
            switch body.data {
            case .genesis(let genesis) where entry.seq == 1:
                guard genesis.origin == origin else {
                    throw ClientError.malformed("the genesis the server sent is of \(genesis.origin), not \(origin)")
                }
                try trustRoot(origin: origin, authority: genesis.authority.publicKey.id)
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

    /// The one check of a ledger's root of trust, for every client path (appends, reads, `sync`):
    /// the genesis authority of `origin` is the key pinned (`--authority-key`), else the one this
    /// user recorded for the origin on first use (recorded now when there is none).
    /// A key pinned is recorded too when none is recorded for the origin yet (as `init` records
    /// its own): later commands, on a copy say, need no `--authority-key`.
    public func trustRoot(origin: String, authority: KeyID) throws {
        try trustRoot(origin: origin, genesis: authority, vouching: { _ in nil })
    }

    /// `trustRoot` for a ledger whose later authority keys may vouch for it (FORMAT.md section 12):
    /// `vouching` gives the size of the checkpoint a later authority key signed of it, nil when none.
    @discardableResult
    public func trustRoot(origin: String, genesis: KeyID, vouching: (KeyID) throws -> Int64?) throws -> TrustedAuthorities.Trusted {
        let trusted = try known.check(origin: origin, genesis: genesis, pinned: pinned, vouching: vouching)
        if let pinned { try? known.recordIfNone(origin: origin, key: pinned.id) }
        return trusted
    }

    /// Writes a fork found by a copy (`sync`) to a file: the copy's own checkpoint (its origin,
    /// size and root, unsigned: the copy's entries are its proof) and the checkpoint served; returns
    /// the error that stops the command.
    public func evidence(_ what: String, copy: Checkpoint?, served: String, server: String) throws -> ForkEvidence {
        let kept = copy.map(\.text) ?? ""
        let text = """
            gigaledger-fork-evidence/v1
            server \(server)
            found \(what)
            kept-checkpoint \(Array(kept.utf8).count)
            \(kept)served-checkpoint \(Array(served.utf8).count)
            \(served)
            """
        return try writeEvidence(text, what: what)
    }

    private func writeEvidence(_ text: String, what: String) throws -> ForkEvidence {
        // The time, and a random part: two findings in one second get two files.
        let path =
            evidenceDirectory
            + "/gigaledger-evidence-\(Timestamp.format(Date()).replacingOccurrences(of: ":", with: ""))-\(Encoding.hex(Sodium.randomBytes(4))).txt"
        try OutputFiles.writeNew(text, to: path)
        return ForkEvidence(what: what, path: path)
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
        return try writeEvidence(text, what: what)
    }
}

/// The server serves what does not extend what it served before, or what its keys did not sign.
public struct ForkEvidence: GigaLedgerError {
    public let what: String
    public let path: String
    public var description: String { "\(what); nothing was signed or taken in; the evidence is in \(path)" }
    public var kind: FailureKind { .notVerified }
}

/// The last checkpoint this user's client saw of each ledger origin, in the configuration folder
/// (`$XDG_CONFIG_HOME/gigaledger/checkpoints/`), one file per origin, and which origin each server
/// served last (`servers`, one line per server: URL and origin).
public struct KeptCheckpoints: Sendable {
    public let directory: String?

    public init(directory: String?) { self.directory = directory }

    /// `$XDG_CONFIG_HOME/gigaledger/checkpoints`, else `$HOME/.config/gigaledger/checkpoints`.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        TrustedAuthorities.defaultPath(environment: environment).map {
            URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("checkpoints").path
        }
    }

    public struct Kept: Sendable {
        public let note: String
        public let checkpoint: Checkpoint

        public init(note: String, checkpoint: Checkpoint) {
            self.note = note
            self.checkpoint = checkpoint
        }
    }

    /// The file for an origin: its characters outside [A-Za-z0-9.-] as `_`, then the first 8 hex
    /// digits of the origin's SHA-256, so that two origins never share a file (`a/b` and `a_b`).
    func file(origin: String) -> String? {
        directory.map { "\($0)/\(Self.stem(origin: origin)).checkpoint" }
    }

    /// The name of an origin's files (kept checkpoint, own copy): its characters outside
    /// [A-Za-z0-9.-] as `_`, a `-`, then the first 8 hex digits of its SHA-256.
    static func stem(origin: String) -> String {
        PathSegment.safe(origin, replacement: "_") + "-" + Encoding.hex(Array(SHA256State.hash(Array(origin.utf8)).prefix(4)))
    }

    /// The file of the scheme before: the name without the digest (read while no newer one is kept).
    func legacyFile(origin: String) -> String? {
        directory.map { "\($0)/\(PathSegment.safe(origin, replacement: "_")).checkpoint" }
    }

    public func read(origin: String) throws -> Kept? {
        if let path = file(origin: origin), FileManager.default.fileExists(atPath: path) { return try read(path, origin: origin) }
        // A file of the name before holds this origin's, or another origin's of the same name: not ours.
        guard let legacy = legacyFile(origin: origin), FileManager.default.fileExists(atPath: legacy),
            let kept = try? read(legacy, origin: origin)
        else { return nil }
        return kept
    }

    private func read(_ path: String, origin: String) throws -> Kept {
        let note = try OutputFiles.readText(path, what: "kept checkpoint", bytesMax: SignedNote.bytesMax)
        guard let signed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(signed.text), checkpoint.origin == origin else {
            throw UnreadableFile(what: "kept checkpoint", path: path, why: "it does not parse; move it aside to start again")
        }
        return Kept(note: note, checkpoint: checkpoint)
    }

    /// The origin `server` served last time, if known.
    public func origin(server: String) -> String? {
        guard let directory, let text = try? String(contentsOfFile: directory + "/servers", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").lazy.compactMap { line -> String? in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0] == server ? String(parts[1]) : nil
        }.last
    }

    /// Keeps `note` for `origin` (written to a temporary file and renamed: never half a
    /// checkpoint), and notes that `server` serves that origin. Not synced to the disk: a power
    /// cut can only leave the checkpoint kept before, which the next one must extend as well, and
    /// a sync for every append would slow every office's appends for nothing.
    public func write(_ note: String, origin: String, server: String) throws {
        guard let directory, let path = file(origin: origin) else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Another command of this user's may have kept a newer one meanwhile: never go back.
        let size = (try? Checkpoint.parse(SignedNote.parse(note).text))?.size ?? 0
        if let current = try? read(origin: origin), current.checkpoint.size > size { return }
        try OutputFiles.replace(note, at: path, sync: false)
        if self.origin(server: server) != origin {
            let lines =
                ((try? String(contentsOfFile: directory + "/servers", encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { !$0.hasPrefix(server + " ") }.map(String.init) + ["\(server) \(origin)"]
            try OutputFiles.replace(lines.joined(separator: "\n") + "\n", at: directory + "/servers")
        }
    }
}

/// `HeadTrust`'s memo of checked key entries: a few sets per process, whatever a server sends.
final class CheckedKeys: Sendable {
    private static let setsMax = 16
    private let table = Mutex<[String: [PublicKey]]>([:])

    func keys(_ index: String) -> [PublicKey]? { table.withLock { $0[index] } }

    func keep(_ keys: [PublicKey], index: String) {
        table.withLock { table in
            if table.count >= Self.setsMax { table.removeAll() }
            table[index] = keys
        }
    }
}

/// This user's own verified copy of each ledger it works with through a server, one SQLite file
/// per origin in the configuration folder (`$XDG_CONFIG_HOME/gigaledger/copies/`), kept by `sync`'s
/// code: before each command the copy takes in the entries new since last time (O(new)), each
/// checked as `verify` checks it, with the checkpoints the server lists; the head signed after is
/// the copy's head, and checkpoint keys (enrolled, revoked) are judged from the copy, so a server or
/// a proxy that leaves a revocation out, re-signs with a revoked key, or sends a forged head is
/// caught here (evidence written, exit 1, nothing signed).
public struct OwnCopies: Sendable {
    public let directory: String
    /// Called once before the first copy of a ledger of at least `noticeEntries` entries is made, with
    /// a line saying where it goes and how long it takes (the library prints nothing itself).
    public let notice: (@Sendable (String) -> Void)?

    /// A first copy of this many entries or more is announced (a few seconds or more).
    static let noticeEntries: Int64 = 20_000
    /// What a first copy takes in per second, for the announcement: measured about 18,000 (BENCHMARKS.md,
    /// "Many offices"), rounded down for slower machines.
    static let entriesPerSecondEstimate: Int64 = 10_000

    /// How long a command waits for another command of this user to finish syncing the same copy
    /// (`--lock-wait`; a first copy of a large ledger takes minutes).
    public let lockWaitSeconds: Double

    public init(directory: String, notice: (@Sendable (String) -> Void)? = nil, lockWaitSeconds: Double = Ledger.lockWaitSecondsDefault) {
        self.directory = directory
        self.notice = notice
        self.lockWaitSeconds = lockWaitSeconds
    }

    /// `$XDG_CONFIG_HOME/gigaledger/copies`, else `$HOME/.config/gigaledger/copies`.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        TrustedAuthorities.defaultPath(environment: environment).map {
            URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("copies").path
        }
    }

    /// The copy of `origin`, named as its kept checkpoint is (`KeptCheckpoints.stem`: two origins
    /// never share a file).
    public func path(origin: String) -> String {
        directory + "/" + KeptCheckpoints.stem(origin: origin) + ".sqlite"
    }

    /// The copy of `origin`, opened to read; nil when there is none yet.
    public func ledger(origin: String) throws -> Ledger? {
        let path = path(origin: origin)
        guard try Ledger.exists(at: path) else { return nil }
        return try Ledger.open(path: path, forWriting: false)
    }

    /// The file beside the copy of `origin` where this user's entries the server acknowledged are
    /// listed, one line each, `<seq> <entry hash hex> <summary>`, appended after each
    /// acknowledgement (the copy takes them in at the next command): read only when a server is
    /// found behind them, to say which of them it lost.
    public func acknowledgedPath(origin: String) -> String { path(origin: origin) + ".acknowledged" }

    /// Lists `entries`, acknowledged by the server, in the acknowledged file. Best effort: the
    /// acknowledgement stands without it (it only serves to name lost entries later).
    func acknowledge(_ entries: [Entry], origin: String) {
        // A batch's lines made on every core: this runs after the server's answer, before the command ends.
        let lines = Parallel.map(entries) { entry -> String in
            let summary = (try? EntryBody.decode(entry.body)).map { "\($0.data.type) \($0.data.summary)" } ?? entry.type
            // One line each (a summary rarely holds a line break: looked for byte by byte, not by Foundation's search).
            let line = summary.utf8.contains(0x0a) ? String(decoding: summary.utf8.map { $0 == 0x0a ? 0x20 : $0 }, as: UTF8.self) : summary
            return "\(entry.seq) \(Encoding.hex(entry.hash)) " + line + "\n"
        }
        let descriptor = open(acknowledgedPath(origin: origin), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(lines.joined().utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// This user's acknowledged entries beyond `size` (a server found holding only `size` entries
    /// lost them), each as `entry N (summary)`, at most `lostListedMax`; the last acknowledgement of
    /// a seq stands (a later ledger's entry of that seq replaces an earlier one's).
    /// Lines that are not `<seq> <64 hex> <summary>`, and lines of a seq the copy holds with
    /// another hash (not this user's entry), are left out; the file is read only as a regular
    /// file (never through a link) and up to `acknowledgedBytesMax`.
    public func lostAcknowledged(origin: String, beyond size: Int64) -> [String] {
        acknowledged(origin: origin).filter { $0.seq > size }.prefix(Self.lostListedMax).map(\.text)
    }

    /// The acknowledged file's entries, by seq (the last line of a seq stands), each checked as
    /// `lostAcknowledged` says.
    func acknowledged(origin: String) -> [(seq: Int64, hash: [UInt8], text: String)] {
        let descriptor = open(acknowledgedPath(origin: origin), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return [] }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
            let data = try? handle.read(upToCount: Self.acknowledgedBytesMax)
        else { return [] }
        let copy = try? ledger(origin: origin)
        let copySize = (try? copy?.size()) ?? 0
        var bySeq = [Int64: (hash: [UInt8], text: String)]()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let seq = Int64(parts[0]), seq > 0, let hash = Encoding.unhex(String(parts[1])), hash.count == 32
            else { continue }
            if seq <= copySize, (try? copy?.entry(seq))??.hash != hash { continue }
            bySeq[seq] = (
                hash, "entry \(seq) (\(parts[2].unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f } ? String(parts[2]) : "?"))"
            )
        }
        return bySeq.keys.sorted().map { ($0, bySeq[$0]!.hash, bySeq[$0]!.text) }
    }

    /// This user's acknowledged entries a server of another history no longer holds: from the
    /// newest down, each compared with the server's entry of that seq (beyond its size, or another
    /// hash: lost) until one it holds as acknowledged (the hash chain: everything below agrees).
    /// At most `lostListedMax` entries are asked for.
    func lostOnServer(origin: String, client: LedgerClient, serverSize: Int64) async -> [String] {
        var lost = [String]()
        for item in acknowledged(origin: origin).reversed().prefix(Self.lostListedMax) {
            if item.seq <= serverSize {
                guard let served = try? await client.entry(item.seq) else { break }  // cannot tell: stop
                if served.hash == item.hash { break }
            }
            lost.append(item.text)
        }
        return lost.reversed()
    }

    /// The most of the acknowledged file read (about 200,000 entries' lines).
    static let acknowledgedBytesMax = 32 * 1024 * 1024

    /// The most lost entries named in one message (the file names them all).
    static let lostListedMax = 50

    /// The sentence that names this user's lost entries, or "" when none.
    /// `checkpointFile`: the checkpoint the client kept for the server, to be moved aside too.
    func lostSentence(origin: String, beyond size: Int64, checkpointFile: String?) -> String {
        sentence(lostAcknowledged(origin: origin, beyond: size), origin: origin, checkpointFile: checkpointFile)
    }

    /// The sentence that names `lost`, this user's lost entries, or "" when none.
    func sentence(_ lost: [String], origin: String, checkpointFile: String?) -> String {
        guard !lost.isEmpty else { return "" }
        return
            "; of your own entries the server acknowledged, it lost \(lost.joined(separator: ", "))\(lost.count == Self.lostListedMax ? " and maybe more" : "") (numbered as the server numbered them before the loss; listed in \(acknowledgedPath(origin: origin))): once the server's operator says it serves the restored ledger, keep that list, move aside this copy (every file whose name starts with \(path(origin: origin))) and the checkpoint kept for the server\(checkpointFile.map { " (\($0))" } ?? ""), then record them again"
    }

    /// The keys whose signature on a checkpoint of `size` entries counts, from the copy of `origin`;
    /// nil when there is no copy yet.
    func keys(origin: String, at size: Int64) throws -> [PublicKey]? {
        try ledger(origin: origin)?.checkpointKeys(at: size)
    }

    /// Brings the copy of the answer's ledger up to the server's latest checkpoint (made the first
    /// time) and returns its head and that checkpoint. What does not verify against the copy, and a
    /// server behind it (a rollback), is evidence: written, exit 1.
    /// `listing` false (after a conflict) takes in the entries up to the answer's checkpoint alone.
    func synced(
        _ client: LedgerClient, answer: LedgerClient.Head, previous: KeptCheckpoints.Kept?, trust: HeadTrust, listing: Bool = true
    ) async throws -> HeadTrust.Checked {
        let path = path(origin: answer.origin)
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw OutputError(path: directory, why: "cannot create it (the folder of this user's verified copies of ledgers)")
        }
        // One sync of a copy at a time: this user's commands may run side by side (a script's, a terminal's).
        let lock = try await CopyLock.take(path + ".lock", waitSeconds: lockWaitSeconds)
        defer { lock.release() }
        if !(try Ledger.exists(at: path)), answer.size >= Self.noticeEntries, let notice {
            let seconds = max(1, answer.size / Self.entriesPerSecondEstimate)
            notice(
                "keeping a verified copy of \(answer.origin) in \(path): \(answer.size) entries to check the first time, about \(seconds) s; later commands take in only new entries"
            )
        }
        let outcome: Replica.Outcome
        let existed = (try? Ledger.exists(at: path)) == true
        do {
            outcome = try await Replica(client: client, trust: trust.withoutCopies).sync(path: path, offered: answer.checkpoint, listing: listing)
        } catch let error as UntrustedAuthority where existed {
            // The copy kept before is of another ledger of this origin (one trusted on first use, say).
            throw OwnCopyUnusable(path: path, why: "it is a copy of another ledger than the one you trust (\(error))")
        } catch let error as any GigaLedgerError
            where error.kind == .notVerified && !(error is UntrustedAuthority)
        {
            // The copy itself, before the server is blamed: a broken copy is this machine's problem.
            if (try? Ledger.exists(at: path)) == true {
                let problem: String?
                do { problem = try Ledger.open(path: path, forWriting: false).copyProblem(path: path) } catch { problem = "\(error)" }
                if let problem { throw OwnCopyUnusable(path: path, why: problem) }
            }
            // Another history than the copy's (a restore written after, say): this user's entries
            // it no longer holds as acknowledged are named, as when it is behind.
            let lost = await lostOnServer(origin: answer.origin, client: client, serverSize: answer.size)
            if let evidence = error as? ForkEvidence {
                throw ForkEvidence(
                    what: evidence.what + sentence(lost, origin: answer.origin, checkpointFile: trust.kept.file(origin: answer.origin)),
                    path: evidence.path)
            }
            throw try trust.evidence(
                "what \(client.base) serves does not verify against this user's copy of the ledger (\(error))"
                    + sentence(lost, origin: answer.origin, checkpointFile: trust.kept.file(origin: answer.origin)),
                answer: answer, previous: previous, server: client.base)
        }
        guard let note = outcome.reached, let signed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(signed.text) else {
            throw try trust.evidence(
                "the server's checkpoint has \(outcome.offered) entries, fewer than the \(outcome.before) this user's verified copy of the ledger holds: history was removed; that copy, \(path), holds \(outcome.offered + 1 == outcome.before ? "entry \(outcome.before)" : "the entries \(outcome.offered + 1) to \(outcome.before)"), which the server lost: send it to the server's operator (a ledger is restored from such a copy, see the runbook's \"Restoring a ledger\")\(lostSentence(origin: answer.origin, beyond: outcome.offered, checkpointFile: trust.kept.file(origin: answer.origin)))",
                answer: answer, previous: previous, server: client.base)
        }
        let copy = try Ledger.open(path: path, forWriting: false)
        guard let head = try copy.entry(checkpoint.size) else {
            throw ClientError.malformed("this user's copy \(path) has no entry \(checkpoint.size) after its sync")
        }
        // A checkpoint kept from another server of this ledger must be of the copy's own history.
        if let previous, previous.checkpoint.origin == checkpoint.origin {
            guard previous.checkpoint.size <= checkpoint.size else {
                throw try trust.evidence(
                    "the server's checkpoint has \(checkpoint.size) entries, fewer than the \(previous.checkpoint.size) it signed before: history was removed\(lostSentence(origin: checkpoint.origin, beyond: checkpoint.size, checkpointFile: trust.kept.file(origin: checkpoint.origin)))",
                    answer: answer, previous: previous, server: client.base)
            }
            guard try copy.root(size: previous.checkpoint.size) == previous.checkpoint.root else {
                throw try trust.evidence(
                    "the server's ledger does not extend the checkpoint of \(previous.checkpoint.size) entries kept before: a fork", answer: answer,
                    previous: previous, server: client.base)
            }
        }
        return (head, checkpoint, note)
    }
}

/// An exclusive `flock` on a file beside a copy, held while a command syncs that copy; the kernel
/// drops it when the process ends, however it ends.
struct CopyLock {
    private let descriptor: Int32
    /// The pause between tries while another command holds it.
    static let pauseMilliseconds = 5

    private init(descriptor: Int32) { self.descriptor = descriptor }

    static func take(_ path: String, waitSeconds: Double) async throws -> CopyLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw OutputError(path: path, why: "cannot open it: \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(waitSeconds * 1000))
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard ContinuousClock.now < deadline else {
                close(descriptor)
                throw ServerBusy(
                    message:
                        "another gigaledger command of yours has been bringing the verified copy \(path.dropLast(5)) up to date for \(RemoteAppend.seconds(waitSeconds)) s (--lock-wait); nothing was signed, retry (a first copy of a large ledger takes a while)"
                )
            }
            try await Task.sleep(for: .milliseconds(pauseMilliseconds))
        }
        return CopyLock(descriptor: descriptor)
    }

    func release() { close(descriptor) }
}

/// This user's own copy of a ledger is broken (damaged, written into, detached): nothing the server
/// did; the copy is set aside and made again.
public struct OwnCopyUnusable: GigaLedgerError {
    public let path: String
    public let why: String
    public var description: String {
        "this user's verified copy of the ledger, \(path), cannot be used: \(why); move it aside (with the files beside it that start with its name) and run the command again: a new copy is made from the server; nothing was signed"
    }
    public var kind: FailureKind { .unusable }
}
