import Foundation
import GRDB
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Issue 12, "what verify skips": every stored checkpoint is checked, and weak keys are refused.
/// Each through the real binary, and the independent verifier agrees.
@Suite struct IntegrityTests {
    static func independent(_ fixture: CLIFixture) -> Run {
        shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
    }

    /// A ledger with 6 entries and a checkpoint at 5, signed by the authority.
    static func checkpointed() throws -> CLIFixture {
        let fixture = try CLIFixture()
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp5.txt"])
        try fixture.expectOK(fixture.contribution("--amount", "2000.00"))
        return fixture
    }

    static func expectNotVerified(_ fixture: CLIFixture, saying message: String, at seq: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
        let verify = fixture.run(["verify"])
        #expect(verify.status == 1, "\(verify.stdout)", sourceLocation: sourceLocation)
        #expect(verify.stdout.hasPrefix("NOT VERIFIED: entry \(seq): "), "\(verify.stdout)", sourceLocation: sourceLocation)
        #expect(verify.stdout.contains(message), "\(verify.stdout)", sourceLocation: sourceLocation)
        let independent = Self.independent(fixture)
        #expect(independent.status == 1, "\(independent.stdout)", sourceLocation: sourceLocation)
        #expect(independent.stdout.hasPrefix("entry \(seq):"), "\(independent.stdout)", sourceLocation: sourceLocation)
    }

    @Test func aGoodCheckpointedLedgerVerifiesForBoth() throws {
        let fixture = try Self.checkpointed()
        try fixture.expectOK(["verify"])
        #expect(Self.independent(fixture).status == 0, "\(Self.independent(fixture).stdout)")
    }

    /// Item 6: a row inserted by someone with write access but no key: `checkpoint --out` used to
    /// hand out the stale note and the report to attach it.
    @Test func aCheckpointSignedByNoAuthorityIsFound() throws {
        let fixture = try Self.checkpointed()
        let officer = fixture.run(["checkpoint", "--key", "officer.key", "--passphrase-file", fixture.passphraseFile])
        #expect(officer.status == 65)  // the tool refuses to sign with an officer key...
        // ...so the intruder signs with it by hand and inserts the row.
        let key = try SecretKeyFile.open(
            try KeyFiles.readSecret(path: fixture.dir.file("officer.key")),
            passphrase: try KeyFiles.readPassphrase(path: fixture.passphraseFile))
        let ledger = try Ledger.open(path: fixture.dir.file("ledger.sqlite"), forWriting: false)
        let checkpoint = Checkpoint(origin: "test.example/ledger", size: 6, root: try ledger.root(size: 6))
        let note = SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: checkpoint.origin, key: key)]).encoded
        try DatabaseQueue(path: fixture.dir.file("ledger.sqlite")).write { db in
            try db.execute(
                sql: "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (6, ?, ?, '2026-11-29T00:00:00Z')",
                arguments: [Data(checkpoint.root), note])
        }
        Self.expectNotVerified(fixture, saying: "stored checkpoint 6 is not signed by an active authority or log key", at: 6)
        let handed = fixture.run(["checkpoint", "--key", "authority.key"])
        #expect(handed.status == 1)
        #expect(handed.stdout.isEmpty)
    }

    /// Item 6: a flipped root column.
    @Test func aStoredRootThatIsNotTheNotesIsFound() throws {
        let fixture = try Self.checkpointed()
        try ErrorKindTests.tamper(fixture, "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 5")
        Self.expectNotVerified(fixture, saying: "has a root column that differs from its signed note", at: 5)
    }

    /// Item 6 and 18: a tail cut with raw SQL (entries, tree nodes, index rows) chains and builds
    /// its tree, but a checkpoint signed over it remains in the same file.
    @Test func aCutTailBelowAStoredCheckpointIsFound() throws {
        let fixture = try Self.checkpointed()
        try ErrorKindTests.tamper(
            fixture,
            """
            DELETE FROM entries WHERE seq >= 5; DELETE FROM merkle_nodes WHERE (idx + 1) << level > 4;
            """)
        Self.expectNotVerified(fixture, saying: "stored checkpoint 5 covers more entries than the ledger holds", at: 5)
    }

    /// Item 9: the identity point as a public key: libsodium refuses every signature under it, an
    /// OpenSSL-based verifier accepts one anyone can make.
    @Test func weakKeysAreRefusedAtEnrolmentAndByVerify() throws {
        let fixture = try CLIFixture()
        let identity = [UInt8(1)] + [UInt8](repeating: 0, count: 31)
        let weak = PublicKey(bytes: identity)
        fixture.dir.write("weak.pub", weak.minisignFile())
        let enrol = fixture.run(["key", "enroll", "--key", "authority.key", "--pub", "weak.pub", "--name", "W", "--role", "officer", "--scope", "eu"])
        #expect(enrol.status == 65, "\(enrol.stderr)")
        #expect(enrol.stderr.contains("is not a valid Ed25519 public key"))
        // Forged with raw SQL, signed by the real authority: verify refuses the enrolment itself.
        let authority = try SecretKeyFile.open(try KeyFiles.readSecret(path: fixture.dir.file("authority.key")), passphrase: nil)
        let ledger = try Ledger.open(path: fixture.dir.file("ledger.sqlite"), forWriting: false)
        let head = try #require(try ledger.entry(4))
        let enrolment = KeyEnrolment(publicKey: weak, name: "W", role: .officer, scopes: [.source(.union)])
        let body = EntryBody(seq: 5, signer: authority.id, recordedAt: "2026-11-29T00:00:00Z", data: .keyEnroll(enrolment))
        let entry = try Entry.make(body: body, prevHash: head.hash, key: authority)
        try ErrorKindTests.tamper(fixture, "SELECT 1")
        try DatabaseQueue(path: fixture.dir.file("ledger.sqlite")).write { db in
            try db.execute(
                sql: "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    entry.seq, entry.type, Data(entry.body), Data(entry.prevHash), Data(entry.hash), entry.signer, Data(entry.signature),
                    entry.recordedAt,
                ])
        }
        Self.expectNotVerified(fixture, saying: "is not a valid Ed25519 public key", at: 5)
    }

    /// The eight small-order points (RFC 8032's curve has cofactor 8): none may be enrolled.
    @Test func noSmallOrderPointIsAValidKey() {
        let smallOrder = [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        ]
        for hex in smallOrder { #expect(!Sodium.isValidPublicKey(Encoding.unhex(hex)!), "\(hex)") }
        #expect(Sodium.isValidPublicKey(SigningKey.generate().publicKey.bytes))
    }
}

/// Issue 12, item 7: the schema itself is verified, and a writer refuses a schema it does not know.
@Suite struct SchemaTests {
    static func sqlite(_ fixture: CLIFixture, _ sql: String) {
        let result = shell("sqlite3 ledger.sqlite \"\(sql)\"", in: fixture.dir)
        #expect(result.status == 0, "\(result.stderr)")
    }

    static func expectSchemaFinding(_ fixture: CLIFixture, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let verify = fixture.run(["verify"])
        #expect(verify.status == 1, "\(verify.stdout)", sourceLocation: sourceLocation)
        #expect(verify.stdout.hasPrefix("NOT VERIFIED: the ledger file: schema: "), "\(verify.stdout)", sourceLocation: sourceLocation)
        #expect(verify.stdout.contains(message), "\(verify.stdout)", sourceLocation: sourceLocation)
        let independent = IntegrityTests.independent(fixture)
        #expect(independent.status == 1, "\(independent.stdout)", sourceLocation: sourceLocation)
        #expect(independent.stdout.hasPrefix("the ledger file: schema: "), "\(independent.stdout)", sourceLocation: sourceLocation)
    }

    @Test func everyDroppedTriggerIsFound() throws {
        let fixture = try CLIFixture()
        Self.sqlite(fixture, "DROP TRIGGER entries_no_update")
        Self.expectSchemaFinding(fixture, "trigger entries_no_update is missing")
    }

    @Test func aDroppedTreeTableIsFoundNotSkipped() throws {
        let fixture = try CLIFixture()
        Self.sqlite(fixture, "DROP TABLE merkle_nodes")
        Self.expectSchemaFinding(fixture, "merkle_nodes")
    }

    @Test func anAddedTableOrChangedTriggerIsFound() throws {
        let fixture = try CLIFixture()
        Self.sqlite(fixture, "CREATE TABLE notes (x)")
        Self.expectSchemaFinding(fixture, "table notes is not part of the schema")
        let other = try CLIFixture()
        Self.sqlite(other, "DROP TRIGGER keys_no_update; CREATE TRIGGER keys_no_update BEFORE UPDATE ON keys WHEN 0 BEGIN SELECT 1; END")
        Self.expectSchemaFinding(other, "keys_no_update")
    }

    /// A deleted migration record made every writer re-run it; an unknown one was accepted.
    @Test func writersRefuseMigrationRecordsTheyDoNotKnow() throws {
        let fixture = try CLIFixture()
        let before = fixture.state()
        Self.sqlite(fixture, "DELETE FROM grdb_migrations WHERE identifier = '0003_imports'")
        let append = fixture.run(fixture.contributionArguments)
        #expect(append.status == 2, "\(append.stderr)")
        #expect(append.stderr.contains("its schema cannot be written by this version"))
        Self.expectSchemaFinding(fixture, "are not the first of")
        let future = try CLIFixture()
        Self.sqlite(future, "INSERT INTO grdb_migrations VALUES ('0099_future')")
        let write = future.run(future.contributionArguments)
        #expect(write.status == 2)
        #expect(write.stderr.contains("0099_future"))
        #expect(write.stderr.contains("is not one this GigaLedger knows"))
        _ = before
    }
}

/// Issue 12, item 13: a process that holds a secret key or passphrase writes no core file, and no
/// crash backtrace with the memory its registers point at.
@Suite struct CoreDumpTests {
    /// Blocks `gigaledger ARGS` on a FIFO in a folder of its own, kills it with SIGABRT (whose
    /// default action dumps core; SIGQUIT is ignored by a script's background jobs) and returns
    /// how many core files it left and what it printed on standard error.
    static func crash(_ fixture: CLIFixture, _ name: String, _ arguments: String, environment: String = "") -> (cores: Int, stderr: String) {
        let script = """
            mkdir \(name) && mkfifo \(name)/fifo
            ulimit -c unlimited
            (cd \(name) && GIGALEDGER_LEDGER=../ledger.sqlite \(environment) exec '\(Binary.path)' \(arguments) 2> stderr) & pid=$!
            sleep 1
            kill -ABRT $pid
            wait $pid
            ls \(name) | grep -c '^core'
            """
        let result = shell(script, in: fixture.dir)
        let stderr = (try? String(contentsOfFile: fixture.dir.file("\(name)/stderr"), encoding: .utf8)) ?? ""
        return (Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, stderr)
    }

    @Test func aProcessHoldingASecretWritesNoCoreFileAndNoBacktrace() throws {
        let fixture = try CLIFixture()
        // The control: the same binary, blocked before any secret (reading a public key), with
        // Swift's backtracer off, dumps core here.
        let control = Self.crash(fixture, "control", "check-receipt r --ledger-key fifo", environment: "SWIFT_BACKTRACE=enable=no")
        #expect(control.cores == 1, "\(control)")
        let signing =
            "contribution record --key ../officer.key --passphrase-file fifo --factory de-jupiter --source ms:DE --amount 1 --date 2026-02-15 --category capex --kind payment"
        let plain = Self.crash(fixture, "plain", signing, environment: "SWIFT_BACKTRACE=enable=no")
        #expect(plain.cores == 0, "\(plain)")
        let traced = Self.crash(fixture, "traced", signing)
        #expect(traced.cores == 0, "\(traced)")
        #expect(!traced.stderr.contains("Registers"), "\(traced.stderr)")
    }
}

/// Issue 12, item 11: evidence on read-only media (a read-only folder, a read-only bind mount)
/// can be verified, listed, reported on and backed up.
@Suite(.serialized) struct ReadOnlyMediaTests {
    static let readingCommands = [["verify"], ["log"], ["status"], ["show", "2"]]

    /// A ledger with a policy, entries and a checkpoint, copied whole (backup) into `folder`.
    static func evidence(in folder: String) throws -> CLIFixture {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp.txt"])
        try FileManager.default.createDirectory(atPath: fixture.dir.file(folder), withIntermediateDirectories: true)
        try fixture.expectOK(["backup", "--out", "\(folder)/ledger.sqlite"])
        return fixture
    }

    @Test func aReadOnlyFolderCanBeAudited() throws {
        let fixture = try Self.evidence(in: "ro")
        try FileManager.default.createDirectory(atPath: fixture.dir.file("out"), withIntermediateDirectories: true)
        chmod(fixture.dir.file("out"), 0o777)
        chmod(fixture.dir.file("ro"), 0o555)
        defer { chmod(fixture.dir.file("ro"), 0o755) }
        // As root every folder is writable: the auditor here is `nobody`.
        func asNobody(_ arguments: [String]) -> Run {
            let command = ([Binary.path] + arguments + ["--ledger", "ro/ledger.sqlite"]).map { "'\($0)'" }.joined(separator: " ")
            return shell("su nobody -s /bin/sh -c \"\(command.replacingOccurrences(of: "\"", with: "\\\""))\"", in: fixture.dir)
        }
        for arguments in Self.readingCommands + [["report", "--quarter", "2026-Q1", "--out", "out/q1"], ["backup", "--out", "out/copy.sqlite"]] {
            let result = asNobody(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stdout) \(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: fixture.dir.file("out/q1/summary.json")))
        let independent = shell("su nobody -s /bin/sh -c \"python3 '\(Repository.independentVerifier)' ro/ledger.sqlite\"", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout) \(independent.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.file("ro")) == ["ledger.sqlite"])  // nothing made there
    }

    @Test func aReadOnlyBindMountCanBeAudited() throws {
        let fixture = try Self.evidence(in: "src")
        try FileManager.default.createDirectory(atPath: fixture.dir.file("mnt"), withIntermediateDirectories: true)
        let mount = shell("mount --bind src mnt && mount -o remount,bind,ro mnt", in: fixture.dir)
        #expect(mount.status == 0, "\(mount.stderr)")
        defer { _ = shell("umount mnt", in: fixture.dir) }
        #expect(shell("touch mnt/x", in: fixture.dir).status != 0)  // it really is read-only
        for arguments in Self.readingCommands + [["report", "--quarter", "2026-Q1", "--out", "q1"], ["backup", "--out", "copy.sqlite"]] {
            let result = fixture.run(arguments + ["--ledger", "mnt/ledger.sqlite"])
            #expect(result.status == 0, "\(arguments): \(result.stdout) \(result.stderr)")
        }
    }

    /// A -wal file with transactions not merged would be ignored by an immutable open: refused,
    /// with what to do.
    @Test func unmergedTransactionsOnReadOnlyMediaAreNotIgnored() throws {
        let fixture = try Self.evidence(in: "src")
        // A writer that keeps its transactions in the -wal file (no checkpoint while it is open).
        let writer = try DatabaseQueue(path: fixture.dir.file("src/ledger.sqlite"))
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "PRAGMA user_version = 7")
        }
        let copy = shell(
            "mkdir ro && cp src/ledger.sqlite src/ledger.sqlite-wal ro/ && chmod 555 ro && test -s ro/ledger.sqlite-wal", in: fixture.dir)
        #expect(copy.status == 0, "\(copy.stderr)")
        defer { chmod(fixture.dir.file("ro"), 0o755) }
        let verify = shell("su nobody -s /bin/sh -c \"'\(Binary.path)' verify --ledger ro/ledger.sqlite\"", in: fixture.dir)
        #expect(verify.status == 2, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stderr.contains("with a -wal file of transactions not merged into it"), "\(verify.stderr)")
        try writer.close()
    }
}

/// Issue 12, item 10: the auditor pins the root of trust; a whole replacement ledger (a new
/// authority under the same origin) no longer prints "verified".
@Suite struct RootOfTrustTests {
    /// A second ledger with the same origin and another authority, put where the first one was.
    static func replace(_ fixture: CLIFixture) throws {
        try fixture.expectOK(["key", "generate", "--out", "impostor", "--unencrypted"])
        try fixture.expectOK(
            ["init", "--key", "impostor.key", "--origin", "test.example/ledger", "--ledger", "replacement.sqlite"],
            env: ["XDG_CONFIG_HOME": fixture.dir.file("impostor-config")])
        try FileManager.default.removeItem(atPath: fixture.dir.file("ledger.sqlite"))
        try FileManager.default.moveItem(atPath: fixture.dir.file("replacement.sqlite"), toPath: fixture.dir.file("ledger.sqlite"))
    }

    @Test func verifyNamesTheRootOfTrustAndHowItIsTrusted() throws {
        let fixture = try CLIFixture()
        let authority = try KeyFiles.readPublic(path: fixture.dir.file("authority.pub"))
        let first = try fixture.expectOK(["verify"])
        #expect(first.stdout.contains("origin: test.example/ledger"))
        #expect(first.stdout.contains("authority key: \(authority.id) (as recorded in"), "\(first.stdout)")  // init recorded it
        let pinned = try fixture.expectOK(["verify", "--authority-key", "authority.pub"])
        #expect(pinned.stdout.contains("authority key: \(authority.id) (as given by --authority-key)"))
    }

    @Test func aReplacementLedgerIsRefusedOnFirstUseAndWhenPinned() throws {
        let fixture = try CLIFixture()
        try Self.replace(fixture)
        let remembered = fixture.run(["verify"])
        #expect(remembered.status == 1, "\(remembered.stdout) \(remembered.stderr)")
        #expect(remembered.stderr.contains("it is not the ledger you trust"))
        #expect(!remembered.stdout.contains("verified"))
        let pinned = fixture.run(["verify", "--authority-key", "authority.pub"])
        #expect(pinned.status == 1)
        #expect(pinned.stderr.contains("as --authority-key says"))
        let fromEnvironment = fixture.run(["status"], env: ["GIGALEDGER_AUTHORITY_KEY": "authority.pub"])
        #expect(fromEnvironment.status == 1)
        // Pinned to the new key, after checking it with the operator, it verifies.
        try fixture.expectOK(["verify", "--authority-key", "impostor.pub"])
        // The independent verifier pins it too, given the authority's key ID.
        let authority = try KeyFiles.readPublic(path: fixture.dir.file("authority.pub"))
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite \(authority.id)", in: fixture.dir)
        #expect(independent.status == 1, "\(independent.stdout)")
        #expect(independent.stdout.contains("not the trusted \(authority.id)"))
    }

    /// An auditor who never saw the ledger before records its authority on the first verify,
    /// and a later replacement is refused.
    @Test func trustOnFirstUseRecordsTheFirstAuthoritySeen() throws {
        let fixture = try CLIFixture()
        let auditor = ["XDG_CONFIG_HOME": fixture.dir.file("auditor-config")]
        let first = try fixture.expectOK(["verify"], env: auditor)
        #expect(first.stdout.contains("trusted on first use: recorded in \(fixture.dir.file("auditor-config"))/gigaledger/known_ledgers"))
        try Self.replace(fixture)
        let second = fixture.run(["verify"], env: auditor)
        #expect(second.status == 1)
        #expect(second.stderr.contains("auditor-config/gigaledger/known_ledgers says"))
    }
}

/// Issue 12, items 8 and 14: text is compared as bytes; a killed run's leftovers do not block the next.
@Suite struct BytesAndLeftoversTests {
    /// A key's name in the index changed to a canonically equivalent spelling (NFC to NFD, K to
    /// U+212A) is another name: Swift's `==` on strings would take it as the same.
    @Test(arguments: ["Cafe\u{301} Mu\u{308}ller", "Caf\u{E9} M\u{FC}ller \u{212A}"])
    func anEquivalentSpellingInAnIndexIsFound(spelling: String) throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "auditor", "--unencrypted"])
        let name = spelling.hasSuffix("\u{212A}") ? "Caf\u{E9} M\u{FC}ller K" : "Caf\u{E9} M\u{FC}ller"
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "auditor.pub", "--name", name, "--role", "auditor"])
        try ErrorKindTests.tamper(fixture, "UPDATE keys SET name = '\(spelling)' WHERE role = 'auditor'")
        let verify = fixture.run(["verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.hasPrefix("NOT VERIFIED: entry 5: index table keys does not match the entries"), "\(verify.stdout)")
        let independent = IntegrityTests.independent(fixture)  // at the same entry (FORMAT.md section 8's order)
        #expect(independent.status == 1)
        #expect(independent.stdout.hasPrefix("entry 5: index table keys does not match the entries"), "\(independent.stdout)")
    }

    /// What a killed backup, copy or report left (named with a process that is gone) is removed by the next run.
    @Test func leftoversOfKilledRunsAreRemoved() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["policy", "set", "--key", "authority.key", "--file", Repository.shippedPolicyPath])
        let gone = shell("sh -c 'echo $$'", in: fixture.dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)  // a process that has exited
        fixture.dir.write("copy.sqlite.partial-\(gone)", "half a copy")
        fixture.dir.write("other.sqlite.partial-\(gone)", "half a copy")
        try FileManager.default.createDirectory(atPath: fixture.dir.file("q1.new-\(gone)"), withIntermediateDirectories: true)
        try fixture.expectOK(["backup", "--out", "copy.sqlite"])
        try fixture.expectOK(["copy", "--from", fixture.ledger, "--to", "other.sqlite"])
        try fixture.expectOK(["report", "--quarter", "2026-Q1", "--out", "q1"])
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture.dir.path)
        #expect(!names.contains { $0.contains(".partial-") || $0.contains(".new-") }, "\(names)")
    }
}

/// Regression tests for what a second hostile pass found (session of 2026-11-29).
@Suite struct HostilePassTests {
    /// A NUL byte appended to a text column was invisible to verify (text read as a C string), so a
    /// revoked officer's revocation could be made not to apply.
    @Test func aNulByteInATextColumnIsFound() throws {
        let fixture = try CLIFixture()
        let officer = try KeyFiles.readPublic(path: fixture.dir.file("officer.pub"))
        try fixture.expectOK(["key", "revoke", "--key", "authority.key", "--id", officer.id.description, "--reason", "left"])
        try ErrorKindTests.tamper(fixture, "UPDATE key_revocations SET key_id = key_id || CAST(X'00' AS TEXT)")
        let verify = fixture.run(["verify"])
        #expect(verify.status == 1, "\(verify.stdout)")
        #expect(verify.stdout.contains("index table key_revocations does not match"), "\(verify.stdout)")
        #expect(IntegrityTests.independent(fixture).status == 1)
    }

    /// A name or origin that starts with a combining mark joined the space before it into one
    /// character, and the signature line did not parse: a successful cosign or checkpoint left a
    /// ledger that never verified again.
    @Test func namesStartingWithACombiningMarkStillParse() throws {
        let dir = TempDir()
        _ = Binary.run(["key", "generate", "--out", "a", "--unencrypted"], in: dir)
        let origin = "\u{301}ledger.example/x"
        #expect(Binary.run(["init", "--key", "a.key", "--origin", origin, "--ledger", "l.sqlite"], in: dir).status == 0)
        #expect(Binary.run(["checkpoint", "--key", "a.key", "--ledger", "l.sqlite", "--out", "cp.txt"], in: dir).status == 0)
        let verify = Binary.run(["verify", "--ledger", "l.sqlite"], in: dir)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        _ = Binary.run(["key", "generate", "--out", "aud", "--unencrypted"], in: dir)
        #expect(
            Binary.run(["key", "enroll", "--key", "a.key", "--pub", "aud.pub", "--name", "A", "--role", "auditor", "--ledger", "l.sqlite"], in: dir)
                .status == 0)
        #expect(Binary.run(["checkpoint", "--key", "a.key", "--ledger", "l.sqlite", "--out", "cp2.txt"], in: dir).status == 0)
        let cosign = Binary.run(["cosign", "cp2.txt", "--key", "aud.key", "--name", "\u{301}acute", "--ledger", "l.sqlite"], in: dir)
        #expect(cosign.status == 0, "\(cosign.stderr)")
        #expect(Binary.run(["verify", "--ledger", "l.sqlite", "--witness", "aud.pub"], in: dir).status == 0)
        // Another origin with a combining mark at its end is recorded and read back.
        #expect(Binary.run(["init", "--key", "a.key", "--origin", "evil.example/x\u{D4E}", "--ledger", "e.sqlite"], in: dir).status == 0)
        #expect(Binary.run(["verify", "--ledger", "l.sqlite"], in: dir).status == 0)
    }

    @Test func aKnownLedgersFileThatCannotBeReadIsUnusableNotRefusedInput() throws {
        let fixture = try CLIFixture()
        fixture.dir.write(".config/gigaledger/known_ledgers", "one two three\n")
        let verify = fixture.run(["verify"])
        #expect(verify.status == 2, "\(verify.stderr)")
        #expect(verify.stderr.contains("known ledgers file"))
    }

    /// ANALYZE (routine maintenance) adds SQLite's statistics table: not a schema change.
    @Test func analyzeIsNotTampering() throws {
        let fixture = try CLIFixture()
        #expect(shell("sqlite3 ledger.sqlite ANALYZE", in: fixture.dir).status == 0)
        try fixture.expectOK(["verify"])
        #expect(IntegrityTests.independent(fixture).status == 0)
    }

    /// `init` of an origin this user trusts with another key creates nothing.
    @Test func initCreatesNothingItsOwnTrustStoreWouldRefuse() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "b", "--unencrypted"])
        let second = fixture.run(["init", "--key", "b.key", "--origin", "test.example/ledger", "--ledger", "two.sqlite"])
        #expect(second.status == 1)
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("two.sqlite")))
    }

    /// `--witness` applies to a consistency proof too: its new checkpoint must carry the cosignatures.
    @Test func witnessesAreRequiredOfConsistencyProofsToo() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp1.txt"])
        try fixture.expectOK(fixture.contributionArguments)
        try fixture.expectOK(["checkpoint", "--key", "authority.key", "--out", "cp2.txt"])
        try fixture.expectOK(["prove", "--from", "cp1.txt", "--out", "cons.txt"])
        try fixture.expectOK(["key", "generate", "--out", "rogue", "--unencrypted"])
        let rogue = fixture.run(["check-receipt", "cons.txt", "--ledger-key", "authority.pub", "--witness", "rogue.pub"])
        #expect(rogue.status == 1, "\(rogue.stdout)")
        #expect(rogue.stderr.contains("cosigned by 0 of the 1 witnesses"))
    }

    /// An index pointed at another's storage (writable_schema, no data changed) let a revoked key
    /// sign again: SQLite's own check of the file finds it.
    @Test func anIndexPointedAtOtherStorageIsFound() throws {
        let fixture = try CLIFixture()
        let swap = shell(
            """
            sqlite3 ledger.sqlite "PRAGMA writable_schema=ON; UPDATE sqlite_master SET rootpage = (SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_partners_1') WHERE name = 'sqlite_autoindex_key_revocations_1';"
            """, in: fixture.dir)
        #expect(swap.status == 0, "\(swap.stderr)")
        let verify = fixture.run(["verify"])
        #expect(verify.status == 1, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("SQLite's check of the file"), "\(verify.stdout)")
        // The independent verifier runs the same check, though it never reads that index (FORMAT.md section 8).
        let python = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(python.status == 1 && python.stdout.hasPrefix("the ledger file: SQLite's check of the file"), "\(python.stdout)")
    }

    /// The independent verifier checks the stored Merkle tree too.
    @Test func bothVerifiersCheckTheStoredTree() throws {
        let fixture = try CLIFixture()
        try ErrorKindTests.tamper(fixture, "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0")
        #expect(fixture.run(["verify"]).status == 1)
        let independent = IntegrityTests.independent(fixture)
        #expect(independent.status == 1)
        #expect(independent.stdout.contains("merkle_nodes level 1 index 0"), "\(independent.stdout)")
    }
}
