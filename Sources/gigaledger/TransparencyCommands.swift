import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

/// Writes `text` to `path` (refusing to overwrite) or, without a path, to standard output, which
/// must take all of it: output lost (a full disk, /dev/full, a closed pipe) is a failure.
func emit(_ text: String, to path: String?) throws {
    guard let path else {
        print(text, terminator: "")
        try flushStandardOutput()
        return
    }
    try OutputFiles.writeNew(text, to: path)
    warn("wrote \(path)")
}

/// A checkpoint file given on the command line.
func readCheckpointFile(_ path: String) throws -> String {
    try OutputFiles.readText(path, what: "checkpoint", bytesMax: SignedNote.bytesMax)
}

extension GigaLedger {
    struct CheckpointCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a C2SP checkpoint (origin, size, Merkle root) of the whole ledger with an authority key, and keep it.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: ArgumentHelp("Write the signed checkpoint here instead of standard output.", valueName: "file")) var out: String?

        func run() async throws {
            if let out { try OutputFiles.checkNew(out) }
            if let url = ledger.serverURL {
                // Over the copy --ledger names, synced and verified here; the server keeps it after checking it against its own tree.
                let note = try await ledger.syncedCopy(url, forWriting: true).signedCheckpoint(key: signing.load())
                let kept = try await Environment.client(url).submitCheckpoint(note)
                try emit(kept.note, to: out)
                let size = (try? Checkpoint.parse(SignedNote.parse(kept.note).text).size).map(String.init) ?? "?"
                warn(
                    kept.isNew
                        ? "the checkpoint of \(size) entries is kept by \(url)"
                        : "\(url) keeps a checkpoint of \(size) entries already (its log key keeps one of new entries every checkpoint interval): that one stands, and what was written is that checkpoint, signed by the server's log key, not yours; yours is not kept"
                )
                return
            }
            let ledger = try ledger.open(forWriting: true)
            // Handed out before it is kept: output that is lost (a full disk) keeps nothing.
            _ = try ledger.signCheckpoint(key: signing.load(), deliver: { try emit($0, to: out) })
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a receipt for one entry (--entry), or a consistency proof between two checkpoints (--from).",
            discussion:
                "A receipt holds the entry's bytes and signature, its inclusion proof and the signed checkpoint; `gigaledger check-receipt` checks it offline."
        )

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: ArgumentHelp("The entry to prove.", valueName: "SEQ")) var entry: String?
        @Option(name: .long, help: ArgumentHelp("Prove against this signed checkpoint (default: the latest the ledger signed).", valueName: "file"))
        var checkpoint: String?
        @Option(name: .long, help: ArgumentHelp("An older signed checkpoint: prove the ledger extends it.", valueName: "file")) var from: String?
        @Option(name: .long, help: ArgumentHelp("The newer signed checkpoint (default: the latest the ledger signed).", valueName: "file")) var to:
            String?
        @Option(name: .long, help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

        func validate() throws {
            guard (entry == nil) != (from == nil) else { throw ValidationError("give either --entry SEQ or --from CHECKPOINT") }
        }

        func run() async throws {
            if let url = ledger.serverURL {
                // Through a server: a receipt against its checked checkpoint, made and checked here.
                guard let entry, checkpoint == nil else {
                    throw CLIError(
                        message:
                            "with --server, prove makes a receipt for --entry SEQ against the latest checkpoint of the server (or of the publication at that address); for --checkpoint or --from, use a verified copy (`gigaledger sync`)",
                        kind: .refused)
                }
                let seq = try SequenceNumber.parse(entry, field: "entry")
                let read = try ledger.remoteRead(url)
                // A server answers proofs; a publication's files give them through its tiles.
                let made =
                    try await read.client.servesAPI()
                    ? try await read.receipt(seq) : try await PublishedRead(client: read.client, trust: read.trust).receipt(seq)
                guard let receipt = made else {
                    throw InputError(field: "entry", value: entry, problem: "is not an entry of the server's ledger")
                }
                try emit(receipt.encoded, to: out)
                return
            }
            let ledger = try ledger.open(forWriting: false)
            if let entry {
                let seq = try SequenceNumber.parse(entry, field: "entry")
                let note = try checkpoint.map { try readCheckpointFile($0) }
                try emit(try ledger.receipt(seq: seq, checkpointNote: note).encoded, to: out)
            } else if let from {
                try emit(try ledger.consistencyFile(fromNote: try readCheckpointFile(from), toNote: try to.map(readCheckpointFile)), to: out)
            }
        }
    }

    struct CheckReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-receipt",
            abstract:
                "Check a receipt (or a consistency proof from `prove --from`) offline, without the ledger: the checkpoints' signatures, the proof, the entry's signature.",
            discussion: "Exit 0: the receipt checks. Exit 1: it does not (the reason is printed).")

        @Argument(help: "The receipt file.") var file: String
        @Option(name: .long, help: ArgumentHelp("The ledger's public key (the authority's NAME.pub).", valueName: "pub")) var ledgerKey: String
        @OptionGroup var witnesses: WitnessOptions
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Also ask this GigaLedger server (or publication) whether its ledger still holds the receipt's entry (its checkpoint must extend the receipt's).",
                valueName: "url"))
        var server: String?
        @OptionGroup var serverCA: ServerCAOption
        @Flag(name: .long, help: "Print the result as JSON.") var json = false

        /// With `--server`: the size of the server's checkpoint that extends the receipt's.
        func stillHeld(_ checkpoint: Checkpoint, key: PublicKey) async throws -> Int64? {
            guard let server else { return nil }
            let read = RemoteRead(client: try Environment.client(server), trust: try Environment.headTrust(pinned: key, keepingCheckpoints: true))
            // A server answers the proof; a publication's files give it through its tiles.
            guard try await read.client.servesAPI() else {
                return try await PublishedRead(client: read.client, trust: read.trust).stillHolds(checkpoint)
            }
            return try await read.stillHolds(checkpoint)
        }

        func run() async throws {
            let key = try KeyFiles.readPublic(path: ledgerKey)
            let required = try witnesses.load()
            let text = try OutputFiles.readText(file, what: "receipt", bytesMax: max(Receipt.bytesMax, ConsistencyFile.bytesMax))
            if text.hasPrefix(ConsistencyFile.tag + "\n") || text.hasPrefix(ConsistencyFile.tagWithKeyPath + "\n") {
                let file = try ConsistencyFile.parse(text)
                let (old, new) = try file.check(ledgerKey: key)
                if let required { try required.check(cosigners: file.cosigners(among: required.keys).count, size: new.size) }
                print(
                    json
                        ? Render.jsonObject([
                            "verified": .bool(true), "kind": .string("consistency"), "origin": .string(new.origin),
                            "old_size": .integer(old.size), "new_size": .integer(new.size),
                        ])
                        : "consistency verified: \(new.origin) at tree size \(new.size) extends tree size \(old.size)")
                return
            }
            let receipt = try Receipt.parse(text)
            let (checkpoint, body) = try receipt.check(ledgerKey: key)
            if let required { try required.check(cosigners: receipt.cosigners(among: required.keys).count, size: checkpoint.size) }
            let held = try await stillHeld(checkpoint, key: key)
            if json {
                var fields: [String: CanonicalJSON] = [
                    "verified": .bool(true), "kind": .string("receipt"), "entry": .integer(body.seq), "type": .string(body.type),
                    "origin": .string(checkpoint.origin), "tree_size": .integer(checkpoint.size),
                    "root": .string(Encoding.base64(checkpoint.root)), "signer": .string(body.signer.description),
                    "recorded_at": .string(body.recordedAt),
                ]
                if let held { fields["server_tree_size"] = .integer(held) }
                print(Render.jsonObject(fields))
                return
            }
            print("receipt verified: entry \(body.seq) (\(body.type)) is in \(checkpoint.origin) at tree size \(checkpoint.size)")
            print("entry: \(Render.summarize(body.data))")
            print("signed by \(body.signer) at \(body.recordedAt); checkpoint root \(Encoding.base64(checkpoint.root))")
            if let held, let server { print("still held by \(server): its checkpoint of \(held) entries extends the receipt's") }
        }
    }

    struct Cosign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "As an auditor: verify the ledger up to a checkpoint and its consistency with the last one you cosigned, then add your C2SP cosignature."
        )

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The signed checkpoint to cosign (with --server, by default the server's latest kept checkpoint).") var checkpoint: String?
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: "Your cosigner name in the note (default: auditor-KEYID).") var name: String?
        @Option(name: .long, help: ArgumentHelp("Where the last checkpoint you cosigned is kept (default: KEY.cosigned).", valueName: "file"))
        var state: String?
        @Option(name: .long, help: ArgumentHelp("Write the cosigned checkpoint here instead of standard output.", valueName: "file")) var out: String?
        @Flag(name: .long, help: "Print the outcome as JSON (with the cosigned note unless --out).") var json = false

        func validate() throws {
            guard checkpoint != nil || ledger.server != nil || (ledger.ledger == nil && Environment.value(Environment.server) != nil) else {
                throw ValidationError("give the signed checkpoint to cosign (a file), or --server URL to cosign the server's latest")
            }
        }

        func run() async throws {
            let url = ledger.serverURL
            // Through a server, over the verified copy --ledger names, synced first; locally opened
            // for writing where it can be, so that the cosignature is kept with the checkpoint.
            let ledger =
                if let url { try await self.ledger.syncedCopy(url, forWriting: false) } else {
                    try (try? self.ledger.open(forWriting: true)) ?? self.ledger.open(forWriting: false)
                }
            guard let note = try checkpoint.map(readCheckpointFile) ?? ledger.latestCheckpoint() else {
                throw CLIError(message: "\(url ?? "the ledger") keeps no checkpoint yet: there is nothing to cosign", kind: .refused)
            }
            let state = CosignState(path: state ?? (signing.keyPath ?? "auditor") + ".cosigned")
            try state.checkWritable()
            if let out { try OutputFiles.checkNew(out) }
            let key = try signing.load()
            var (cosigned, target, recorded) = try ledger.cosign(
                note, key: key, name: name ?? "auditor-\(key.id)", lastCosigned: try state.last(),
                timestamp: UInt64(Date().timeIntervalSince1970))
            if let url, let line = try SignedNote.parse(cosigned).signatures.last {
                recorded = try await Environment.client(url).submitCosignature(
                    ReplicatedCosignature(size: target.size, keyID: key.id.description, line: line.text))
            }
            if json {
                if let out { try emit(cosigned, to: out) }
                var members: [String: CanonicalJSON] = ["checkpoint_size": .integer(target.size), "kept_in_ledger": .bool(recorded)]
                if out == nil { members["note"] = .string(cosigned) }
                print(Render.jsonObject(members))
                try flushStandardOutput()
                try state.record(target)
                return
            }
            try emit(cosigned, to: out)
            try state.record(target)
            if let url {
                warn(
                    recorded
                        ? "the cosignature is kept by \(url) with checkpoint \(target.size)"
                        : "\(url) keeps this key's cosignature of checkpoint \(target.size) already: the first one stands")
            } else {
                warn(
                    recorded
                        ? "the cosignature is kept in the ledger with checkpoint \(target.size)"
                        : "the cosignature is not kept in the ledger (it is read-only, does not keep this checkpoint, or has it already)")
            }
        }
    }
}

/// `--witness PUB` (repeatable) and `--quorum N`: the auditors' keys whose cosignatures a
/// checkpoint must carry, and how many of them (default: all).
struct WitnessOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("An auditor's public key whose cosignature the checkpoint must carry (repeatable).", valueName: "pub"))
    var witness: [String] = []
    @Option(name: .long, help: ArgumentHelp("How many of the --witness keys must have cosigned (default: all).", valueName: "N"))
    var quorum: Int?

    struct Required {
        let keys: [PublicKey]
        let quorum: Int

        /// Not verified unless `cosigners` of the keys cosigned the checkpoint of `size`.
        func check(cosigners: Int, size: Int64) throws {
            guard cosigners >= quorum else {
                throw CLIError(
                    message: "the checkpoint of size \(size) is cosigned by \(cosigners) of the \(keys.count) witnesses given; \(quorum) required",
                    kind: .notVerified)
            }
        }
    }

    /// The witnesses required, or nil when none is given.
    func load() throws -> Required? {
        guard !witness.isEmpty else {
            if let quorum { throw InputError(field: "quorum", value: String(quorum), problem: "needs --witness keys") }
            return nil
        }
        let keys = try witness.map { try KeyFiles.readPublic(path: $0) }
        for (index, key) in keys.enumerated() where keys[..<index].contains(key) {
            throw InputError(field: "witness", value: witness[index], problem: "names the same key as an earlier --witness: each witness counts once")
        }
        let quorum = self.quorum ?? keys.count
        guard quorum >= 1, quorum <= keys.count else {
            throw InputError(field: "quorum", value: String(quorum), problem: "is not between 1 and the \(keys.count) witnesses given")
        }
        return Required(keys: keys, quorum: quorum)
    }
}
