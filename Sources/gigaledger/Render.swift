import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// How entries look to people (one line, or in full) and to scripts (JSON).
enum Render {
    /// The SQL that gives the server and the officers a PostgreSQL role that may only read and append:
    /// the role that made the tables owns them and could drop their triggers.
    static func grants(_ sql: String) {
        print("")
        print("-- For the server and the officers, an administrator of the database makes a role that may only")
        print("-- read and append (`verify` warns while the role in use may update, delete or own the tables):")
        print(sql)
    }

    /// What was recorded, printed and flushed: output that cannot be written throws, and the
    /// append it describes is then not committed.
    static func recorded(_ entry: Entry, what: String) throws {
        print("entry \(entry.seq): \(what)")
        print("hash \(Encoding.hex(entry.hash))")
        try flushStandardOutput()
    }

    /// What a verification checked, in one line.
    static func verificationBasis(_ report: VerificationReport) -> String {
        guard let trusted = report.signaturesTrustedThrough else {
            return "verified: \(count(report.verifiedCount, "entry", "entries")), every signature checked"
        }
        let basis =
            "taken as checked by the checkpoint the ledger signed at \(trusted), whose signer checked them before signing (`checkpoint` with an authority key, or a server's log key as it admitted each entry; its root matched)"
        guard trusted < report.verifiedCount else {
            return "verified: \(count(report.verifiedCount, "entry", "entries")); their signatures were \(basis); --full-verify checks them again"
        }
        return
            "verified: \(count(report.verifiedCount, "entry", "entries")); signatures checked for entries \(trusted + 1) to \(report.verifiedCount), and for 1 to "
            + "\(trusted) \(basis); --full-verify checks them all"
    }

    /// `#12  2026-02-01T09:00:00Z  contribution  ...summary...  [signer]`
    static func line(_ entry: Entry, seqWidth: Int) -> String {
        let summary = (try? EntryBody.decode(entry.body)).map { summarize($0.data) } ?? "(body cannot be read; run gigaledger verify)"
        let number = "#\(entry.seq)"
        return
            "\(number.padding(toLength: max(seqWidth, number.count), withPad: " ", startingAt: 0))  \(entry.recordedAt)  \(entry.type.padding(toLength: 16, withPad: " ", startingAt: 0))  \(summary)  [\(entry.signer)]"
    }

    static func summarize(_ data: EntryData) -> String { data.summary }

    static func detail(_ entry: Entry) -> String {
        var lines = [
            "entry       \(entry.seq)",
            "type        \(entry.type)",
            "recorded at \(entry.recordedAt)",
            "signer      \(entry.signer)",
        ]
        if let body = try? EntryBody.decode(entry.body) {
            lines.append("summary     \(summarize(body.data))")
        } else {
            lines.append("summary     (body cannot be read; run gigaledger verify)")
        }
        lines += [
            "prev_hash   \(Encoding.hex(entry.prevHash))",
            "hash        \(Encoding.hex(entry.hash))",
            "signature   \(Encoding.hex(entry.signature))",
            "body        \(String(decoding: entry.body, as: UTF8.self))",
        ]
        return lines.joined(separator: "\n")
    }

    /// `1 entry`, `2 entries`.
    /// "entry 7", or "entries 7 to 9".
    static func entries(_ first: Int64, _ last: Int64) -> String { first == last ? "entry \(first)" : "entries \(first) to \(last)" }

    static func count<N: BinaryInteger>(_ n: N, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }

    /// Canonical JSON object, one line (for `--json`).
    static func jsonObject(_ members: [String: CanonicalJSON]) -> String {
        String(decoding: CanonicalJSON.object(members).encoded(), as: UTF8.self)
    }

    /// Canonical JSON array, one line (for `--json`).
    static func jsonArray(_ items: [CanonicalJSON]) -> String {
        String(decoding: CanonicalJSON.array(items).encoded(), as: UTF8.self)
    }

    /// The entry's columns, with the body as the JSON object it is (schema/FORMAT.md documents its fields).
    static func json(_ entry: Entry) -> String { jsonObject(jsonFields(entry)) }

    /// An entry's members as `json` writes them.
    static func jsonFields(_ entry: Entry) -> [String: CanonicalJSON] {
        let body = (try? CanonicalJSON.decode(entry.body)) ?? .string(String(decoding: entry.body, as: UTF8.self))
        let fields: [String: CanonicalJSON] = [
            "seq": .integer(entry.seq), "type": .string(entry.type), "recorded_at": .string(entry.recordedAt),
            "signer": .string(entry.signer), "prev_hash": .string(Encoding.hex(entry.prevHash)), "hash": .string(Encoding.hex(entry.hash)),
            "signature": .string(Encoding.hex(entry.signature)), "body": body,
        ]
        return fields
    }

    /// How the authority key came to be trusted, in words.
    /// `vouchingEntryType`: the type of the entry by which a later authority key vouched, when it
    /// did by an entry (else by a checkpoint of `vouchedAt` entries).
    static func trust(_ trusted: TrustedAuthorities.Trusted?, vouchingEntryType: String? = nil) -> String {
        guard let trusted else { return trust(nil as TrustedAuthorities.Outcome?) }
        guard let size = trusted.vouchedAt else { return trust(trusted.outcome) }
        let how =
            vouchingEntryType.map { "it signed entry \(size) (\($0)), whose hash covers the genesis and every entry before it" }
            ?? "it signed the checkpoint of \(count(size, "entry", "entries")), which commits to the genesis and every entry in it"
        return trust(trusted.outcome) + "; a later authority key: " + how
    }

    static func trust(_ outcome: TrustedAuthorities.Outcome?) -> String {
        switch outcome {
        case .pinned: return "as given by --authority-key"
        case .known(let path): return "as recorded in \(path)"
        case .recordedNow(let path): return "trusted on first use: recorded in \(path); pass --authority-key to check it against a key you hold"
        case .notRecorded: return "not checked: give --authority-key, or set HOME so it can be recorded"
        case nil: return "the genesis entry cannot be read"
        }
    }
}
