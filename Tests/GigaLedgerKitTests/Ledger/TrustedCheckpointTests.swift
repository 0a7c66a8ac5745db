import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// `verify(trustingLatestCheckpoint:)`: the signatures under a checkpoint the ledger signed are
/// taken as checked; everything else, and the checkpoint itself, is still checked.
@Suite struct TrustedCheckpointTests {
    /// The fixture's 9 entries, a checkpoint at 9, and one more entry.
    static func checkpointed() throws -> Fixture {
        let fixture = try Fixture()
        _ = try fixture.ledger.signCheckpoint(key: fixture.authority)
        try fixture.ledger.append(Fixture.contribution(source: .union, cents: 77), key: fixture.authority)
        return fixture
    }

    static func trusted(_ fixture: Fixture) throws -> VerificationReport {
        try Ledger.open(path: fixture.path, forWriting: false).verify(trustingLatestCheckpoint: true)
    }

    @Test func signaturesUnderTheCheckpointAreTakenAsCheckedTheOthersAreChecked() throws {
        let fixture = try Self.checkpointed()
        let clean = try Self.trusted(fixture)
        #expect(clean.isVerified && clean.verifiedCount == 10 && clean.signaturesTrustedThrough == 9)
        #expect(try fixture.verify().signaturesTrustedThrough == nil)

        // A replaced signature under the checkpoint: only the full verify finds it.
        try fixture.tamper("UPDATE entries SET signature = randomblob(64) WHERE seq = 6")
        #expect(try fixture.verify().failure?.seq == 6)
        #expect(try Self.trusted(fixture).isVerified)
        // Above the checkpoint, it is found either way.
        try fixture.tamper("UPDATE entries SET signature = randomblob(64) WHERE seq = 10")
        let failure = try #require(try Self.trusted(fixture).failure)
        #expect(failure.seq == 10 && failure.reason.contains("signature does not verify"))
    }

    /// A rewrite without any key: body changed, every later hash and link recomputed, the tree
    /// rebuilt. Per entry it all checks out but the signatures; the signed root does not.
    @Test func aHistoryRewrittenUnderTheCheckpointIsFoundAtItsSize() throws {
        let fixture = try Self.checkpointed()
        try fixture.tamper { db in
            var prevHash = try #require(try Data.fetchOne(db, sql: "SELECT hash FROM entries WHERE seq = 5")).map { $0 }
            for seq in Int64(6)...10 {
                var body = try #require(try Data.fetchOne(db, sql: "SELECT body FROM entries WHERE seq = ?", arguments: [seq])).map { $0 }
                if seq == 6 { body = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "125000050", with: "925000050").utf8) }
                let hash = Entry.hash(prevHash: prevHash, body: body)
                try db.execute(
                    sql: "UPDATE entries SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [Data(body), Data(prevHash), Data(hash), seq])
                prevHash = hash
            }
            try db.execute(sql: "DELETE FROM merkle_nodes")
            try TreeStore.backfill(db)
            try db.execute(sql: "DELETE FROM facts")  // a careful rewrite keeps its index right too
            try LedgerDatabase.backfillFacts(db)
            try db.execute(sql: "DELETE FROM near_facts")
            try LedgerDatabase.backfillNearFacts(db)
        }
        #expect(try fixture.verify().failure?.seq == 6)
        let failure = try #require(try Self.trusted(fixture).failure)
        #expect(failure.seq == 9)
        #expect(failure.reason.contains("another root than the entries give"))
    }

    @Test func aCheckpointNotSignedByAnActiveAuthorityIsRefused() throws {
        let fixture = try Fixture()
        let root = try fixture.ledger.root(size: 9)
        let checkpoint = Checkpoint(origin: "test/ledger", size: 9, root: root)
        let note = SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: "test/ledger", key: fixture.officer)])
            .encoded
        try fixture.tamper(
            "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (9, ?, ?, '2026-11-29T00:00:00Z')", arguments: [Data(root), note])
        let failure = try #require(try Self.trusted(fixture).failure)
        #expect(failure.seq == 9)
        #expect(failure.reason.contains("is not signed by an active authority or log key"))
    }

    @Test func aCheckpointLargerThanTheLedgerIsFound() throws {
        let fixture = try Self.checkpointed()
        try fixture.tamper("DELETE FROM entries WHERE seq >= 9")
        let failure = try #require(try Self.trusted(fixture).failure)
        #expect(failure.seq == 9)
        #expect(failure.reason.contains("covers more entries than the ledger holds"))
    }

    @Test func checkpointSigningVerifiesTheLedgerFirst() throws {
        let fixture = try Fixture()
        try fixture.tamper("UPDATE entries SET signature = randomblob(64) WHERE seq = 6")
        #expect { _ = try fixture.ledger.signCheckpoint(key: fixture.authority) } throws: { error in
            guard case LedgerError.notVerified(let failure) = error else { return false }
            return failure.seq == 6
        }
        #expect(try fixture.ledger.latestCheckpoint() == nil)
    }

    @Test func reportsTrustingTheCheckpointGiveTheSameFigures() throws {
        let fixture = try Self.checkpointed()
        try fixture.ledger.append(.policy(try Repository.shippedPolicy()), key: fixture.authority)
        let quarter = try Quarter.parse("2026-Q1", field: "quarter")
        let full = try fixture.ledger.periodReport(period: .quarter(quarter), fullVerify: true)
        let trusting = try fixture.ledger.periodReport(period: .quarter(quarter), fullVerify: false)
        #expect(full.report == trusting.report)
        #expect(full.verification.signaturesTrustedThrough == nil && trusting.verification.signaturesTrustedThrough == 9)
    }
}
