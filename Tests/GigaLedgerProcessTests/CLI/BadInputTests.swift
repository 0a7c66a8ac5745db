import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Each bad input: a one-line error naming the field and the value, a non-zero exit, nothing written.
/// The shared fixture is only read and refused: a test that changes a file (a mode, a new file
/// beside the ledger) makes its own.
@Suite(.serialized) struct BadInputTests {
    static let fixture = Result { try CLIFixture() }

    static let cases: [(String, [String], String, Int32)] = [
        ("unknown factory", ["--factory", "nowhere"], #"factory: "nowhere" is not a registered factory"#, 65),
        ("unknown partner", ["--source", "private:ghost"], #"source: "private:ghost" is not a registered partner"#, 65),
        ("negative amount", ["--amount", "-5"], #"amount: "-5" is negative"#, 65),
        ("zero amount", ["--amount", "0"], #"amount: "0" is zero"#, 65),
        ("three decimals", ["--amount", "10.005"], #"amount: "10.005" has more than two decimals"#, 65),
        ("thousands separator", ["--amount", "1,000.00"], #"amount: "1,000.00" has a thousands separator"#, 65),
        ("currency sign", ["--amount", "€1000"], #"amount: "€1000" has a currency sign (€): write the number alone"#, 65),
        ("over the maximum", ["--amount", "100000000000.01"], #"amount: "100000000000.01" is over the maximum"#, 65),
        ("impossible date", ["--date", "2026-02-30"], #"date: "2026-02-30" is not a date"#, 65),
        ("unknown member state", ["--source", "ms:UK"], #"source: "ms:UK" is not an EU member-state code"#, 65),
        ("unknown category", ["--category", "travel"], #"category: "travel" is not one of: capex, opex"#, 65),
        ("unknown kind", ["--kind", "pledge"], #"kind: "pledge" is not one of: commitment, payment"#, 65),
    ]

    @Test(arguments: cases.map { $0.0 })
    func contributionRefused(name: String) throws {
        let fixture = try Self.fixture.get()
        let (_, change, message, code) = Self.cases.first { $0.0 == name }!
        let before = fixture.state()
        let result = fixture.run(fixture.contribution(change[0], change[1]))
        #expect(result.status == code)
        #expect(result.stderr.hasPrefix("gigaledger: error: \(message)"), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        #expect(result.stdout.isEmpty)
        #expect(fixture.state() == before)
    }

    @Test func otherFieldsAreCheckedToo() throws {
        let fixture = try Self.fixture.get()
        let before = fixture.state()
        let cases: [([String], String)] = [
            (
                [
                    "factory", "register", "--key", "authority.key", "--id", "x1", "--name", "X", "--kind", "gigafactory", "--host", "XX", "--capex",
                    "1",
                ],
                #"host: "XX" is not an EU member-state code"#
            ),
            (
                [
                    "factory", "register", "--key", "authority.key", "--id", "x1", "--name", "X", "--kind", "megafactory", "--host", "DE", "--capex",
                    "1",
                ],
                #"kind: "megafactory" is not one of: gigafactory, ai-factory"#
            ),
            (
                ["partner", "register", "--key", "authority.key", "--id", "p1", "--name", "P", "--country", "ZZ"],
                #"country: "ZZ" is not an ISO 3166-1"#
            ),
            (
                [
                    "access", "record", "--key", "authority.key", "--factory", "de-jupiter", "--beneficiary", "B", "--category", "hobbyist",
                    "--gpu-hours", "10", "--date", "2026-01-01", "--pool", "union",
                ], #"category: "hobbyist" is not one of: sme, startup"#
            ),
            (
                [
                    "access", "record", "--key", "authority.key", "--factory", "de-jupiter", "--beneficiary", "B", "--category", "sme",
                    "--gpu-hours", "1.5", "--date", "2026-01-01", "--pool", "union",
                ], #"gpu-hours: "1.5" is not a whole number"#
            ),
            (["correct", "--yes", "--key", "authority.key", "--entry", "2", "--reason", "x"], #"entry: "2" is a factory-register entry"#),
            (["key", "revoke", "--key", "authority.key", "--id", "nothex", "--reason", "x"], #"id: "nothex" is not a key ID"#),
        ]
        for (arguments, message) in cases {
            let result = fixture.run(arguments)
            #expect(result.status == 65, "\(arguments)")
            #expect(result.stderr.hasPrefix("gigaledger: error: \(message)"), "\(result.stderr)")
        }
        #expect(fixture.state() == before)
    }

    @Test func outOfScopeOfficerIsRefused() throws {
        let fixture = try Self.fixture.get()
        let before = fixture.state()
        var arguments = fixture.contributionArguments
        arguments[arguments.firstIndex(of: "authority.key")!] = "officer.key"
        let result = fixture.run(arguments, env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile])
        #expect(result.status == 65)
        #expect(result.stderr.contains("may not record a contribution from eu: its scope is ms:DE, factory:de-jupiter"))
        #expect(fixture.state() == before)
    }

    @Test func wrongPassphraseIsRefused() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        fixture.dir.write("wrong", "Correct horse battery staple\n")
        var arguments = fixture.contribution("--source", "ms:DE")
        arguments[arguments.firstIndex(of: "authority.key")!] = "officer.key"
        let result = fixture.run(arguments + ["--passphrase-file", fixture.dir.file("wrong")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("officer.key: wrong passphrase"))
        #expect(fixture.state() == before)
        fixture.dir.write("empty", "")
        let empty = fixture.run(arguments + ["--passphrase-file", fixture.dir.file("empty")])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("is empty"))
        let none = fixture.run(arguments)
        #expect(none.status == 2)
        #expect(none.stderr.contains("--passphrase-file"))
        #expect(fixture.state() == before)
    }

    @Test func missingLedgerAndNonLedgerFiles() throws {
        let fixture = try CLIFixture()
        let missing = fixture.run(fixture.contributionArguments + ["--ledger", "nowhere.sqlite"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no ledger at nowhere.sqlite"))
        // An officer who forgot --server is told how to point at the central server (issue 33).
        #expect(missing.stderr.contains("give --server URL (or set GIGALEDGER_SERVER)"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("nowhere.sqlite")))
        fixture.dir.write("notes.txt", "these are not the entries you are looking for\n")
        let text = fixture.run(fixture.contributionArguments + ["--ledger", "notes.txt"])
        #expect(text.status == 2)
        #expect(text.stderr.contains("notes.txt is not a GigaLedger ledger: it is not an SQLite database"))
        _ = shell("sqlite3 other.sqlite 'CREATE TABLE t(x)'", in: fixture.dir)
        let other = fixture.run(["verify", "--ledger", "other.sqlite"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("an SQLite database of another application"))
        #expect(fixture.run(["verify", "--ledger", "nowhere.sqlite"]).status == 2)
    }

    @Test func readOnlyLedgerIsRefused() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        let path = fixture.dir.file("ledger.sqlite")
        chmod(path, 0o444)
        defer { chmod(path, 0o644) }
        let result = fixture.run(fixture.contributionArguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains("is read-only"))
        #expect(fixture.run(["verify"]).status == 0)
        chmod(path, 0o644)
        #expect(fixture.state() == before)
    }

    @Test func looseKeyPermissionsAreRefused() throws {
        let fixture = try CLIFixture()
        _ = shell("cp authority.key loose.key && chmod 644 loose.key", in: fixture.dir)
        var arguments = fixture.contributionArguments
        arguments[arguments.firstIndex(of: "authority.key")!] = "loose.key"
        let result = fixture.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains("chmod 600 loose.key"))
    }
}
