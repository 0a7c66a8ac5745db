import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Reading a server's entries as `log` and `show` do, each checked against the server's checked
/// checkpoint: an entry by its inclusion proof, the whole list by its hash chain ending in the
/// checkpoint's last entry. (Signatures and rules are `sync` and `verify`'s: a replica checks all.)
public struct RemoteRead: Sendable {
    public let client: LedgerClient
    public let trust: HeadTrust

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// Entry `seq`, proven in the server's checked checkpoint; nil when the ledger has no such entry.
    public func entry(_ seq: Int64) async throws -> Entry? {
        let checked = try await trust.checkedHead(client)
        guard seq <= checked.checkpoint.size, let entry = try await client.entry(seq) else { return nil }
        let proof = try await client.inclusionProof(seq: seq, size: checked.checkpoint.size)
        guard entry.seq == seq, Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
            throw VerificationFailure(seq: seq, reason: "the server's entry \(seq) does not hash to its hash")
        }
        do {
            try Merkle.checkInclusion(index: seq - 1, size: checked.checkpoint.size, leafHash: Merkle.leafHash(entry.hash), proof: proof, root: checked.checkpoint.root)
        } catch {
            throw VerificationFailure(seq: seq, reason: "the server's entry \(seq) is not in its checkpoint of \(checked.checkpoint.size) entries (\(error))")
        }
        return entry
    }

    /// Every entry up to the server's checked head, in order, a page at a time: each hashes to its
    /// hash and links to the one before, and the last is the checkpoint's head. `body` gets each
    /// entry and the checkpoint's size.
    public func forEachEntry(_ body: (Entry, Int64) throws -> Void) async throws -> Int64 {
        let checked = try await trust.checkedHead(client)
        var previous = Entry.genesisPrevHash
        var next: Int64 = 1
        while next <= checked.checkpoint.size {
            let page = try await client.entries(from: next, count: min(Replica.pageEntries, Int(checked.checkpoint.size - next + 1)))
            guard !page.isEmpty else { throw ClientError.malformed("the server sent no entries from \(next)") }
            for entry in page {
                guard entry.seq == next, entry.prevHash == previous, Entry.hash(prevHash: entry.prevHash, body: entry.body) == entry.hash else {
                    throw VerificationFailure(seq: next, reason: "the server's entry \(next) does not follow entry \(next - 1) or does not hash to its hash")
                }
                try body(entry, checked.checkpoint.size)
                previous = entry.hash
                next += 1
            }
        }
        guard next == 1 || previous == checked.head.hash else {
            throw VerificationFailure(seq: checked.checkpoint.size, reason: "the server's entries do not end in the head its checkpoint holds")
        }
        return checked.checkpoint.size
    }
}
