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
        "the ledger \(origin) has authority key \(found), not \(trusted) as \(source) says: it is not the ledger you trust "
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

    /// Checks `authority` as the authority key of `origin` against `pinned` when given, else the
    /// known-ledgers file, recording it there on first use. Throws `UntrustedAuthority` on a mismatch.
    public func check(origin: String, authority: KeyID, pinned: PublicKey?) throws -> Outcome {
        if let pinned {
            guard pinned.id == authority else {
                throw UntrustedAuthority(origin: origin, found: authority, trusted: pinned.id, source: "--authority-key")
            }
            return .pinned
        }
        guard let path else { return .notRecorded }
        var known = try read()
        if let trusted = known[Self.key(origin)] {
            guard trusted == authority.description else {
                throw UntrustedAuthority(
                    origin: origin, found: authority, trusted: (try? KeyID.parse(trusted, field: "known")) ?? authority, source: path)
            }
            return .known(path: path)
        }
        known[Self.key(origin)] = authority.description
        // A home that cannot be written (an auditor's read-only account) does not stop the audit:
        // the key is then only not recorded, which `verify` says.
        do { try write(known) } catch { return .notRecorded }
        return .recordedNow(path: path)
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
