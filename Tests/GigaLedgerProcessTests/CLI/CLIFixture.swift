import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// A ledger built entirely through the `gigaledger` binary: an unencrypted authority key,
/// a passphrase-protected German officer key, one factory, one partner. In the test folder's
/// ledger.sqlite, or at `ledger` (a PostgreSQL database's URL).
struct CLIFixture {
    let dir: TempDir
    let passphraseFile: String
    /// The ledger's file or URL.
    let ledger: String
    var env: [String: String] { ["GIGALEDGER_LEDGER": ledger] }

    /// A SQLite fixture is a copy of one made once per test process (`template`): its keys, its
    /// ledger and the authority trusted on first use, so that a test derives no Argon2id key and
    /// runs no command to set up. A PostgreSQL one is made by the commands each time.
    init(ledger: String? = nil) throws {
        dir = TempDir()
        self.ledger = ledger ?? dir.file("ledger.sqlite")
        passphraseFile = dir.file("pass")
        if ledger == nil {
            try Self.template.get().copy(into: dir)
            return
        }
        try build()
    }

    /// The files of a SQLite fixture, made once by the commands.
    static let template: Result<TempDir, any Error> = Result {
        let fixture = CLIFixture(building: TempDir())
        try fixture.build()
        return fixture.dir
    }

    /// A fixture whose files are a copy of `other`'s (a SQLite one).
    init(copying other: CLIFixture) throws {
        dir = TempDir()
        ledger = dir.file("ledger.sqlite")
        passphraseFile = dir.file("pass")
        try other.dir.copy(into: dir)
    }

    private init(building dir: TempDir) {
        self.dir = dir
        ledger = dir.file("ledger.sqlite")
        passphraseFile = dir.file("pass")
    }

    /// The commands that make the fixture's keys and ledger.
    private func build() throws {
        dir.write("pass", "correct horse battery staple\n")
        try expectOK(["key", "generate", "--out", "authority", "--unencrypted"])
        try expectOK(["key", "generate", "--out", "officer", "--kdf", "interactive", "--passphrase-file", passphraseFile])
        try expectOK(["init", "--key", "authority.key", "--origin", "test.example/ledger"])
        try expectOK([
            "factory", "register", "--key", "authority.key", "--id", "de-jupiter", "--name", "Jupiter AI Gigafactory",
            "--kind", "gigafactory", "--host", "DE", "--capex", "3500000000",
        ])
        try expectOK(["partner", "register", "--key", "authority.key", "--id", "acme", "--name", "ACME Compute SE", "--country", "DE", "--sme"])
        try expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "officer.pub", "--name", "DE officer", "--role", "officer",
            "--scope", "ms:DE", "--scope", "factory:de-jupiter",
        ])
    }

    @discardableResult
    func run(_ arguments: [String], env extra: [String: String] = [:]) -> Run {
        Binary.run(arguments, in: dir, env: env.merging(extra) { $1 })
    }

    @discardableResult
    func expectOK(_ arguments: [String], env extra: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        let result = run(arguments, env: extra)
        #expect(result.status == 0, "gigaledger \(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
        guard result.status == 0 else { throw CLIFailure(stderr: result.stderr) }
        return result
    }

    /// The ledger's state as `verify --json` reports it: entry count and head hash.
    func state() -> String { run(["verify", "--json"]).stdout }

    /// `verify --json` of `ledger` up to its warnings: the same, whichever store, but for the
    /// warning about a PostgreSQL role that owns the tables.
    func verification(_ ledger: String) throws -> String {
        let json = try expectOK(["verify", "--json", "--ledger", ledger]).stdout
        return String(json[..<(json.range(of: ",\"warnings\"")?.lowerBound ?? json.endIndex)])
    }

    /// One payment, recorded again and again by tests on purpose (hence `--allow-duplicate`).
    var contributionArguments: [String] {
        [
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "1000.00",
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--allow-duplicate",
        ]
    }

    /// `contributionArguments` with `flag`'s value replaced.
    func contribution(_ flag: String, _ value: String) -> [String] {
        var arguments = contributionArguments
        let index = arguments.firstIndex(of: flag)!
        arguments[index + 1] = value
        return arguments
    }
}

struct CLIFailure: Error { let stderr: String }
