/// A receipt for one entry: its stored bytes, its signature and signer's key, its inclusion
/// proof, and the signed checkpoint it is proven against, in one text file that can be
/// checked offline, years later, with only the ledger's public key (schema/FORMAT.md, "Receipts").
public struct Receipt: Equatable, Sendable {
    /// The tag of a receipt with at most one key entry (an authority's enrolment of the log key
    /// that signed); `tagWithKeyPath` for one that carries a longer path (a rotated authority).
    public static let tag = "gigaledger-receipt/v1"
    public static let tagWithKeyPath = "gigaledger-receipt/v2"
    /// The largest receipt read, in bytes.
    public static let bytesMax = 96 * 1024

    public let seq: Int64
    public let prevHash: [UInt8]
    public let body: [UInt8]
    public let hash: [UInt8]
    public let signerKey: PublicKey
    public let signature: [UInt8]
    public let proof: [Merkle.Hash]
    /// When the checkpoint is not signed by the genesis authority: the key entries on the path from
    /// the genesis to its signer (each enrolment, signed by an authority enrolled before it, and the
    /// revocations of those keys up to the checkpoint's size), each with its inclusion proof in the
    /// checkpoint, in sequence order (FORMAT.md section 13). Empty when the genesis authority signed.
    public let keyPath: [CheckpointKeyEnrolment]
    public let checkpointNote: String

    /// A key entry a receipt carries, with its inclusion proof (schema/FORMAT.md section 13).
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
        keyPath: [CheckpointKeyEnrolment] = [], checkpointNote: String
    ) {
        self.seq = seq
        self.prevHash = prevHash
        self.body = body
        self.hash = hash
        self.signerKey = signerKey
        self.signature = signature
        self.proof = proof
        self.keyPath = keyPath.sorted { $0.entry.seq < $1.entry.seq }
        self.checkpointNote = checkpointNote
    }

    public var encoded: String {
        var lines = [
            keyPath.count > 1 ? Self.tagWithKeyPath : Self.tag, "entry \(seq)", "prev_hash \(Encoding.hex(prevHash))",
            "body \(Encoding.base64(body))",
            "hash \(Encoding.hex(hash))", "signer_key \(Encoding.base64(signerKey.bytes))",
            "signature \(Encoding.hex(signature))", "proof \(proof.count)",
        ]
        lines += proof.map(Encoding.hex)
        lines += keyPath.flatMap(\.lines)
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
        var reader = ReceiptLines(text.split(separator: "\n", omittingEmptySubsequences: false)[...])
        func next(_ name: String) throws(ReceiptError) -> String { try reader.next(name) }
        func hex(_ name: String, _ count: Int) throws(ReceiptError) -> [UInt8] { try reader.hex(name, count) }
        let first = reader.lines.popFirst()
        guard first == Substring(tag) || first == Substring(tagWithKeyPath) else {
            throw .malformed("not a receipt (first line is not \(tag) or \(tagWithKeyPath))")
        }
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
        let proof = try reader.proof()
        var keyPath = [CheckpointKeyEnrolment]()
        while reader.lines.first?.hasPrefix("checkpoint_key_entry ") == true {
            guard first == Substring(tagWithKeyPath) || keyPath.isEmpty else { throw .malformed("a \(tag) receipt carries one key entry at most") }
            guard keyPath.count < Self.keyPathEntriesMax else { throw .malformed("more than \(Self.keyPathEntriesMax) key entries") }
            keyPath.append(try CheckpointKeyEnrolment.parse(&reader, after: keyPath.last?.entry.seq ?? 0))
        }
        guard reader.lines.popFirst() == "checkpoint" else { throw .malformed("expected `checkpoint` after the proof") }
        let note = reader.lines.joined(separator: "\n")
        return Receipt(
            seq: seq, prevHash: prevHash, body: body, hash: hash, signerKey: PublicKey(bytes: keyBytes), signature: signature,
            proof: proof, keyPath: keyPath, checkpointNote: note)
    }

    /// The most key entries a receipt carries (a few authority rotations and their revocations).
    public static let keyPathEntriesMax = 256

    /// Checks everything a receipt claims, offline: the checkpoint is signed by `ledgerKey`, or by
    /// a key that the key path carried gives, starting from `ledgerKey` (any authority key of the
    /// ledger: the genesis one, or a later one); the entry hash is the hash of its bytes; the entry
    /// is signed by the key its body names; and the inclusion proof leads from the entry to the
    /// checkpoint's root.
    public func check(ledgerKey: PublicKey) throws(ReceiptError) -> (Checkpoint, EntryBody) {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.parse(try SignedNote.parse(checkpointNote).text) } catch { throw .checkpoint(error) }
        let trusted = try CheckpointKeyEnrolment.signers(trusting: ledgerKey, path: keyPath, size: checkpoint.size, in: checkpoint)
        do { _ = try Checkpoint.open(checkpointNote, trusting: trusted) } catch {
            guard !keyPath.isEmpty else { throw .checkpoint(error) }
            throw .untrusted(
                "its checkpoint is signed by no key that \(ledgerKey.id) leads to through the key entries it carries (\(CheckpointKeyEnrolment.describe(keyPath))): check it with an authority key on that path"
            )
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
}

extension Receipt.CheckpointKeyEnrolment {
    /// The key entries in words, for messages: "entry 9 enrols log key K by authority A, ...".
    static func describe(_ path: [Receipt.CheckpointKeyEnrolment]) -> String {
        path.compactMap { key -> String? in
            guard let body = try? EntryBody.decode(key.entry.body) else { return nil }
            switch body.data {
            case .genesis(let genesis): return "entry 1 is the genesis of authority \(genesis.authority.publicKey.id)"
            case .keyEnroll(let enrolment):
                return "entry \(key.entry.seq) enrols \(enrolment.role.rawValue) key \(enrolment.publicKey.id), signed by \(body.signer)"
            case .keyRevoke(let revocation): return "entry \(key.entry.seq) revokes \(revocation.keyID)"
            default: return nil
            }
        }.joined(separator: "; ")
    }

    /// The entry's lines in a receipt or a consistency file.
    var lines: [String] {
        [
            "checkpoint_key_entry \(entry.seq)", "prev_hash \(Encoding.hex(entry.prevHash))", "body \(Encoding.base64(entry.body))",
            "hash \(Encoding.hex(entry.hash))", "signature \(Encoding.hex(entry.signature))", "proof \(proof.count)",
        ] + proof.map(Encoding.hex)
    }

    /// Reads one key entry's lines from `lines`; its sequence number must be above `after` (the
    /// entries come in order, each once).
    static func parse(_ reader: inout ReceiptLines, after: Int64) throws(ReceiptError) -> Receipt.CheckpointKeyEnrolment {
        func next(_ name: String) throws(ReceiptError) -> String { try reader.next(name) }
        func hex(_ name: String, _ count: Int) throws(ReceiptError) -> [UInt8] { try reader.hex(name, count) }
        guard let seq = try? SequenceNumber.parse(try next("checkpoint_key_entry"), field: "checkpoint_key_entry"), seq > after else {
            throw .malformed("checkpoint_key_entry is not a sequence number above the one before")
        }
        let prevHash = try hex("prev_hash", 32)
        guard let body = Encoding.unbase64(try next("body")), body.count <= CanonicalJSON.inputBytesMax else {
            throw .malformed("the key entry's body is not base64")
        }
        let hash = try hex("hash", 32)
        let signature = try hex("signature", 64)
        let proof = try reader.proof()
        let type = (try? EntryBody.decode(body))?.type ?? ""
        let entry = Entry(seq: seq, type: type, body: body, prevHash: prevHash, hash: hash, signer: "", signature: signature, recordedAt: "")
        return Receipt.CheckpointKeyEnrolment(entry: entry, proof: proof)
    }

    /// The keys whose signature on a checkpoint of `size` entries counts for a verifier who trusts
    /// `authority` (any authority key of the ledger), from the key entries `path` (FORMAT.md section
    /// 13): each must be in `carrier` (the checkpoint that carries them: an inclusion proof) and
    /// hash to its hash. In order, up to `size`: an enrolment of an authority or log key signed by
    /// an authority key trusted so far adds that key; a revocation removes the key it names (it
    /// only takes trust away: its signer need not be checked); any other entry is refused.
    /// With `authority` nil, the entries are taken as facts of the ledger (the carrier's signature
    /// is already checked, so every entry proven in it is the ledger's): the genesis enrols its
    /// authority, every enrolment adds its key, whoever signed it.
    static func signers(
        trusting authority: PublicKey?, path: [Receipt.CheckpointKeyEnrolment], size: Int64, in carrier: Checkpoint
    ) throws(ReceiptError) -> [PublicKey] {
        var authorities = [authority].compactMap { $0 }
        var signers = authorities
        for key in path where key.entry.seq <= size {
            let seq = key.entry.seq
            guard Entry.hash(prevHash: key.entry.prevHash, body: key.entry.body) == key.entry.hash else {
                throw .entry("the key entry \(seq) does not hash to its hash")
            }
            do {
                try Merkle.checkInclusion(
                    index: seq - 1, size: carrier.size, leafHash: Merkle.leafHash(key.entry.hash), proof: key.proof, root: carrier.root)
            } catch { throw .entry("the key entry \(seq) is not in the checkpoint (\(error))") }
            guard let body = try? EntryBody.decode(key.entry.body), body.seq == seq else { throw .entry("the key entry \(seq) cannot be read") }
            switch body.data {
            case .genesis(let genesis):
                if authority == nil { (authorities, signers) = ([genesis.authority.publicKey], [genesis.authority.publicKey]) }
            case .keyEnroll(let enrolment) where enrolment.role.signsCheckpoints:
                // An enrolment no trusted authority signed adds nothing (one before the key trusted, say).
                if authority != nil {
                    guard let signer = authorities.first(where: { $0.id == body.signer }),
                        signer.verify(signature: key.entry.signature, message: Entry.signedMessage(hash: key.entry.hash))
                    else { continue }
                }
                if enrolment.role == .authority { authorities.append(enrolment.publicKey) }
                signers.append(enrolment.publicKey)
            case .keyRevoke(let revocation):
                authorities.removeAll { $0.id == revocation.keyID }
                signers.removeAll { $0.id == revocation.keyID }
            default:
                throw .entry("the key entry \(seq) is not a genesis, nor enrols a log or authority key, nor revokes a key")
            }
        }
        guard !signers.isEmpty else { throw .entry("the key trusted was revoked at or before the checkpoint's \(size) entries") }
        return signers
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
    /// The key given leads to no key that signed the checkpoint.
    case untrusted(String)
    case entry(String)
    case proof(ProofError)

    public var description: String {
        switch self {
        case .malformed(let why): return "not a valid receipt: \(why)"
        case .checkpoint(let error): return "the receipt's checkpoint is not valid: \(error)"
        case .untrusted(let why): return "not verified with the key given: \(why)"
        case .entry(let why): return "the receipt's entry is not valid: \(why)"
        case .proof(let error): return "the inclusion proof does not check: \(error)"
        }
    }
}

/// The lines of a receipt, or of a consistency file's key entries, read in order: `name value`
/// lines, fixed-length hex, and a `proof N` line with its N hashes.
struct ReceiptLines {
    var lines: ArraySlice<Substring>

    init(_ lines: ArraySlice<Substring>) { self.lines = lines }

    mutating func next(_ name: String) throws(ReceiptError) -> String {
        guard let line = lines.popFirst() else { throw .malformed("truncated before \(name)") }
        guard line.hasPrefix(name + " ") else { throw .malformed("expected `\(name) ...`, found \(InputError.quoted(String(line.prefix(40))))") }
        return String(line.dropFirst(name.count + 1))
    }

    mutating func hex(_ name: String, _ count: Int) throws(ReceiptError) -> [UInt8] {
        guard let bytes = Encoding.unhex(try next(name)), bytes.count == count else { throw .malformed("\(name) is not \(count) bytes of hex") }
        return bytes
    }

    /// `proof N` (0 to 64), then N lines of 32 bytes of hex.
    mutating func proof() throws(ReceiptError) -> [Merkle.Hash] {
        let countText = try next("proof")
        guard let count = Int(countText), count >= 0, count <= 64, String(count) == countText else { throw .malformed("proof count is not 0 to 64") }
        var proof = [Merkle.Hash]()
        for _ in 0..<count {
            guard let line = lines.popFirst(), let node = Encoding.unhex(String(line)), node.count == 32 else {
                throw .malformed("a proof line is not 32 bytes of hex")
            }
            proof.append(node)
        }
        return proof
    }
}
