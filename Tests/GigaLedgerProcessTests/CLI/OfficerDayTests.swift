import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 15, a finance officer's day through the real binary: duplicates caught, corrections
/// previewed, every bad import row at once, plausibility, lists, the policy in the binary.
@Suite struct OfficerDayTests {
    /// A payment as an officer types it, without the fixture's `--allow-duplicate`.
    func payment(_ extra: [String] = [], date: String = "2026-02-15", ref: String = "BMF-1", amount: String = "1000.00") -> [String] {
        [
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", amount,
            "--date", date, "--category", "capex", "--kind", "payment", "--ref", ref,
        ] + extra
    }

    func expectRefused(
        _ fixture: CLIFixture, _ arguments: [String], status: Int32 = 65, saying message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let before = fixture.state()
        let result = fixture.run(arguments)
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(fixture.state() == before, sourceLocation: sourceLocation)
    }

    /// Found 1: the same payment twice went through.
    @Test func aDoubleBookingIsRefusedNamingTheEarlierEntry() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(payment())  // entry 5
        expectRefused(fixture, payment(), saying: "this repeats entry 5 (same factory, source, kind, category, amount, date and ref)")
        try fixture.expectOK(payment(["--allow-duplicate"]))  // a real second instalment: said so
        #expect(try fixture.expectOK(["show", "6", "--json"]).stdout.contains(#""allow_duplicate":true"#))
        // Said where it repeats nothing, the flag is not written: reports would flag a repeat of nothing.
        try fixture.expectOK(payment(["--allow-duplicate"], ref: "BMF-3", amount: "7.00"))
        #expect(!(try fixture.expectOK(["show", "7", "--json"]).stdout.contains("allow_duplicate")))
        try fixture.expectOK(payment(ref: "BMF-2", amount: "1000.01"))  // another reference, another amount: other facts
        // Once the first is corrected, the same facts may be booked again (the usual re-booking).
        let fresh = try CLIFixture()
        try fresh.expectOK(payment())
        try fresh.expectOK(["correct", "--key", "authority.key", "--entry", "5", "--reason", "wrong amount", "--yes"])
        expectRefused(
            fresh, ["correct", "--key", "authority.key", "--entry", "5", "--reason", "again", "--yes"],
            saying: #"entry: "5" has already been corrected, by entry 6"#)
        try fresh.expectOK(payment())
        #expect(shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fresh.dir).status == 0)
    }

    /// Issue 31, case 5: the guard was bypassed by a new reference, no reference, a day's shift, a
    /// case change; a reference reused with other facts went through. Each is refused now, naming
    /// the earlier entry; a payment citing the commitment it pays, and an entry more than a week
    /// apart, are not; parts adding up to an earlier payment of the same day are flagged in the
    /// report; both verifiers accept what was written.
    @Test func theDuplicateGuardIsNotBypassed() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(payment())  // entry 5: EUR 1,000.00 on 2026-02-15, ref BMF-1
        let looksLike = "this looks like entry 5: the same factory, source, kind, category and amount (EUR 1,000.00), dated 2026-02-15"
        expectRefused(fixture, payment(ref: "BMF-99"), saying: looksLike)  // a new reference
        expectRefused(fixture, payment(ref: ""), saying: looksLike)  // no reference
        expectRefused(fixture, payment(date: "2026-02-16", ref: "BMF-99"), saying: looksLike)  // a day's shift
        expectRefused(fixture, payment(date: "2026-02-22", ref: ""), saying: looksLike)  // a week's
        expectRefused(fixture, payment(date: "2026-02-08", ref: ""), saying: looksLike)  // a week before
        expectRefused(
            fixture, payment(date: "2026-03-01", ref: "bmf-1", amount: "5.00"),
            saying: #"this has ref "bmf-1", which differs only in case from the ref "BMF-1" of entry 5"#)
        expectRefused(
            fixture, payment(date: "2026-03-01", amount: "5.00"),
            saying: #"this has ref "BMF-1", already the ref of entry 5, which records other facts (payment of EUR 1,000.00"#)
        try fixture.expectOK(payment(date: "2026-02-23", ref: "BMF-2"))  // eight days later: another month's instalment
        // A payment may carry the reference of the commitment it pays, instalment after instalment.
        let commitment = payment(date: "2026-01-10", ref: "BMF-C", amount: "9000.00").map { $0 == "payment" ? "commitment" : $0 }
        try fixture.expectOK(commitment)
        try fixture.expectOK(payment(date: "2026-03-10", ref: "BMF-C", amount: "3000.00"))
        try fixture.expectOK(payment(date: "2026-04-10", ref: "BMF-C", amount: "3000.01"))
        // Split: the same day's EUR 1,000.00 again as 600 + 400, under new references.
        try fixture.expectOK(payment(ref: "BMF-S1", amount: "600.00"))
        try fixture.expectOK(payment(ref: "BMF-S2", amount: "400.00"))
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        let markdown = try String(contentsOfFile: fixture.dir.file("q1/report.md"), encoding: .utf8)
        #expect(
            markdown.contains(
                "- **PARTS OF AN EARLIER AMOUNT** de-jupiter: entry 5, dated 2026-02-15: payment capex ms:DE EUR 1,000.00 ref BMF-1: entries 10, 11 of the same factory, source, kind, category and date add up to it (EUR 600.00 + EUR 400.00)"
            ), "\(markdown)")
        let summary = try String(contentsOfFile: fixture.dir.file("q1/summary.json"), encoding: .utf8)
        #expect(summary.contains(#""split_amounts":[{"date":"2026-02-15","entry":5,"#), "\(summary)")
        // An import is held to the same rule, against the ledger and within the file.
        let header = "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool,commercial,charge\n"
        fixture.dir.write(
            "again.csv",
            header + "contribution,de-jupiter,2026-02-17,ms:DE,1000.00,capex,payment,NEW-1,,,,,\n"
                + "contribution,de-jupiter,2026-06-01,ms:DE,77.00,capex,payment,NEW-2,,,,,\n"
                + "contribution,de-jupiter,2026-06-03,ms:DE,77.00,capex,payment,,,,,,\n", mode: 0o644)
        let refused = fixture.run(["import", "again.csv", "--key", "authority.key"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("row 2: looks like entry 5: the same factory, source, kind, category and amount"), "\(refused.stderr)")
        #expect(refused.stderr.contains("row 4: looks like row 3: the same factory, source, kind, category and amount"), "\(refused.stderr)")
        try fixture.expectOK(["import", "again.csv", "--key", "authority.key", "--allow-duplicate"])
        #expect(try fixture.expectOK(["verify"]).stdout.contains("verified"))
        #expect(shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir).status == 0)
    }

    /// Found 1 and 4: a re-saved file and every bad row in one run.
    @Test func anImportNamesEveryBadRowAndCatchesAResavedFile() throws {
        let fixture = try CLIFixture()
        let header = "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool,commercial,charge\n"
        let good = "contribution,de-jupiter,2026-03-01,eu,10.00,capex,payment,P-1,,,,,\n"
        fixture.dir.write("a.csv", header + good, mode: 0o644)
        try fixture.expectOK(["import", "a.csv", "--key", "authority.key"])
        fixture.dir.write("resaved.csv", (header + good).replacingOccurrences(of: "\n", with: "\r\n"), mode: 0o644)
        expectRefused(fixture, ["import", "resaved.csv", "--key", "authority.key"], saying: "row 2: repeats entry 5")
        let other = good.replacingOccurrences(of: "P-1", with: "P-2").replacingOccurrences(of: "10.00", with: "11.00")
        let bad =
            header + other + "contribution,de-jupiter,2026-02-30,eu,10,capex,payment,,,,,,\n"
            + "contribution,nowhere,2026-02-01,eu,10,capex,payment,,,,,,\n" + other
            + "contribution,de-jupiter,2036-02-01,eu,10,capex,commitment,F,,,,,\n"
            + "contribution,de-jupiter,2027-02-01,eu,10,capex,payment,F2,,,,,\n"
        fixture.dir.write("bad.csv", bad, mode: 0o644)
        let result = fixture.run(["import", "bad.csv", "--key", "authority.key"])
        #expect(result.status == 65)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first == "gigaledger: error: 5 rows refused; nothing was written:", "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix(#"row 3, column date: "2026-02-30" is not a date"#) })
        #expect(lines.contains { $0.hasPrefix(#"row 4: factory: "nowhere" is not a registered factory (closest registered factories: de-jupiter"#) })
        #expect(lines.contains { $0.hasPrefix("row 5: repeats row 2") })
        #expect(lines.contains { $0.hasPrefix(#"row 6, column date: "2036-02-01" is more than 366 days after today"#) })
        #expect(
            lines.contains { $0.contains(#"row 7"#) && $0.contains("is a payment dated more than 1 day after the day it is recorded") },
            "\(result.stderr)")
    }

    /// The example files, one per role, import as documented.
    @Test func theExampleFilesImportForTheirRoles() throws {
        let fixture = try CLIFixture()
        let root = URL(fileURLWithPath: Repository.shippedPolicyPath).deletingLastPathComponent().deletingLastPathComponent().path
        try fixture.expectOK([
            "factory", "register", "--key", "authority.key", "--id", "de-bavaria-aigf", "--name", "Bavaria", "--kind", "gigafactory",
            "--host", "DE", "--capex", "3800000000",
        ])
        try fixture.expectOK(["partner", "register", "--key", "authority.key", "--id", "nordcompute", "--name", "NordCompute SE", "--country", "DE"])
        try fixture.expectOK(["key", "generate", "--out", "de-officer", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "de-officer.pub", "--name", "DE", "--role", "officer",
            "--scope", "ms:DE", "--scope", "factory:de-bavaria-aigf",
        ])
        try fixture.expectOK(["import", "\(root)/examples/import-ms-de.csv", "--key", "de-officer.key"])
        try fixture.expectOK(["import", "\(root)/examples/import-authority.csv", "--key", "authority.key"])
        expectRefused(
            fixture, ["import", "\(root)/examples/import-authority.csv", "--key", "de-officer.key", "--allow-duplicate-file"],
            saying: "may not record a contribution from private:nordcompute")
    }

    /// Found 5: a date ten years ahead, a scope naming nothing registered. Issue 31, case 3: a
    /// payment dated ahead is refused even with --future (a rule of format v2: at most a day after
    /// the day it is recorded); a commitment may look ahead with --future.
    @Test func implausibleDatesAndScopesAreRefused() throws {
        let fixture = try CLIFixture()
        let commitment = { (extra: [String], date: String) in
            self.payment(extra, date: date).map { $0 == "payment" ? "commitment" : $0 }
        }
        expectRefused(fixture, commitment([], "2036-02-15"), saying: #"date: "2036-02-15" is more than 366 days after today"#)
        try fixture.expectOK(commitment(["--future"], "2036-02-15"))
        expectRefused(
            fixture, payment(["--future"], date: "2027-11-30"),
            saying: #"date: "2027-11-30" is a payment dated more than 1 day after the day it is recorded"#)
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let tomorrow = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400)).prefix(10))
        let later = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(2 * 86_400)).prefix(10))
        try fixture.expectOK(payment(date: today, ref: "T-1", amount: "1.00"))
        try fixture.expectOK(payment(date: tomorrow, ref: "T-2", amount: "2.00"))  // east of UTC, it is already tomorrow
        expectRefused(fixture, payment(date: later, ref: "T-3", amount: "3.00"), saying: "is a payment dated more than 1 day after")
        try fixture.expectOK(["key", "generate", "--out", "x", "--unencrypted"])
        expectRefused(
            fixture,
            ["key", "enroll", "--key", "authority.key", "--pub", "x.pub", "--name", "X", "--role", "officer", "--scope", "factory:de-jupitr"],
            saying: #"scope: "factory:de-jupitr" names a factory that is not registered (closest: factory:de-jupiter)"#)
        expectRefused(
            fixture, ["key", "enroll", "--key", "authority.key", "--pub", "x.pub", "--name", "X", "--role", "officer", "--scope", "private:acmee"],
            saying: #"scope: "private:acmee" names a partner that is not registered"#)
    }

    /// Found 3: lists, and an unknown ID names the closest registered ones.
    @Test func factoriesAndPartnersAreListedAndTyposNamed() throws {
        let fixture = try CLIFixture()
        #expect(try fixture.expectOK(["factory", "list"]).stdout.contains(#"de-jupiter  gigafactory  "Jupiter AI Gigafactory"  hosts DE"#))
        let json = try fixture.expectOK(["partner", "list", "--json"]).stdout
        let partners = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(partners.first?["id"] as? String == "acme" && partners.first?["sme"] as? Bool == true)
        var typo = payment()
        typo[typo.firstIndex(of: "de-jupiter")!] = "de-jupitr"
        expectRefused(fixture, typo, saying: "closest registered factories: de-jupiter")
    }

    /// Found 2: `correct` shows what it reverses; --dry-run writes nothing.
    @Test func aCorrectionIsPreviewedFirst() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(payment())
        let before = fixture.state()
        let dry = try fixture.expectOK(["correct", "--key", "authority.key", "--entry", "5", "--reason", "typo", "--dry-run"])
        #expect(dry.stdout.contains("entry 5 (contribution, recorded "), "\(dry.stdout)")
        #expect(dry.stdout.contains("de-jupiter ms:DE EUR 1,000.00 capex payment 2026-02-15 ref BMF-1"), "\(dry.stdout)")
        #expect(dry.stdout.contains("dry run: entry 6 would reverse entry 5; nothing was written"))
        #expect(fixture.state() == before)
        // No terminal to ask on (a script): refused without --yes, one line, exit 64, nothing written (issue 33).
        let unasked = fixture.run(["correct", "--key", "authority.key", "--entry", "5", "--reason", "typo"])
        #expect(unasked.status == 64 && unasked.stdout.isEmpty, "\(unasked.status) \(unasked.stdout)")
        #expect(
            unasked.stderr
                == "gigaledger: error: correct asks before it records a reversal, and there is no terminal to ask on: give --yes to record it (in a script), or --dry-run to see what it would reverse; nothing was written\n",
            "\(unasked.stderr)")
        #expect(fixture.state() == before)
        let done = try fixture.expectOK(["correct", "--key", "authority.key", "--entry", "5", "--reason", "typo", "--yes"])
        #expect(done.stdout.contains("reversed entry 5"))
    }

    /// Found 6 and 7: the policy travels in the binary; --version names the formats.
    @Test func theBuiltinPolicyAndTheVersion() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        let shown = try fixture.expectOK(["policy", "show"]).stdout
        #expect(shown.contains("policy eurohpc-2026 version 3") && shown.contains("matching-min-gigafactory: 100.00% [recital]"))
        #expect(fixture.run(["policy", "set", "--key", "authority.key"]).status == 64)
        let version = try fixture.expectOK(["--version"]).stdout
        #expect(version.hasPrefix("gigaledger ") && version.contains("gigaledger/entry/v2") && version.contains("0008_near_facts"))
        #expect(version.contains(/, source [0-9a-f]{12}/), "the source commit: \(version)")
    }

    /// `log` keeps its columns where the sequence numbers grow a digit (entry 10, 100, ...).
    @Test func logColumnsLineUpPastEntryNine() throws {
        let fixture = try CLIFixture()
        for n in 0..<10 { try fixture.expectOK(payment(ref: "BMF-\(n)", amount: "100\(n).00")) }
        let lines = try fixture.expectOK(["log"]).stdout.split(separator: "\n").map(String.init)
        #expect(lines.count >= 10)
        let columns = Set(lines.map { $0.range(of: "  20")!.lowerBound.utf16Offset(in: $0) })
        #expect(columns.count == 1, "recorded_at starts in one column: \(lines)")
    }

    /// Found 8: loose passphrase files, short passphrases, a public key given as the key.
    @Test func passphrasesAndKeyFilesAreCheckedAsSecrets() throws {
        let fixture = try CLIFixture()
        fixture.dir.write("open-pass", "correct horse battery staple\n", mode: 0o644)
        let open = fixture.run(payment(["--key", "officer.key", "--passphrase-file", "open-pass"]))
        #expect(open.status == 2 && open.stderr.contains("passphrase file open-pass is accessible by group or others"), "\(open.stderr)")
        fixture.dir.write("short", "tiny\n")
        let short = fixture.run(["key", "generate", "--out", "s", "--passphrase-file", "short", "--kdf", "interactive"])
        #expect(short.status == 65 && short.stderr.contains("the passphrase has 4 characters; a new key needs at least 12"), "\(short.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("s.key")))
        let pub = fixture.run(payment(["--key", "authority.pub"]))
        #expect(pub.stderr.contains("authority.pub is a public key"), "\(pub.stderr)")
        fixture.dir.write("two-lines", "12345678901\n\n")
        let lines = fixture.run(["key", "generate", "--out", "t", "--passphrase-file", "two-lines", "--kdf", "interactive"])
        #expect(lines.status == 65 && lines.stderr.contains("holds a line break"), "\(lines.stderr)")
    }

    /// The hostile pass on issue 15: the first 100 refused rows by row number, whatever refused them;
    /// an empty file and a column named twice said plainly; a right-to-left override shown escaped.
    @Test func importRefusalsInFileOrderAndPlainWords() throws {
        let fixture = try CLIFixture()
        let header = "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool,commercial,charge\n"
        var text = header
        for index in 0..<150 { text += "contribution,de-jupiter,2026-04-15,ms:DE,x\(index),capex,payment,X\(index),,,,,\n" }
        text += "contribution,nowhere,2026-04-15,eu,1.00,capex,payment,Y,,,,,\n"
        fixture.dir.write("order.csv", text, mode: 0o644)
        let result = fixture.run(["import", "order.csv", "--key", "authority.key"])
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first == "gigaledger: error: 151 rows refused; nothing was written:")
        #expect(lines[1].hasPrefix("row 2, column amount") && lines[100].hasPrefix("row 101, column amount"), "\(lines.prefix(3)) \(lines[100])")
        #expect(lines.last == "... and 51 more refused rows")
        fixture.dir.write("empty.csv", "", mode: 0o644)
        #expect(fixture.run(["import", "empty.csv", "--key", "authority.key"]).stderr.contains("the file is empty"))
        fixture.dir.write("twice.csv", "type,factory,type\n", mode: 0o644)
        #expect(
            fixture.run(["import", "twice.csv", "--key", "authority.key"]).stderr.contains(
                "row 1, column type: \"type\" is named twice in the header"))
        let spoof = fixture.run(payment(["--allow-duplicate"], ref: "a\u{202E}b"))
        #expect(spoof.status == 65 && spoof.stderr.contains("\\u{202e}") && !spoof.stderr.contains("\u{202E}"), "\(spoof.stderr)")
    }
}

/// Found 9: `--json` on the commands that print results, and a failure under `--json` is one JSON
/// object on standard error with its kind and exit code.
@Suite struct JSONOutputTests {
    @Test func resultsAndErrorsAsJSON() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(fixture.contributionArguments)
        func object(_ text: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        let status = try object(try fixture.expectOK(["status", "--json"]).stdout)
        #expect(status["verified"] as? Bool == true && status["entries"] as? Int == 5)
        #expect((status["factories"] as? [[String: Any]])?.first?["committed_cents"] as? Int == 0)
        let keys = try #require(
            try JSONSerialization.jsonObject(with: Data(fixture.expectOK(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(keys.map { $0["role"] as? String } == ["authority", "officer"])
        let refused = fixture.run(["factory", "list", "--json", "--ledger", "missing.sqlite"])
        #expect(refused.status == 2)
        let error = try #require(try object(refused.stderr.trimmingCharacters(in: .newlines))["error"] as? [String: Any])
        #expect(
            error["kind"] as? String == "unusable" && error["exit_code"] as? Int == 2
                && (error["message"] as? String)?.contains("missing.sqlite") == true)
        let usage = fixture.run(["status", "--json", "--no-such-option"])
        #expect(usage.status == 64)
        #expect(try object(usage.stderr.trimmingCharacters(in: .newlines))["error"] != nil, "\(usage.stderr)")
    }
}

/// The newcomer pass on issue 15: a German spreadsheet's amounts get the right diagnosis.
@Suite struct AmountDiagnosisTests {
    @Test(arguments: [
        ("250000,00", "has a decimal comma"), ("1500000,5", "has a decimal comma"), ("1.500.000,00", "has a decimal comma"),
        (" 250000.00 ", "has spaces around it"), ("1,500,000.00", "has a thousands separator"), ("1 500 000", "has a thousands separator"),
    ])
    func amounts(text: String, problem: String) {
        #expect { try Cents.parse(text, field: "amount") } throws: { error in
            (error as? InputError)?.problem.hasPrefix(problem) == true
        }
    }
}

/// Found 2: a registration mistake is fixed by an amendment entry; reports use the latest at their state.
@Suite struct AmendmentTests {
    @Test func aWrongCapexIsAmendedAndReportsFollow() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--builtin", "eurohpc-2026"])
        // EUR 595,000,000 of the registered EUR 3,500,000,000 is 17%: on the cap.
        try fixture.expectOK([
            "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "595000000",
            "--date", "2026-02-10", "--category", "capex", "--kind", "commitment",
        ])
        func capexVerdict(_ dir: String, at: String? = nil) throws -> String? {
            try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", dir] + (at.map { ["--at", $0] } ?? []))
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.dir.url.appendingPathComponent("\(dir)/summary.json")))
                    as? [String: Any])
            let verdicts = (summary["factories"] as? [[String: Any]])?.first?["verdicts"] as? [[String: Any]]
            return verdicts?.first { $0["rule"] as? String == "union-capex-share-max-gigafactory" }?["status"] as? String
        }
        #expect(try capexVerdict("before") == "PASS")
        // The CAPEX was registered wrong: EUR 3,400,000,000. Now 17.5%: a breach, from the amendment's state on.
        let amend = [
            "factory", "amend", "--key", "authority.key", "--id", "de-jupiter", "--name", "Jupiter AI Gigafactory", "--kind", "gigafactory",
            "--host", "DE", "--capex", "3400000000", "--reason", "CAPEX per the signed hosting agreement",
        ]
        try fixture.expectOK(amend)
        #expect(try capexVerdict("after") == "BREACH")
        #expect(try capexVerdict("then", at: "6") == "PASS")  // the report at the earlier state is unchanged
        #expect(try fixture.expectOK(["factory", "list"]).stdout.contains("capex EUR 3,400,000,000.00"))
        let before = fixture.state()
        var unknown = amend
        unknown[unknown.firstIndex(of: "de-jupiter")!] = "nowhere"
        let refusedUnknown = fixture.run(unknown)
        #expect(refusedUnknown.status == 65 && refusedUnknown.stderr.contains(#"id: "nowhere" is not a registered factory; register it first"#))
        var byOfficer = amend
        byOfficer[byOfficer.firstIndex(of: "authority.key")!] = "officer.key"
        let refusedOfficer = fixture.run(byOfficer + ["--passphrase-file", fixture.passphraseFile])
        #expect(refusedOfficer.status == 65 && refusedOfficer.stderr.contains("may not sign a factory-amend entry"))
        #expect(fixture.state() == before)  // nothing written by either refusal
        try fixture.expectOK([
            "partner", "amend", "--key", "authority.key", "--id", "acme", "--name", "ACME Compute SE (renamed)", "--country", "DE",
            "--reason", "renamed",
        ])
        #expect(try fixture.expectOK(["partner", "list"]).stdout.contains("ACME Compute SE (renamed)"))
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout) \(independent.stderr)")
    }
}
