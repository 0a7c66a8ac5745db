import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 12, "a single successful command can break a ledger for ever": what the tool accepts must
/// verify, by us and by the independent verifier. Each input that would not is refused, with one
/// line, and nothing is written.
@Suite struct AppendParityTests {
    /// The command fails with `status` and a one-line message containing `message`; the ledger is
    /// unchanged and still verifies, by us and by schema/tools/verify_ledger.py.
    static func expectRefused(
        _ fixture: CLIFixture, _ arguments: [String], status: Int32 = 65, saying message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = fixture.state()
        let result = fixture.run(arguments)
        #expect(result.status == status, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(fixture.state() == before, sourceLocation: sourceLocation)
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout)", sourceLocation: sourceLocation)
    }

    /// Item 1: a policy file just under 64 KiB (10,507 categories) used to be recorded, and verify
    /// then failed for ever on its 65,661-byte body. Categories are now distinct (at most six), so
    /// no policy reaches the body limit: the file is refused for its repeated categories, by the
    /// same check verify runs, and nothing is written.
    @Test func aPolicyWhoseBodyWouldBeTooLargeIsRefused() throws {
        let fixture = try CLIFixture()
        // The shipped policy written compactly, its free categories repeated until the file is just
        // under 64 KiB: the entry's body (the file plus the envelope) is then just over.
        let shipped = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repository.shippedPolicyPath)))
        var policy = try #require(shipped as? [String: Any])
        var rules = try #require(policy["rules"] as? [[String: Any]])
        let free = try #require(rules.firstIndex { $0["id"] as? String == "union-access-free-for" })
        var file = Data()
        for count in stride(from: 9_000, to: 11_000, by: 1) {
            rules[free]["categories"] = Array(repeating: "sme", count: count)
            policy["rules"] = rules
            file = try JSONSerialization.data(withJSONObject: policy, options: [.sortedKeys, .withoutEscapingSlashes])
            if file.count > 65_536 - 100 { break }
        }
        #expect(file.count < 65_536)
        #expect(FileManager.default.createFile(atPath: fixture.dir.file("big.json"), contents: file))
        Self.expectRefused(
            fixture, ["policy", "set", "--key", "authority.key", "--file", "big.json"],
            saying: "policy.rules.union-access-free-for.categories must list at least one category, each once")
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
    }

    /// Item 2: a wrong system clock (epoch 100, after 2099) used to record an entry that never verified.
    @Test(arguments: ["1970-01-01 00:01:40", "2100-01-02 00:00:00"])
    func aWrongClockRecordsNothing(time: String) throws {
        let fixture = try CLIFixture()
        let arguments = ["faketime", "-f", "@\(time)", Binary.path] + fixture.contributionArguments
        let before = fixture.state()
        let result = shell(arguments.map { "'\($0)'" }.joined(separator: " ") + " --ledger ledger.sqlite", in: fixture.dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("gigaledger: error: the system clock says "), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was written"))
        #expect(fixture.state() == before)
        let importing = shell("faketime -f '@\(time)' '\(Binary.path)' import rows.csv --key authority.key --ledger ledger.sqlite", in: fixture.dir)
        #expect(importing.status != 0)
        #expect(fixture.state() == before)
    }

    /// Item 4: U+212A KELVIN SIGN was read as K in codes (ms:SK, country SK).
    @Test func codesAreASCIIOnly() throws {
        let fixture = try CLIFixture()
        Self.expectRefused(fixture, fixture.contribution("--source", "ms:S\u{212A}"), saying: "is not an EU member-state code")
        Self.expectRefused(
            fixture, ["partner", "register", "--key", "authority.key", "--id", "k", "--name", "K", "--country", "\u{212A}E"],
            saying: "is not an ISO 3166-1 alpha-2 country code")
        Self.expectRefused(fixture, fixture.contribution("--category", "cape\u{0078}\u{0301}"), saying: "is not one of: capex, opex")
    }

    /// Item 5: an origin that is not a C2SP key name made every later checkpoint fail.
    @Test func anOriginMustBeAKeyName() throws {
        let dir = TempDir()
        _ = Binary.run(["key", "generate", "--out", "authority", "--unencrypted"], in: dir)
        for origin in ["eu ledger", "a+b", "tab\there", "nbsp\u{A0}here"] {
            let result = Binary.run(["init", "--key", "authority.key", "--origin", origin, "--ledger", "l.sqlite"], in: dir)
            #expect(result.status == 65, "\(origin): \(result.stderr)")
            #expect(result.stderr.hasPrefix("gigaledger: error: origin: "), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("l.sqlite")))
        }
        // There is no default origin (issue 15: it is the ledger's name for ever): it must be given.
        let unnamed = Binary.run(["init", "--key", "authority.key", "--ledger", "my ledger.sqlite"], in: dir)
        #expect(unnamed.status == 64, "\(unnamed.stderr)")
        #expect(unnamed.stderr.contains("--origin"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("my ledger.sqlite")))
    }

    /// Item 16: bidirectional overrides, zero-width characters and separators make look-alike names.
    @Test(arguments: [
        ("\u{202E}", "U+202E RIGHT-TO-LEFT OVERRIDE"), ("\u{200B}", "U+200B ZERO WIDTH SPACE"),
        ("\u{2028}", "U+2028 LINE SEPARATOR"), ("\u{7}", "U+0007"), ("\u{FEFF}", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ])
    func formatAndSeparatorCharactersAreRefused(character: String, name: String) throws {
        let fixture = try CLIFixture()
        Self.expectRefused(
            fixture, ["partner", "register", "--key", "authority.key", "--id", "evil", "--name", "ACME\(character) SE", "--country", "DE"],
            saying: "name: \"ACME")
        let result = fixture.run(fixture.contributionArguments + ["--ref", "A\(character)B"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("contains \(name)") && result.stderr.contains("which no text may hold"), "\(result.stderr)")
    }

    /// Item 16: an argument that is not UTF-8 was stored with U+FFFD in its place.
    @Test func invalidUTF8InAnArgumentIsRefused() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        let command =
            "'\(Binary.path)' partner register --key authority.key --id bad --country DE --ledger ledger.sqlite --name \"$(printf 'A\\377B')\""
        let result = shell(command, in: fixture.dir)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("is not valid UTF-8"), "\(result.stderr)")
        #expect(fixture.state() == before)
    }

    /// The principle behind items 1 to 5: every entry the tool accepts verifies. Random valid and
    /// edge-case appends through the library, each followed by verify (ours and the independent one
    /// at the end).
    @Test func everyAcceptedEntryVerifies() throws {
        let fixture = try Fixture()
        var random = SeededRandom(state: 12)
        let texts = ["x", "Zürich – €", String(repeating: "é", count: 100), "quote \" back \\ slash", "🇪🇺", "K\u{212A}"]
        var accepted = 0
        for index in 0..<120 {
            let cents = [Int64(1), 99, Cents.amountCentsMax, Int64.random(in: 1...Cents.amountCentsMax, using: &random)].randomElement(
                using: &random)!
            let date = ["2021-01-01", "2099-12-31", "2024-02-29", "2026-06-30"].randomElement(using: &random)!
            let data: EntryData
            if index % 3 == 0 {
                data = .access(
                    try AccessGrant(
                        factory: "de-jupiter", beneficiary: texts.randomElement(using: &random)!,
                        category: AccessCategory.allCases.randomElement(using: &random)!,
                        gpuHours: Int64.random(in: 1...AccessGrant.gpuHoursMax, using: &random),
                        date: CalendarDate.parse(date, field: "date"), pool: .union, isCommercial: false, charge: Cents(0)))
            } else {
                data = .contribution(
                    try Contribution(
                        factory: "de-jupiter", source: [.union, .memberState("DE"), .partner("acme")].randomElement(using: &random)!,
                        amount: Cents(cents), date: CalendarDate.parse(date, field: "date"), category: .opex, kind: .commitment,
                        ref: texts.randomElement(using: &random)!))
            }
            try fixture.ledger.append(data, key: fixture.authority, checks: .none)  // edge values repeat, dates run to 2099
            accepted += 1
            if index % 20 == 0 { #expect(try fixture.verify().isVerified, "after \(accepted) appends") }
        }
        #expect(try fixture.verify().isVerified)
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout)")
    }

    /// Item 3: a factory's totals beyond Int64 (93 commitments at the maximum per entry, and
    /// payments) crashed `report`, `status` and `export`. Every command now answers.
    @Test func totalsBeyondSixtyFourBitsAreReported() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        // 93 commitments and 7 payments of the maximum, and Union access so that the
        // proportionality rule compares (Fraction.within overflowed from 93 commitments on).
        let rows = (1...100).map {
            "contribution,de-jupiter,2026-02-15,eu,100000000000.00,capex,\($0 <= 93 ? "commitment" : "payment"),R-\($0),,,,,\n"
        }
        let access = "access,de-jupiter,2026-02-15,,,sme,,,Tiny GmbH,100,union,no,\n"
        fixture.dir.write("max.csv", ImportCommandTests.header + rows.joined() + access, mode: 0o644)
        try fixture.expectOK(["import", "max.csv", "--key", "authority.key", "--allow-duplicate"])  // the same amount, on purpose
        let report = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        #expect(report.stdout.contains("breach"))
        let summary = try String(contentsOfFile: fixture.dir.file("q1/summary.json"), encoding: .utf8)
        #expect(summary.contains("\"committed_cents\":930000000000000"))  // 93 commitments of 10^13 cents
        let status = try fixture.expectOK(["status"])
        #expect(status.stdout.contains("EUR 9,300,000,000,000.00"), "\(status.stdout)")
        let export = try fixture.expectOK(["export", "--format", "hledger"])
        #expect(export.stdout.contains("EUR 100000000000.00"))
    }
}
