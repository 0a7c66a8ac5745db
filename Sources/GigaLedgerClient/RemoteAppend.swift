import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Appending through a server, optimistically (README, "Deploying for many offices"): fetch the
/// head, check it against the checkpoint kept from last time, sign after it here, submit; when
/// another office appended meanwhile, the server answers 409 and this signs again. The secret key
/// never leaves this process; the server admits the entry with the rules of a local append.
public struct RemoteAppend: Sendable {
    /// How many times an entry is signed again after a conflict before giving up.
    public static let attemptsMax = 16

    public let client: LedgerClient
    public let trust: HeadTrust

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// Signs `data` after the server's checked head and submits it; returns the entry recorded.
    /// A retry of a submission whose answer was lost is found by its hash: never recorded twice.
    public func append(_ data: EntryData, key: SigningKey, checks: EntryChecks) async throws -> Entry {
        try await appendBatch(checks: checks) { head in
            [Entry.make(body: EntryBody(seq: head.seq + 1, signer: key.id, recordedAt: try Timestamp.now(), data: data), prevHash: head.hash, key: key)]
        }.last!
    }

    /// Signs the entries `make` builds after the checked head (all or none recorded); signs again
    /// after a conflict, up to `attemptsMax` times.
    public func appendBatch(checks: EntryChecks, make: (Entry) throws -> [Entry]) async throws -> [Entry] {
        var lastHead: Entry?
        for attempt in 1...Self.attemptsMax {
            let checked = try await trust.checkedHead(client)
            let entries = try make(checked.head)
            guard let last = entries.last else { return [] }
            var submitted: LedgerClient.Submitted
            let known = checked.checkpoint.size
            do { submitted = try await client.submit(entries, checks: checks, known: known) } catch let error as ClientError {
                // The answer was lost: ask again with the same entries; the server finds them by hash.
                guard case .unreachable = error else { throw error }
                submitted = try await client.submit(entries, checks: checks, known: known)
            }
            switch submitted {
            case .recorded(let recorded, _, let proof):
                guard recorded.hash == last.hash else { throw ClientError.malformed("the server recorded another entry than the one submitted") }
                // Proven in a checkpoint that extends the one checked before signing; kept for next time.
                try trust.keepRecorded(last, proof: proof, after: checked, server: client.base)
                return entries
            case .conflict(let newHead):
                lastHead = newHead
                // Back off a little, more each time, so that offices in a race spread out.
                try await Task.sleep(for: .milliseconds(Int64.random(in: 1...(5 * Int64(attempt)))))
            }
        }
        throw Refusal("the ledger's head kept moving (\(Self.attemptsMax) attempts, last head entry \(lastHead?.seq ?? 0)); nothing was recorded, retry")
    }
}
