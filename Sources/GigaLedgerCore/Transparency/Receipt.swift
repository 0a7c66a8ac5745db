/// A receipt for one entry: its stored bytes, its signature and signer's key, its inclusion
/// proof, and the signed checkpoint it is proven against, in one text file that can be
/// checked offline, years later, with only the ledger's public key (schema/FORMAT.md, "Receipts").
public struct Receipt: Equatable {
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
    public let checkpointNote: String

    package init(seq: Int64, prevHash: [UInt8], body: [UInt8], hash: [UInt8], signerKey: PublicKey, signature: [UInt8], proof: [Merkle.Hash],
                 checkpointNote: String) {
        self.seq = seq
        self.prevHash = prevHash
        self.body = body
        self.hash = hash
        self.signerKey = signerKey
        self.signature = signature
        self.proof = proof
        self.checkpointNote = checkpointNote
    }

    public var encoded: String {
        var lines = [Self.tag, "entry \(seq)", "prev_hash \(Encoding.hex(prevHash))", "body \(Encoding.base64(body))",
                     "hash \(Encoding.hex(hash))", "signer_key \(Encoding.base64(signerKey.bytes))",
                     "signature \(Encoding.hex(signature))", "proof \(proof.count)"]
        lines += proof.map(Encoding.hex)
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
        guard let body = Encoding.unbase64(try next("body")), body.count <= CanonicalJSON.inputBytesMax else { throw .malformed("body is not base64") }
        let hash = try hex("hash", 32)
        guard let keyBytes = Encoding.unbase64(try next("signer_key")), keyBytes.count == 32 else { throw .malformed("signer_key is not 32 bytes of base64") }
        let signature = try hex("signature", 64)
        let countText = try next("proof")
        guard let count = Int(countText), count >= 0, count <= 64, String(count) == countText else { throw .malformed("proof count is not 0 to 64") }
        var proof = [Merkle.Hash]()
        for _ in 0..<count {
            guard let line = lines.popFirst(), let node = Encoding.unhex(String(line)), node.count == 32 else { throw .malformed("a proof line is not 32 bytes of hex") }
            proof.append(node)
        }
        guard lines.popFirst() == "checkpoint" else { throw .malformed("expected `checkpoint` after the proof") }
        let note = lines.joined(separator: "\n")
        return Receipt(seq: seq, prevHash: prevHash, body: body, hash: hash, signerKey: PublicKey(bytes: keyBytes), signature: signature,
                       proof: proof, checkpointNote: note)
    }

    /// Checks everything a receipt claims, offline: the checkpoint is signed by `ledgerKey`; the
    /// entry hash is the hash of its bytes; the entry is signed by the key its body names; and
    /// the inclusion proof leads from the entry to the checkpoint's root.
    public func check(ledgerKey: PublicKey) throws(ReceiptError) -> (Checkpoint, EntryBody) {
        let checkpoint: Checkpoint
        do { (checkpoint, _) = try Checkpoint.open(checkpointNote, trusting: [ledgerKey]) } catch { throw .checkpoint(error) }
        guard Entry.hash(prevHash: prevHash, body: body) == hash else { throw .entry("the hash does not match the entry's bytes") }
        let decoded: EntryBody
        do { decoded = try EntryBody.decode(body) } catch { throw .entry("the body cannot be read: \(error)") }
        guard decoded.seq == seq else { throw .entry("the body says entry \(decoded.seq), the receipt \(seq)") }
        guard signerKey.id == decoded.signer else { throw .entry("signer_key is not the key \(decoded.signer) the body names") }
        guard signerKey.verify(signature: signature, message: Entry.signedMessage(hash: hash)) else { throw .entry("the entry's signature does not verify") }
        do {
            try Merkle.checkInclusion(index: seq - 1, size: checkpoint.size, leafHash: Merkle.leafHash(hash), proof: proof, root: checkpoint.root)
        } catch { throw .proof(error) }
        return (checkpoint, decoded)
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
