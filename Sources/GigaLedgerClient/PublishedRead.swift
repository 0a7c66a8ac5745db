import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// A receipt from a publication's static files alone (`gigaledger publish`, FORMAT.md section 18;
/// no API to answer proofs): the `checkpoint`, the C2SP hash tiles the proofs are computed from,
/// the full-entry bundle that holds the entry, and `ledger/v1/key-entries` for the signer's enrolment and
/// the checkpoint key's. Nothing fetched is trusted: the checkpoint is opened with the ledger's
/// checkpoint keys (the genesis authority the user trusts, and the log keys it enrolled, revoked
/// ones left out), every entry used is proven in it, and the checkpoint must extend the one this
/// user kept for the ledger before (a rollback is evidence). Costs O(log n) tiles.
public struct PublishedRead: Sendable {
    public let client: LedgerClient
    public let trust: HeadTrust

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// A receipt for entry `seq` against the publication's checkpoint (an `InputError` when it has no such entry).
    public func receipt(_ seq: Int64) async throws -> Receipt? {
        let (note, unverified) = try await publishedCheckpoint()
        let (checkpoint, keyEntries) = try await opened(
            note, unverified,
            otherwise:
                ", so no receipt can be made from it; keep a copy instead with `gigaledger sync --from \(client.base) --ledger COPY.sqlite`, then `gigaledger prove --entry \(seq) --ledger COPY.sqlite`"
        )
        let tiles = TileReader(client: client, size: checkpoint.size)
        // Checked before the entry is looked for: a checkpoint's size is believed only once signed.
        let seen = try await checkNotRolledBack(checkpoint, note: note, tiles: tiles)
        guard seq >= 1, seq <= checkpoint.size else {
            let lags =
                seen.map {
                    $0 > checkpoint.size ? ", behind the \($0) you saw before (a mirror not yet updated, or a rollback: ask the ledger's server)" : ""
                } ?? ""
            throw InputError(
                field: "entry", value: String(seq),
                problem: "is not an entry of the publication's checkpoint, which holds entries 1 to \(checkpoint.size)\(lags)")
        }
        guard let genesisEntry = keyEntries.first(where: { $0.seq == 1 }),
            case .genesis(let genesis)? = (try? EntryBody.decode(genesisEntry.body))?.data
        else {
            throw ClientError.malformed("the ledger/v1/key-entries of \(client.base) does not start with the genesis entry")
        }
        let authority = genesis.authority.publicKey
        let entry = try await provenEntry(seq, tiles: tiles, root: checkpoint.root)
        let body: EntryBody
        do { body = try EntryBody.decode(entry.body) } catch {
            throw VerificationFailure(seq: seq, reason: "entry \(seq) of \(client.base) cannot be read: \(error)")
        }
        // The signer's enrolment: the last entry at or before this one that enrols its key, proven in too.
        guard let enrolment = keyEntries.last(where: { $0.seq <= seq && RemoteRead.enrolledKey($0, id: body.signer) != nil }),
            let signerKey = RemoteRead.enrolledKey(enrolment, id: body.signer)
        else {
            throw VerificationFailure(
                seq: seq, reason: "the ledger/v1/key-entries of \(client.base) holds no enrolment of entry \(seq)'s signer \(body.signer)")
        }
        _ = try await provenEntry(enrolment.seq, tiles: tiles, root: checkpoint.root, expected: enrolment)
        var keyPath = [Receipt.CheckpointKeyEnrolment]()
        if (try? Checkpoint.open(note, trusting: [authority])) == nil {
            for candidate in keyEntries {
                guard case .keyEnroll(let enrolled)? = (try? EntryBody.decode(candidate.body))?.data, enrolled.role.signsCheckpoints,
                    (try? Checkpoint.open(note, trusting: [enrolled.publicKey])) != nil
                else { continue }
                keyPath = [
                    Receipt.CheckpointKeyEnrolment(
                        entry: candidate, proof: try await tiles.inclusionProof(index: candidate.seq - 1))
                ]
                break
            }
        }
        let receipt = Receipt(
            seq: seq, prevHash: entry.prevHash, body: entry.body, hash: entry.hash, signerKey: signerKey, signature: entry.signature,
            proof: try await tiles.inclusionProof(index: seq - 1), keyPath: keyPath, checkpointNote: note)
        _ = try receipt.check(ledgerKey: authority)
        // Kept for next time, unless it is behind the one kept (never one older: `KeptCheckpoints`).
        if (seen ?? 0) <= checkpoint.size { try trust.kept.write(note, origin: checkpoint.origin, server: client.base) }
        return receipt
    }

    /// Whether the publication still holds what a receipt proves: its checkpoint, signed by a
    /// checkpoint key of the ledger, extends the receipt's (a consistency proof from its tiles).
    /// Returns the publication's checkpoint size; throws `VerificationFailure` when it does not.
    public func stillHolds(_ receipt: Checkpoint) async throws -> Int64 {
        let (note, unverified) = try await publishedCheckpoint()
        guard unverified.origin == receipt.origin else {
            throw VerificationFailure(seq: receipt.size, reason: "\(client.base) publishes \(unverified.origin), the receipt is of \(receipt.origin)")
        }
        let (checkpoint, _) = try await opened(note, unverified, otherwise: "")
        guard checkpoint.size >= receipt.size else {
            throw VerificationFailure(
                seq: checkpoint.size + 1,
                reason:
                    "\(client.base) publishes \(checkpoint.size) entries, fewer than the receipt's checkpoint of \(receipt.size): history was removed, or the publication was rolled back"
            )
        }
        let tiles = TileReader(client: client, size: checkpoint.size)
        do {
            let proof = checkpoint.size == receipt.size ? [] : try await tiles.consistencyProof(old: receipt.size)
            try Merkle.checkConsistency(old: receipt.size, new: checkpoint.size, oldRoot: receipt.root, newRoot: checkpoint.root, proof: proof)
        } catch let error as ProofError {
            throw VerificationFailure(
                seq: receipt.size,
                reason:
                    "the checkpoint of \(checkpoint.size) entries \(client.base) publishes does not extend the receipt's of \(receipt.size) (\(error)): its history was rewritten"
            )
        }
        return checkpoint.size
    }

    /// The publication's `checkpoint`, parsed (its signature not checked yet: `opened`).
    private func publishedCheckpoint() async throws -> (note: String, checkpoint: Checkpoint) {
        guard let bytes = try await client.file("checkpoint") else {
            throw ClientError.malformed("\(client.base) serves neither the GigaLedger API nor a publication: it has no checkpoint")
        }
        return try Replica.parsedCheckpoint(String(decoding: bytes, as: UTF8.self), from: client.base)
    }

    /// The checkpoint opened with the ledger's checkpoint keys, from `ledger/v1/key-entries` (its
    /// entries up to the checkpoint's size, returned); `otherwise`: what to do when the file is missing.
    private func opened(_ note: String, _ unverified: Checkpoint, otherwise: String) async throws -> (Checkpoint, [Entry]) {
        guard let document = try await client.file("ledger/v1/key-entries") else {
            throw ClientError.malformed(
                "\(client.base) publishes no ledger/v1/key-entries (a publication by an older gigaledger: publish it again)\(otherwise)")
        }
        let keyEntries = try LedgerClient.protocolValue { try EntryWire.decodeLines(document) }.filter { $0.seq <= unverified.size }
        // The checkpoint keys: the genesis authority (the one trusted for the origin) and the log
        // keys it enrolled; a key the document says was revoked at or before the checkpoint is not one.
        let keys = try checkpointKeys(keyEntries, origin: unverified.origin)
        do { return (try Checkpoint.open(note, trusting: keys).0, keyEntries) } catch {
            throw VerificationFailure(
                seq: unverified.size,
                reason: "the checkpoint of \(client.base) is not signed by a log or authority key of \(unverified.origin) (\(error))")
        }
    }

    /// The ledger's checkpoint keys from its key entries: the genesis authority (the one trusted
    /// for the origin) and the log and authority keys an authority enrolled, less those revoked.
    private func checkpointKeys(_ keyEntries: [Entry], origin: String) throws -> [PublicKey] {
        // The authority keys of the entries (the genesis's, and those enrolled as authorities): a
        // revocation counts only when it hashes to its hash and one of them signed it.
        var authorities = [PublicKey]()
        for entry in keyEntries {
            switch (try? EntryBody.decode(entry.body))?.data {
            case .genesis(let genesis)? where entry.seq == 1: authorities.append(genesis.authority.publicKey)
            case .keyEnroll(let enrolment)? where enrolment.role == .authority: authorities.append(enrolment.publicKey)
            default: break
            }
        }
        let revoked = Set(
            keyEntries.compactMap { entry -> KeyID? in
                guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash,
                    let body = try? EntryBody.decode(entry.body), case .keyRevoke(let revocation) = body.data,
                    let signer = authorities.first(where: { $0.id == body.signer }),
                    signer.verify(signature: entry.signature, message: Entry.signedMessage(hash: entry.hash))
                else { return nil }
                return revocation.keyID
            })
        return try trust.checkpointKeys(
            keyEntries.filter { entry in
                guard case .keyEnroll(let enrolment)? = (try? EntryBody.decode(entry.body))?.data else { return true }
                return !revoked.contains(enrolment.publicKey.id)
            }, origin: origin)
    }

    /// The checkpoint must extend the one this user kept for the ledger (a consistency proof from
    /// the tiles); another history at the same size, or one that does not extend it, is written
    /// down as evidence. One with fewer entries cannot be compared from its own tiles: a mirror
    /// behind the server (or a rollback) is not evidence, and what it proves stays true of the
    /// entries it holds; the size kept is returned, and the caller says so for an entry beyond it.
    /// Returns the size of the checkpoint kept before, if any.
    private func checkNotRolledBack(_ checkpoint: Checkpoint, note: String, tiles: TileReader) async throws -> Int64? {
        guard let previous = try trust.kept.read(origin: checkpoint.origin) else { return nil }
        let old = previous.checkpoint
        guard old.size < checkpoint.size else {
            guard old.size != checkpoint.size || old.root == checkpoint.root else {
                throw try trust.evidence(
                    "\(client.base) publishes a checkpoint of \(checkpoint.size) entries whose root is not the one checked before at that size: a fork",
                    copy: old, served: note, server: client.base)
            }
            return old.size
        }
        guard old.size > 0 else { return old.size }
        do {
            try Merkle.checkConsistency(
                old: old.size, new: checkpoint.size, oldRoot: old.root, newRoot: checkpoint.root,
                proof: try await tiles.consistencyProof(old: old.size))
        } catch let error as ProofError {
            throw try trust.evidence(
                "\(client.base) publishes a checkpoint of \(checkpoint.size) entries that does not extend the one of \(old.size) checked before (\(error)): a fork",
                copy: old, served: note, server: client.base)
        }
        return old.size
    }

    /// Entry `seq` from its full-entry bundle, hashing to its hash and proven in the checkpoint
    /// (and, when `expected` is given, the same entry).
    private func provenEntry(_ seq: Int64, tiles: TileReader, root: Merkle.Hash, expected: Entry? = nil) async throws -> Entry {
        let width = Int64(TilePath.width)
        let index = (seq - 1) / width
        let entries = try await client.bundle(TilePath(level: nil, index: index, width: Int(min(width, tiles.size - index * width))))
        guard let entry = entries.first(where: { $0.seq == seq }) else {
            throw VerificationFailure(seq: seq, reason: "the bundle of \(client.base) that should hold entry \(seq) does not")
        }
        guard Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash, expected.map({ $0.hash == entry.hash }) ?? true else {
            throw VerificationFailure(seq: seq, reason: "entry \(seq) of \(client.base) does not hash to its hash")
        }
        do {
            try Merkle.checkInclusion(
                index: seq - 1, size: tiles.size, leafHash: Merkle.leafHash(entry.hash), proof: try await tiles.inclusionProof(index: seq - 1),
                root: root)
        } catch let error as ProofError {
            throw VerificationFailure(seq: seq, reason: "entry \(seq) of \(client.base) is not in its checkpoint of \(tiles.size) entries (\(error))")
        }
        return entry
    }
}

/// Merkle proofs computed from a publication's C2SP hash tiles (tile level T holds the hashes of
/// tree level 8T; a node between is hashed from the tile below it). The tiles are fetched as the
/// proof needs them, once each; they are not trusted: the proof is checked against the checkpoint.
final class TileReader: @unchecked Sendable {
    let client: LedgerClient
    let size: Int64
    private var tiles: [String: [Merkle.Hash]] = [:]

    init(client: LedgerClient, size: Int64) {
        self.client = client
        self.size = size
    }

    func inclusionProof(index: Int64) async throws -> [Merkle.Hash] {
        try await computed { node in try Merkle.proveInclusion(index: index, size: self.size, node: node) }
    }

    func consistencyProof(old: Int64) async throws -> [Merkle.Hash] {
        try await computed { node in try Merkle.proveConsistency(old: old, new: self.size, node: node) }
    }

    /// Runs `prove` once to learn which nodes it reads, fetches their tiles, and runs it again on them.
    private func computed(_ prove: (Merkle.NodeSource) throws -> [Merkle.Hash]) async throws -> [Merkle.Hash] {
        var wanted = [(Int, Int64)]()
        _ = try prove { level, index in
            wanted.append((level, index))
            return [UInt8](repeating: 0, count: 32)
        }
        for (level, index) in wanted { try await fetch(tileOf: level, index) }
        return try prove { level, index in try self.node(level, index) }
    }

    private func place(_ level: Int, _ index: Int64) -> (path: TilePath, offset: Int, count: Int) {
        let tileLevel = level / TilePath.height, rest = level % TilePath.height
        let first = index << rest  // at tree level 8 * tileLevel
        let width = Int64(TilePath.width)
        let tileIndex = first / width
        let available = (size >> (TilePath.height * tileLevel)) - tileIndex * width
        return (TilePath(level: tileLevel, index: tileIndex, width: Int(min(width, available))), Int(first % width), 1 << rest)
    }

    private func fetch(tileOf level: Int, _ index: Int64) async throws {
        let (path, offset, count) = place(level, index)
        guard tiles[path.path] == nil else { return }
        var bytes = try await client.file("tile/" + path.path)
        if bytes == nil, path.width < TilePath.width {
            // Superseded by a full tile (C2SP tlog-tiles): its first hashes are the partial one's.
            let full = TilePath(level: path.level, index: path.index, width: TilePath.width)
            bytes = try await client.file("tile/" + full.path).map { Array($0.prefix(path.width * 32)) }
        }
        guard let bytes, bytes.count == path.width * 32, offset + count <= path.width else {
            throw ClientError.malformed("\(client.base) has no tile \(path.path) of \(path.width * 32) bytes")
        }
        tiles[path.path] = stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<($0 + 32)]) }
    }

    private func node(_ level: Int, _ index: Int64) throws -> Merkle.Hash {
        let (path, offset, count) = place(level, index)
        guard var hashes = tiles[path.path].map({ Array($0[offset..<(offset + count)]) }) else {
            throw ClientError.malformed("tile \(path.path) was not fetched")
        }
        while hashes.count > 1 { hashes = stride(from: 0, to: hashes.count, by: 2).map { Merkle.nodeHash(hashes[$0], hashes[$0 + 1]) } }
        return hashes[0]
    }
}
