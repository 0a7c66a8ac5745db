/// A receipt for one entry: its stored bytes, its signature and signer's key, its inclusion
/// proof, and the signed checkpoint it is proven against, in one text file that can be
/// checked offline, years later, with only the ledger's public key (schema/FORMAT.md, "Receipts").
public struct Receipt: Equatable, Sendable {
    public static let tag = "gigaledger-receipt/v1"
    /// The largest receipt read, in bytes.
    public static let bytesMax = 96 * 1024

    public let seq: Int64
    public let prevHash: [UInt8]
    public let body: [UInt8]
    public let hash: [UInt8]
    public let signerKey: PublicKey
    public let signature: [UInt8]
    public let proof: [Merkle.Hash]
    /// When the checkpoint is signed by a log key (a server's) rather than by the authority: that
    /// key's enrolment entry, signed by the authority, and its inclusion proof in the checkpoint.
    public let checkpointKey: CheckpointKeyEnrolment?
    public let checkpointNote: String

    /// The enrolment of the key that signed a receipt's checkpoint (schema/FORMAT.md section 13).
    public struct CheckpointKeyEnrolment: Equatable, Sendable {
        public let entry: Entry
        public let proof: [Merkle.Hash]

        public init(entry: Entry, proof: [Merkle.Hash]) {
            self.entry = entry
            self.proof = proof
        }
    }

    package init(
        seq: Int64, prevHash: [UInt8], body: [UInt8], hash: [UInt8], signerKey: PublicKey, signature: [UInt8], proof: [Merkle.Hash],
        checkpointKey: CheckpointKeyEnrolment? = nil, checkpointNote: String
    ) {
        self.seq = seq
        self.prevHash = prevHash
        self.body = body
        self.hash = hash
        self.signerKey = signerKey
        self.signature = signature
        self.proof = proof
        self.checkpointKey = checkpointKey
        self.checkpointNote = checkpointNote
    }

    public var encoded: String {
        var lines = [
            Self.tag, "entry \(seq)", "prev_hash \(Encoding.hex(prevHash))", "body \(Encoding.base64(body))",
            "hash \(Encoding.hex(hash))", "signer_key \(Encoding.base64(signerKey.bytes))",
            "signature \(Encoding.hex(signature))", "proof \(proof.count)",
        ]
        lines += proof.map(Encoding.hex)
        if let key = checkpointKey {
            lines += [
                "checkpoint_key_entry \(key.entry.seq)", "prev_hash \(Encoding.hex(key.entry.prevHash))", "body \(Encoding.base64(key.entry.body))",
                "hash \(Encoding.hex(key.entry.hash))", "signature \(Encoding.hex(key.entry.signature))", "proof \(key.proof.count)",
            ]
            lines += key.proof.map(Encoding.hex)
        }
        lines.append("checkpoint")
        return lines.joined(separator: "\n") + "\n" + checkpointNote
    }

    /// The keys among `witnesses` that cosigned the receipt's checkpoint (C2SP tlog-cosignature
    /// lines that verify over its text), each counted once.
    public func cosigners(among witnesses: [PublicKey]) -> [PublicKey] {
        (try? SignedNote.parse(checkpointNote))?.cosigners(among: witnesses) ?? []
    }

    /// Parses a receipt strictly: these lines in this order, then the signed checkpoint to the end.
    public static func parse(_ text: String) throws(ReceiptError) -> Receipt {
        guard text.utf8.count <= bytesMax else { throw .malformed("larger than \(bytesMax) bytes") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        func next(_ name: String) throws(ReceiptError) -> String {
            guard let line = lines.popFirst() else { throw .malformed("truncated before \(name)") }
            guard line.hasPrefix(name + " ") else { throw .malformed("expected `\(name) ...`, found \(InputError.quoted(String(line.prefix(40))))") }
            return String(line.dropFirst(name.count + 1))
        }
        func hex(_ name: String, _ count: Int) throws(ReceiptError) -> [UInt8] {
            guard let bytes = Encoding.unhex(try next(name)), bytes.count == count else { throw .malformed("\(name) is not \(count) bytes of hex") }
            return bytes
        }
        guard lines.popFirst() == Substring(tag) else { throw .malformed("not a receipt (first line is not \(tag))") }
        let seqText = try next("entry")
        guard let seq = try? SequenceNumber.parse(String(seqText), field: "entry") else { throw .malformed("entry is not a sequence number") }
        let prevHash = try hex("prev_hash", 32)
        guard let body = Encoding.unbase64(try next("body")), body.count <= CanonicalJSON.inputBytesMax else {
            throw .malformed("body is not base64")
        }
        let hash = try hex("hash", 32)
        guard let keyBytes = Encoding.unbase64(try next("signer_key")), keyBytes.count == 32 else {
            throw .malformed("signer_key is not 32 bytes of base64")
        }
        let signature = try hex("signature", 64)
        func proofLines() throws(ReceiptError) -> [Merkle.Hash] {
            let countText = try next("proof")
            guard let count = Int(countText), count >= 0, count <= 64, String(count) == countText else {
                throw .malformed("proof count is not 0 to 64")
            }
            var proof = [Merkle.Hash]()
            for _ in 0..<count {
                guard let line = lines.popFirst(), let node = Encoding.unhex(String(line)), node.count == 32 else {
                    throw .malformed("a proof line is not 32 bytes of hex")
                }
                proof.append(node)
            }
            return proof
        }
        let proof = try proofLines()
        var checkpointKey: CheckpointKeyEnrolment?
        if lines.first?.hasPrefix("checkpoint_key_entry ") == true {
            guard let keySeq = try? SequenceNumber.parse(try next("checkpoint_key_entry"), field: "checkpoint_key_entry") else {
                throw .malformed("checkpoint_key_entry is not a sequence number")
            }
            let keyPrevHash = try hex("prev_hash", 32)
            guard let keyBody = Encoding.unbase64(try next("body")), keyBody.count <= CanonicalJSON.inputBytesMax else {
                throw .malformed("the key entry's body is not base64")
            }
            let keyHash = try hex("hash", 32)
            let keySignature = try hex("signature", 64)
            let keyProof = try proofLines()
            let type = (try? EntryBody.decode(keyBody))?.type ?? ""
            let entry = Entry(
                seq: keySeq, type: type, body: keyBody, prevHash: keyPrevHash, hash: keyHash, signer: "", signature: keySignature, recordedAt: "")
            checkpointKey = CheckpointKeyEnrolment(entry: entry, proof: keyProof)
        }
        guard lines.popFirst() == "checkpoint" else { throw .malformed("expected `checkpoint` after the proof") }
        let note = lines.joined(separator: "\n")
        return Receipt(
            seq: seq, prevHash: prevHash, body: body, hash: hash, signerKey: PublicKey(bytes: keyBytes), signature: signature,
            proof: proof, checkpointKey: checkpointKey, checkpointNote: note)
    }

    /// Checks everything a receipt claims, offline: the checkpoint is signed by `ledgerKey`, or by
    /// the log key whose enrolment the receipt carries (signed by `ledgerKey` and proven in the
    /// checkpoint); the entry hash is the hash of its bytes; the entry is signed by the key its
    /// body names; and the inclusion proof leads from the entry to the checkpoint's root.
    public func check(ledgerKey: PublicKey) throws(ReceiptError) -> (Checkpoint, EntryBody) {
        let trusted = [ledgerKey] + [try checkpointKeyEnrolled(by: ledgerKey)].compactMap { $0 }
        let checkpoint: Checkpoint
        do { (checkpoint, _) = try Checkpoint.open(checkpointNote, trusting: trusted) } catch { throw .checkpoint(error) }
        if let key = checkpointKey {
            do {
                try Merkle.checkInclusion(
                    index: key.entry.seq - 1, size: checkpoint.size, leafHash: Merkle.leafHash(key.entry.hash), proof: key.proof,
                    root: checkpoint.root)
            } catch { throw .entry("the checkpoint key's enrolment entry \(key.entry.seq) is not in the checkpoint (\(error))") }
        }
        guard Entry.hash(prevHash: prevHash, body: body) == hash else { throw .entry("the hash does not match the entry's bytes") }
        let decoded: EntryBody
        do { decoded = try EntryBody.decode(body) } catch { throw .entry("the body cannot be read: \(error)") }
        guard decoded.seq == seq else { throw .entry("the body says entry \(decoded.seq), the receipt \(seq)") }
        guard signerKey.id == decoded.signer else { throw .entry("signer_key is not the key \(decoded.signer) the body names") }
        guard signerKey.verify(signature: signature, message: Entry.signedMessage(hash: hash)) else {
            throw .entry("the entry's signature does not verify")
        }
        do {
            try Merkle.checkInclusion(index: seq - 1, size: checkpoint.size, leafHash: Merkle.leafHash(hash), proof: proof, root: checkpoint.root)
        } catch { throw .proof(error) }
        return (checkpoint, decoded)
    }

    /// The public key the carried enrolment entry enrols, once the entry checks: it hashes to its
    /// hash, enrols a log or authority key, and is signed by `authority`. Nil when there is none.
    private func checkpointKeyEnrolled(by authority: PublicKey) throws(ReceiptError) -> PublicKey? {
        guard let key = checkpointKey else { return nil }
        guard Entry.hash(prevHash: key.entry.prevHash, body: key.entry.body) == key.entry.hash else {
            throw .entry("the checkpoint key's enrolment entry does not hash to its hash")
        }
        guard let body = try? EntryBody.decode(key.entry.body), body.seq == key.entry.seq, case .keyEnroll(let enrolment) = body.data,
            enrolment.role.signsCheckpoints
        else {
            throw .entry("the checkpoint key entry \(key.entry.seq) does not enrol a log or authority key")
        }
        guard body.signer == authority.id, authority.verify(signature: key.entry.signature, message: Entry.signedMessage(hash: key.entry.hash)) else {
            throw .entry(
                "the checkpoint key's enrolment entry \(key.entry.seq) is not signed by the key given (\(authority.id)): give the ledger's authority key, whose enrolment of the log key the receipt carries"
            )
        }
        return enrolment.publicKey
    }
}

public enum ReceiptError: GigaLedgerError, Equatable {
    /// A file that is not a receipt is refused; a receipt that does not check is not verified.
    public var kind: FailureKind {
        if case .malformed = self { return .refused }
        return .notVerified
    }
    case malformed(String)
    case checkpoint(NoteError)
    case entry(String)
    case proof(ProofError)

    public var description: String {
        switch self {
        case .malformed(let why): return "not a valid receipt: \(why)"
        case .checkpoint(let error): return "the receipt's checkpoint is not valid: \(error)"
        case .entry(let why): return "the receipt's entry is not valid: \(why)"
        case .proof(let error): return "the inclusion proof does not check: \(error)"
        }
    }
}
