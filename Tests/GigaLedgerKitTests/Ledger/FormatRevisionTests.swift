import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// The format revision of issues 29–31 (schema/FORMAT.md sections 4–6): entries of format v2 with
/// their new members and types are accepted by both verifiers; their tampered forms, and a format
/// that goes back to v1, are refused by both at the same entry. A ledger of v1 entries still
/// verifies (PreviousReportTests reads one made by an older gigaledger).
@Suite struct FormatRevisionTests {
    /// Inserts `bytes` as entry `seq` after the ledger's entry `seq - 1`, chained and signed by
    /// `key`, as a forger with raw SQL would.
    static func insert(_ bytes: [UInt8], seq: Int64, type: String, recordedAt: String, key: SigningKey, into fixture: Fixture) throws {
        let head = try #require(try fixture.ledger.entry(seq - 1))
        let hash = Entry.hash(prevHash: head.hash, body: bytes)
        try fixture.tamper(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                seq, type, Data(bytes), Data(head.hash), Data(hash), key.id.description, Data(key.sign(Entry.signedMessage(hash: hash))), recordedAt,
            ])
    }

    /// Both verifiers refuse the ledger at entry `seq`; ours says `saying`.
    static func expectBothRefuse(_ fixture: Fixture, at seq: Int64, saying: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let failure = try #require(try fixture.verify().failure, sourceLocation: sourceLocation)
        #expect(failure.seq == seq && failure.reason.contains(saying), "\(failure)", sourceLocation: sourceLocation)
        let python = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(python.status == 1 && python.stdout.contains("entry \(seq)"), "\(python.stdout)", sourceLocation: sourceLocation)
    }

    static func expectBothAccept(_ fixture: Fixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try fixture.verify().isVerified, sourceLocation: sourceLocation)
        let python = shell("python3 \(Repository.independentVerifier) \(fixture.path)", in: fixture.dir)
        #expect(python.status == 0, "\(python.stdout)", sourceLocation: sourceLocation)
    }

    static let time = "2026-12-06T10:00:00Z"

    @Test func aFormatThatGoesBackIsRefused() throws {
        let fixture = try Fixture()
        let revoke = EntryBody(
            seq: 10, signer: fixture.authority.id, recordedAt: Self.time, data: .keyRevoke(KeyRevocation(keyID: fixture.officer.id, reason: "gone")),
            version: 1)
        #expect(String(decoding: revoke.encoded(), as: UTF8.self).contains("gigaledger/entry/v1"))
        try Self.insert(revoke.encoded(), seq: 10, type: "key-revoke", recordedAt: Self.time, key: fixture.authority, into: fixture)
        try Self.expectBothRefuse(fixture, at: 10, saying: "written by an older GigaLedger")
    }

    /// A v1 entry after v1 entries is fine; a v2 member in a v1 body is not; a flag written false is not.
    @Test func membersOfTheNewFormatAreRefusedInTheOldAndFlagsAreOnlyTrue() throws {
        for (text, type, saying) in [
            (
                #"{"data":{"allow_duplicate":true,"amount_cents":5,"category":"capex","date":"2026-02-15","factory":"de-jupiter","kind":"payment","ref":"","source":"eu"},"format":"gigaledger/entry/v1","recorded_at":"2026-12-06T10:00:00Z","seq":10,"signer":"SIGNER","type":"contribution"}"#,
                "contribution", "allow_duplicate"
            ),
            (
                #"{"data":{"allow_twin":false,"capex_cents":5,"hosts":["DE"],"id":"twin","kind":"gigafactory","name":"Jupiter AI Gigafactory"},"format":"gigaledger/entry/v2","recorded_at":"2026-12-06T10:00:00Z","seq":10,"signer":"SIGNER","type":"factory-register"}"#,
                "factory-register", "allow_twin"
            ),
            (
                #"{"data":{"entry":3,"reason":""},"format":"gigaledger/entry/v1","recorded_at":"2026-12-06T10:00:00Z","seq":10,"signer":"SIGNER","type":"countersign"}"#,
                "countersign", "countersign"
            ),
        ] {
            let fixture = try Fixture()
            let bytes = Array(text.replacingOccurrences(of: "SIGNER", with: fixture.authority.id.description).utf8)
            try Self.insert(bytes, seq: 10, type: type, recordedAt: Self.time, key: fixture.authority, into: fixture)
            try Self.expectBothRefuse(fixture, at: 10, saying: saying)
        }
    }

    /// A countersignature by a second authority is accepted by both verifiers; one by the
    /// amendment's own signer, or of what is not an amendment, is refused by both (forged past the
    /// append's refusal). A report issued at a state before it is accepted; one naming its own seq is not.
    @Test func countersignaturesAndIssuedReports() throws {
        let fixture = try Fixture()
        let second = SigningKey.generate()
        try fixture.ledger.append(
            .keyEnroll(KeyEnrolment(checking: second.publicKey, name: "Second authority", role: .authority, scopes: [])), key: fixture.authority)
        let amendment = try fixture.ledger.append(
            .factoryAmend(
                try Amendment(
                    Factory(id: "fr-alps", name: "Alps AI Factory", kind: .gigafactory, hosts: ["FR"], capex: Cents(90_000_000_000)),
                    reason: "reclassified", effectiveFrom: CalendarDate.parse("2026-07-01", field: "d"))), key: fixture.authority)
        try fixture.ledger.append(.countersign(try Countersignature(entry: amendment.seq, reason: "decision 2026/17")), key: second)
        try fixture.ledger.append(
            .reportIssue(
                try ReportIssue(period: .quarter(Quarter.parse("2026-Q1", field: "q")), entryCount: 9, summarySHA256: Array(repeating: 7, count: 32))),
            key: fixture.authority)
        try Self.expectBothAccept(fixture)
        let size = try fixture.ledger.size()
        let own = EntryBody(
            seq: size + 1, signer: fixture.authority.id, recordedAt: Self.time,
            data: .countersign(try Countersignature(entry: amendment.seq, reason: "")))
        #expect(throws: Refusal.self) {
            try fixture.ledger.append(.countersign(try Countersignature(entry: amendment.seq, reason: "")), key: fixture.authority)
        }
        try Self.insert(own.encoded(), seq: size + 1, type: "countersign", recordedAt: Self.time, key: fixture.authority, into: fixture)
        try Self.expectBothRefuse(fixture, at: size + 1, saying: "a countersignature needs a second authority key")

        let other = try Fixture()
        let notAnAmendment = EntryBody(
            seq: 10, signer: other.authority.id, recordedAt: Self.time, data: .countersign(try Countersignature(entry: 2, reason: "")))
        try Self.insert(notAnAmendment.encoded(), seq: 10, type: "countersign", recordedAt: Self.time, key: other.authority, into: other)
        try Self.expectBothRefuse(other, at: 10, saying: "is not an earlier factory-amend entry")

        let fourth = try Fixture()
        let amended = try fourth.ledger.append(
            .factoryAmend(
                try Amendment(
                    Factory(id: "fr-alps", name: "Alps AI Factory", kind: .gigafactory, hosts: ["FR", "IT"], capex: Cents(90_000_000_000)),
                    reason: "reclassified")), key: fourth.authority)
        let sock = SigningKey.generate()
        try fourth.ledger.append(
            .keyEnroll(KeyEnrolment(checking: sock.publicKey, name: "Sock", role: .authority, scopes: [])), key: fourth.authority)
        let bySock = EntryBody(
            seq: amended.seq + 2, signer: sock.id, recordedAt: Self.time, data: .countersign(try Countersignature(entry: amended.seq, reason: "")))
        try Self.insert(bySock.encoded(), seq: amended.seq + 2, type: "countersign", recordedAt: Self.time, key: sock, into: fourth)
        try Self.expectBothRefuse(fourth, at: amended.seq + 2, saying: "a countersignature needs an authority key enrolled before it")

        let third = try Fixture()
        let ahead = EntryBody(
            seq: 10, signer: third.authority.id, recordedAt: Self.time,
            data: .reportIssue(try ReportIssue(period: .year(2026), entryCount: 10, summarySHA256: Array(repeating: 1, count: 32))))
        try Self.insert(ahead.encoded(), seq: 10, type: "report-issue", recordedAt: Self.time, key: third.authority, into: third)
        try Self.expectBothRefuse(third, at: 10, saying: "is not a state before this entry")
    }

    /// The version an append reads of the entry before it, without decoding the body, is the one
    /// decoding gives; bytes of another shape give nil (and are decoded instead).
    @Test func theStatedVersionIsReadWithoutDecoding() throws {
        let fixture = try Fixture()
        for seq in Int64(1)...9 {
            let entry = try #require(try fixture.ledger.entry(seq))
            #expect(EntryBody.statedVersion(entry.body) == (try EntryBody.decode(entry.body)).version)
        }
        let v1 = Array(#"{"data":{},"format":"gigaledger/entry/v1","recorded_at":"x","seq":1,"signer":"A","type":"t"}"#.utf8)
        #expect(EntryBody.statedVersion(v1) == 1)
        for odd in [
            #"{"data":{},"format":"gigaledger/entry/v9","seq":1}"#, #"{"data":{},"format":"gigaledger/entry/v","seq":1}"#,
            #"{"format":"gigaledger/entry/v2"}"#, "",
        ] {
            #expect(EntryBody.statedVersion(Array(odd.utf8)) == nil, "\(odd)")
        }
    }
}
