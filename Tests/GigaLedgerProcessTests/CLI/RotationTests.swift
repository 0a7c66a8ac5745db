import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// Issue 27, case 1: the root of trust rotates. The fixture's genesis authority enrols a second
/// authority (entry 5), which signs a checkpoint of the ledger (size 5) and revokes the genesis key
/// (entry 6). An auditor who was given only the second authority's key, in a configuration folder of
/// their own, verifies the ledger and keeps a copy of it; a ledger that merely enrols that public
/// key, without its checkpoint, is refused.
@Suite struct RotationTests {
    /// A new auditor's environment: a configuration folder that has recorded nothing.
    func newAuditor(_ fixture: CLIFixture, _ name: String) -> [String: String] {
        ["XDG_CONFIG_HOME": fixture.dir.file(name)]
    }

    /// schema/tools/verify_ledger.py on the fixture's ledger, trusting authority key `id`.
    func independent(_ fixture: CLIFixture, _ id: String) -> Run {
        shell("python3 '\(Repository.independentVerifier)' ledger.sqlite \(id)", in: fixture.dir)
    }

    func rotated() throws -> (fixture: CLIFixture, genesis: String, second: String) {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority",
        ])
        let keys = try fixture.expectOK(["key", "list", "--json"]).stdout
        let ids = keys.matches(of: /"key_id":"([0-9A-F]{16})"/).map { String($0.1) }
        try fixture.expectOK(["checkpoint", "--key", "authority-2.key", "--out", "cp-5.txt"])
        try fixture.expectOK(["key", "revoke", "--key", "authority-2.key", "--id", ids[0], "--reason", "rotated"])
        return (fixture, ids[0], ids.last!)
    }

    @Test func aLaterAuthorityKeyIsARootOfTrust() throws {
        let (fixture, genesis, second) = try rotated()
        let auditor = newAuditor(fixture, "auditor")
        let verified = try fixture.expectOK(["verify", "--authority-key", "authority-2.pub"], env: auditor).stdout
        #expect(
            verified.contains("authority key: \(second) (as given by --authority-key; a later authority key: it signed the checkpoint of 5 entries"),
            "\(verified)")
        #expect(verified.contains("authority \(genesis) \"Ledger authority\": the genesis authority, revoked at entry 6"), "\(verified)")
        // Recorded for the origin as given: the next command needs no --authority-key.
        let again = try fixture.expectOK(["verify"], env: auditor).stdout
        #expect(again.contains("authority key: \(second) (as recorded in"), "\(again)")
        // The genesis key the ledger descends from still works for an auditor who holds it.
        try fixture.expectOK(["verify", "--authority-key", "authority.pub"], env: newAuditor(fixture, "old-auditor"))
        // The independent verifier agrees, given either key's ID.
        #expect(independent(fixture, second).status == 0, "\(independent(fixture, second).stdout)")
        #expect(independent(fixture, genesis).status == 0)
    }

    /// A ledger that enrols the second authority's public key (anyone can) but holds no entry and no
    /// checkpoint that key signed is not vouched for by it: refused, exit 1, naming both keys.
    @Test func anEnrolledKeyWithoutItsCheckpointIsNoRootOfTrust() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority",
        ])
        let refused = fixture.run(["verify", "--authority-key", "authority-2.pub"], env: newAuditor(fixture, "auditor"))
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("signed no entry and no checkpoint of it"), "\(refused.stderr)")
        let second = try KeyFiles.readPublic(path: fixture.dir.file("authority-2.pub")).id.description
        #expect(independent(fixture, second).status == 1, "\(independent(fixture, second).stdout)")
        // A checkpoint signed by another key over the ledger does not vouch for it either.
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        #expect(fixture.run(["verify", "--authority-key", "authority-2.pub"], env: newAuditor(fixture, "auditor-2")).status == 1)
        // An entry the second authority signs vouches, as a checkpoint would: its hash covers the chain before it.
        try fixture.expectOK(["partner", "register", "--key", "authority-2.key", "--id", "beta", "--name", "Beta AI SE", "--country", "FR"])
        let vouched = try fixture.expectOK(["verify", "--authority-key", "authority-2.pub"], env: newAuditor(fixture, "auditor-3")).stdout
        #expect(vouched.contains("it signed entry 6 (partner-register), whose hash covers"), "\(vouched)")
        #expect(independent(fixture, second).status == 0, "\(independent(fixture, second).stdout)")
    }

    /// Issue 27, case 3: a cosignature counts only when its auditor was enrolled at the checkpoint's
    /// size. `cosign` refuses an older checkpoint (exit 65, nothing kept); a row of that kind kept by
    /// an earlier version leaves the ledger verifying, named as not counting.
    @Test func anAuditorEnrolledAfterACheckpointDoesNotCosignIt() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp-4.txt"])
        try fixture.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "auditor.pub", "--name", "Court", "--role", "auditor"])
        let refused = fixture.run(["cosign", "cp-4.txt", "--key", "auditor.key", "--name", "court"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("was enrolled at entry 5, after this checkpoint of 4 entries"), "\(refused.stderr)")
        // As an earlier version kept it: a valid cosignature line of checkpoint 4 by that auditor.
        let note = try String(contentsOfFile: fixture.dir.file("cp-4.txt"), encoding: .utf8)
        let key = try SecretKeyFile.open(try KeyFiles.readSecret(path: fixture.dir.file("auditor.key")), passphrase: nil)
        let line = try NoteKey.cosign(try SignedNote.parse(note).text, name: "court", key: key, timestamp: 1_780_000_000)
        try fileBehindTheTool(fixture.ledger).write { db in
            try db.execute(sql: "INSERT INTO cosignatures (size, key_id, line) VALUES (4, ?, ?)", arguments: [key.id.description, line.text])
        }
        let verified = fixture.run(["verify"])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(IntegrityTests.independent(fixture).status == 0, "\(IntegrityTests.independent(fixture).stdout)")
        #expect(verified.stderr.contains("the cosignature of checkpoint 4 by \(key.id) does not count"), "\(verified.stderr)")
        // A newer checkpoint it cosigns.
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp-5.txt"])
        try fixture.expectOK(["cosign", "cp-5.txt", "--key", "auditor.key", "--name", "court"])
    }

    /// Receipts across a rotation: one made after it (its checkpoint signed by the second authority)
    /// carries the second authority's enrolment and the genesis key's revocation, and checks with
    /// either key; one made before keeps checking with the key of its time; a consistency proof
    /// from a checkpoint of either authority checks with either key.
    @Test func receiptsCheckAcrossARotation() throws {
        let (fixture, _, _) = try rotatedAfterAReceipt()
        try fixture.expectOK(
            fixture.contribution("--key", "authority-2.key") + ["--ref", "AFTER"])
        try fixture.expectOK(["checkpoint", "--key", "authority-2.key", "--out", "cp-7.txt"])
        try fixture.expectOK(["prove", "--entry", "7", "--out", "after.receipt"])
        let after = try String(contentsOfFile: fixture.dir.file("after.receipt"), encoding: .utf8)
        #expect(
            after.hasPrefix("gigaledger-receipt/v2\n") && after.contains("\ncheckpoint_key_entry 6\n")
                && after.contains("\ncheckpoint_key_entry 7\n"), "\(after)")
        for key in ["authority.pub", "authority-2.pub"] {
            let checked = fixture.run(["check-receipt", "after.receipt", "--ledger-key", key])
            #expect(checked.status == 0, "\(key): \(checked.stderr)")
            let before = fixture.run(["check-receipt", "before.receipt", "--ledger-key", key])
            #expect(before.status == (key == "authority.pub" ? 0 : 1), "\(key): \(before.stderr)")
        }
        #expect(fixture.run(["check-receipt", "after.receipt", "--ledger-key", "officer.pub"]).status == 1)
        // The receipt's key entries are checked: without the second authority's enrolment, the genesis key cannot follow.
        let enrolment = try #require(after.range(of: "checkpoint_key_entry 6\n"))
        let revocation = try #require(after.range(of: "checkpoint_key_entry 7\n"))
        var cut = after
        cut.removeSubrange(enrolment.lowerBound..<revocation.lowerBound)
        try cut.write(toFile: fixture.dir.file("cut.receipt"), atomically: true, encoding: .utf8)
        let refused = fixture.run(["check-receipt", "cut.receipt", "--ledger-key", "authority.pub"])
        #expect(refused.status == 1, "\(refused.stderr)")
        try fixture.expectOK(["prove", "--from", "before.checkpoint", "--out", "consistency.txt"])
        let consistency = try String(contentsOfFile: fixture.dir.file("consistency.txt"), encoding: .utf8)
        #expect(consistency.hasPrefix("gigaledger-consistency/v3\n"), "\(consistency)")
        for key in ["authority.pub", "authority-2.pub"] {
            let checked = fixture.run(["check-receipt", "consistency.txt", "--ledger-key", key])
            #expect(checked.status == 0, "\(key): \(checked.stderr)")
        }
    }

    /// The fixture with a receipt of entry 5 and its checkpoint made before a rotation (genesis
    /// authority), then the second authority enrolled (6), its checkpoint (size 6), the genesis
    /// key revoked by it (7).
    func rotatedAfterAReceipt() throws -> (fixture: CLIFixture, genesis: String, second: String) {
        let fixture = try CLIFixture()
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "before.checkpoint"])
        try fixture.expectOK(["prove", "--entry", "5", "--out", "before.receipt"])
        try fixture.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority",
        ])
        let ids = try fixture.expectOK(["key", "list", "--json"]).stdout.matches(of: /"key_id":"([0-9A-F]{16})"/).map { String($0.1) }
        try fixture.expectOK(["checkpoint", "--key", "authority-2.key", "--out", "cp-6.txt"])
        try fixture.expectOK(["key", "revoke", "--key", "authority-2.key", "--id", ids[0], "--reason", "rotated"])
        return (fixture, ids[0], ids.last!)
    }
}
