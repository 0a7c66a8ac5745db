import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Checkpoints, receipts, consistency proofs and cosignatures through the real binary.
@Suite struct TransparencyCommandTests {
    @Test func checkpointReceiptConsistencyCosignAndTruncation() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q1.checkpoint"])
        let receipt = try fixture.expectOK(["prove", "--entry", "5"]).stdout
        fixture.dir.write("entry5.receipt", receipt, mode: 0o644)
        // The receipt checks with no ledger at all: move the ledger away first.
        _ = shell("mkdir away && mv ledger.sqlite* away/", in: fixture.dir)
        let checked = fixture.run(["check-receipt", "entry5.receipt", "--ledger-key", "authority.pub"])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.hasPrefix("receipt verified: entry 5 (contribution) is in test.example/ledger at tree size 5"))
        let wrongKey = fixture.run(["check-receipt", "entry5.receipt", "--ledger-key", "officer.pub"])
        #expect(wrongKey.status == 1)
        _ = shell("mv away/* . && rmdir away", in: fixture.dir)

        for _ in 0..<2 { try fixture.expectOK(fixture.contributionArguments) }
        try fixture.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        // Only an enrolled auditor key cosigns (issue 12, item 12).
        let notYet = fixture.run(["cosign", "q1.checkpoint", "--key", "auditor.key"])
        #expect(notYet.status == 65)
        #expect(notYet.stderr.contains("is not an enrolled, unrevoked auditor key"))
        let officerCosign = fixture.run(["cosign", "q1.checkpoint", "--key", "officer.key", "--passphrase-file", fixture.passphraseFile])
        #expect(officerCosign.status == 65)
        // Entry 8; an auditor cosigns checkpoints of the ledger it was enrolled in (issue 27).
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "auditor.pub", "--name", "Court of Auditors", "--role", "auditor"])
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q2.checkpoint"])
        let consistency = try fixture.expectOK(["prove", "--from", "q1.checkpoint"]).stdout
        #expect(consistency.hasPrefix("gigaledger-consistency/v2\nproof "))
        // Checkable offline, like a receipt: it carries both signed checkpoints.
        fixture.dir.write("consistency.txt", consistency, mode: 0o644)
        let offline = try fixture.expectOK(["check-receipt", "consistency.txt", "--ledger-key", "authority.pub"])
        #expect(offline.stdout == "consistency verified: test.example/ledger at tree size 8 extends tree size 5\n")
        var lines = consistency.components(separatedBy: "\n")
        lines[2] = (lines[2].hasPrefix("0") ? "1" : "0") + lines[2].dropFirst()  // one proof hash changed
        fixture.dir.write("forged.txt", lines.joined(separator: "\n"), mode: 0o644)
        #expect(fixture.run(["check-receipt", "forged.txt", "--ledger-key", "authority.pub"]).status != 0)
        let since = try fixture.expectOK(["verify", "--since", "q1.checkpoint"]).stdout
        #expect(since.contains("extends checkpoint q1.checkpoint"))

        let cosigned = try fixture.expectOK(["cosign", "q2.checkpoint", "--key", "auditor.key", "--name", "court-of-auditors"]).stdout
        #expect(cosigned.contains("\n— court-of-auditors "))
        #expect(cosigned.hasPrefix(try String(contentsOfFile: fixture.dir.file("q2.checkpoint"), encoding: .utf8)))
        // The cosignature is kept with the checkpoint, checked by both verifiers, and carried by receipts.
        let witnessed = try fixture.expectOK(["verify", "--witness", "auditor.pub"])
        #expect(witnessed.stdout.contains("the latest checkpoint (size 8) is cosigned by 1 of the 1 witnesses given"))
        #expect(fixture.run(["verify", "--witness", "officer.pub"]).status == 1)
        #expect(IntegrityTests.independent(fixture).status == 0, "\(IntegrityTests.independent(fixture).stdout)")
        try fixture.expectOK(["prove", "--entry", "5", "--out", "cosigned.receipt"])
        try fixture.expectOK(["check-receipt", "cosigned.receipt", "--ledger-key", "authority.pub", "--witness", "auditor.pub"])
        // --json: the result as an object, and a failure as one JSON object on stderr (issue 15, item 9).
        let asJSON = try fixture.expectOK(["check-receipt", "cosigned.receipt", "--ledger-key", "authority.pub", "--json"]).stdout
        let receiptObject = try #require(try JSONSerialization.jsonObject(with: Data(asJSON.utf8)) as? [String: Any])
        #expect(receiptObject["verified"] as? Bool == true && receiptObject["entry"] as? Int == 5 && receiptObject["tree_size"] as? Int == 8)
        let jsonFailure = fixture.run(["check-receipt", "entry5.receipt", "--ledger-key", "authority.pub", "--witness", "auditor.pub", "--json"])
        #expect(jsonFailure.status == 1 && jsonFailure.stderr.hasPrefix(#"{"error":{"exit_code":1,"kind":"notVerified""#), "\(jsonFailure.stderr)")
        let cosignJSON = try fixture.expectOK(["cosign", "q2.checkpoint", "--key", "auditor.key", "--name", "court-of-auditors", "--json"]).stdout
        let cosignObject = try #require(try JSONSerialization.jsonObject(with: Data(cosignJSON.utf8)) as? [String: Any])
        #expect(cosignObject["checkpoint_size"] as? Int == 8 && (cosignObject["note"] as? String)?.contains("— court-of-auditors ") == true)
        let unwitnessed = fixture.run(["check-receipt", "entry5.receipt", "--ledger-key", "authority.pub", "--witness", "auditor.pub"])
        #expect(unwitnessed.status == 1)
        #expect(unwitnessed.stderr.contains("cosigned by 0 of the 1 witnesses given; 1 required"), "\(unwitnessed.stderr)")
        // A cosignature row forged into the table is found.
        try tamperFile(fixture.dir.file("ledger.sqlite"), "UPDATE cosignatures SET line = replace(line, 'court', 'forged')")
        let forged = fixture.run(["verify"])
        #expect(forged.status == 1)
        #expect(forged.stdout.contains("stored cosignature of checkpoint 8"), "\(forged.stdout)")
        #expect(IntegrityTests.independent(fixture).status == 1)
        try tamperFile(fixture.dir.file("ledger.sqlite"), "UPDATE cosignatures SET line = replace(line, 'forged', 'court')")
        // Cosigning an older checkpoint after a newer one is refused (not a finding: it is only behind the auditor's state).
        let backwards = fixture.run(["cosign", "q1.checkpoint", "--key", "auditor.key"])
        #expect(backwards.status == 65)
        // (q1 is also older than the auditor's enrolment, which is named first.)
        #expect(backwards.stderr.contains("was enrolled at entry 8, after this checkpoint of 5 entries"), "\(backwards.stderr)")
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "q3.checkpoint"])
        try fixture.expectOK(["cosign", "q3.checkpoint", "--key", "auditor.key"])
        let older = fixture.run(["cosign", "q2.checkpoint", "--key", "auditor.key"])
        #expect(
            older.status == 65 && older.stderr.contains("the checkpoint (size 8) is older than the last one cosigned (size 9)"), "\(older.stderr)")

        // Truncate the tail with raw SQL, tree nodes too: the chain alone still links, but the
        // checkpoint signed over the cut entries is still in the file, and verify finds it...
        try tamperFile(fixture.dir.file("ledger.sqlite"), "DELETE FROM entries WHERE seq > 6; DELETE FROM merkle_nodes WHERE (idx + 1) << level > 6")
        let plain = fixture.run(["verify"])
        #expect(plain.status == 1)
        #expect(plain.stdout.contains("entry 7: stored checkpoint 8 covers more entries than the ledger holds"))
        // ...and against the checkpoint published before the cut, the size mismatch is the finding.
        let cut = fixture.run(["verify", "--since", "q2.checkpoint"])
        #expect(cut.status == 1)
        #expect(cut.stdout.contains("size mismatch: checkpoint q2.checkpoint has size 8, the ledger only 6 entries (truncated)"), "\(cut.stderr)")
    }

    @Test func receiptNeedsACheckpoint() throws {
        let fixture = try CLIFixture()
        let result = fixture.run(["prove", "--entry", "2"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("signed no checkpoint yet"))
        let officer = fixture.run(["checkpoint", "--key", "officer.key", "--passphrase-file", fixture.passphraseFile])
        #expect(officer.status == 65)
        #expect(officer.stderr.contains("not an active authority or log key"))
    }
}
