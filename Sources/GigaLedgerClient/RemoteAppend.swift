import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Appending through a server, optimistically (README, "Deploying for many offices"): fetch the
/// head, check it against the checkpoint kept from last time, sign after it here, submit; when
/// another office appended meanwhile, the server answers 409 and this signs again. The secret key
/// never leaves this process; the server admits the entry with the rules of a local append.
public struct RemoteAppend: Sendable {
    /// How many times an entry is signed again after a conflict, and for how long, before giving up.
    public static let attemptsMax = 200
    public static let secondsMax: Int64 = 30

    public let client: LedgerClient
    public let trust: HeadTrust

    public init(client: LedgerClient, trust: HeadTrust) {
        self.client = client
        self.trust = trust
    }

    /// Signs `data` after the server's checked head and submits it; returns the entry recorded.
    /// A retry of a submission whose answer was lost is found by its hash: never recorded twice.
    public func append(_ data: EntryData, key: SigningKey, checks: EntryChecks) async throws -> Entry {
        try await appendCounting(data, key: key, checks: checks).entry
    }

    /// `append`, and how many conflicts (409s) it met on the way (the benchmark's figure).
    /// `after`: a head checked by the previous append of this process (its answer's proof), so a
    /// run of appends asks for the head once; nil asks the server.
    public func appendCounting(_ data: EntryData, key: SigningKey, checks: EntryChecks,
                               after: HeadTrust.Checked? = nil) async throws -> (entry: Entry, conflicts: Int, next: HeadTrust.Checked) {
        var made = 0
        let (entries, next) = try await appendBatch(checks: checks, after: after) { head in
            made += 1
            return [Entry.make(body: EntryBody(seq: head.seq + 1, signer: key.id, recordedAt: try Timestamp.now(), data: data), prevHash: head.hash, key: key)]
        }
        return (entries.last!, made - 1, next)
    }

    /// Signs the entries `make` builds after the checked head (all or none recorded), in a turn
    /// when the server gives turns (offices queue instead of racing); after a conflict, signs
    /// again after the new head the 409 answer carries (checked the same way): at once while the
    /// turn is still this client's, else in a new turn, or after a short random back-off when
    /// there is none; up to `attemptsMax` times or `secondsMax`.
    public func appendBatch(checks: EntryChecks, allowDuplicateFile: Bool = false, make: (Entry) throws -> [Entry]) async throws -> [Entry] {
        try await appendBatch(checks: checks, allowDuplicateFile: allowDuplicateFile, after: nil, make: make).entries
    }

    /// `appendBatch` from a head already checked (`after`), returning also the checked head of
    /// the answer, for the next append of the same process.
    public func appendBatch(checks: EntryChecks, allowDuplicateFile: Bool = false, after: HeadTrust.Checked?,
                            make: (Entry) throws -> [Entry]) async throws -> (entries: [Entry], next: HeadTrust.Checked) {
        var checked: HeadTrust.Checked
        if let after { checked = after } else { checked = try await trust.checkedHead(client) }
        do {
            return try await signAndSubmit(checks: checks, allowDuplicateFile: allowDuplicateFile, checked: &checked, make: make)
        } catch {
            // Whatever ended the append, the newest checkpoint it checked is kept for next time.
            try? trust.keep(checked, server: client.base)
            throw error
        }
    }

    /// `appendBatch`'s turns, signatures and submissions; `checked` is the newest head checked.
    private func signAndSubmit(checks: EntryChecks, allowDuplicateFile: Bool, checked: inout HeadTrust.Checked,
                               make: (Entry) throws -> [Entry]) async throws -> (entries: [Entry], next: HeadTrust.Checked) {
        let started = ContinuousClock.now
        var turn = try await takeTurn(after: checked)
        if let turn { checked = turn.head }
        // A server that gave no turn (none, or too busy) is not asked again for this append.
        var turnsGiven = turn != nil
        for attempt in 1...Self.attemptsMax {
            let entries = try make(checked.head)
            guard let last = entries.last else {
                try trust.keep(checked, server: client.base)
                return ([], checked)
            }
            var submitted: LedgerClient.Submitted
            let known = checked.checkpoint.size
            do { submitted = try await client.submit(entries, checks: checks, allowDuplicateFile: allowDuplicateFile, known: known, turn: turn?.token) } catch let error as ClientError {
                // The answer was lost: ask again with the same entries; the server finds them by hash.
                guard case .unreachable = error else { throw error }
                try await Task.sleep(for: .milliseconds(200))
                submitted = try await client.submit(entries, checks: checks, allowDuplicateFile: allowDuplicateFile, known: known, turn: turn?.token)
            }
            switch submitted {
            case .recorded(let recorded, _, let proof):
                guard recorded.hash == last.hash else { throw ClientError.malformed("the server recorded another entry than the one submitted") }
                // Proven in a checkpoint that extends the one checked before signing; kept for next time.
                return (entries, try trust.keepRecorded(last, proof: proof, after: checked, server: client.base))
            case .conflict(_, let proof, let turnKept):
                // Another office appended first: the new head, checked as the first one was.
                let previous = KeptCheckpoints.Kept(note: checked.note, checkpoint: checked.checkpoint)
                checked = try trust.check(proof, previous: previous, server: client.base)
                guard ContinuousClock.now - started < .seconds(Self.secondsMax) else { break }
                if turnKept { continue }
                if turnsGiven {
                    turn = try await takeTurn(after: checked)
                    if let turn { checked = turn.head; continue }
                    turnsGiven = false
                }
                // No turns: spread out offices in a race with a random pause, growing with the attempts.
                try await Task.sleep(for: .milliseconds(Int64.random(in: 0...min(50, 1 << min(attempt, 6)))))
            }
        }
        throw ServerBusy(message: "the ledger's head kept moving (other offices appending) for \(Self.secondsMax) s or \(Self.attemptsMax) attempts; nothing was recorded, retry")
    }

    /// The turn to sign after the head, and the head it gives (checked against `after`, which it
    /// must extend); nil when the server gives no turn.
    private func takeTurn(after checked: HeadTrust.Checked) async throws -> (token: String, head: HeadTrust.Checked)? {
        guard let taken = try await client.turn(known: checked.checkpoint.size) else { return nil }
        let previous = KeptCheckpoints.Kept(note: checked.note, checkpoint: checked.checkpoint)
        return (taken.token, try trust.checkedTurn(taken.proof, previous: previous, server: client.base))
    }
}

/// Other offices kept appending first: nothing was recorded; the same command may succeed later.
public struct ServerBusy: GigaLedgerError {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .unusable }
    public var isRetryable: Bool { true }
}
