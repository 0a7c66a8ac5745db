import Foundation
import GigaLedgerCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A C2SP tlog-witness (`gigaledger witness serve`, FORMAT.md section 19): an auditor's own small
/// service that cosigns a log's checkpoint only when it is consistent with the last one it
/// cosigned for that origin. It keeps that checkpoint per origin in its state folder, checked and
/// replaced as one step (the spec's compare-and-swap: two requests from the same old size cannot
/// both be cosigned, so the state never rolls back), synced to disk before it answers. A signed
/// checkpoint of the size it cosigned with another root (a fork, which only the log's key can
/// make) is kept as evidence, at most `evidenceFilesMax` files.
public final class Witness: Sendable {
    /// The largest request body read: an old-size line, 63 proof lines and a signed note.
    public static let requestBytesMax = SignedNote.bytesMax + 8 * 1024
    /// The most consistency proof lines (the spec's limit).
    public static let proofLinesMax = 63
    /// The most evidence files kept in the state folder (each a signed fork, a few KiB).
    public static let evidenceFilesMax = 1_000

    private let key: any Signer
    public let name: String
    /// The keys whose checkpoint signatures this witness accepts, by origin (replaced whole on a
    /// reload: `replaceLogs`).
    public var logs: [String: [PublicKey]] { followed.withLock { $0 } }
    private let followed: Mutex<[String: [PublicKey]]>
    public let state: WitnessState
    /// One check-and-replace at a time (within the process; the state folder's lock keeps other
    /// processes out).
    private let exclusive = Mutex(())

    public init(key: any Signer, name: String, logs: [String: [PublicKey]], state: WitnessState) throws(NoteError) {
        _ = try NoteKey(name: name, publicKey: key.publicKey)  // a name a note line can carry
        self.key = key
        self.name = name
        self.followed = Mutex(logs)
        self.state = state
    }

    /// The logs and keys to follow from now on (`witness serve` on SIGHUP, its `--log` files read
    /// again): a log key added for a rotation is accepted at once, without a restart.
    public func replaceLogs(_ logs: [String: [PublicKey]]) {
        followed.withLock { $0 = logs }
    }

    /// What the witness answers (C2SP tlog-witness, add-checkpoint).
    public enum Answer: Equatable, Sendable {
        /// 200: the cosignature lines, each ending in a newline.
        case cosigned(String)
        /// 409: the size of the checkpoint last cosigned for the origin (or a fork at that size).
        case conflict(Int64)
        /// 400 (malformed), 403 (no trusted signature), 404 (unknown origin), 422 (the proof fails).
        case refused(status: Int, message: String)
    }

    /// Handles one add-checkpoint request body at UNIX time `now`.
    public func addCheckpoint(_ body: [UInt8], now: UInt64) -> Answer {
        let request: Request
        do { request = try Request.parse(body) } catch { return .refused(status: 400, message: "\(error)") }
        let signed: SignedNote
        let checkpoint: Checkpoint
        do {
            signed = try SignedNote.parse(request.note)
            checkpoint = try Checkpoint.parse(signed.text)
        } catch { return .refused(status: 400, message: "the checkpoint is not a signed checkpoint note: \(error)") }
        guard let keys = logs[checkpoint.origin] else { return .refused(status: 404, message: "this witness does not follow \(checkpoint.origin)") }
        guard (try? Checkpoint.open(request.note, trusting: keys)) != nil else {
            return .refused(status: 403, message: "the checkpoint is not signed by a key this witness trusts for \(checkpoint.origin)")
        }
        guard request.old <= checkpoint.size else {
            return .refused(status: 400, message: "old size \(request.old) is larger than the checkpoint's \(checkpoint.size)")
        }
        if request.old == 0, !request.proof.isEmpty { return .refused(status: 400, message: "a proof from size 0 must be empty") }
        return exclusive.withLock { _ -> Answer in
            let last: Checkpoint?
            do { last = try state.last(origin: checkpoint.origin) } catch { return .refused(status: 500, message: "\(error)") }
            let lastSize = last?.size ?? 0
            guard request.old == lastSize else { return .conflict(lastSize) }
            if let last {
                if last.size == checkpoint.size, last.root != checkpoint.root {
                    state.keepEvidence(
                        body, why: "a checkpoint of \(checkpoint.size) entries with another root than the one cosigned (a fork)", last: last)
                    return .conflict(lastSize)
                }
                do {
                    try Merkle.checkConsistency(
                        old: last.size, new: checkpoint.size, oldRoot: last.root, newRoot: checkpoint.root, proof: request.proof)
                } catch {
                    // Not kept as evidence: anyone can send a published checkpoint with a false proof.
                    return .refused(status: 422, message: "the consistency proof from \(last.size) to \(checkpoint.size) does not verify: \(error)")
                }
            }
            do { try state.record(checkpoint) } catch { return .refused(status: 500, message: "\(error)") }
            do {
                return .cosigned(try NoteKey.cosign(signed.text, name: name, key: key, timestamp: now).text + "\n")
            } catch { return .refused(status: 500, message: "\(error)") }
        }
    }

    /// The add-checkpoint request body: `old N`, up to 63 base64 proof lines, a blank line, the note.
    struct Request {
        let old: Int64
        let proof: [Merkle.Hash]
        let note: String

        static func parse(_ body: [UInt8]) throws -> Request {
            guard body.count <= Witness.requestBytesMax else {
                throw InputError(field: "body", value: "\(body.count) bytes", problem: "is larger than \(Witness.requestBytesMax) bytes")
            }
            guard let text = String(validating: body, as: UTF8.self) else { throw InputError(field: "body", value: "", problem: "is not UTF-8") }
            guard let blank = text.range(of: "\n\n") else {
                throw InputError(field: "body", value: "", problem: "has no blank line before the checkpoint")
            }
            let head = text[..<blank.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            guard let first = head.first, first.hasPrefix("old "), let old = Int64(first.dropFirst(4)), old >= 0, String(old) == first.dropFirst(4)
            else {
                throw InputError(field: "old", value: String(head.first ?? ""), problem: "is not `old SIZE` with a decimal size")
            }
            guard head.count - 1 <= Witness.proofLinesMax else {
                throw InputError(field: "proof", value: String(head.count - 1), problem: "has more than \(Witness.proofLinesMax) lines")
            }
            let proof = try head.dropFirst().map { line -> Merkle.Hash in
                guard let hash = Encoding.unbase64(String(line)), hash.count == 32 else {
                    throw InputError(field: "proof", value: String(line.prefix(60)), problem: "is not base64 of 32 bytes")
                }
                return hash
            }
            return Request(old: old, proof: proof, note: String(text[blank.upperBound...]))
        }
    }
}

/// A witness's state folder: per origin, the last checkpoint cosigned (its text), and evidence of
/// refused forks. One witness process at a time holds it (an exclusive lock on `lock`).
public struct WitnessState: Sendable {
    public let directory: String
    private let lockDescriptor: Int32

    /// Opens (creating) the folder and takes its lock; refuses a folder another witness holds.
    public init(directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw OutputError(path: directory, why: "cannot create the state folder (\(error.localizedDescription))")
        }
        let descriptor = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw OutputError(path: directory + "/lock", why: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw WitnessStateBusy(directory: directory)
        }
        self.directory = directory
        lockDescriptor = descriptor
    }

    func file(origin: String) -> String {
        directory + "/" + PathSegment.safe(origin, replacement: "_") + ".cosigned"
    }

    /// The last checkpoint cosigned for `origin`, nil before the first.
    public func last(origin: String) throws -> Checkpoint? {
        let path = file(origin: origin)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try OutputFiles.readText(path, what: "witness state", bytesMax: SignedNote.bytesMax)
        guard let checkpoint = try? Checkpoint.parse(text), checkpoint.origin == origin else {
            throw FileRefusal("witness state \(path)", "is not a checkpoint of \(origin)")
        }
        return checkpoint
    }

    /// Replaces the last checkpoint cosigned for its origin, synced before it returns.
    func record(_ checkpoint: Checkpoint) throws {
        try OutputFiles.replace(checkpoint.text, at: file(origin: checkpoint.origin))
    }

    /// Keeps a refused request that a log signed (evidence of a fork), with why and the checkpoint
    /// cosigned before; best effort (the refusal stands whether or not it is written).
    func keepEvidence(_ body: [UInt8], why: String, last: Checkpoint) {
        let kept = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("evidence-") }
        guard kept.count < Witness.evidenceFilesMax else { return }
        let name = "evidence-\(Int(Date().timeIntervalSince1970))-\(Encoding.hex((0..<4).map { _ in UInt8.random(in: 0...255) })).txt"
        let text = "gigaledger-witness-evidence/v1\nwhy \(why)\nlast-cosigned\n\(last.text)request\n" + String(decoding: body, as: UTF8.self)
        try? OutputFiles.writeNew(text, to: directory + "/" + name)
    }
}

/// Another witness process holds the state folder: this one cannot run (exit 2).
public struct WitnessStateBusy: GigaLedgerError {
    public let directory: String
    public var description: String { "witness state \(directory) is held by another witness process: one witness per state folder" }
    public var kind: FailureKind { .unusable }
}
