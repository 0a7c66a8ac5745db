import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// A ledger whose authority is not the one trusted for its origin: a replacement ledger, made
/// with another authority key under the same name, must not print "verified".
public struct UntrustedAuthority: GigaLedgerError, Equatable {
    public let origin: String
    public let found: KeyID
    public let trusted: KeyID
    /// Where the trusted key came from: `--authority-key`, or the file that recorded it on first use.
    public let source: String

    public var description: String {
        "the ledger \(origin) has authority key \(found), not \(trusted) as \(source) says, and \(trusted) signed no entry and no checkpoint of it as an authority key of the ledger: it is not the ledger you trust "
            + (source == "--authority-key"
                ? "(check which key its operator holds, and give that key's .pub)"
                : "(if its operator really started a new ledger under this name, check the new key with them, then pass it with --authority-key or remove the line for \(origin) from \(source))")
    }
    public var kind: FailureKind { .notVerified }
}

/// The authority key an auditor trusts for each ledger origin, as ssh trusts host keys: given
/// explicitly (`--authority-key`), or recorded the first time a ledger of that origin is opened,
/// in a file in the user's configuration folder (one line per origin: `ORIGIN KEYID`).
public struct TrustedAuthorities: Sendable {
    /// The known-ledgers file; nil when there is no home to keep it in (nothing is then recorded).
    public let path: String?

    public init(path: String?) { self.path = path }

    /// `$XDG_CONFIG_HOME/gigaledger/known_ledgers`, else `$HOME/.config/gigaledger/known_ledgers`.
    public static func defaultPath(environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return config + "/gigaledger/known_ledgers" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.config/gigaledger/known_ledgers" }
        return nil
    }

    /// How the authority key of a ledger came to be trusted.
    public enum Outcome: Equatable, Sendable {
        case pinned
        case known(path: String)
        case recordedNow(path: String)
        case notRecorded
    }

    /// The authority key trusted for a ledger, and how: the genesis authority, or a later
    /// authority key (`vouchedAt`: the size of the checkpoint it signed, which holds the genesis
    /// and every entry below it).
    public struct Trusted: Equatable, Sendable {
        public let outcome: Outcome
        public let key: KeyID
        public let vouchedAt: Int64?
    }

    /// Checks `authority` as the authority key of `origin` against `pinned` when given, else the
    /// known-ledgers file, recording it there on first use. Throws `UntrustedAuthority` on a mismatch.
    public func check(origin: String, authority: KeyID, pinned: PublicKey?) throws -> Outcome {
        try check(origin: origin, genesis: authority, pinned: pinned, vouching: { _ in nil }).outcome
    }

    /// The root of trust rotates, as TUF's root does (FORMAT.md section 12): the key trusted for
    /// `origin` (`pinned`, else the one recorded) is the genesis authority `genesis`, or a later
    /// authority key of the ledger that signed an entry or a checkpoint of it (`vouching` gives that
    /// checkpoint's size, nil when there is none). On first use the genesis authority is recorded;
    /// a later key pinned is recorded as given. Throws `UntrustedAuthority` otherwise.
    public func check(
        origin: String, genesis: KeyID, pinned: PublicKey?, vouching: (KeyID) throws -> Int64?
    ) throws -> Trusted {
        func accepted(_ trusted: KeyID, _ outcome: Outcome, source: String) throws -> Trusted {
            if trusted == genesis { return Trusted(outcome: outcome, key: genesis, vouchedAt: nil) }
            guard let size = try vouching(trusted) else {
                throw UntrustedAuthority(origin: origin, found: genesis, trusted: trusted, source: source)
            }
            return Trusted(outcome: outcome, key: trusted, vouchedAt: size)
        }
        if let pinned { return try accepted(pinned.id, .pinned, source: "--authority-key") }
        guard let path else { return Trusted(outcome: .notRecorded, key: genesis, vouchedAt: nil) }
        var known = try read()
        if let trusted = known[Self.key(origin)] {
            guard let id = try? KeyID.parse(trusted, field: "known") else {
                throw UnreadableFile(what: "known ledgers file", path: path, why: "the key ID for \(origin) is not a key ID; fix or remove that line")
            }
            return try accepted(id, .known(path: path), source: path)
        }
        known[Self.key(origin)] = genesis.description
        // A home that cannot be written (an auditor's read-only account) does not stop the audit:
        // the key is then only not recorded, which `verify` says.
        do { try write(known) } catch { return Trusted(outcome: .notRecorded, key: genesis, vouchedAt: nil) }
        return Trusted(outcome: .recordedNow(path: path), key: genesis, vouchedAt: nil)
    }

    /// Records `key` for `origin` when none is recorded yet (a key pinned: later commands need no
    /// `--authority-key`); never replaces one.
    public func recordIfNone(origin: String, key: KeyID) throws {
        guard path != nil else { return }
        var known = try read()
        guard known[Self.key(origin)] == nil else { return }
        known[Self.key(origin)] = key.description
        try write(known)
    }

    /// The refusal `check` would throw for `origin` and `authority`, without recording anything:
    /// `init` asks before it creates a ledger that would then be refused.
    public func conflict(origin: String, authority: KeyID) throws -> UntrustedAuthority? {
        guard let path, let trusted = try read()[Self.key(origin)], trusted != authority.description else { return nil }
        return UntrustedAuthority(origin: origin, found: authority, trusted: (try? KeyID.parse(trusted, field: "known")) ?? authority, source: path)
    }

    /// Records `authority` for `origin` (a ledger just created), replacing nothing already known.
    public func record(origin: String, authority: KeyID) throws {
        _ = try check(origin: origin, authority: authority, pinned: nil)
    }

    private func read() throws -> [String: String] {
        guard let path, FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try OutputFiles.readText(path, what: "known ledgers file", bytesMax: Self.fileBytesMax)
        var known = [String: String]()
        // Split by code points (a combining mark would join a space into one character), and keyed
        // by bytes below: two spellings of an origin are two origins.
        for line in text.unicodeScalars.split(separator: "\n") where !line.isEmpty && line.first != "#" {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw UnreadableFile(what: "known ledgers file", path: path, why: "it has a line that is not `ORIGIN KEYID`; fix or remove that line")
            }
            known[Self.key(String(String.UnicodeScalarView(parts[0])))] = String(String.UnicodeScalarView(parts[1]))
        }
        return known
    }

    private func write(_ known: [String: String]) throws {
        guard let path else { return }
        let folder = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw OutputError(path: folder, why: "cannot create it")
        }
        let lines = known.sorted { $0.key < $1.key }.map { "\(Self.origin(ofKey: $0.key)) \($0.value)" }
        try OutputFiles.replace(
            "# GigaLedger: the authority key trusted for each ledger origin (see `gigaledger verify --help`)\n"
                + lines.joined(separator: "\n") + "\n", at: path)
    }

    /// Origins are compared as bytes (Swift's `==` takes NFC and NFD, K and U+212A, as one): the
    /// dictionary is keyed by the origin's UTF-8 bytes in hex.
    static func key(_ origin: String) -> String { Encoding.hex(Array(origin.utf8)) }
    static func origin(ofKey key: String) -> String { String(decoding: Encoding.unhex(key) ?? [], as: UTF8.self) }

    /// The largest known-ledgers file read.
    static let fileBytesMax = 1024 * 1024
}

extension Ledger {
    /// Where authority key `id`, enrolled in this ledger after the genesis, first vouched for its
    /// history (FORMAT.md section 12): the first entry it signed, or the first stored checkpoint it
    /// signed whose root is the ledger's first entries', while it was valid (after its enrolment,
    /// before its revocation). An entry's signature covers its hash, which covers the hash before it
    /// and so on back to the genesis; a checkpoint's root commits to every entry below it: either
    /// way the key's holder vouched for the genesis and every entry up to there. Returns that
    /// entry's sequence number or that checkpoint's size; nil when there is none, or when `id` is no
    /// authority key of the ledger.
    public func vouchingCheckpoint(of id: KeyID) throws -> Int64? {
        try store.read { try Self.vouchingCheckpoint(of: id, reader: $0) }
    }

    /// How many entries after its enrolment are searched for the first one a later authority key
    /// signed (a new authority signs within a few entries: its first act is to revoke the old one);
    /// beyond them, a checkpoint it signed vouches for it.
    static let vouchingEntriesSearchedMax: Int64 = 100_000

    static func vouchingCheckpoint(of id: KeyID, reader: StoreReader) throws -> Int64? {
        guard let record = try? reader.facts.key(id), record.enrolment.role == .authority, record.enrolledAt > 1,
            let enrolling = try reader.entry(record.enrolledAt)
        else { return nil }
        // The enrolment itself signed by an authority before it, back to the genesis.
        guard (try? checkEnrolmentChain(of: record, head: enrolling, reader: reader)) != nil else { return nil }
        let size = try reader.size()
        let origin = try Self.origin(reader)
        var checkpointSize: Int64?
        for row in try reader.checkpoints()
        where row.size >= record.enrolledAt && row.size <= size && (record.revokedAt.map { row.size < $0 } ?? true) {
            guard let (checkpoint, _) = try? Checkpoint.open(row.note, trusting: [record.enrolment.publicKey]),
                checkpoint.origin == origin, checkpoint.size == row.size,
                try Merkle.root(size: row.size, node: reader.treeNode) == checkpoint.root
            else { continue }
            checkpointSize = row.size
            break
        }
        // An entry it signed before that checkpoint, if any.
        let last = min(size, (record.revokedAt ?? size + 1) - 1, record.enrolledAt + vouchingEntriesSearchedMax, (checkpointSize ?? size + 1) - 1)
        var seq = record.enrolledAt + 1
        var previous = enrolling
        while seq <= last {
            let page = try reader.entries(from: seq, limit: 1_000)
            guard !page.isEmpty else { break }
            for entry in page where entry.seq <= last {
                // The chain from the enrolment on links, entry by entry (verify checks the rest).
                guard entry.prevHash == previous.hash, Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
                    return checkpointSize
                }
                previous = entry
                if entry.signer == id.description,
                    record.enrolment.publicKey.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash))
                {
                    return entry.seq
                }
            }
            seq = page[page.count - 1].seq + 1
        }
        return checkpointSize
    }

    /// The ledger's origin and the authority key its genesis entry enrols: its root of trust.
    public func rootOfTrust() throws -> (origin: String, authority: KeyID) {
        try store.read { reader in
            guard let bytes = try reader.body(1), case .genesis(let genesis) = try EntryBody.decode(bytes).data else {
                throw LedgerError.damaged("the ledger has no genesis entry")
            }
            return (genesis.origin, genesis.authority.publicKey.id)
        }
    }
}
