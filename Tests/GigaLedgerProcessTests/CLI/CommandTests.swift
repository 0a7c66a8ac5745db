import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// The commands end to end through the real binary: stdout, stderr and exit codes.
@Suite struct CommandTests {
    /// Issue 27, case 1 (in part): after an authority rotation, `verify` lists every authority key
    /// with its status, the revoked genesis key said to be revoked.
    @Test func verifyListsEveryAuthorityKeyWithItsStatus() throws {
        let fixture = try CLIFixture()
        try fixture.expectOK(["key", "generate", "--out", "authority-2", "--unencrypted"])
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "authority-2.pub", "--name", "Authority 2027", "--role", "authority",
        ])
        let genesis = try #require(fixture.run(["key", "list", "--json"]).stdout.firstMatch(of: /"key_id":"([0-9A-F]{16})"/)).1
        try fixture.expectOK(["key", "revoke", "--key", "authority-2.key", "--id", String(genesis), "--reason", "rotated"])
        let verified = try fixture.expectOK(["verify"]).stdout
        #expect(verified.contains("  authority \(genesis) \"Ledger authority\": the genesis authority, revoked at entry 6"), "\(verified)")
        #expect(verified.contains("\"Authority 2027\": enrolled at entry 5, active"), "\(verified)")
        let json = try fixture.expectOK(["verify", "--json"]).stdout
        #expect(json.contains(#""key_id":"\#(genesis)","name":"Ledger authority","revoked_at":6"#), "\(json)")
    }

    @Test func keyGenerateWritesAnEncryptedKeyAndAMinisignPublicKey() throws {
        let dir = TempDir()
        dir.write("pass", "s3cret and longer\n")
        let made = Binary.run(["key", "generate", "--out", "anna", "--kdf", "interactive", "--passphrase-file", "pass"], in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("anna.key"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let secret = try String(contentsOfFile: dir.file("anna.key"), encoding: .utf8)
        #expect(secret.contains("kdf argon2id13 "))
        #expect(!secret.contains("seed "))
        let pub = try String(contentsOfFile: dir.file("anna.pub"), encoding: .utf8)
        #expect(pub.hasPrefix("untrusted comment: minisign public key "))
        #expect(made.stderr.isEmpty)
        let again = Binary.run(["key", "generate", "--out", "anna", "--unencrypted"], in: dir)
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: dir.file("anna.key"), encoding: .utf8) == secret)
        let plain = Binary.run(["key", "generate", "--out", "bot", "--unencrypted"], in: dir)
        #expect(plain.status == 0)
        #expect(plain.stderr.contains("NOT encrypted"))
        let noTerminal = Binary.run(["key", "generate", "--out", "carl"], in: dir)
        #expect(noTerminal.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.file("carl.key")))
    }

    /// A signature made with a gigaledger key checks with Debian's stock minisign against NAME.pub.
    @Test func publicKeyFileWorksWithStockMinisign() throws {
        let dir = TempDir()
        let key = SigningKey.generate()
        dir.write("k.pub", key.publicKey.minisignFile(), mode: 0o644)
        let file = Array("quarterly report\n".utf8)
        dir.write("report.txt", String(decoding: file, as: UTF8.self), mode: 0o644)
        let signature = key.sign(Sodium.blake2b512(file))
        let trusted = "timestamp:1767225600\tfile:report.txt\thashed"
        let global = key.sign(signature + Array(trusted.utf8))
        dir.write(
            "report.txt.minisig",
            "untrusted comment: test\n" + Encoding.base64(Array("ED".utf8) + key.id.bytes + signature)
                + "\ntrusted comment: \(trusted)\n" + Encoding.base64(global) + "\n", mode: 0o644)
        let result = shell("minisign -Vm report.txt -p k.pub", in: dir)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    }

    @Test func initRefusesToOverwriteAndUsesTheEnvironment() throws {
        let fixture = try CLIFixture()
        let again = fixture.run(["init", "--key", "authority.key", "--origin", "test.example/ledger"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
        let byEnv = fixture.run(
            [
                "contribution", "record", "--factory", "de-jupiter", "--source", "eu", "--amount", "5", "--date", "2026-01-01",
                "--category", "opex", "--kind", "commitment",
            ], env: ["GIGALEDGER_KEY": "authority.key"])
        #expect(byEnv.status == 0, "\(byEnv.stderr)")
        #expect(byEnv.stdout.hasPrefix("entry 5: recorded commitment of EUR 5.00 from eu to de-jupiter"))
        let noKey = fixture.run(["factory", "register", "--id", "x", "--name", "X", "--kind", "gigafactory", "--host", "DE", "--capex", "1"])
        #expect(noKey.status == 2)
        #expect(noKey.stderr.contains("no signing key"))
    }

    @Test func officerRecordsLogShowAndVerify() throws {
        let fixture = try CLIFixture()
        let env = ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]
        try fixture.expectOK(
            [
                "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "1234.5",
                "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", "BMBF-1",
            ], env: env)
        try fixture.expectOK(
            [
                "access", "record", "--key", "officer.key", "--factory", "de-jupiter", "--beneficiary", "Tiny Robotics GmbH",
                "--category", "sme", "--gpu-hours", "5000", "--date", "2026-03-01", "--pool", "union",
            ], env: env)
        try fixture.expectOK(["correct", "--yes", "--key", "officer.key", "--entry", "5", "--reason", "amount was 1243.50"], env: env)
        let log = try fixture.expectOK(["log"]).stdout
        #expect(log.contains("#5  "))
        #expect(log.contains("de-jupiter ms:DE EUR 1,234.50 capex payment 2026-02-15 ref BMBF-1"))
        #expect(log.contains("reverses entry 5: amount was 1243.50"))
        // A reversed entry says so on its line; a source's list shows the correction with it (issue 33).
        #expect(log.split(separator: "\n").contains { $0.hasPrefix("#5 ") && $0.hasSuffix("[corrected by #7]") }, "\(log)")
        let bySource = try fixture.expectOK(["log", "--source", "ms:DE"]).stdout
        #expect(bySource.contains("#5 ") && bySource.contains("#7 ") && bySource.contains("reverses entry 5"), "\(bySource)")
        #expect(try fixture.expectOK(["show", "#5"]).stdout.contains("corrected by entry 7"))
        #expect(log.split(separator: "\n").count == 7)
        let show = try fixture.expectOK(["show", "5"]).stdout
        #expect(show.contains(#""amount_cents":123450"#))
        // What later entries say of it (issue 33): the correction that reversed it.
        #expect(show.contains("later       corrected by entry 7 (a reversing entry)"), "\(show)")
        let json = try fixture.expectOK(["show", "5", "--json"]).stdout
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["seq"] as? Int == 5)
        #expect((object?["later"] as? [[String: Any]])?.first?["seq"] as? Int == 7, "\(json)")
        let all = try JSONSerialization.jsonObject(with: Data(try fixture.expectOK(["log", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(all?.count == 7)
        let verified = try fixture.expectOK(["verify"]).stdout
        #expect(verified.hasPrefix("verified: 7 entries, head "))
        let missing = fixture.run(["show", "99"])
        #expect(missing.status == 65)
        let keys = try fixture.expectOK(["key", "list"]).stdout
        #expect(keys.contains("officer    active  enrolled at entry 4  DE officer  scope ms:DE,factory:de-jupiter"))
    }

    @Test func verifyExitCodesAreZeroOneAndTwo() throws {
        let fixture = try CLIFixture()
        #expect(fixture.run(["verify"]).status == 0)
        try tamperFile(
            fixture.dir.file("ledger.sqlite"),
            "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), '350000000000', '350000000001') AS BLOB) WHERE seq = 2")
        let tampered = fixture.run(["verify"])
        #expect(tampered.status == 1)
        #expect(tampered.stdout.hasPrefix("NOT VERIFIED: entry 2: stored hash"))
        let json = fixture.run(["verify", "--json"])
        #expect(json.status == 1)
        #expect(json.stdout.contains(#""failed_entry":2"#))
        #expect(json.stdout.contains(#""verified":false"#))
        // An append checks the head it builds on (hash and signature), not the whole chain: the
        // entry is recorded after the intact head, and verify still finds entry 2.
        let append = fixture.run(fixture.contributionArguments)
        #expect(append.status == 0, "\(append.stderr)")
        #expect(fixture.run(["verify"]).stdout.hasPrefix("NOT VERIFIED: entry 2: stored hash"))
        #expect(fixture.run(["verify", "--ledger", "absent.sqlite"]).status == 2)
    }

    @Test func appendingOnATamperedHeadIsRefused() throws {
        let fixture = try CLIFixture()
        try tamperFile(fixture.dir.file("ledger.sqlite"), "UPDATE entries SET signature = zeroblob(64) WHERE seq = 4")
        let append = fixture.run(fixture.contributionArguments)
        #expect(append.status == 1)
        #expect(append.stderr.contains("head entry 4 does not verify"))
    }

    /// Several processes appending at once: every entry lands exactly once, in one unforked chain.
    @Test func concurrentProcessesNeverFork() throws {
        let fixture = try CLIFixture()
        let processes = 4, each = 8
        // One shell per writer, each appending in a loop; started together, waited for one by one.
        let writers = (0..<processes).map { writer -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [
                "-c",
                """
                for i in $(seq 1 \(each)); do
                  "$GIGALEDGER" contribution record --key authority.key --factory de-jupiter --source eu --amount \(writer + 1).$(printf %02d $i) \
                    --date 2026-01-01 --category opex --kind payment --ref w\(writer)-$i >/dev/null || exit 1
                done
                """,
            ]
            process.currentDirectoryURL = fixture.dir.url
            process.environment = ["PATH": "/usr/bin:/bin", "GIGALEDGER": Binary.path, "GIGALEDGER_LEDGER": "ledger.sqlite"]
            return process
        }
        for process in writers { try process.run() }
        for process in writers {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let verified = fixture.run(["verify"])
        #expect(verified.stdout.hasPrefix("verified: \(4 + processes * each) entries"))
        let distinct = shell("sqlite3 ledger.sqlite 'SELECT COUNT(DISTINCT prev_hash), COUNT(*) FROM entries'", in: fixture.dir)
        #expect(distinct.stdout == "\(4 + processes * each)|\(4 + processes * each)\n")
    }

    /// Issue 33: `log` selects entries by gigafactory, source, signer, dates and type (every
    /// option given must hold); a bad value is one line, exit 65.
    @Test func logSelectsEntries() throws {
        let fixture = try CLIFixture()
        let env = ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]
        try fixture.expectOK(
            [
                "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "1001.00",
                "--date", "2026-02-10", "--category", "capex", "--kind", "payment", "--ref", "L-1",
            ], env: env)
        try fixture.expectOK(
            [
                "contribution", "record", "--key", "authority.key", "--factory", "de-jupiter", "--source", "eu", "--amount", "2002.00",
                "--date", "2026-03-10", "--category", "capex", "--kind", "commitment", "--ref", "L-2",
            ])
        let german = try fixture.expectOK(["log", "--source", "ms:DE"]).stdout
        #expect(german.contains("L-1") && !german.contains("L-2"), "\(german)")
        let march = try fixture.expectOK(["log", "--from", "2026-03-01", "--to", "2026-03-31", "--type", "contribution"]).stdout
        #expect(march.contains("L-2") && !march.contains("L-1"), "\(march)")
        let factory = try fixture.expectOK(["log", "--factory", "de-jupiter", "--json"]).stdout
        #expect(factory.contains("\"type\":\"factory-register\"") && factory.contains("\"type\":\"contribution\""), "\(factory)")
        let officer = try #require(
            try fixture.expectOK(["key", "list"]).stdout.split(separator: "\n").first { $0.contains("officer") }?.split(separator: " ").first {
                $0.count == 16
            })
        let signed = try fixture.expectOK(["log", "--signer", String(officer)]).stdout
        #expect(signed.contains("L-1") && !signed.contains("L-2"), "\(officer): \(signed)")
        let none = try fixture.expectOK(["log", "--source", "ms:FR"])
        #expect(none.stdout.isEmpty && none.stderr.contains("no entry matches the options given"), "\(none.stderr)")
        let bad = fixture.run(["log", "--type", "payment"])
        #expect(bad.status == 64 && bad.stderr.contains(#"--type "payment" is not an entry type"#), "\(bad.stderr)")
        // A factory or partner nobody registered: refused, naming the closest (a typo selects nothing otherwise).
        let typo = fixture.run(["log", "--factory", "de-jupitr"])
        #expect(
            typo.status == 65 && typo.stderr.contains(#"factory: "de-jupitr" is not a registered factory (closest registered factories: de-jupiter"#),
            "\(typo.stderr)")
        // Key IDs as printed (capitals) or typed in small letters.
        #expect(try fixture.expectOK(["log", "--signer", String(officer).lowercased()]).stdout == signed)
        let backwards = fixture.run(["log", "--from", "2026-03-01", "--to", "2026-02-01"])
        #expect(backwards.status == 65 && backwards.stderr.contains("is before --from 2026-03-01"), "\(backwards.stderr)")
    }
}
