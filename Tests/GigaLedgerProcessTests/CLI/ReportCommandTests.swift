import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// A ledger built through the CLI, reported on, the report's signatures checked with stock
/// minisign, and the hledger export's balances checked with hledger itself.
@Suite struct ReportCommandTests {
    @Test func reportSummarySignaturesAndHledgerBalances() throws {
        let fixture = try CLIFixture()
        let policy = URL(fileURLWithPath: Repository.shippedPolicyPath).path
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", policy])
        func give(_ source: String, _ amount: String, _ kind: String = "commitment", date: String = "2026-02-10") throws {
            try fixture.expectOK([
                "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", source, "--amount", amount,
                "--date", date, "--category", "capex", "--kind", kind,
            ])
        }
        try give("eu", "595000000")  // exactly 17% of EUR 3,500,000,000.00
        try give("ms:DE", "300000000")
        try give("ms:FR", "295000000")  // participating states: EUR 595,000,000.00, exactly matched (FR is not a host: still matches)
        try give("private:acme", "1000")  // private money: does not match, is in the totals
        try give("eu", "119000000.01", "payment", date: "2026-03-31")
        try give("ms:DE", "5000", "payment", date: "2026-04-01")  // after the quarter: not in Q1
        try fixture.expectOK([
            "access", "record", "--key", "authority.key", "--factory", "de-jupiter", "--beneficiary", "Tiny GmbH",
            "--category", "sme", "--gpu-hours", "1000", "--date", "2026-03-01", "--pool", "union",
        ])
        let result = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        #expect(result.stdout.contains("report 2026-Q1 written to q1/"))

        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.dir.url.appendingPathComponent("q1/summary.json"))) as? [String: Any])
        let factory = try #require((summary["factories"] as? [[String: Any]])?.first)
        let cumulative = try #require(factory["cumulative"] as? [String: Any])
        let total = try #require(cumulative["total"] as? [String: Any])
        #expect(total["committed_cents"] as? Int == 119_000_100_000)
        #expect(total["paid_cents"] as? Int == 11_900_000_001)
        let verdicts = try #require(factory["verdicts"] as? [[String: Any]])
        func status(_ rule: String) -> String? { verdicts.first { $0["rule"] as? String == rule }?["status"] as? String }
        #expect(status("union-capex-share-max-gigafactory") == "PASS")
        #expect(status("matching-min-gigafactory") == "PASS")
        #expect(status("union-access-proportionality-tolerance") == "BREACH")  // 100% of access vs 50% of money

        for name in ["report.md", "report.html", "summary.json", "contributions.csv", "access.csv"] {
            let check = shell("minisign -Vm q1/\(name) -p authority.pub", in: fixture.dir)
            #expect(check.status == 0, "\(name): \(check.stdout) \(check.stderr)")
        }
        let html = try String(contentsOfFile: fixture.dir.file("q1/report.html"), encoding: .utf8)
        #expect(html.contains("<svg"))
        // No external assets: nothing fetched from elsewhere (the SVG's xmlns is a name, not a fetch).
        #expect(!html.contains("src=\"http") && !html.contains("<link") && !html.contains("<script") && !html.contains("url(http"))

        // hledger reads the export, and its balances equal the report's totals.
        try fixture.expectOK(["export", "--format", "hledger", "--quarter", "2026-Q1", "--out", "q1.journal", "--ledger", "ledger.sqlite"])
        let committed = shell("hledger -f q1.journal balance factories:de-jupiter:committed --flat --no-total", in: fixture.dir)
        #expect(committed.status == 0, "\(committed.stderr)")
        #expect(committed.stdout.contains("EUR 1190001000.00"), "\(committed.stdout)")
        let paid = shell("hledger -f q1.journal balance factories:de-jupiter:paid --flat --no-total", in: fixture.dir)
        #expect(paid.stdout.contains("EUR 119000000.01"), "\(paid.stdout)")
        // Every transaction balances, so all accounts together sum to zero.
        let balanced = shell("hledger -f q1.journal balance | tail -1", in: fixture.dir)
        #expect(balanced.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(balanced.stdout)")
        #expect(shell("hledger -f q1.journal check ordereddates", in: fixture.dir).status == 0)
        // Strict: every account and the commodity declared (issue 33).
        let strict = shell("hledger -f q1.journal check -s", in: fixture.dir)
        #expect(strict.status == 0, "\(strict.stdout) \(strict.stderr)")
        // The source-by-factory split: each source's account per factory.
        let bySource = shell("hledger -f q1.journal balance sources:member-states:FR:de-jupiter --flat --no-total", in: fixture.dir)
        #expect(bySource.stdout.contains("EUR -295000000.00"), "\(bySource.stdout)")

        // The same ledger state gives byte-identical files, also after more entries, with --at.
        let entries = summary["ledger"] as? [String: Any]
        let at = try #require(entries?["entries"] as? Int)
        try give("eu", "1")
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "again", "--at", String(at)])
        for name in ["report.md", "report.html", "summary.json", "contributions.csv", "access.csv"] {
            #expect(
                try Data(contentsOf: fixture.dir.url.appendingPathComponent("q1/\(name)"))
                    == Data(contentsOf: fixture.dir.url.appendingPathComponent("again/\(name)")), "\(name)")
        }

    }

    /// The quarter-end checkpoint and the consistency proof from the previous quarter's go with the report.
    @Test func reportEmbedsCheckpointAndConsistencyProof() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try fixture.expectOK(fixture.contribution("--date", "2025-12-15"))
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q4.checkpoint"])
        try fixture.expectOK(fixture.contribution("--date", "2026-02-15"))
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q1.checkpoint"])
        let trusting = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--previous", "q4.checkpoint"])
        #expect(trusting.stdout.contains("their signatures were taken as checked by the checkpoint the ledger signed at 7"), "\(trusting.stdout)")
        let full = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1-full", "--full-verify"])
        #expect(full.stdout.contains("every signature checked"), "\(full.stdout)")
        let withPrevious = try fixture.expectOK([
            "report", "--quarter", "2026-Q1", "--out", "q1-nothing-trusted", "--full-verify", "--previous", "q4.checkpoint",
        ])
        #expect(withPrevious.stdout.contains("every signature checked"))
        #expect(
            try Data(contentsOf: fixture.dir.url.appendingPathComponent("q1/summary.json"))
                == Data(contentsOf: fixture.dir.url.appendingPathComponent("q1-nothing-trusted/summary.json")))
        // The report names the Merkle root its entries give; the checkpoint and the proof are attached, not embedded.
        let markdown = try String(contentsOfFile: fixture.dir.file("q1/report.md"), encoding: .utf8)
        let checkpointText = try String(contentsOfFile: fixture.dir.file("q1.checkpoint"), encoding: .utf8)
        let rootLine = checkpointText.split(separator: "\n")[2]
        #expect(markdown.contains(Encoding.hex(Encoding.unbase64(String(rootLine))!)))
        #expect(!markdown.contains(checkpointText))
        #expect(try String(contentsOfFile: fixture.dir.file("q1/consistency.txt"), encoding: .utf8).contains("gigaledger-consistency/v2\nproof "))
        #expect(
            try String(contentsOfFile: fixture.dir.file("q1/checkpoint.txt"), encoding: .utf8)
                == String(contentsOfFile: fixture.dir.file("q1.checkpoint"), encoding: .utf8))
        #expect(try fixture.expectOK(["verify", "--since", "q1/checkpoint.txt"]).stdout.contains("extends checkpoint"))
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("q1/consistency.txt")))
        // After the checkpoint, the newer entries' signatures are checked.
        try fixture.expectOK(fixture.contribution("--date", "2026-03-15"))
        let after = try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1-after"])
        #expect(after.stdout.contains("signatures checked for entries 8 to 8, and for 1 to 7 taken as checked by the checkpoint"), "\(after.stdout)")
    }

    /// `--at SEQ` gives the same files after a checkpoint at that size is signed: the checkpoint is
    /// attached beside them and changes none of them.
    @Test func aCheckpointSignedLaterChangesNoReportFile() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try fixture.expectOK(fixture.contribution("--date", "2026-02-15"))
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "before", "--at", "6"])
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q1.checkpoint"])
        try fixture.expectOK(fixture.contribution("--date", "2026-03-15"))
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "after", "--at", "6"])
        for name in ["report.md", "report.html", "summary.json", "contributions.csv", "access.csv"] {
            #expect(
                try Data(contentsOf: fixture.dir.url.appendingPathComponent("before/\(name)"))
                    == Data(contentsOf: fixture.dir.url.appendingPathComponent("after/\(name)")), "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("before/checkpoint.txt")))
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("after/checkpoint.txt")))
    }

    @Test func reportRefusesATamperedLedgerAndAMissingPolicy() throws {
        let fixture = try CLIFixture()
        let noPolicy = fixture.run(["report", "--quarter", "2026-Q1", "--out", "q1"])
        #expect(noPolicy.status == 65)
        #expect(noPolicy.stderr.contains("no policy is recorded"))
        let badQuarter = fixture.run(["report", "--quarter", "2026-Q5"])
        #expect(badQuarter.status == 65)
        #expect(badQuarter.stderr.contains(#"quarter: "2026-Q5" is not a quarter"#))
        try tamperFile(fixture.dir.file("ledger.sqlite"), "UPDATE entries SET signature = zeroblob(64) WHERE seq = 3")
        let tampered = fixture.run(["report", "--quarter", "2026-Q1", "--out", "q1"])
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("does not verify"))
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q1/report.md")))
        // Nor is a checkpoint signed over it.
        let checkpoint = fixture.run(["checkpoint", "--key", "authority.key"])
        #expect(checkpoint.status == 1)
        #expect(checkpoint.stderr.contains("entry 3: signature does not verify"), "\(checkpoint.stderr)")
        #expect(checkpoint.stderr.contains("nothing was signed"))
    }
}
