import Foundation
import GigaLedgerCore

/// Why an auditor's cosignature is withheld: the ledger, or the checkpoint, is not what it claims.
public struct CosignRefusal: GigaLedgerError, Equatable {
    public let reason: String
    public var description: String { "not cosigning: \(reason)" }
    public var kind: FailureKind { .notVerified }
}

extension Ledger {
    /// As an auditor: checks a signed checkpoint against the ledger and, when it holds, adds a C2SP
    /// cosignature by `key` under `name`. It holds when the checkpoint is signed by one of the
    /// ledger's authority keys, the ledger verifies, its first `size` entries give the checkpoint's
    /// root, and it extends `lastCosigned` (the last checkpoint this auditor cosigned: same origin,
    /// no larger, and the root the same entries give). Returns the cosigned note and the checkpoint.
    public func cosign(_ note: String, key: SigningKey, name: String, lastCosigned last: Checkpoint?,
                       timestamp: UInt64) throws -> (cosigned: String, checkpoint: Checkpoint) {
        let (target, signed) = try Checkpoint.open(note, trusting: try authorityKeys())
        let report = try verify(rootsAt: [target.size, last?.size ?? 0])
        if let failure = report.failure { throw CosignRefusal(reason: "the ledger does not verify: \(failure)") }
        guard report.roots[target.size] == target.root else {
            throw CosignRefusal(reason: "the verified ledger does not have the checkpoint's root at size \(target.size)")
        }
        if let last {
            guard last.origin == target.origin, last.size <= target.size, report.roots[last.size] == last.root else {
                throw CosignRefusal(reason: "the checkpoint is not consistent with the one last cosigned (size \(last.size))")
            }
        }
        let line = try NoteKey.cosign(signed.text, name: name, key: key, timestamp: timestamp)
        return (SignedNote(text: signed.text, signatures: signed.signatures + [line]).encoded, target)
    }
}
