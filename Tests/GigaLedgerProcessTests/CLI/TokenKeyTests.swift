import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// SoftHSM2 (Debian's), with tokens initialised in a folder of the test's own: what a smart card or
/// an HSM offers through PKCS#11, for keys that never exist in a file (issue 37).
struct SoftHSM {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let pin = "246810"
    let dir: TempDir
    let conf: String
    /// The fault-injecting module in front of SoftHSM2 (Fixtures/fault_pkcs11.c), built into the test's folder.
    func faultModule() throws -> String {
        let path = dir.file("fault_pkcs11.so")
        if FileManager.default.fileExists(atPath: path) { return path }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fault_pkcs11.c").path
        let built = shell("clang -shared -fPIC -Wall -Werror -o fault_pkcs11.so '\(source)'", in: dir)
        guard built.status == 0 else { throw CLIFailure(stderr: built.stderr) }
        return path
    }

    /// The folder `dir`'s `softhsm/` holds the tokens labelled `labels`, each with the user PIN `pin`.
    init(in dir: TempDir, tokens labels: [String]) throws {
        self.dir = dir
        conf = dir.file("softhsm2.conf")
        try FileManager.default.createDirectory(atPath: dir.file("softhsm"), withIntermediateDirectories: true)
        dir.write("softhsm2.conf", "directories.tokendir = \(dir.file("softhsm"))\nobjectstore.backend = file\nlog.level = ERROR\n")
        for label in labels {
            let made = shell("SOFTHSM2_CONF='\(conf)' softhsm2-util --init-token --free --label '\(label)' --pin \(Self.pin) --so-pin 13579", in: dir)
            guard made.status == 0 else { throw CLIFailure(stderr: made.stderr + made.stdout) }
        }
        dir.write("pin", Self.pin + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir.file("pin"))
    }

    /// What a command needs to reach the tokens: SoftHSM2's configuration and its module.
    var env: [String: String] { ["SOFTHSM2_CONF": conf, "GIGALEDGER_PKCS11_MODULE": Self.module] }

    /// `env` with the fault module in front of SoftHSM2, injecting `fault`, logging each C_Login to `log`.
    func faulty(_ fault: String, log: String) throws -> [String: String] {
        [
            "SOFTHSM2_CONF": conf, "GIGALEDGER_PKCS11_MODULE": try faultModule(), "FAULT_PKCS11_REAL": Self.module,
            "FAULT_PKCS11": fault, "FAULT_PKCS11_LOG": log,
        ]
    }

    /// The URI of the key labelled `object` on token `token`.
    static func uri(_ token: String, _ object: String) -> String { "pkcs11:token=\(token);object=\(object)" }
}

@Suite struct TokenKeyTests {
    /// A fixture ledger and a token "officer" holding a key made on it, enrolled as an officer of
    /// Germany; the key's URI.
    func officerOnToken() throws -> (CLIFixture, SoftHSM, String) {
        let fixture = try CLIFixture()
        let hsm = try SoftHSM(in: fixture.dir, tokens: ["officer"])
        let uri = SoftHSM.uri("officer", "ledger")
        let made = try fixture.expectOK(["key", "generate", "--out", "card", "--pkcs11", uri, "--passphrase-file", "pin"], env: hsm.env)
        #expect(made.stdout.contains("(sensitive, not extractable)"), "\(made.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fixture.dir.file("card.key")), "no secret key file is written")
        try fixture.expectOK([
            "key", "enroll", "--key", "authority.key", "--pub", "card.pub", "--name", "DE officer (card)", "--role", "officer", "--scope", "ms:DE",
        ])
        return (fixture, hsm, uri)
    }

    /// An officer appends and imports with a key on a token: the entries verify with the binary and
    /// the independent verifier; `key export --pkcs11` gives the same .pub as `key generate`; the
    /// token refuses to let the private key out (SoftHSM2's own tool cannot read it).
    @Test func anOfficerAppendsAndImportsWithATokenKey() throws {
        let (fixture, hsm, uri) = try officerOnToken()
        try fixture.expectOK(
            [
                "contribution", "record", "--key", uri, "--passphrase-file", "pin", "--factory", "de-jupiter", "--source", "ms:DE",
                "--amount", "1200.00", "--date", "2026-02-10", "--category", "capex", "--kind", "commitment",
            ], env: hsm.env)
        var csv = "type,factory,date,source,amount,category,kind,ref\n"
        for row in 1...300 {
            csv += "contribution,de-jupiter,2026-02-\(String(format: "%02d", row % 28 + 1)),ms:DE,\(row).25,capex,payment,T-\(row)\n"
        }
        fixture.dir.write("rows.csv", csv)
        let imported = try fixture.expectOK(["import", "rows.csv", "--key", uri, "--passphrase-file", "pin"], env: hsm.env)
        #expect(imported.stdout.contains("imported 300 rows"), "\(imported.stdout)")
        let verified = try fixture.expectOK(["verify", "--authority-key", "authority.pub"])
        #expect(verified.stdout.contains("verified: 307 entries"), "\(verified.stdout)")
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout)")
        let exported = try fixture.expectOK(["key", "export", "--pkcs11", uri, "--passphrase-file", "pin"], env: hsm.env)
        #expect(exported.stdout == (try String(contentsOfFile: fixture.dir.file("card.pub"), encoding: .utf8)))
        // With no module named, p11-kit's proxy is used, which loads the modules the system registers (SoftHSM2's among them).
        let throughProxy = try fixture.expectOK(["key", "export", "--pkcs11", uri, "--passphrase-file", "pin"], env: ["SOFTHSM2_CONF": hsm.conf])
        #expect(throughProxy.stdout == exported.stdout)
        // The private key is sensitive and was never extractable, as the token itself (OpenSC's tool) says.
        let listed = shell(
            "SOFTHSM2_CONF='\(hsm.conf)' pkcs11-tool --module \(SoftHSM.module) --token-label officer --login --pin \(SoftHSM.pin) --list-objects --type privkey",
            in: fixture.dir)
        #expect(
            listed.stdout.contains("EC_EDWARDS") && listed.stdout.contains("sensitive, always sensitive, never extractable, local"),
            "\(listed.stdout)")
    }

    /// The ledger's authority on a token: it makes the ledger, registers, enrols and revokes, signs a
    /// checkpoint and a report; the report's files verify with stock minisign, the checkpoint and
    /// the ledger with the binary and the independent verifier; an auditor's token cosigns.
    @Test func theAuthorityOnATokenRunsTheLedger() throws {
        let dir = TempDir()
        let hsm = try SoftHSM(in: dir, tokens: ["authority", "auditor"])
        let authority = SoftHSM.uri("authority", "ju-authority"), auditor = SoftHSM.uri("auditor", "coa")
        func ok(_ arguments: [String]) throws -> Run {
            let run = Binary.run(
                arguments + ["--passphrase-file", "pin"], in: dir, env: hsm.env.merging(["GIGALEDGER_LEDGER": dir.file("ledger.sqlite")]) { $1 })
            #expect(run.status == 0, "gigaledger \(arguments.joined(separator: " ")): \(run.stderr)")
            guard run.status == 0 else { throw CLIFailure(stderr: run.stderr) }
            return run
        }
        _ = try ok(["key", "generate", "--out", "authority", "--pkcs11", authority])
        _ = try ok(["key", "generate", "--out", "auditor", "--pkcs11", auditor])
        _ = try ok(["init", "--key", authority, "--origin", "token.example/ledger"])
        _ = try ok([
            "factory", "register", "--key", authority, "--id", "de-jupiter", "--name", "Jupiter", "--kind", "gigafactory", "--host", "DE",
            "--capex", "3500000000",
        ])
        _ = try ok(["key", "enroll", "--key", authority, "--pub", "auditor.pub", "--name", "Court of Auditors", "--role", "auditor"])
        _ = try ok([
            "contribution", "record", "--key", authority, "--factory", "de-jupiter", "--source", "eu", "--amount", "5000.00", "--date",
            "2026-02-10", "--category", "capex", "--kind", "commitment",
        ])
        _ = try ok(["policy", "set", "--key", authority, "--builtin", "eurohpc-2026"])
        _ = try ok(["checkpoint", "--key", authority, "--out", "q1.checkpoint"])
        _ = try ok(["cosign", "q1.checkpoint", "--key", auditor, "--name", "coa.example/witness"])
        let auditorID = try PublicKey.decodeMinisign(try String(contentsOfFile: dir.file("auditor.pub"), encoding: .utf8), path: "auditor.pub").id
        _ = try ok(["key", "revoke", "--key", authority, "--id", auditorID.description, "--reason", "rotated"])
        _ = try ok(["report", "--quarter", "2026-Q1", "--out", "q1", "--key", authority])
        for name in ["report.md", "summary.json", "contributions.csv"] {
            let check = shell("minisign -Vm q1/\(name) -p authority.pub", in: dir)
            #expect(check.status == 0, "\(name): \(check.stdout) \(check.stderr)")
        }
        let verified = Binary.run(["verify", "--ledger", "ledger.sqlite", "--authority-key", "authority.pub"], in: dir)
        #expect(verified.status == 0 && verified.stdout.contains("verified: 6 entries"), "\(verified.stdout) \(verified.stderr)")
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: dir)
        #expect(independent.status == 0, "\(independent.stdout)")
    }

    /// `serve` signs its checkpoints with a log key on a token, and a witness cosigns with its own;
    /// an officer whose key is on a card imports through the server.
    @Test func theServerAndAWitnessSignWithTokenKeys() throws {
        let fixture = try CLIFixture()
        let hsm = try SoftHSM(in: fixture.dir, tokens: ["server", "witness", "card"])
        let logKey = SoftHSM.uri("server", "log"), witnessKey = SoftHSM.uri("witness", "w")
        try fixture.expectOK(["key", "generate", "--out", "log", "--pkcs11", logKey, "--passphrase-file", "pin"], env: hsm.env)
        try fixture.expectOK(["key", "generate", "--out", "witness", "--pkcs11", witnessKey, "--passphrase-file", "pin"], env: hsm.env)
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "log.pub", "--name", "log key", "--role", "log"])
        try fixture.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "witness.pub", "--name", "CoA witness", "--role", "auditor"])
        let witness = try WitnessProcess(
            dir: fixture.dir, key: witnessKey, name: "coa.example/witness", state: fixture.dir.file("witness-state"),
            logs: ["test.example/ledger=log.pub"], extra: ["--passphrase-file", "pin"], env: hsm.env)
        let server = try ServerProcess(
            dir: fixture.dir, ledger: fixture.ledger,
            extra: ["--witness", "coa.example/witness=\(witness.url)=witness.pub", "--passphrase-file", "pin"], logKey: logKey, env: hsm.env)
        let appended = Binary.run(
            [
                "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "10.00", "--date",
                "2026-02-15", "--category", "capex", "--kind", "payment", "--server", server.url,
            ], in: fixture.dir, env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile])
        #expect(appended.status == 0, "\(appended.stderr)")
        var cosigned = false
        for _ in 0..<200 where !cosigned {  // at most 20 s
            let body = try rawHTTP(server.url, request: httpRequest("GET", "/checkpoint")).body
            cosigned = body.hasPrefix("test.example/ledger\n7\n") && body.contains("\n— coa.example/witness ")
            if !cosigned { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(cosigned, "\(server.log)")
        let card = SoftHSM.uri("card", "officer")
        try fixture.expectOK(["key", "generate", "--out", "card", "--pkcs11", card, "--passphrase-file", "pin"], env: hsm.env)
        try fixture.expectOK(
            ["key", "enroll", "--key", "authority.key", "--pub", "card.pub", "--name", "DE officer (card)", "--role", "officer", "--scope", "ms:DE"],
            env: ["GIGALEDGER_SERVER": server.url])
        var csv = "type,factory,date,source,amount,category,kind,ref\n"
        for row in 1...40 {
            csv += "contribution,de-jupiter,2026-02-\(String(format: "%02d", row % 28 + 1)),ms:DE,\(row).40,capex,payment,S-\(row)\n"
        }
        fixture.dir.write("remote.csv", csv)
        let imported = Binary.run(
            ["import", "remote.csv", "--key", card, "--passphrase-file", "pin", "--server", server.url, "--authority-key", "authority.pub"],
            in: fixture.dir, env: hsm.env)
        #expect(imported.status == 0 && imported.stdout.contains("imported 40 rows"), "\(imported.stdout) \(imported.stderr)")
        server.stop()
        witness.stop()
        let verified = try fixture.expectOK(["verify", "--authority-key", "authority.pub"])
        #expect(verified.stdout.contains("verified: 49 entries"), "\(verified.stdout)")
        // The log key's token removed while the server runs: an entry recorded but not proved is
        // said to be recorded (not "nothing was written": it would be sent again), and it is in the ledger.
        let failing = try ServerProcess(
            dir: fixture.dir, ledger: fixture.ledger, extra: ["--passphrase-file", "pin"], logKey: logKey,
            env: try hsm.faulty("remove-after=1", log: fixture.dir.file("logins")))
        let unproved = Binary.run(
            [
                "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "11.00", "--date",
                "2026-02-16", "--category", "capex", "--kind", "payment", "--server", failing.url,
            ], in: fixture.dir, env: ["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile])
        #expect(
            unproved.status == 2 && unproved.stderr.contains("entry 50 was recorded, but this server cannot sign"),
            "\(unproved.status) \(unproved.stdout) \(unproved.stderr) \(failing.log)")
        failing.stop()
        let after = try fixture.expectOK(["verify", "--authority-key", "authority.pub"])
        #expect(after.stdout.contains("verified: 50 entries"), "\(after.stdout)")
    }

    /// Faults, each one line, exit 2, nothing written: a wrong PIN (one C_Login, never repeated), a
    /// PIN reported locked or on its last try (refused before any C_Login), a missing module or
    /// token, a key that is not Ed25519, a malformed URI; a token removed in the middle of an
    /// import (no row written), a module that stops answering (given up after the bounded wait).
    @Test func tokenFaultsAreOneLineAndWriteNothing() throws {
        let (fixture, hsm, uri) = try officerOnToken()
        let before = fixture.state()
        let log = fixture.dir.file("logins")
        func logins() -> Int { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count }
        let append = [
            "contribution", "record", "--key", uri, "--factory", "de-jupiter", "--source", "ms:DE", "--amount", "7.00", "--date", "2026-02-10",
            "--category", "capex", "--kind", "payment",
        ]
        func refused(_ arguments: [String], env: [String: String], saying text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let run = fixture.run(arguments, env: env)
            #expect(run.status == 2, "\(run.stdout) \(run.stderr)", sourceLocation: sourceLocation)
            #expect(run.stderr.contains(text) && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)", sourceLocation: sourceLocation)
        }
        fixture.dir.write("wrong", "000000\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: fixture.dir.file("wrong"))
        refused(
            append + ["--passphrase-file", "wrong"], env: try hsm.faulty("", log: log), saying: "wrong PIN (from --passphrase-file wrong; tried once")
        #expect(logins() == 1)
        refused(append + ["--passphrase-file", "pin"], env: try hsm.faulty("locked", log: log), saying: "user PIN is locked")
        refused(append + ["--passphrase-file", "pin"], env: try hsm.faulty("final-try", log: log), saying: "one PIN try is left")
        #expect(logins() == 1, "no C_Login when the token says the PIN is locked or on its last try")
        refused(
            append + ["--passphrase-file", "pin", "--pkcs11-module", fixture.dir.file("none.so")], env: hsm.env,
            saying: "cannot be loaded: no such file")
        refused(
            append.map { $0 == uri ? SoftHSM.uri("absent", "ledger") : $0 } + ["--passphrase-file", "pin"], env: hsm.env,
            saying: "matches \"pkcs11:token=absent;object=ledger\" (tokens present: officer)")
        refused(
            append.map { $0 == uri ? uri + ";colour=red" : $0 } + ["--passphrase-file", "pin"], env: hsm.env, saying: "colour is not an attribute")
        let p256 = shell(
            "SOFTHSM2_CONF='\(hsm.conf)' pkcs11-tool --module \(SoftHSM.module) --token-label officer --login --pin \(SoftHSM.pin) --keypairgen --key-type EC:prime256v1 --label p256",
            in: fixture.dir)
        #expect(p256.status == 0, "\(p256.stderr)")
        refused(
            append.map { $0 == uri ? SoftHSM.uri("officer", "p256") : $0 } + ["--passphrase-file", "pin"], env: hsm.env,
            saying: "is not an Ed25519 key")
        // Removed after 120 signatures of a 300-row import; then a module that hangs.
        var csv = "type,factory,date,source,amount,category,kind,ref\n"
        for row in 1...300 {
            csv += "contribution,de-jupiter,2026-02-\(String(format: "%02d", row % 28 + 1)),ms:DE,\(row).75,capex,payment,R-\(row)\n"
        }
        fixture.dir.write("rows.csv", csv)
        refused(
            ["import", "rows.csv", "--key", uri, "--passphrase-file", "pin"], env: try hsm.faulty("remove-after=120", log: log),
            saying: "CKR_DEVICE_REMOVED")
        let started = Date()
        refused(
            ["import", "rows.csv", "--key", uri, "--passphrase-file", "pin"],
            env: try hsm.faulty("hang-after=5", log: log).merging(["GIGALEDGER_PKCS11_SECONDS": "5"]) { $1 },
            saying: "did not answer C_Sign within 5 s")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(fixture.state() == before, "nothing was written")
        // A faulty token (a signature that does not verify) is said to be one, not taken for the ledger's fault.
        refused(append + ["--passphrase-file", "pin"], env: try hsm.faulty("corrupt-after=1", log: log), saying: "the token or its module is faulty")
        // A PIN file of two lines is not tried: a try of the card is not used up by a mistake in a file.
        fixture.dir.write("two-lines", SoftHSM.pin + "\nsecond\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: fixture.dir.file("two-lines"))
        let loginsBefore = logins()
        refused(append + ["--passphrase-file", "two-lines"], env: try hsm.faulty("", log: log), saying: "not tried")
        #expect(logins() == loginsBefore)
        // The GIGALEDGER_PASSPHRASE_FILE of key files is never sent to a token as its PIN.
        refused(
            append, env: hsm.env.merging(["GIGALEDGER_PASSPHRASE_FILE": fixture.passphraseFile]) { $1 }, saying: "PIN for token officer is needed")
        // A label mistyped: the token's keys are listed.
        refused(
            append.map { $0 == uri ? SoftHSM.uri("officer", "ledgr") : $0 } + ["--passphrase-file", "pin"], env: hsm.env,
            saying: "its private keys: ledger, p256)")
        // And the token still works afterwards.
        try fixture.expectOK(append + ["--passphrase-file", "pin"], env: hsm.env)
    }

    /// `key generate --pkcs11` never breaks or doubles a key: a label or an ID in use is refused
    /// before anything is made; a public file that cannot be written leaves no key on the token.
    @Test func makingAKeyOnATokenLeavesNoHalfMadeKey() throws {
        let dir = TempDir()
        let hsm = try SoftHSM(in: dir, tokens: ["card"])
        func run(_ arguments: [String]) -> Run { Binary.run(arguments + ["--passphrase-file", "pin"], in: dir, env: hsm.env) }
        #expect(run(["key", "generate", "--out", "a", "--pkcs11", "pkcs11:token=card;object=first;id=%01%02%03"]).status == 0)
        let sameID = run(["key", "generate", "--out", "b", "--pkcs11", "pkcs11:token=card;object=second;id=%01%02%03"])
        #expect(sameID.status == 2 && sameID.stderr.contains("already holds a key matching"), "\(sameID.stderr)")
        let sameLabel = run(["key", "generate", "--out", "c", "--pkcs11", "pkcs11:token=card;object=first"])
        #expect(sameLabel.status == 2 && sameLabel.stderr.contains("already holds a key matching"), "\(sameLabel.stderr)")
        let nowhere = run(["key", "generate", "--out", dir.file("absent/k"), "--pkcs11", "pkcs11:token=card;object=orphan"])
        #expect(nowhere.status == 2, "\(nowhere.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("b.pub")) && !FileManager.default.fileExists(atPath: dir.file("c.pub")))
        // The first key still opens, by its label or by its ID (any bytes), and no orphan was left.
        let byLabel = run(["key", "export", "--pkcs11", "pkcs11:token=card;object=first"])
        let byID = run(["key", "export", "--pkcs11", "pkcs11:token=card;id=%01%02%03"])
        #expect(byLabel.status == 0 && byLabel.stdout == byID.stdout, "\(byLabel.stderr) \(byID.stderr)")
        let orphan = run(["key", "export", "--pkcs11", "pkcs11:token=card;object=orphan"])
        #expect(orphan.status == 2 && orphan.stderr.contains("holds no private key"), "\(orphan.stderr)")
    }

    /// URIs are read as RFC 7512 says: an ID is any bytes; a PIN in the URI is never shown, in
    /// any case of its name or with any characters; a value is never cut at `:` or `&`.
    @Test func tokenURIsAreReadExactly() throws {
        let binaryID = try PKCS11URI.parse("pkcs11:token=t;id=%89%75%5d%66%28%2f%20%aa")
        #expect(binaryID.id == [0x89, 0x75, 0x5D, 0x66, 0x28, 0x2F, 0x20, 0xAA])
        #expect(try PKCS11URI.parse("pkcs11:token=t;id=%01%02%03:zz").id == [1, 2, 3, 0x3A, 0x7A, 0x7A])
        for text in [
            "pkcs11:token=t;object=k?PIN-VALUE=246810", "pkcs11:token=t;object=k?Pin-Value=12:34;56",
            "pkcs11:token=t;object=k?pin-value=246810&x-a=1",
        ] {
            let uri = try PKCS11URI.parse(text)
            #expect(!uri.description.contains("246810") && !uri.description.contains("34;56"), "\(uri.description)")
            #expect(uri.pinValue == "246810" || uri.pinValue == "12:34;56")
        }
        #expect(throws: TokenError.self) { try PKCS11URI.parse("pkcs11:token=t;object=k?pin-value=1&pin-value=2") }
        do {
            _ = try PKCS11URI.parse("pkcs11:token=t;object=x\u{1B}[2J\nline2;colour=red")
            Issue.record("an unknown attribute was taken")
        } catch let error as TokenError {
            #expect(!error.description.contains("\n") && !error.description.contains("\u{1B}"), "\(error.description)")
        }
    }

    /// A key made outside the token and put on it (sensitive and not extractable since, but not
    /// always: Fixtures/import_key.c) is not a key in hardware: refused.
    @Test func aKeyImportedIntoATokenIsRefused() throws {
        let dir = TempDir()
        let hsm = try SoftHSM(in: dir, tokens: ["card"])
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/import_key.c").path
        let imported = shell(
            """
            set -e
            clang -Wall -Werror -o import_key '\(source)' -ldl
            seed=$(openssl genpkey -algorithm ed25519 -outform DER | tail -c 32 | xxd -p -c 64)
            public=$(printf '302e020100300506032b657004220420%s' "$seed" | xxd -r -p | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | xxd -p -c 64)
            SOFTHSM2_CONF='\(hsm.conf)' ./import_key \(SoftHSM.module) card \(SoftHSM.pin) imported "$seed" "$public"
            """, in: dir)
        #expect(imported.status == 0, "\(imported.stdout) \(imported.stderr)")
        let refused = Binary.run(
            ["key", "export", "--pkcs11", "pkcs11:token=card;object=imported", "--passphrase-file", "pin"], in: dir, env: hsm.env)
        #expect(refused.status == 2 && refused.stderr.contains("once extractable: imported?"), "\(refused.stderr)")
    }
}
