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
            + "(if its operator really started a new ledger under this name, check the new key with them, then pass it with --authority-key or remove the line for \(origin) from \(source))"
    }
    public var kind: FailureKind { .notVerified }
}

/// The authority key an auditor trusts for each ledger origin, as ssh trusts host keys: given
/// explicitly (`--authority-key`), or recorded the first time a ledger of that origin is opened,
/// in a file in the user's configuration folder (one line per origin: `ORIGIN KEYID`).
public struct TrustedAuthorities {
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
        if let trusted = known[origin] {
            guard trusted == authority.description else {
                throw UntrustedAuthority(origin: origin, found: authority, trusted: (try? KeyID.parse(trusted, field: "known")) ?? authority, source: path)
            }
            return .known(path: path)
        }
        known[origin] = authority.description
        // A home that cannot be written (an auditor's read-only account) does not stop the audit:
        // the key is then only not recorded, which `verify` says.
        do { try write(known) } catch { return .notRecorded }
        return .recordedNow(path: path)
    }

    /// Records `authority` for `origin` (a ledger just created), replacing nothing already known.
    public func record(origin: String, authority: KeyID) throws {
        _ = try check(origin: origin, authority: authority, pinned: nil)
    }

    private func read() throws -> [String: String] {
        guard let path, FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try OutputFiles.readText(path, what: "known ledgers file", bytesMax: Self.fileBytesMax)
        var known = [String: String]()
        for line in text.split(separator: "\n") where !line.isEmpty && !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw FileRefusal("known ledgers file \(path)", "has a line that is not `ORIGIN KEYID`") }
            known[String(parts[0])] = String(parts[1])
        }
        return known
    }

    private func write(_ known: [String: String]) throws {
        guard let path else { return }
        let folder = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw OutputError(path: folder, why: "cannot create it")
        }
        let lines = known.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        try OutputFiles.replace("# GigaLedger: the authority key trusted for each ledger origin (see `gigaledger verify --help`)\n"
                                + lines.joined(separator: "\n") + "\n", at: path)
    }

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
