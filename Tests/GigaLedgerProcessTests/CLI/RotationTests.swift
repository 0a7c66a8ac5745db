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

    /// A ledger that enrols the second authority's public key (anyone can) but holds no checkpoint
    /// that key signed is not vouched for by it: refused, exit 1, naming both keys.
    @Test func anEnrolledKeyWithoutItsCheckpointIsNoRootOfTrust() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority",
        ])
        let refused = fixture.run(["verify", "--authority-key", "authority-2.pub"], env: newAuditor(fixture, "auditor"))
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("signed no checkpoint of it"), "\(refused.stderr)")
        let second = try KeyFiles.readPublic(path: fixture.dir.file("authority-2.pub")).id.description
        #expect(independent(fixture, second).status == 1, "\(independent(fixture, second).stdout)")
        // A checkpoint signed by another key over the ledger does not vouch for it either.
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        #expect(fixture.run(["verify", "--authority-key", "authority-2.pub"], env: newAuditor(fixture, "auditor-2")).status == 1)
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
}
