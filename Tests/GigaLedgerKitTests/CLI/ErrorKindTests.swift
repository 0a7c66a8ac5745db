import Foundation
import GRDB
import Testing
@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Errors that used to say "input refused" (exit 65) where the ledger itself is damaged: the
/// auditor's finding is "not verified" (exit 1), whatever command finds it.
@Suite struct ErrorKindTests {
    /// Raw SQL on the fixture's ledger with the append-only triggers dropped, as a tamperer would.
    static func tamper(_ fixture: CLIFixture, _ sql: String) throws {
        let queue = try DatabaseQueue(path: fixture.dir.file("ledger.sqlite"))
        try queue.writeWithoutTransaction { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                try db.execute(sql: "DROP TRIGGER \(trigger)")
            }
            try db.execute(sql: sql)
        }
    }

    @Test func aDamagedKeyIndexIsNotVerifiedNotRefused() throws {
        let fixture = try CLIFixture()
        // The officer's row in the keys index now points at entry 2, a factory registration.
        try Self.tamper(fixture, "UPDATE keys SET seq = 2 WHERE role = 'officer'")
        var arguments = fixture.contribution("--source", "ms:DE")
        arguments[arguments.firstIndex(of: "authority.key")!] = "officer.key"
        let result = fixture.run(arguments + ["--passphrase-file", fixture.passphraseFile])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr == "gigaledger: error: the ledger is damaged: index table keys points at entry 2, which enrols no key; nothing was written, run `gigaledger verify`\n")
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
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", PolicyTests.shippedPath])
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
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", PolicyTests.shippedPath])
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
    }
}
