import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct KeyFileTests {
    func passphrase(_ text: String) -> SecretBytes {
        var bytes = Array(text.utf8)
        return SecretBytes(taking: &bytes)
    }

    @Test func encryptedKeyOpensWithItsPassphraseOnly() throws {
        let key = SigningKey.generate()
        let text = try SecretKeyFile.encode(key, passphrase: passphrase("correct horse"), strength: .interactive)
        let parsed = try SecretKeyFile.parse(text, path: "k.key")
        #expect(parsed.isEncrypted)
        #expect(try SecretKeyFile.open(parsed, passphrase: passphrase("correct horse")).publicKey == key.publicKey)
        #expect(throws: KeyError.wrongPassphrase(path: "k.key")) { try SecretKeyFile.open(parsed, passphrase: passphrase("correct hors")) }
        #expect(throws: KeyError.passphraseNeeded(path: "k.key")) { try SecretKeyFile.open(parsed, passphrase: nil) }
        #expect(!text.contains(Encoding.base64(Array(key.sign([1]).prefix(8)))))
    }

    @Test func unencryptedKeyRoundTrips() throws {
        let key = SigningKey.generate()
        let text = try SecretKeyFile.encode(key, passphrase: nil, strength: .interactive)
        let opened = try SecretKeyFile.open(try SecretKeyFile.parse(text, path: "k.key"), passphrase: nil)
        #expect(opened.publicKey == key.publicKey)
        #expect(opened.publicKey.verify(signature: opened.sign([1, 2, 3]), message: [1, 2, 3]))
    }

    @Test func everyTruncationIsRefused() throws {
        let text = Array(try SecretKeyFile.encode(SigningKey.generate(), passphrase: nil, strength: .interactive).utf8)
        for length in 0..<text.count {
            let truncated = String(decoding: text[0..<length], as: UTF8.self)
            #expect(throws: KeyError.self) {
                try SecretKeyFile.open(try SecretKeyFile.parse(truncated, path: "k.key"), passphrase: nil)
            }
        }
    }

    @Test func everyFlippedByteAfterTheCommentIsRefused() throws {
        let text = Array(try SecretKeyFile.encode(SigningKey.generate(), passphrase: passphrase("pw"), strength: .interactive).utf8)
        let firstNewline = text.firstIndex(of: 0x0a)!
        // One flip per field (a full sweep runs Argon2id hundreds of times): each line's last base64 or digit byte.
        var positions = [Int]()
        for (index, byte) in text.enumerated() where byte == 0x0a && index > firstNewline { positions.append(index - 1) }
        positions += [firstNewline + 1, firstNewline + 30]
        for position in positions {
            var changed = text
            changed[position] ^= 0x01
            #expect(throws: KeyError.self) {
                try SecretKeyFile.open(try SecretKeyFile.parse(String(decoding: changed, as: UTF8.self), path: "k.key"), passphrase: passphrase("pw"))
            }
        }
    }

    @Test func minisignPublicKeyRoundTripsAndRefusesForgedIDs() throws {
        let key = SigningKey.generate()
        let file = key.publicKey.minisignFile()
        #expect(file.hasPrefix("untrusted comment: minisign public key \(key.id)\n"))
        #expect(try PublicKey.decodeMinisign(file, path: "k.pub") == key.publicKey)
        var blob = Encoding.unbase64(String(file.split(separator: "\n")[1]))!
        blob[2] ^= 1
        let forged = "untrusted comment: x\n" + Encoding.base64(blob) + "\n"
        #expect(throws: KeyError.self) { try PublicKey.decodeMinisign(forged, path: "k.pub") }
    }

    @Test func looseKeyFilePermissionsAreRefusedWithTheFix() throws {
        let dir = TempDir()
        dir.write("k.key", try SecretKeyFile.encode(SigningKey.generate(), passphrase: nil, strength: .interactive), mode: 0o640)
        #expect {
            try KeyFiles.readSecret(path: dir.file("k.key"))
        } throws: { error in
            String(describing: error).contains("chmod 600") && String(describing: error).contains("0640")
        }
        chmod(dir.file("k.key"), 0o600)
        #expect(throws: Never.self) { try KeyFiles.readSecret(path: dir.file("k.key")) }
    }

    @Test func emptyPassphraseFileIsRefused() {
        let dir = TempDir()
        dir.write("pass", "\n")
        #expect(throws: KeyError.passphraseEmpty(source: dir.file("pass"))) { try KeyFiles.readPassphrase(path: dir.file("pass")) }
    }
}
