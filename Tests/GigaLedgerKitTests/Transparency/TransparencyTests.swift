import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct CheckpointTests {
    let key = SigningKey.generate()

    func signed(_ checkpoint: Checkpoint) throws -> String {
        SignedNote(text: checkpoint.text, signatures: [try NoteKey.sign(checkpoint.text, name: checkpoint.origin, key: key)]).encoded
    }

    @Test func signedCheckpointRoundTrips() throws {
        let checkpoint = Checkpoint(origin: "example.org/log", size: 7, root: SHA256State.hash([1]))
        let note = try signed(checkpoint)
        #expect(note.hasPrefix("example.org/log\n7\n\(Encoding.base64(checkpoint.root))\n\n— example.org/log "))
        #expect(try Checkpoint.open(note, trusting: [key.publicKey]).0 == checkpoint)
    }

    @Test func keyIDFollowsSignedNote() throws {
        // The key ID is SHA-256(name || 0x0A || 0x01 || public key)[0..<4]:
        // `{ printf 'example.org/log\n\001'; printf %s "$PUBHEX" | xxd -r -p; } | sha256sum | cut -c1-8`
        let noteKey = try NoteKey(name: "example.org/log", publicKey: key.publicKey)
        let expected = Array(SHA256State.hash(Array("example.org/log\n".utf8) + [0x01] + key.publicKey.bytes).prefix(4))
        #expect(noteKey.keyID(type: 0x01) == expected)
        #expect(noteKey.verifierKey == "example.org/log+\(Encoding.hex(expected))+\(Encoding.base64([0x01] + key.publicKey.bytes))")
    }

    @Test func hostileCheckpointsAreRejected() throws {
        let good = Checkpoint(origin: "example.org/log", size: 7, root: SHA256State.hash([1]))
        let note = try signed(good)
        let stranger = SigningKey.generate()
        // Size with a leading zero, signed by the right key: still refused.
        let leadingZero = "example.org/log\n07\n\(Encoding.base64(good.root))\n"
        let zeroNote = SignedNote(text: leadingZero, signatures: [try NoteKey.sign(leadingZero, name: "example.org/log", key: key)]).encoded
        #expect(throws: NoteError.self) { try Checkpoint.open(zeroNote, trusting: [key.publicKey]) }
        // A signature line from an unknown key only.
        let strangers = SignedNote(text: good.text, signatures: [try NoteKey.sign(good.text, name: "example.org/log", key: stranger)]).encoded
        #expect(throws: NoteError.self) { try Checkpoint.open(strangers, trusting: [key.publicKey]) }
        // An unknown key's line beside ours is ignored.
        let both = SignedNote(
            text: good.text,
            signatures: [
                try NoteKey.sign(good.text, name: "other", key: stranger),
                try NoteKey.sign(good.text, name: "example.org/log", key: key),
            ]
        ).encoded
        #expect(try Checkpoint.open(both, trusting: [key.publicKey]).0 == good)
        // Every truncation, trailing garbage, and every flipped byte.
        let bytes = Array(note.utf8)
        for length in 0..<bytes.count {
            #expect(throws: NoteError.self) { try Checkpoint.open(String(decoding: bytes.prefix(length), as: UTF8.self), trusting: [key.publicKey]) }
        }
        #expect(throws: NoteError.self) { try Checkpoint.open(note + "garbage", trusting: [key.publicKey]) }
        #expect(throws: NoteError.self) { try Checkpoint.open(note + "\n", trusting: [key.publicKey]) }
        for position in bytes.indices {
            var changed = bytes
            changed[position] ^= 0x01
            guard let text = String(validating: changed, as: UTF8.self) else { continue }
            #expect(throws: NoteError.self, "flip at \(position)") { try Checkpoint.open(text, trusting: [key.publicKey]) }
        }
        for bad in [
            "o\n-1\n\(Encoding.base64(good.root))\n", "o\n1\n\(Encoding.base64(Array(good.root.prefix(31))))\n",
            "o\n1\n\(Encoding.base64(good.root))\nextra\n", "\n1\n\(Encoding.base64(good.root))\n",
        ] {
            #expect(throws: NoteError.self) { try Checkpoint.parse(bad) }
        }
    }

    @Test func cosignatureFollowsTlogCosignature() throws {
        let text = Checkpoint(origin: "example.org/log", size: 3, root: SHA256State.hash([2])).text
        let line = try NoteKey.cosign(text, name: "auditor", key: key, timestamp: 1_767_225_600)
        let noteKey = try NoteKey(name: "auditor", publicKey: key.publicKey)
        #expect(line.keyID == Array(SHA256State.hash(Array("auditor\n".utf8) + [0x04] + key.publicKey.bytes).prefix(4)))
        #expect(line.payload.prefix(8) == [0, 0, 0, 0, 0x69, 0x55, 0xb9, 0x00])
        #expect(noteKey.isCosignature(line, of: text))
        #expect(!noteKey.isCosignature(line, of: text + "x"))
        #expect(key.publicKey.verify(signature: Array(line.payload.dropFirst(8)), message: Array("cosignature/v1\ntime 1767225600\n\(text)".utf8)))
    }
}

@Suite struct LedgerTransparencyTests {
    @Test func storedTreeMatchesTheReferenceAndProofsCheck() throws {
        let fixture = try Fixture(extraContributions: 40)
        let ledger = fixture.ledger
        let size = try ledger.size()
        var hashes = [[UInt8]]()
        try ledger.forEachEntry { hashes.append($0.hash) }
        let reference = ReferenceTree(leaves: hashes)
        for n in 1...size { #expect(try ledger.root(size: n) == reference.mth(0, Int(n))) }
        for seq in 1...size {
            try Merkle.checkInclusion(
                index: seq - 1, size: size, leafHash: Merkle.leafHash(hashes[Int(seq - 1)]),
                proof: try ledger.inclusionProof(seq: seq, size: size), root: reference.mth(0, Int(size)))
        }
        for old in 1...size {
            try Merkle.checkConsistency(
                old: old, new: size, oldRoot: reference.mth(0, Int(old)), newRoot: reference.mth(0, Int(size)),
                proof: try ledger.consistencyProof(old: old, new: size))
        }
        #expect(try fixture.verify().root == reference.mth(0, Int(size)))
    }

    /// A server's answers read tree nodes through the store's cache of committed nodes: at every
    /// size the ledger grows through, they equal the proofs read from the stored tree, and a
    /// consistency proof from the cache alone is either nil or the same proof.
    @Test func headProofsThroughTheNodeCacheEqualTheStoredTree() throws {
        let fixture = try Fixture()
        let ledger = fixture.ledger
        #expect(ledger.keptConsistencyProof(old: 1, new: try ledger.size()) == nil)
        for cents in 1...40 {
            try ledger.append(try Fixture.contribution(source: .union, cents: Int64(cents)), key: fixture.authority)
            let size = try ledger.size()
            var hashes = [[UInt8]]()
            try ledger.forEachEntry { hashes.append($0.hash) }
            let reference = ReferenceTree(leaves: hashes)
            for known in [0, 1, size / 2, size - 1, size] {
                let proofs = try ledger.headProofs(size: size, known: known, proving: max(1, size - 3), signing: fixture.authority)
                #expect(proofs.head?.hash == hashes.last)
                #expect(proofs.inclusion == (try ledger.inclusionProof(seq: size, size: size)))
                #expect(proofs.entryInclusion == (try ledger.inclusionProof(seq: max(1, size - 3), size: size)))
                let note = try #require(proofs.note)
                #expect(try Checkpoint.parse(SignedNote.parse(note).text).root == reference.mth(0, Int(size)))
                guard known >= 1 && known < size else { continue }
                #expect(proofs.consistency == (try ledger.consistencyProof(old: known, new: size)))
                if let kept = ledger.keptConsistencyProof(old: known, new: size) { #expect(kept == proofs.consistency) }
            }
            // The previous size's nodes were all read: its consistency proof needs no read.
            #expect(ledger.keptConsistencyProof(old: size - 1, new: size) != nil || size < 3)
        }
    }

    @Test func receiptsCheckOfflineAndRefuseTampering() throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.signCheckpoint(key: fixture.authority)
        let receipt = try fixture.ledger.receipt(seq: 6)
        let parsed = try Receipt.parse(receipt.encoded)
        #expect(parsed == receipt)
        let (checkpoint, body) = try parsed.check(ledgerKey: fixture.authority.publicKey)
        #expect(checkpoint.size == 9)
        #expect(body.seq == 6)
        #expect(throws: ReceiptError.self) { try parsed.check(ledgerKey: fixture.officer.publicKey) }
        let text = Array(receipt.encoded.utf8)
        for length in stride(from: 0, to: text.count, by: 7) {
            #expect(throws: ReceiptError.self) {
                try Receipt.parse(String(decoding: text.prefix(length), as: UTF8.self)).check(ledgerKey: fixture.authority.publicKey)
            }
        }
        for position in text.indices where text[position] != 0x0a {
            var changed = text
            changed[position] ^= 0x01
            guard let bad = String(validating: changed, as: UTF8.self) else { continue }
            // A flip in the entry, the proof or the checkpoint breaks the receipt; none passes.
            #expect(throws: ReceiptError.self, "flip at \(position)") { try Receipt.parse(bad).check(ledgerKey: fixture.authority.publicKey) }
        }
        #expect(throws: ReceiptError.self) { try Receipt.parse(receipt.encoded + "trailing\n").check(ledgerKey: fixture.authority.publicKey) }
    }

    @Test func theLedgerNeverSignsInconsistentCheckpoints() throws {
        let fixture = try Fixture()
        let first = try fixture.ledger.signCheckpoint(key: fixture.authority)
        #expect(try fixture.ledger.signCheckpoint(key: fixture.authority) == first)
        #expect(throws: Refusal.self) { try fixture.ledger.signCheckpoint(key: fixture.officer) }
        try fixture.tamper("UPDATE merkle_nodes SET hash = randomblob(32) WHERE level = 3 AND idx = 0")
        try fixture.ledger.append(try Fixture.contribution(source: .union, cents: 5), key: fixture.authority)
        #expect(throws: LedgerError.self) { try fixture.ledger.signCheckpoint(key: fixture.authority) }
    }

    @Test func verifySinceCatchesTruncationAndRewrites() throws {
        let fixture = try Fixture()
        let note = try fixture.ledger.signCheckpoint(key: fixture.authority)
        try fixture.ledger.append(try Fixture.contribution(source: .union, cents: 5), key: fixture.authority)
        #expect(try fixture.ledger.verify(extending: note, named: "cp").isVerified)
        // Cut the tail and its tree nodes cleanly: the chain links, but the stored checkpoint covers
        // what was cut (issue 12), and the published one does not match either.
        try fixture.tamper(
            "DELETE FROM entries WHERE seq >= 9; DELETE FROM facts WHERE seq >= 9; DELETE FROM near_facts WHERE seq >= 9; DELETE FROM merkle_nodes WHERE (idx + 1) << level > 8"
        )
        #expect(try fixture.verify().failure?.reason.contains("stored checkpoint 9 covers more entries than the ledger holds") == true)
        let report = try fixture.ledger.verify(extending: note, named: "cp")
        #expect(report.failure?.reason.contains("size mismatch") == true)
    }

    @Test func migrationBuildsTheTreeForAnOlderLedger() throws {
        let fixture = try Fixture()
        let root = try fixture.ledger.root(size: 9)
        // A ledger as migration 0001 left it: no tree, no checkpoints, no imports table, and only
        // 0001 recorded (a writer re-runs 0002 to 0004 in order; it refuses a gap in the records).
        try fixture.tamper(
            "DROP TABLE cosignatures; DROP TABLE merkle_nodes; DROP TABLE checkpoints; DROP TABLE imports; DROP TABLE facts; DROP TABLE near_facts; DELETE FROM grdb_migrations WHERE identifier > '0001_ledger'"
        )
        let reopened = try Ledger.open(path: fixture.path, forWriting: true)
        #expect(try reopened.root(size: 9) == root)
        #expect(try reopened.verify().isVerified)
    }
}
