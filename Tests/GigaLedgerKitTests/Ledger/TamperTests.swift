import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Each tamper is done with raw SQL after dropping the triggers; `verify` must name the entry.
@Suite struct TamperTests {
    @Test func untouchedLedgerVerifies() throws {
        let fixture = try Fixture()
        let report = try fixture.verify()
        #expect(report.isVerified)
        #expect(report.verifiedCount == 9)
        #expect(report.headHash == (try fixture.ledger.entry(9))?.hash)
        #expect(report.origin == "test/ledger")
    }

    /// Issue 29, the format revision: an entry of a later entry format (`gigaledger/entry/v3`,
    /// correctly chained and signed) is not "not verified" (exit 1) but "written by a newer
    /// GigaLedger" (exit 2) for a version that reads only v1 and v2; a damaged format string still is
    /// not verified. Through the binary too.
    @Test func anEntryOfANewerFormatIsNotCalledDamaged() throws {
        let fixture = try Fixture()
        let head = try #require(try fixture.ledger.entry(9))
        let body = EntryBody(
            seq: 10, signer: fixture.authority.id, recordedAt: "2026-12-06T10:00:00Z",
            data: .keyRevoke(KeyRevocation(keyID: fixture.officer.id, reason: "gone")))
        func insert(format: String) throws {
            let bytes = Array(String(decoding: body.encoded(), as: UTF8.self).replacingOccurrences(of: EntryBody.format, with: format).utf8)
            let hash = Entry.hash(prevHash: head.hash, body: bytes)
            try fixture.tamper("DELETE FROM entries WHERE seq = 10")
            try fixture.tamper(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    10, body.type, Data(bytes), Data(head.hash), Data(hash), fixture.authority.id.description,
                    Data(fixture.authority.sign(Entry.signedMessage(hash: hash))), body.recordedAt,
                ])
        }
        try insert(format: "gigaledger/entry/v3")
        let newer = try #require(try fixture.verify().failure)
        #expect(newer.seq == 10 && newer.isNewerFormat && newer.kind == .unusable, "\(newer)")
        #expect(newer.reason.contains("written by a newer GigaLedger (body format gigaledger/entry/v3"), "\(newer.reason)")
        let run = Binary.run(["verify", "--ledger", fixture.path], in: fixture.dir)
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("CANNOT VERIFY WITH THIS VERSION: entry 10: written by a newer GigaLedger"), "\(run.stdout)")
        let report = Binary.run(["report", "--quarter", "2026-Q1", "--ledger", fixture.path, "--out", fixture.dir.file("q1")], in: fixture.dir)
        #expect(report.status == 2 && report.stderr.contains("written by a newer GigaLedger"), "\(report.status) \(report.stderr)")
        let python = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(python.status == 2 && python.stdout.contains("entry 10: written by a newer GigaLedger"), "\(python.stdout)")
        // A revision number beyond 64 bits is a later revision too (FORMAT.md section 4), for both verifiers.
        try insert(format: "gigaledger/entry/v9223372036854775808")
        #expect(try fixture.verify().failure?.isNewerFormat == true)
        let huge = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(huge.status == 2, "\(huge.stdout)")
        for damagedFormat in ["gigaledger/entry/v2x", "gigaledger/entry/v03", "gigaledger/entry/v+3"] {
            try insert(format: damagedFormat)
            let damaged = try #require(try fixture.verify().failure)
            #expect(damaged.seq == 10 && !damaged.isNewerFormat && damaged.kind == .notVerified, "\(damaged)")
            let python = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
            #expect(python.status == 1 && python.stdout.hasPrefix("entry 10:"), "\(damagedFormat): \(python.stdout)")
        }
    }

    /// The schema of a later GigaLedger (every migration this one knows, then others) is not
    /// called tampered (exit 1) but "cannot verify with this version" (exit 2), as a later entry
    /// format is, by both verifiers; an unknown migration among the known ones still is tampering.
    @Test func aSchemaOfANewerVersionIsNotCalledDamaged() throws {
        let fixture = try Fixture()
        try fixture.tamper("INSERT INTO grdb_migrations VALUES ('9999_later')")
        let newer = try #require(try fixture.verify().failure)
        #expect(newer.seq == 0 && newer.isNewerFormat && newer.kind == .unusable, "\(newer)")
        let run = Binary.run(["verify", "--ledger", fixture.path], in: fixture.dir)
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        let python = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(python.status == 2 && python.stdout.contains("newer GigaLedger"), "\(python.stdout)")
        try fixture.tamper("DELETE FROM grdb_migrations WHERE identifier = '9999_later'; INSERT INTO grdb_migrations VALUES ('0003_between')")
        let changed = try #require(try fixture.verify().failure)
        #expect(changed.seq == 0 && !changed.isNewerFormat, "\(changed)")
        let changedPython = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(changedPython.status == 1, "\(changedPython.stdout)")
    }

    @Test func changedAmountIsFound() throws {
        let fixture = try Fixture()
        try fixture.tamper("UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '125000050', '125000051') AS BLOB) WHERE seq = 6")
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 6)
        #expect(failure.reason.contains("does not match the hash of its body"))
    }

    @Test func changedAmountWithRecomputedHashIsFoundBySignature() throws {
        let fixture = try Fixture()
        let entry = try #require(try fixture.ledger.entry(6))
        let body = Array(String(decoding: entry.body, as: UTF8.self).replacingOccurrences(of: "125000050", with: "925000050").utf8)
        let hash = Entry.hash(prevHash: entry.prevHash, body: body)
        try fixture.tamper("UPDATE entries SET body = ?, hash = ? WHERE seq = 6", arguments: [Data(body), Data(hash)])
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 6)
        #expect(failure.reason.contains("signature does not verify"))
    }

    @Test func everyFlippedBodyByteIsFound() throws {
        let fixture = try Fixture()
        let original = try #require(try fixture.ledger.entry(6)).body
        for position in 0..<original.count {
            var body = original
            body[position] ^= 0x01
            try fixture.tamper("UPDATE entries SET body = ? WHERE seq = 6", arguments: [Data(body)])
            #expect(try fixture.verify().failure?.seq == 6, "flip at byte \(position)")
        }
        try fixture.tamper("UPDATE entries SET body = ? WHERE seq = 6", arguments: [Data(original)])
        #expect(try fixture.verify().isVerified)
    }

    @Test func everyOtherColumnIsCovered() throws {
        let changes = [
            "UPDATE entries SET type = 'access' WHERE seq = 6",
            "UPDATE entries SET signer = '0000000000000000' WHERE seq = 6",
            "UPDATE entries SET recorded_at = '2020-01-01T00:00:00Z' WHERE seq = 6",
            "UPDATE entries SET prev_hash = randomblob(32) WHERE seq = 6",
            "UPDATE entries SET hash = zeroblob(32) WHERE seq = 6",
        ]
        for sql in changes {
            let fixture = try Fixture()
            try fixture.tamper(sql)
            #expect(try fixture.verify().failure?.seq ?? 0 >= 6, "\(sql)")
            #expect(try fixture.verify().failure?.seq ?? 99 <= 7, "\(sql)")
        }
    }

    @Test func deletedRowInTheMiddleIsFound() throws {
        let fixture = try Fixture()
        try fixture.tamper("DELETE FROM entries WHERE seq = 5")
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 5)
        #expect(failure.reason.contains("missing"))
    }

    @Test func deletedRowRenumberedIsFoundByTheLink() throws {
        let fixture = try Fixture()
        try fixture.tamper("DELETE FROM entries WHERE seq = 5; UPDATE entries SET seq = seq - 1 WHERE seq > 5")
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 5)
        #expect(failure.reason.contains("prev_hash"))
    }

    @Test func twoSwappedRowsAreFound() throws {
        let fixture = try Fixture()
        try fixture.tamper(
            """
            UPDATE entries SET seq = 1000 WHERE seq = 6; UPDATE entries SET seq = 6 WHERE seq = 7; UPDATE entries SET seq = 7 WHERE seq = 1000;
            """)
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 6)
    }

    @Test func replacedSignatureIsFound() throws {
        let fixture = try Fixture()
        let entry = try #require(try fixture.ledger.entry(7))
        let forged = fixture.officer.sign(Entry.signedMessage(hash: entry.hash))
        try fixture.tamper("UPDATE entries SET signature = ? WHERE seq = 7", arguments: [Data(forged)])
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 7)
        #expect(failure.reason.contains("signature"))
    }

    @Test func entryFromANeverEnrolledKeyIsFound() throws {
        let fixture = try Fixture()
        let stranger = SigningKey.generate()
        #expect(throws: Refusal.self) { try fixture.ledger.append(try Fixture.contribution(source: .union, cents: 1), key: stranger) }
        let head = try #require(try fixture.ledger.entry(9))
        let body = EntryBody(seq: 10, signer: stranger.id, recordedAt: try Timestamp.now(), data: try Fixture.contribution(source: .union, cents: 1))
        try fixture.forge(body, after: head, key: stranger)
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 10)
        #expect(failure.reason.contains("not an enrolled key"))
        // Nobody builds on a head that does not verify.
        #expect(throws: LedgerError.self) { try fixture.ledger.append(try Fixture.contribution(source: .union, cents: 1), key: fixture.authority) }
    }

    @Test func entrySignedByARevokedKeyIsFound() throws {
        let fixture = try Fixture()
        try fixture.ledger.append(.keyRevoke(KeyRevocation(keyID: fixture.officer.id, reason: "left the ministry")), key: fixture.authority)
        #expect(throws: Refusal.self) {
            try fixture.ledger.append(try Fixture.contribution(source: .memberState("DE"), cents: 1), key: fixture.officer)
        }
        let head = try #require(try fixture.ledger.entry(10))
        let body = EntryBody(
            seq: 11, signer: fixture.officer.id, recordedAt: try Timestamp.now(), data: try Fixture.contribution(source: .memberState("DE"), cents: 1)
        )
        try fixture.forge(body, after: head, key: fixture.officer)
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.seq == 11)
        #expect(failure.reason.contains("revoked at entry 10"))
    }

    @Test func outOfScopeEntryIsFound() throws {
        let fixture = try Fixture()
        let head = try #require(try fixture.ledger.entry(9))
        let body = EntryBody(
            seq: 10, signer: fixture.officer.id, recordedAt: try Timestamp.now(), data: try Fixture.contribution(source: .union, cents: 1))
        try fixture.forge(body, after: head, key: fixture.officer)
        #expect(try fixture.verify().failure?.reason.contains("may not record a contribution from eu") == true)
    }

    @Test func truncatedTailStillVerifiesInternally() throws {
        // A careful cut (entries and their tree nodes) leaves a consistent chain: only a checkpoint
        // published before the cut shows it (`verify --since`). This pins that limit down.
        let fixture = try Fixture()
        try fixture.tamper(
            "DELETE FROM entries WHERE seq = 9; DELETE FROM facts WHERE seq = 9; DELETE FROM near_facts WHERE seq = 9; DELETE FROM merkle_nodes WHERE (idx + 1) << level > 8"
        )
        #expect(try fixture.verify().isVerified)
    }

    @Test func carelessTruncationIsFoundByTheTree() throws {
        let fixture = try Fixture()
        try fixture.tamper("DELETE FROM entries WHERE seq = 9; DELETE FROM facts WHERE seq = 9; DELETE FROM near_facts WHERE seq = 9")
        #expect(try fixture.verify().failure?.reason.contains("merkle_nodes holds") == true)
    }

    @Test func changedIndexTableIsFound() throws {
        let fixture = try Fixture()
        try fixture.tamper("INSERT INTO factories (id, seq) VALUES ('ghost', 9)")
        let failure = try #require(try fixture.verify().failure)
        #expect(failure.reason.contains("index table factories"))
    }

    /// A server passes the head it admitted itself as `verifiedHead`: a stored head still equal to
    /// it needs no second signature check, and one changed behind its back is checked and refused.
    @Test func aSubmissionAfterAHeadChangedBehindTheServersBackIsRefused() throws {
        let fixture = try Fixture()
        let served = try #require(try fixture.ledger.entry(9))
        func next() throws -> Entry {
            let head = try #require(try fixture.ledger.entry(fixture.ledger.size()))
            let body = EntryBody(
                seq: head.seq + 1, signer: fixture.officer.id, recordedAt: try Timestamp.now(),
                data: try Fixture.contribution(source: .memberState("DE"), cents: 7_000 + head.seq))
            return try Entry.make(body: body, prevHash: head.hash, key: fixture.officer)
        }
        let first = try next()
        guard case .recorded = try fixture.ledger.submit([first], checks: EntryChecks(), verifiedHead: served) else {
            Issue.record("an entry after the served head was not recorded")
            return
        }
        try fixture.tamper("UPDATE entries SET signature = randomblob(64) WHERE seq = 10")
        let second = try next()
        // The server still holds entry 10 as it admitted it; the stored one is no longer that entry.
        #expect(throws: LedgerError.self) { try fixture.ledger.submit([second], checks: EntryChecks(), verifiedHead: first) }
        #expect(try fixture.ledger.size() == 10)
    }
}
