import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Writes `text` to `path` (refusing to overwrite) or, without a path, to standard output.
func emit(_ text: String, to path: String?) throws {
    guard let path else { print(text, terminator: ""); return }
    try KeyFiles.writeNew(path: path, text: text, mode: 0o644)
    warn("wrote \(path)")
}

/// Replaces `path` atomically (a temporary file, then rename), so a reader never sees half a file.
func replaceFile(_ text: String, at path: String) throws {
    let temporary = path + ".tmp"
    try? FileManager.default.removeItem(atPath: temporary)
    try KeyFiles.writeNew(path: temporary, text: text, mode: 0o644)
    guard rename(temporary, path) == 0 else { throw CLIError(message: "cannot write \(path)", kind: .unusable) }
}

func readTextFile(_ path: String, what: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError(message: "\(what) \(path): no such file or not readable", kind: .unusable)
    }
    guard data.count <= Receipt.bytesMax, let text = String(data: data, encoding: .utf8) else {
        throw CLIError(message: "\(what) \(path): not UTF-8 text or larger than \(Receipt.bytesMax) bytes", kind: .refused)
    }
    return text
}

extension GigaLedger {
    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a C2SP checkpoint (origin, size, Merkle root) of the whole ledger with an authority key, and keep it.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: ArgumentHelp("Write the signed checkpoint here instead of standard output.", valueName: "file")) var out: String?

        func run() throws {
            let ledger = try ledger.open(forWriting: true)
            try emit(try ledger.signCheckpoint(key: signing.load()), to: out)
        }
    }

    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a receipt for one entry (--entry), or a consistency proof between two checkpoints (--from).",
            discussion: "A receipt holds the entry's bytes and signature, its inclusion proof and the signed checkpoint; `gigaledger check-receipt` checks it offline.")

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: ArgumentHelp("The entry to prove.", valueName: "SEQ")) var entry: String?
        @Option(name: .long, help: ArgumentHelp("Prove against this signed checkpoint (default: the latest the ledger signed).", valueName: "file")) var checkpoint: String?
        @Option(name: .long, help: ArgumentHelp("An older signed checkpoint: prove the ledger extends it.", valueName: "file")) var from: String?
        @Option(name: .long, help: ArgumentHelp("The newer signed checkpoint (default: the latest the ledger signed).", valueName: "file")) var to: String?
        @Option(name: .long, help: ArgumentHelp("Write here instead of standard output.", valueName: "file")) var out: String?

        func validate() throws {
            guard (entry == nil) != (from == nil) else { throw ValidationError("give either --entry SEQ or --from CHECKPOINT") }
        }

        func run() throws {
            let ledger = try ledger.open(forWriting: false)
            if let entry {
                guard let seq = Int64(entry), seq >= 1, String(seq) == entry else {
                    throw InputError(field: "entry", value: entry, problem: "is not a sequence number (a whole number from 1)")
                }
                let note = try checkpoint.map { try readTextFile($0, what: "checkpoint") }
                try emit(try ledger.receipt(seq: seq, checkpointNote: note).encoded, to: out)
            } else if let from {
                let old = try ledger.openCheckpoint(try readTextFile(from, what: "checkpoint"))
                guard let newNote = try to.map({ try readTextFile($0, what: "checkpoint") }) ?? ledger.latestCheckpoint() else {
                    throw Refusal("the ledger has signed no checkpoint yet: run `gigaledger checkpoint` or give --to")
                }
                let new = try ledger.openCheckpoint(newNote)
                try emit(try ledger.consistencyFile(from: old, to: new), to: out)
            }
        }
    }

    struct CheckReceipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-receipt",
            abstract: "Check a receipt offline, without the ledger: the checkpoint's signature, the inclusion proof, the entry's signature.",
            discussion: "Exit 0: the receipt checks. Exit 1: it does not (the reason is printed).")

        @Argument(help: "The receipt file.") var file: String
        @Option(name: .long, help: ArgumentHelp("The ledger's public key (the authority's NAME.pub).", valueName: "pub")) var ledgerKey: String

        func run() throws {
            let key = try KeyFiles.readPublic(path: ledgerKey)
            let receipt = try Receipt.parse(try readTextFile(file, what: "receipt"))
            let (checkpoint, body) = try receipt.check(ledgerKey: key)
            print("receipt verified: entry \(body.seq) (\(body.type)) is in \(checkpoint.origin) at tree size \(checkpoint.size)")
            print("entry: \(Render.summarize(body.data))")
            print("signed by \(body.signer) at \(body.recordedAt); checkpoint root \(Encoding.base64(checkpoint.root))")
        }
    }

    struct Cosign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "As an auditor: verify the ledger up to a checkpoint and its consistency with the last one you cosigned, then add your C2SP cosignature.")

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The signed checkpoint to cosign.") var checkpoint: String
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: "Your cosigner name in the note (default: auditor-KEYID).") var name: String?
        @Option(name: .long, help: ArgumentHelp("Where the last checkpoint you cosigned is kept (default: KEY.cosigned).", valueName: "file")) var state: String?
        @Option(name: .long, help: ArgumentHelp("Write the cosigned checkpoint here instead of standard output.", valueName: "file")) var out: String?

        func run() throws {
            let ledger = try ledger.open(forWriting: false)
            let note = try readTextFile(checkpoint, what: "checkpoint")
            let (target, signed) = try Checkpoint.open(note, trusting: try ledger.authorityKeys())
            let key = try signing.load()
            let statePath = state ?? (signing.key ?? ProcessInfo.processInfo.environment["GIGALEDGER_KEY"] ?? "auditor") + ".cosigned"
            let last = FileManager.default.fileExists(atPath: statePath)
                ? try Checkpoint.parse(try readTextFile(statePath, what: "cosign state")) : nil
            let report = try ledger.verify(rootsAt: [target.size, last?.size ?? 0])
            if let failure = report.failure { throw CLIError(message: "not cosigning: the ledger does not verify: \(failure)", kind: .notVerified) }
            guard report.roots[target.size] == target.root else {
                throw CLIError(message: "not cosigning: the verified ledger does not have the checkpoint's root at size \(target.size)", kind: .notVerified)
            }
            if let last {
                guard last.origin == target.origin, last.size <= target.size, report.roots[last.size] == last.root else {
                    throw CLIError(message: "not cosigning: the checkpoint is not consistent with the one last cosigned (size \(last.size))", kind: .notVerified)
                }
            }
            let cosignerName = name ?? "auditor-\(key.id)"
            let line = try NoteKey.cosign(signed.text, name: cosignerName, key: key, timestamp: UInt64(Date().timeIntervalSince1970))
            let cosigned = SignedNote(text: signed.text, signatures: signed.signatures + [line]).encoded
            try emit(cosigned, to: out)
            try replaceFile(target.text, at: statePath)
        }
    }
}
