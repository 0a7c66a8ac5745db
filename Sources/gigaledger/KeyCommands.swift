import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make signing keys, and enrol or revoke them in the ledger.",
            subcommands: [Generate.self, Enroll.self, Revoke.self, List.self, Export.self])
    }
}

extension GigaLedger.Key {
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new Ed25519 key pair: NAME.key (secret, encrypted, mode 0600) and NAME.pub (minisign format).",
            discussion: """
                With --pkcs11 URI the pair is made on a token (a smart card, an HSM, SoftHSM2), which never lets \
                the private key out (sensitive, not extractable: both checked); only NAME.pub is written. The URI \
                names the token and the new key's label, e.g. pkcs11:token=Officer;object=ledger (RFC 7512).
                """)

        @Option(name: .long, help: ArgumentHelp("Write NAME.key and NAME.pub (with --pkcs11, NAME.pub only).", valueName: "name"))
        var out: String

        @Option(name: .long, help: ArgumentHelp("Make the key on the token this PKCS#11 URI names (object= is its label).", valueName: "uri"))
        var pkcs11: String?

        @Flag(name: .long, help: "Store the secret key without a passphrase (for automation; anyone who can read the file can sign).")
        var unencrypted = false

        @Option(
            name: .long, help: ArgumentHelp("Argon2id work: interactive, moderate (the default) or sensitive.", valueName: "level"),
            completion: .list(["interactive", "moderate", "sensitive"]))
        var kdf: String?

        @OptionGroup var passphrase: PassphraseOptions

        func run() async throws {
            if let pkcs11 { return try generateOnToken(pkcs11) }
            let strength = try Sodium.KDFStrength.parse(kdf ?? "moderate", field: "kdf")
            let keyPath = out + ".key", pubPath = out + ".pub"
            for path in [keyPath, pubPath] where FileManager.default.fileExists(atPath: path) { throw KeyError.exists(path: path) }
            let secret = unencrypted ? nil : try passphrase.read(prompt: "Passphrase for the new key \(keyPath): ", confirm: true)
            let key = SigningKey.generate()
            let text = try SecretKeyFile.encode(key, passphrase: secret, strength: strength)
            try KeyFiles.writeNew(path: keyPath, text: text, mode: 0o600)
            do {
                try KeyFiles.writeNew(path: pubPath, text: key.publicKey.minisignFile(), mode: 0o644)
            } catch {
                try? FileManager.default.removeItem(atPath: keyPath)
                throw error
            }
            if unencrypted { warn("warning: \(keyPath) is NOT encrypted; anyone who can read it can sign as this key") }
            print("key \(key.id)")
            print("secret key: \(keyPath) (mode 0600\(unencrypted ? ", unencrypted" : ", encrypted with Argon2id \(strength.rawValue)"))")
            print("public key: \(pubPath)")
            // Output that is lost leaves no key behind: the command failed, and nothing was made.
            do { try flushStandardOutput() } catch {
                for path in [keyPath, pubPath] { try? FileManager.default.removeItem(atPath: path) }
                throw error
            }
        }

        /// The pair made on the token; NAME.pub written from the public half the token stores.
        func generateOnToken(_ text: String) throws {
            guard !unencrypted else {
                throw InputError(field: "unencrypted", value: "true", problem: "does not apply to a key on a token (its PIN guards it)")
            }
            if let kdf { throw InputError(field: "kdf", value: kdf, problem: "does not apply to a key on a token (no key file is written)") }
            let pubPath = out + ".pub"
            guard !out.isEmpty, !out.hasSuffix("/") else { throw InputError(field: "out", value: out, problem: "is not a file name") }
            if FileManager.default.fileExists(atPath: pubPath) { throw KeyError.exists(path: pubPath) }
            let uri = try tokenURI(text)
            // The public file is made (empty) before the token is touched: a folder that cannot take
            // it leaves no key on the token.
            try KeyFiles.writeNew(path: pubPath, text: "", mode: 0o644)
            var made: TokenKey?
            do {
                made = try passphrase.token(uri, generating: true)
                try made!.publicKey.minisignFile().write(toFile: pubPath, atomically: true, encoding: .utf8)
            } catch {
                made?.destroy()  // a key whose public file is not written is not left on the token
                try? FileManager.default.removeItem(atPath: pubPath)
                throw error
            }
            guard let key = made else { return }
            print("key \(key.id)")
            print("on token \(key.tokenName): \(key.uri) (sensitive, not extractable)")
            print("public key: \(pubPath)")
            try flushStandardOutput()
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enrol a public key with a role (signed by an authority key).")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(
            name: .long, help: ArgumentHelp("The key's minisign public-key file (NAME.pub).", valueName: "file"),
            completion: .file(extensions: ["pub"]))
        var pub: String

        @Option(name: .long, help: "Who holds the key, e.g. \"Anna Schmidt, BMBF finance\".")
        var name: String

        @Option(
            name: .long,
            help: ArgumentHelp("authority, officer, auditor or log (signs checkpoints only; for `gigaledger serve`).", valueName: "role"),
            completion: .list(Role.allCases.map(\.rawValue)))
        var role: String

        @Option(name: .long, help: ArgumentHelp("What an officer may record: eu, ms:CC, private:ID or factory:ID (repeatable).", valueName: "scope"))
        var scope: [String] = []

        func run() async throws {
            let publicKey = try KeyFiles.readPublic(path: pub)
            let role = try Role.parse(role, field: "role")
            let scopes = try scope.map { try Scope.parse($0, field: "scope") }
            let enrolment = try KeyEnrolment(checking: publicKey, name: name, role: role, scopes: scopes)
            try await ledger.record(.keyEnroll(enrolment), signing: signing, what: "enrolled key \(publicKey.id) as \(role.rawValue)")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an enrolled key (signed by an authority key); later entries it signs are refused.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(name: .long, help: ArgumentHelp("The key ID to revoke (16 hex digits).", valueName: "keyid"))
        var id: String

        @Option(name: .long, help: "Why, for the record.")
        var reason: String

        func run() async throws {
            let revocation = KeyRevocation(
                keyID: try KeyID.parse(id, field: "id"), reason: try Codes.text(reason, field: "reason", bytesMax: Codes.noteBytesMax))
            try await ledger.record(.keyRevoke(revocation), signing: signing, what: "revoked key \(revocation.keyID)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys enrolled in the ledger, with their roles, scopes and status.")

        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .long, help: "Print a JSON array for scripts.") var json = false

        func run() async throws {
            let keys = try await ledger.openForReading().keys()
            if json {
                print(
                    Render.jsonArray(
                        keys.map { key in
                            var members: [String: CanonicalJSON] = [
                                "key_id": .string(key.enrolment.publicKey.id.description), "name": .string(key.enrolment.name),
                                "role": .string(key.enrolment.role.rawValue), "scopes": .array(key.enrolment.scopes.map { .string($0.description) }),
                                "enrolled_at": .integer(key.enrolledAt), "active": .bool(key.isActive),
                            ]
                            if let revoked = key.revokedAt { members["revoked_at"] = .integer(revoked) }
                            return .object(members)
                        }))
                return
            }
            for key in keys {
                let status = key.revokedAt.map { "revoked at entry \($0)" } ?? "active"
                let scopes = key.enrolment.scopes.map(\.description).joined(separator: ",")
                print(
                    "\(key.enrolment.publicKey.id)  \(key.enrolment.role.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(status)  enrolled at entry \(key.enrolledAt)  \(key.enrolment.name)\(scopes.isEmpty ? "" : "  scope \(scopes)")"
                )
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an enrolled key's public key file (minisign .pub), as the ledger enrols it, or a token key's.",
            discussion: """
                On a copy you verified (`gigaledger sync`, `gigaledger verify`), the key comes from an enrolment the \
                authority signed: for example the log key that signs the published checkpoints, for \
                schema/tools/check_tiles.py --key. `key list` shows the IDs. With --pkcs11 URI, the public key of \
                a key on a token, read from the token (its PIN is asked) and checked against a signature it makes.
                """)

        @OptionGroup var ledger: LocalLedgerOptions
        @Option(name: .long, help: ArgumentHelp("The key's ID (16 hex digits).", valueName: "id")) var id: String?
        @Option(name: .long, help: ArgumentHelp("The key on a token this PKCS#11 URI names, instead of --id.", valueName: "uri"))
        var pkcs11: String?
        @OptionGroup var passphrase: PassphraseOptions
        @Option(name: .long, help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

        func run() async throws {
            if let pkcs11 {
                guard id == nil else { throw CLIError(message: "give --id or --pkcs11, not both", kind: .refused) }
                let key = try passphrase.token(try tokenURI(pkcs11))
                return try emit(key.publicKey.minisignFile(), to: out)
            }
            guard let id else { throw CLIError(message: "give --id (an enrolled key) or --pkcs11 (a key on a token)", kind: .refused) }
            let keyID = try KeyID.parse(id, field: "id")
            guard let record = try ledger.open(forWriting: false).keys().first(where: { $0.enrolment.publicKey.id == keyID }) else {
                throw InputError(field: "id", value: id, problem: "is not a key enrolled in this ledger (`gigaledger key list` shows them)")
            }
            try emit(record.enrolment.publicKey.minisignFile(), to: out)
        }
    }
}
