import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Errors that used to say "input refused" (exit 65) where the ledger itself is damaged: the
/// auditor's finding is "not verified" (exit 1), whatever command finds it.
@Suite struct ErrorKindTests {
    /// Raw SQL on the fixture's ledger with the append-only triggers dropped and put back, as a tamperer would.
    static func tamper(_ fixture: CLIFixture, _ sql: String) throws {
        try tamperFile(fixture.dir.file("ledger.sqlite"), sql)
    }

    @Test func aDamagedKeyIndexIsNotVerifiedNotRefused() throws {
        let fixture = try CLIFixture()
        // The officer's row in the keys index now points at entry 2, a factory registration.
        try Self.tamper(fixture, "UPDATE keys SET seq = 2 WHERE role = 'officer'")
        var arguments = fixture.contribution("--source", "ms:DE")
        arguments[arguments.firstIndex(of: "authority.key")!] = "officer.key"
        let result = fixture.run(arguments + ["--passphrase-file", fixture.passphraseFile])
        #expect(result.status == 1, "\(result.stderr)")
        // The row is named, as one no entry made (issue 28: no unchecked row is relied on).
        #expect(result.stderr.hasPrefix("gigaledger: error: the ledger is damaged: the index table keys holds a row (key_id "), "\(result.stderr)")
        #expect(result.stderr.contains(", seq 2) that entry 2 does not make: it was written outside GigaLedger"))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        #expect(fixture.run(["verify"]).status == 1)
    }

    @Test func aLedgerWithoutGenesisIsNotVerifiedNotRefused() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        // Entry 1's body replaced by entry 2's: the keys index still names the authority.
        try Self.tamper(fixture, "UPDATE entries SET body = (SELECT body FROM entries WHERE seq = 2) WHERE seq = 1")
        let result = fixture.run(["prove", "--entry", "3"])
        #expect(result.status == 1, "\(result.stderr)")
        // The keys index, read first, names entry 1 as the authority's enrolment: damaged either way.
        #expect(result.stderr.hasPrefix("gigaledger: error: the ledger is damaged: "))
    }

    @Test func aReportOnALedgerThatDoesNotVerifyIsNotVerified() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try Self.tamper(fixture, "UPDATE entries SET signature = zeroblob(64) WHERE seq = 3")
        let report = fixture.run(["report", "--quarter", "2026-Q1", "--out", "q1", "--full-verify"])
        #expect(report.status == 1, "\(report.stderr)")
        #expect(report.stderr.contains("the ledger does not verify (entry 3: signature does not verify"))
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q1")))
        let export = fixture.run(["export", "--format", "csv"])
        #expect(export.status == 1)
        #expect(export.stdout.isEmpty)
    }

    @Test func aPolicyFileThatIsNotAPolicyIsRefused() throws {
        let fixture = try CLIFixture()
        fixture.dir.write("p.json", #"{"policy":"p","version":0,"title":"t","rules":[]}"#)
        let result = fixture.run(["policy", "set", "--key", "authority.key", "--file", "p.json"])
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("gigaledger: error: policy file p.json: "))
        let missing = fixture.run(["policy", "set", "--key", "authority.key", "--file", "absent.json"])
        #expect(missing.status == 2)
    }

    /// A report written onto a file, or into a folder of other files, is refused as an output that
    /// cannot be written (exit 2), in one line, and nothing there changes.
    @Test func aReportIsNeverWrittenOverOtherFiles() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        fixture.dir.write("plain", "a file\n")
        let onFile = fixture.run(["report", "--quarter", "2026-Q1", "--out", "plain"])
        #expect(onFile.status == 2)
        #expect(onFile.stderr.hasSuffix("it is a file, not a folder; nothing was written there\n"))
        #expect(onFile.stderr.filter { $0 == "\n" }.count == 1)
        #expect(try String(contentsOfFile: fixture.dir.file("plain"), encoding: .utf8) == "a file\n")
        let here = fixture.run(["report", "--quarter", "2026-Q1", "--out", "."])
        #expect(here.status == 2)
        #expect(here.stderr.contains("which this command did not write"))
        // An earlier report's folder is replaced whole: its old signatures do not linger.
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", "authority.key"])
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("q1/report.md.minisig")))
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("q1/report.md.minisig")))
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("q1/report.md")))
    }

    /// Output that cannot be written, to standard output (a full disk) or a file, is a failure.
    @Test func lostOutputIsAFailure() throws {
        let fixture = try CLIFixture()
        let log = shell("\(Binary.path) log --ledger ledger.sqlite > /dev/full", in: fixture.dir)
        #expect(log.status == 2, "\(log.stderr)")
        #expect(log.stderr.contains("cannot write standard output"))
        for command in ["export --format csv", "prove --entry 2", "status"] {
            let lost = shell("\(Binary.path) \(command) --ledger ledger.sqlite > /dev/full", in: fixture.dir)
            #expect(lost.status == 2 || (command.hasPrefix("prove") && lost.status == 65), "\(command): \(lost.stderr)")
        }
        // An entry or an import whose report is lost is not recorded: a script that retries records nothing twice.
        let before = fixture.state()
        let record = shell(
            (["'\(Binary.path)'"] + fixture.contributionArguments + ["--ledger", "ledger.sqlite"]).joined(separator: " ") + " > /dev/full",
            in: fixture.dir)
        #expect(record.status == 2, "\(record.stderr)")
        fixture.dir.write("rows.csv", ImportCommandTests.header + "contribution,de-jupiter,2026-02-15,eu,10.00,capex,payment,R,,,,,\n", mode: 0o644)
        let imported = shell("'\(Binary.path)' import rows.csv --key authority.key --ledger ledger.sqlite > /dev/full", in: fixture.dir)
        #expect(imported.status == 2, "\(imported.stderr)")
        // Line-buffered standard output (stdbuf, as on a terminal) writes as it goes: the failed write is found too.
        let lineBuffered = shell(
            "stdbuf -oL '\(Binary.path)' import rows.csv --key authority.key --ledger ledger.sqlite > /dev/full", in: fixture.dir)
        #expect(lineBuffered.status == 2, "\(lineBuffered.stderr)")
        #expect(fixture.state() == before)
        // Nor does a command that makes files leave them: key generate, init, backup, report.
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        let after = fixture.state()
        for (command, made) in [
            ("key generate --out lost --unencrypted", "lost.key"),
            ("init --key authority.key --origin lost.example/l --ledger lost.sqlite", "lost.sqlite"),
            ("backup --out lost-copy.sqlite --ledger ledger.sqlite", "lost-copy.sqlite"),
            ("report --quarter 2026-Q1 --out lost-report --ledger ledger.sqlite", "lost-report"),
        ] {
            let lost = shell("'\(Binary.path)' \(command) > /dev/full", in: fixture.dir)
            #expect(lost.status == 2, "\(command): \(lost.stderr)")
            #expect(!FileManager.default.fileExists(atPath: fixture.dir.file(made)), "\(command) left \(made)")
        }
        #expect(fixture.state() == after)
        // A checkpoint whose output is lost is not kept either.
        let checkpoint = shell("\(Binary.path) checkpoint --key authority.key --ledger ledger.sqlite > /dev/full", in: fixture.dir)
        #expect(checkpoint.status == 2, "\(checkpoint.stderr)")
        #expect(shell("sqlite3 ledger.sqlite 'SELECT COUNT(*) FROM checkpoints'", in: fixture.dir).stdout == "0\n")
    }

    /// A command that records something (a checkpoint, a cosignature) checks its outputs first:
    /// a failing output never follows a recorded or handed-out result.
    @Test func nothingIsRecordedWhenItsOutputCannotBeWritten() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        try fixture.expectOK(fixture.contributionArguments)
        let again = fixture.run(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("cp.txt: it already exists"))
        let stored = shell("sqlite3 ledger.sqlite 'SELECT group_concat(size) FROM checkpoints'", in: fixture.dir)
        #expect(stored.stdout == "4\n", "a checkpoint was stored although its output failed: \(stored.stdout)")
        try fixture.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        let cosign = fixture.run(["cosign", "cp.txt", "--key", "auditor.key", "--state", "/nonexistent/folder/state", "--out", "cosigned.txt"])
        #expect(cosign.status == 2, "\(cosign.stderr)")
        #expect(cosign.stderr.contains("/nonexistent/folder/state"))
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("cosigned.txt")))
    }

    /// A backup whose copy does not verify keeps nothing, and says so in one line (exit 1).
    @Test func aBackupThatDoesNotVerifyKeepsNothing() throws {
        let fixture = try CLIFixture()
        try Self.tamper(fixture, "UPDATE entries SET signature = zeroblob(64) WHERE seq = 3")
        let backup = fixture.run(["backup", "--out", "copy.sqlite"])
        #expect(backup.status == 1, "\(backup.stderr)")
        #expect(backup.stderr.hasPrefix("gigaledger: error: the copy does not verify (entry 3: "))
        #expect(backup.stdout.isEmpty)
        let left = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("copy.sqlite") }
        #expect(left.isEmpty, "\(left)")
        let missing = fixture.run(["backup", "--out", "no/such/folder/copy.sqlite"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("its folder"))
    }

    /// Damage the store finds on its own is "not verified" (1), in one line, whatever command finds it.
    @Test(arguments: [
        ("UPDATE keys SET key_id = 'zz' WHERE role = 'officer'", ["key", "list"], "index table keys holds"),
        (
            "INSERT INTO merkle_nodes (level, idx, hash) VALUES (0, 4, zeroblob(32))",
            [
                "factory", "register", "--key", "authority.key", "--id", "x",
                "--name", "X", "--kind", "gigafactory", "--host", "DE", "--capex", "1",
            ],
            "SQLite refused a row as conflicting with a stored one"
        ),
    ])
    func damageFoundByTheStoreIsNotVerified(sql: String, arguments: [String], message: String) throws {
        let fixture = try CLIFixture()
        try Self.tamper(fixture, sql)
        let result = fixture.run(arguments)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
    }

    /// A report folder is replaced only when it holds report files and nothing else: not a
    /// subfolder that happens to bear a report file's name, not through a symbolic link.
    @Test func aReportFolderIsReplacedOnlyWhenItHoldsReportFiles() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try FileManager.default.createDirectory(atPath: fixture.dir.file("rx/report.md"), withIntermediateDirectories: true)
        fixture.dir.write("rx/report.md/mine.txt", "mine\n")
        let sub = fixture.run(["report", "--quarter", "2026-Q1", "--out", "rx"])
        #expect(sub.status == 2)
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("rx/report.md/mine.txt")))
        try FileManager.default.createDirectory(atPath: fixture.dir.file("real"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: fixture.dir.file("link"), withDestinationPath: "real")
        let link = fixture.run(["report", "--quarter", "2026-Q1", "--out", "link"])
        #expect(link.status == 2)
        #expect(link.stderr.contains("symbolic link"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.dir.file("link")) == "real")
    }

    @Test func aFileThatIsNotAReceiptIsRefused() throws {
        let fixture = try CLIFixture()
        fixture.dir.write("not-a-receipt", "hello\n")
        let result = fixture.run(["check-receipt", "not-a-receipt", "--ledger-key", "authority.pub"])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("not a valid receipt"))
    }
}
