import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit

/// Issues 29 and 30 through the binary: `factory amend --effective`, `factory countersign`,
/// `--allow-twin`, a policy's name and version meaning one text. The fixture's de-jupiter is a
/// gigafactory in DE with CAPEX EUR 3,500,000,000.00; EUR 595,000,000.00 of Union CAPEX is 17%.
@Suite struct RegistrationCommandTests {
    static let union = [
        "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "595000000.00",
        "--date", "2026-02-01", "--category", "capex", "--kind", "commitment",
    ]

    static func amend(_ extra: [String], capex: String = "3000000000", kind: String = "gigafactory", hosts: [String] = ["DE"]) -> [String] {
        ["factory", "amend", "--key", "authority.key", "--id", "de-jupiter", "--name", "Jupiter AI Gigafactory", "--kind", kind]
            + hosts.flatMap { ["--host", $0] } + ["--capex", capex] + extra
    }

    static func seq(_ run: Run) -> Int? {
        run.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }.first
    }

    /// Q1 at 17% passes; an amendment to EUR 3,000,000,000.00 effective 2026-04-01 leaves it so
    /// (Q2: 19.83%, BREACH); without --effective it reaches back into Q1, and Q2 rolled forward
    /// from the issued Q1 report lists it among the prior-period adjustments of registrations.
    @Test func anAmendmentEffectiveFromADateAndOneFromTheStart() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(Self.union)
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        let beforeBad = fixture.state()
        let bad = fixture.run(Self.amend(["--reason", "budget", "--effective", "2026-13-01"]))
        #expect(bad.status == 65 && bad.stderr.contains("effective") && bad.stderr.contains("2026-13-01"), "\(bad.stderr)")
        #expect(fixture.state() == beforeBad, "nothing written")
        let dated = try fixture.expectOK(Self.amend(["--reason", "revised budget", "--effective", "2026-04-01"]))
        #expect(dated.stdout.contains("amended factory de-jupiter"), "\(dated.stdout)")
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1-again"])
        let q1 = try String(contentsOfFile: fixture.dir.file("q1-again/summary.json"), encoding: .utf8)
        #expect(q1.contains(#""planned_capex_cents":350000000000"#))
        try fixture.expectOK(["report", "--quarter", "2026-Q2", "--out", "q2", "--previous", "q1"])
        let q2 = try String(contentsOfFile: fixture.dir.file("q2/report.md"), encoding: .utf8)
        #expect(q2.contains("- de-jupiter: registered CAPEX: EUR 3,500,000,000.00 → EUR 3,000,000,000.00"), "\(q2)")
        #expect(q2.contains("### Prior-period adjustments of registrations\n\nAmendments recorded (or countersigned) after entry"))
        let undated = try fixture.expectOK(Self.amend(["--reason", "audit finding"], capex: "3400000000"))
        let seq = try #require(Self.seq(undated))
        try fixture.expectOK(["report", "--quarter", "2026-Q2", "--out", "q2-again", "--previous", "q1"])
        let again = try String(contentsOfFile: fixture.dir.file("q2-again/report.md"), encoding: .utf8)
        #expect(
            again.contains(
                "de-jupiter, effective from the start: registered CAPEX EUR 3,500,000,000.00 → EUR 3,400,000,000.00; reason: audit finding"),
            "\(again)")
        #expect(again.contains("- entry \(seq) "))
        let log = try fixture.expectOK(["log"]).stdout
        #expect(log.contains("effective 2026-04-01: revised budget") && log.contains("from the start: audit finding"), "\(log)")
        try fixture.expectOK(["verify"])
        let python = shell("python3 \(Repository.independentVerifier) \(fixture.ledger)", in: fixture.dir)
        #expect(python.status == 0, "\(python.stdout)")
    }

    /// Issue 30, case 2: a gigafactory made an AI factory (cap 17% → 50%) is pending until a
    /// second authority countersigns; the first authority cannot countersign its own amendment.
    @Test func aChangeOfKindWaitsForASecondAuthority() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(Self.union)
        try fixture.expectOK(["key", "generate", "--out", "second", "--unencrypted"])
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "second.pub", "--name", "Second authority", "--role", "authority"])
        let amended = try fixture.expectOK(Self.amend(["--reason", "reclassified"], capex: "3500000000", kind: "ai-factory"))
        #expect(amended.stderr.contains("takes effect only when a second authority key countersigns it"), "\(amended.stderr)")
        let seq = try #require(Self.seq(amended))
        let list = try fixture.expectOK(["factory", "list"]).stdout
        #expect(
            list.contains("de-jupiter  gigafactory") && list.contains("pending: entry \(seq) (de-jupiter): kind gigafactory → ai-factory"), "\(list)")
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "pending"])
        let pending = try String(contentsOfFile: fixture.dir.file("pending/report.md"), encoding: .utf8)
        #expect(pending.contains("PENDING REGISTRATION CHANGES, AWAITING A COUNTERSIGNATURE"), "\(pending.prefix(3000))")
        #expect(pending.contains("| none: no access was granted within the period |"), "an empty table says so (issue 33)")
        #expect(pending.contains("- entry \(seq) (de-jupiter, recorded ") && pending.contains("kind gigafactory → ai-factory; reason: reclassified"))
        let summary = try String(contentsOfFile: fixture.dir.file("pending/summary.json"), encoding: .utf8)
        #expect(
            summary.contains(#""kind":"gigafactory""#) && summary.contains(#""pending_amendments":[{"changes":["kind gigafactory → ai-factory"]"#))
        let beforeRefusals = fixture.state()
        let own = fixture.run(["factory", "countersign", "--key", "authority.key", "--entry", String(seq)])
        #expect(own.status == 65 && own.stderr.contains("a countersignature needs a second authority key"), "\(own.stderr)")
        #expect(fixture.state() == beforeRefusals, "nothing written")
        try fixture.expectOK(["key", "generate", "--out", "late", "--unencrypted"])
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "late.pub", "--name", "Late authority", "--role", "authority"])
        let beforeLate = fixture.state()
        let late = fixture.run(["factory", "countersign", "--key", "late.key", "--entry", String(seq)])
        #expect(late.status == 65 && late.stderr.contains("a countersignature needs an authority key enrolled before it"), "\(late.stderr)")
        #expect(fixture.state() == beforeLate, "nothing written")
        try fixture.expectOK(["factory", "countersign", "--key", "second.key", "--entry", String(seq), "--reason", "board decision"])
        let beforeTwice = fixture.state()
        let twice = fixture.run(["factory", "countersign", "--key", "second.key", "--entry", String(seq)])
        #expect(twice.status == 65 && twice.stderr.contains("is already countersigned by this key"), "\(twice.stderr)")
        #expect(fixture.state() == beforeTwice, "nothing written")
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "done"])
        let done = try String(contentsOfFile: fixture.dir.file("done/summary.json"), encoding: .utf8)
        #expect(done.contains(#""kind":"ai-factory""#) && done.contains(#""pending_amendments":[]"#))
        // `show` names what later entries say (issue 33): the registration its amendment, the amendment its countersignature.
        let registrations = try JSONSerialization.jsonObject(
            with: Data(try fixture.expectOK(["log", "--type", "factory-register", "--factory", "de-jupiter", "--json"]).stdout.utf8))
        let registered = try #require((registrations as? [[String: Any]])?.first?["seq"] as? Int)
        let showRegistration = try fixture.expectOK(["show", String(registered)]).stdout
        #expect(showRegistration.contains("amended by entry \(seq)"), "\(showRegistration)")
        let showAmendment = try fixture.expectOK(["show", String(seq)]).stdout
        #expect(showAmendment.contains("countersigned by entry "), "\(showAmendment)")
        // A registration is not corrected, whoever asks: the answer is what changes one, not the key (issue 33).
        let beforeCorrect = fixture.state()
        for key in ["officer.key", "authority.key"] {
            let correct = fixture.run(
                ["correct", "--yes", "--key", key, "--passphrase-file", fixture.passphraseFile, "--entry", String(registered), "--reason", "typo"])
            #expect(correct.status == 65, "\(correct.stderr)")
            #expect(
                correct.stderr.contains(
                    "only contributions and access records can be corrected: a factory's registration is changed by an amendment (factory amend)"),
                "\(correct.stderr)")
        }
        #expect(fixture.state() == beforeCorrect, "nothing written")
        try fixture.expectOK(["verify"])
    }

    /// Issue 30, cases 1 and 3: the policy replaced under its own name and version, and a twin
    /// factory, are refused (exit 65, naming the earlier entry, nothing written); a meant twin is
    /// recorded so and listed with the site's figures.
    @Test func aPolicyRenamedInPlaceAndATwinAreRefused() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        let text = try String(contentsOfFile: Repository.shippedPolicyPath, encoding: .utf8)
        fixture.dir.write("edited.json", text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": 2500"#))
        let before = fixture.state()
        let replaced = fixture.run(["policy", "set", "--key", "authority.key", "--file", "edited.json"])
        #expect(replaced.status == 65 && replaced.stderr.contains("is recorded with another text (entry "), "\(replaced.stderr)")
        #expect(fixture.state() == before)
        let twin = [
            "factory", "register", "--key", "authority.key", "--id", "de-jupiter-2", "--name", "JUPITER AI-Gigafactory", "--kind", "gigafactory",
            "--host", "DE", "--capex", "3500000000",
        ]
        let refused = fixture.run(twin)
        #expect(
            refused.status == 65
                && refused.stderr.contains(
                    "repeats factory de-jupiter \"Jupiter AI Gigafactory\" (entry 2): the same name (ignoring case, accents, spacing and punctuation), host DE"
                ), "\(refused.stderr)")
        #expect(refused.stderr.contains("--allow-twin"))
        #expect(fixture.state() == before)
        try fixture.expectOK(twin + ["--allow-twin"])
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])  // the same text again: no change
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        let markdown = try String(contentsOfFile: fixture.dir.file("q1/report.md"), encoding: .utf8)
        #expect(
            markdown.contains("> - de-jupiter, de-jupiter-2 \"Jupiter AI Gigafactory\", hosts DE: registered CAPEX EUR 7,000,000,000.00 together"))
        try fixture.expectOK(["verify"])
    }
}
