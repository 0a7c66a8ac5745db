import Foundation
import GRDB
import GigaLedgerKit
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// Issue 27, case 2: an officer's client checks what it relies on. It keeps its own verified copy of
/// the ledger (in its configuration folder, brought up to the server's head before each command),
/// signs after that copy's head, and judges checkpoint keys from entries it checked itself. A man
/// in the middle (a proxy) that re-signs checkpoints with a revoked log key, with a log key of
/// another ledger, or that forges the head, gets nothing signed: exit 1, evidence written, and the
/// honest server is still used after.
@Suite(.serialized) struct OwnCopyTests {
    /// The fixture with a second log key (the server's) and the first revoked (entry 8), the first
    /// key's secret kept in `log-1.key`.
    func rotatedLogKey() throws -> ServerFixture {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "log-2", "--unencrypted"])
        try fixture.cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "log-2.pub", "--name", "log key 2", "--role", "log"])
        let first = try KeyFiles.readPublic(path: fixture.dir.file("log.pub")).id.description
        try fixture.cli.expectOK(["key", "revoke", "--key", "authority.key", "--id", first, "--reason", "rotated"])
        for (from, to) in [("log.key", "log-1.key"), ("log.pub", "log-1.pub"), ("log-2.key", "log.key"), ("log-2.pub", "log.pub")] {
            try FileManager.default.moveItem(atPath: fixture.dir.file(from), toPath: fixture.dir.file(to))
        }
        return fixture
    }

    static func signingKey(_ path: String) throws -> SigningKey {
        try SecretKeyFile.open(try KeyFiles.readSecret(path: path), passphrase: nil)
    }

    /// Every `checkpoint` in a JSON answer re-signed by `key` alone; `keyEntry` (a key-enroll entry's
    /// JSON) added to the `checkpoint_keys` listed, as a server that wanted it trusted would.
    static func resigning(with key: SigningKey, keyEntry: CanonicalJSON? = nil) -> @Sendable (String, [UInt8]) -> [UInt8]? {
        { _, body in
            guard let value = try? CanonicalJSON.decodeRelaxed(body.last == 0x0a ? Array(body.dropLast()) : body) else { return body }
            func walk(_ value: CanonicalJSON) -> CanonicalJSON {
                switch value {
                case .object(var fields):
                    for (name, member) in fields {
                        if name == "checkpoint", case .string(let note) = member, let signed = try? SignedNote.parse(note),
                            let checkpoint = try? Checkpoint.parse(signed.text),
                            let signature = try? NoteKey.sign(signed.text, name: checkpoint.origin, key: key)
                        {
                            fields[name] = .string(SignedNote(text: signed.text, signatures: [signature]).encoded)
                        } else if name == "checkpoint_keys", case .array(let entries) = member, let keyEntry {
                            fields[name] = .array(entries + [keyEntry])
                        } else {
                            fields[name] = walk(member)
                        }
                    }
                    return .object(fields)
                case .array(let items): return .array(items.map(walk))
                default: return value
                }
            }
            return walk(value).encoded() + [0x0a]
        }
    }

    func entryCount(_ fixture: ServerFixture) throws -> Int {
        try DatabaseQueue(path: fixture.ledger).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM entries") ?? -1 }
    }

    func expectRefusedWithEvidence(_ run: Run, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status == 1, "\(run.status) \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.contains("nothing was signed or taken in; the evidence is in "), "\(run.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aCheckpointSignedByARevokedLogKeyIsRefused() throws {
        let fixture = try rotatedLogKey()
        let server = try fixture.start()
        defer { server.stop() }
        let proxy = try RewritingProxy(target: server.url, rewrite: Self.resigning(with: try Self.signingKey(fixture.dir.file("log-1.key"))))
        let before = try entryCount(fixture)
        expectRefusedWithEvidence(
            Binary.run(
                fixture.payment(ref: "VIA-PROXY") + ["--server", proxy.url], in: fixture.dir,
                env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile]))
        #expect(try entryCount(fixture) == before)
        let replica = fixture.cli.run(["sync", "--from", proxy.url, "--ledger", fixture.dir.file("replica.sqlite")])
        #expect(replica.status == 1, "\(replica.stderr)")
        // The honest server is still this officer's: nothing was kept from the proxy.
        let honest = fixture.remote(fixture.payment(ref: "HONEST"), server: server)
        #expect(honest.status == 0, "\(honest.stderr)")
    }

    /// A log key enrolled by the same authority in another ledger of the same origin signs no
    /// checkpoint of this one, even when the server lists its enrolment among the checkpoint keys.
    @Test func aLogKeyOfAnotherLedgerIsRefused() throws {
        let fixture = try ServerFixture()
        try fixture.cli.expectOK(["key", "generate", "--out", "stranger", "--unencrypted"])
        let other = fixture.dir.file("other.sqlite")
        try fixture.cli.expectOK(["init", "--key", "authority.key", "--origin", "test.example/ledger", "--ledger", other])
        try fixture.cli.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "stranger.pub", "--name", "log key", "--role", "log", "--ledger", other,
        ])
        let enrolment = EntryWire.json(try #require(try Ledger.open(path: other, forWriting: false).entry(2)))
        let server = try fixture.start()
        defer { server.stop() }
        let proxy = try RewritingProxy(
            target: server.url, rewrite: Self.resigning(with: try Self.signingKey(fixture.dir.file("stranger.key")), keyEntry: enrolment))
        expectRefusedWithEvidence(
            Binary.run(
                fixture.payment(ref: "VIA-PROXY") + ["--server", proxy.url], in: fixture.dir,
                env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile]))
        #expect(fixture.remote(fixture.payment(ref: "HONEST"), server: server).status == 0)
    }

    /// A head whose signature a proxy replaced by zeros (in the head answers and in the bundle that
    /// holds it): the client never signs after it, and is not locked out of the honest server.
    @Test func aForgedHeadIsNeverSignedAfter() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        let signature = try #require(
            try fixture.cli.expectOK(["show", "5", "--json"]).stdout.firstMatch(of: /"signature":"([0-9a-f]{128})"/)
        ).1
        let zeros = String(repeating: "0", count: 128)
        let proxy = try RewritingProxy(target: server.url) { _, body in
            Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: String(signature), with: zeros).utf8)
        }
        expectRefusedWithEvidence(
            Binary.run(
                fixture.payment(ref: "VIA-PROXY") + ["--server", proxy.url], in: fixture.dir,
                env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile]))
        #expect(try entryCount(fixture) == 5)
        let honest = fixture.remote(fixture.payment(ref: "HONEST"), server: server)
        #expect(honest.status == 0, "\(honest.stderr)")
        // The officer's own copy is in the configuration folder, and holds what the server holds.
        let copies = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.file(".config/gigaledger/copies"))
        let copy = try #require(copies.first { $0.hasSuffix(".sqlite") })
        let held = try DatabaseQueue(path: fixture.dir.file(".config/gigaledger/copies/\(copy)")).read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM entries") ?? -1
        }
        #expect(held == 5, "the copy is brought up to the head before signing; the new entry comes with the next command")
    }

    /// Issue 27, case 1 through a server: the authority rotated (the second authority enrolled,
    /// signed a checkpoint, revoked the genesis key) and the log key replaced by one the second
    /// authority enrolled. An officer who trusted the genesis key carries on; a receipt through the
    /// server checks with either authority key; a new auditor given only the second authority's key
    /// keeps a copy and verifies it.
    @Test func aRotatedAuthorityAndLogKeyThroughTheServer() throws {
        let fixture = try ServerFixture()
        let cli = fixture.cli
        try cli.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority"])
        try cli.expectOK(["checkpoint", "--key", "authority-2.key", "--out", "cp.txt"])
        let genesis = try KeyFiles.readPublic(path: fixture.dir.file("authority.pub")).id.description
        let firstLog = try KeyFiles.readPublic(path: fixture.dir.file("log.pub")).id.description
        try cli.expectOK(["key", "revoke", "--key", "authority-2.key", "--id", genesis, "--reason", "rotated"])
        try cli.expectOK(["key", "generate", "--out", "log-2", "--unencrypted"])
        try cli.expectOK(["key", "enroll", "--key", "authority-2.key", "--pub", "log-2.pub", "--name", "log key 2027", "--role", "log"])
        try cli.expectOK(["key", "revoke", "--key", "authority-2.key", "--id", firstLog, "--reason", "rotated"])
        for (from, to) in [("log.key", "log-1.key"), ("log-2.key", "log.key")] {
            try FileManager.default.moveItem(atPath: fixture.dir.file(from), toPath: fixture.dir.file(to))
        }
        let server = try fixture.start()
        defer { server.stop() }
        let recorded = fixture.remote(fixture.payment(ref: "AFTER-ROTATION"), server: server)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let seq = try #require(recorded.stdout.firstMatch(of: /entry (\d+)/)).1
        let receipt = fixture.remote(["prove", "--entry", String(seq), "--out", "r.txt"], server: server)
        #expect(receipt.status == 0, "\(receipt.stderr)")
        for key in ["authority.pub", "authority-2.pub"] {
            let checked = cli.run(["check-receipt", "r.txt", "--ledger-key", key])
            #expect(checked.status == 0, "\(key): \(checked.stderr)")
        }
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("new-auditor")]
        let copy = fixture.dir.file("auditor.sqlite")
        let synced = cli.run(["sync", "--from", server.url, "--ledger", copy, "--authority-key", "authority-2.pub"], env: auditor)
        #expect(synced.status == 0, "\(synced.stderr)")
        let verified = cli.run(["verify", "--ledger", copy], env: auditor)
        #expect(verified.status == 0 && verified.stdout.contains("a later authority key"), "\(verified.stdout) \(verified.stderr)")
        // A consistency proof from the second authority's checkpoint to the latest the server's log key
        // kept: it carries the key path, and checks with either authority key (issue 27, case 3).
        try cli.expectOK(["prove", "--from", "cp.txt", "--ledger", copy, "--out", "consistency.txt"], env: auditor)
        let consistency = try String(contentsOfFile: fixture.dir.file("consistency.txt"), encoding: .utf8)
        #expect(consistency.hasPrefix("gigaledger-consistency/v3\n"), "\(consistency)")
        for key in ["authority.pub", "authority-2.pub"] {
            let checked = cli.run(["check-receipt", "consistency.txt", "--ledger-key", key])
            #expect(checked.status == 0, "\(key): \(checked.stderr)")
        }
        let read = fixture.remote(
            ["log"], server: server, env: ["XDG_CONFIG_HOME": fixture.dir.file("reader"), "GIGALEDGER_AUTHORITY_KEY": "authority-2.pub"])
        #expect(read.status == 0 && read.stdout.contains("AFTER-ROTATION"), "\(read.stderr)")
    }

    /// The first copy of a large ledger is announced (where it goes, how many entries, about how
    /// long); the next command takes in only what is new and says nothing.
    @Test func theFirstCopyOfALargeLedgerIsAnnounced() throws {
        let fixture = try ServerFixture()
        let rows = (0..<20_000).map { "contribution,de-jupiter,2026-02-15,eu,\($0 + 1).00,capex,payment,BULK-\($0),,,,,\n" }
        fixture.dir.write(
            "bulk.csv", "type,factory,date,source,amount,category,kind,ref,beneficiary,gpu_hours,pool,commercial,charge\n" + rows.joined(),
            mode: 0o644)
        try fixture.cli.expectOK(["import", "bulk.csv", "--key", "authority.key"])
        let server = try fixture.start()
        defer { server.stop() }
        let first = fixture.remote(fixture.payment(ref: "FIRST"), server: server)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            first.stderr.contains("keeping a verified copy of test.example/ledger in ")
                && first.stderr.contains(": 20006 entries to check the first time, about "),
            "\(first.stderr)")
        let second = fixture.remote(fixture.payment(ref: "SECOND"), server: server)
        #expect(second.status == 0 && !second.stderr.contains("keeping a verified copy"), "\(second.stderr)")
    }

    /// A broken own copy is this machine's problem, not the server's: exit 2 naming the copy and
    /// what to do, no evidence against the server; once moved aside, a new copy is made. Likewise
    /// no configuration folder at all: exit 2, nothing signed.
    @Test func aBrokenOwnCopyIsNotBlamedOnTheServer() throws {
        let fixture = try ServerFixture()
        let server = try fixture.start()
        defer { server.stop() }
        try #require(fixture.remote(fixture.payment(ref: "FIRST"), server: server).status == 0)
        let folder = fixture.dir.file(".config/gigaledger/copies")
        let copy = folder + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasSuffix(".sqlite") }))
        // Detached and written into, as `sync --detach` allows.
        try fixture.cli.expectOK(["sync", "--detach", "--ledger", copy])
        try fixture.cli.expectOK(fixture.cli.contributionArguments + ["--ledger", copy])
        let refused = fixture.remote(fixture.payment(ref: "SECOND"), server: server)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("this user's verified copy of the ledger, \(copy), cannot be used: it was detached"), "\(refused.stderr)")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("gigaledger-evidence-") }
        #expect(evidence.isEmpty, "\(evidence)")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) { try FileManager.default.removeItem(atPath: folder + "/" + file) }
        #expect(fixture.remote(fixture.payment(ref: "THIRD"), server: server).status == 0)
        let homeless = Binary.run(
            fixture.payment(ref: "HOMELESS") + ["--server", server.url], in: fixture.dir,
            env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.cli.passphraseFile, "HOME": ""])
        #expect(homeless.status == 2 && homeless.stderr.contains("set HOME or XDG_CONFIG_HOME"), "\(homeless.stderr)")
    }

    /// A copy kept of a rogue server's ledger of the same origin (trusted on first use), then the
    /// honest server with the authority key pinned: the copy is named as not the ledger trusted
    /// (exit 2, what to do), and the honest server is accused of nothing.
    @Test func aCopyOfAnotherLedgerIsNotAFork() throws {
        let fixture = try ServerFixture()
        let rogue = try ServerFixture()
        try rogue.cli.expectOK(["key", "generate", "--out", "evil", "--unencrypted"])
        let rogueLedger = rogue.dir.file("rogue.sqlite")
        try rogue.cli.expectOK(
            ["init", "--key", "evil.key", "--origin", "test.example/ledger", "--ledger", rogueLedger],
            env: ["XDG_CONFIG_HOME": rogue.dir.file("evil-config")])
        try rogue.cli.expectOK(
            ["key", "enroll", "--key", "evil.key", "--pub", "log.pub", "--name", "log", "--role", "log", "--ledger", rogueLedger],
            env: ["XDG_CONFIG_HOME": rogue.dir.file("evil-config")])
        let rogueServer = try rogue.start(ledger: rogueLedger)
        defer { rogueServer.stop() }
        let server = try fixture.start()
        defer { server.stop() }
        let user = ["XDG_CONFIG_HOME": fixture.dir.file("visitor")]
        #expect(fixture.remote(["log"], server: rogueServer, env: user).status == 0)
        let honest = fixture.remote(["log", "--authority-key", "authority.pub"], server: server, env: user)
        #expect(honest.status == 2 && honest.stderr.contains("is a copy of another ledger than the one you trust"), "\(honest.stderr)")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path).filter { $0.hasPrefix("gigaledger-evidence-") }
        #expect(evidence.isEmpty, "\(evidence)")
    }

    /// Issue 28, restore: a ledger restored from a backup that no copy brings up to the server's
    /// last checkpoint, served knowingly (the state file moved aside). The officer's client refuses
    /// the server, names its own copy, and lists exactly the entries of this officer that the server
    /// acknowledged and lost (7 and 8, not 6, which the backup holds), to record again.
    @Test func anOfficerIsToldWhichOfItsAcknowledgedEntriesTheServerLost() throws {
        let fixture = try ServerFixture()
        var server = try fixture.start()
        try #require(fixture.remote(fixture.payment(ref: "KEPT-6"), server: server).status == 0)
        try fixture.cli.expectOK(["backup", "--out", "backup.sqlite"])
        try #require(fixture.remote(fixture.payment(ref: "LOST-7"), server: server).status == 0)
        try #require(fixture.remote(fixture.payment(ref: "LOST-8"), server: server).status == 0)
        let replica = fixture.dir.file("replica.sqlite")
        let sync = ["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"]
        try fixture.cli.expectOK(sync, env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        server.stop()
        for suffix in ["", "-wal", "-shm", "-writer"] { try? FileManager.default.removeItem(atPath: fixture.ledger + suffix) }
        try FileManager.default.copyItem(atPath: fixture.dir.file("backup.sqlite"), toPath: fixture.ledger)
        try FileManager.default.removeItem(atPath: ServerProcess.stateFolder(fixture.dir, ledger: fixture.ledger))
        server = try fixture.start()
        defer { server.stop() }
        let refused = fixture.remote(fixture.payment(ref: "NEXT"), server: server)
        expectRefusedWithEvidence(refused)
        #expect(refused.stderr.contains("history was removed"), "\(refused.stderr)")
        #expect(
            refused.stderr.contains("of your own entries the server acknowledged, it lost entry 7 (contribution de-jupiter ms:DE")
                && refused.stderr.contains("ref LOST-7), entry 8 (contribution")
                && refused.stderr.contains("ref LOST-8) (numbered as the server numbered them before the loss")
                && refused.stderr.contains("move aside this copy") && refused.stderr.contains(".checkpoint), then record them again"),
            "\(refused.stderr)")
        #expect(!refused.stderr.contains("KEPT-6"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try entryCount(fixture) == 6, "nothing was signed after the restored head")
        // An auditor's replica that holds the lost entries: a finding (exit 1), not a note.
        let behind = fixture.cli.run(
            ["sync", "--from", server.url, "--ledger", replica, "--authority-key", "authority.pub"],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("auditor")])
        #expect(behind.status == 1, "\(behind.stdout) \(behind.stderr)")
        #expect(
            behind.stderr.contains("history was removed") && behind.stderr.contains("holds entries 7 to 8, which the server lost"), "\(behind.stderr)"
        )
        #expect(behind.stdout.isEmpty, "\(behind.stdout)")
        // The hostile review's case: another office records past this officer's copy; its client
        // then finds another history, and still names exactly its own lost entries.
        let other = ["XDG_CONFIG_HOME": fixture.dir.file("other-office")]
        for ref in ["NEW-7", "NEW-8", "NEW-9"] { try #require(fixture.remote(fixture.payment(ref: ref), server: server, env: other).status == 0) }
        let beside = fixture.remote(fixture.payment(ref: "NEXT"), server: server)
        expectRefusedWithEvidence(beside)
        #expect(
            beside.stderr.contains("it lost entry 7 (contribution") && beside.stderr.contains("ref LOST-7), entry 8 (contribution")
                && beside.stderr.contains("ref LOST-8) (numbered as"), "\(beside.stderr)")
        #expect(try entryCount(fixture) == 9)
    }
}
