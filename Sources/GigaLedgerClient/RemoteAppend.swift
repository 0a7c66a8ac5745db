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
    /// The longest pause before signing again when the server's provable head has not moved.
    static let stallPauseMillisecondsMax = 500
    /// A submission whose answer was lost is sent again this many times, after 0.2, 0.4, 0.8,
    /// 1.6 and 3.2 s (a server restarting is back within them).
    static let answerRetries = 5
    static let answerPauseMilliseconds = 200

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
        // Conflicts in a row whose answer proved no newer head.
        var stalls = 0
        for attempt in 1...Self.attemptsMax {
            let entries = try make(checked.head)
            guard let last = entries.last else {
                try trust.keep(checked, server: client.base)
                return ([], checked)
            }
            let submitted = try await submitUntilAnswered(entries, checks: checks, allowDuplicateFile: allowDuplicateFile,
                                                          known: checked.checkpoint.size, turn: turn?.token)
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
                // The head the server can prove has not moved: its file holds entries another
                // process appended that it has not verified yet (it does within a checkpoint
                // interval). Signing again at once would only meet the same answer: wait.
                if checked.checkpoint.size <= previous.checkpoint.size {
                    stalls += 1
                    try await Task.sleep(for: .milliseconds(min(Self.stallPauseMillisecondsMax, 25 << min(stalls, 5))))
                } else {
                    stalls = 0
                }
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

    /// Submits `entries`; when the answer is lost (the server unreachable, maybe after the request
    /// went out), sends the same signed entries again after growing pauses: the server finds
    /// entries it recorded by their hash, so nothing is recorded twice. When no answer comes at
    /// all, the entries may have been recorded: `AnswerLost` says so, and how to find out.
    private func submitUntilAnswered(_ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool, known: Int64,
                                     turn: String?) async throws -> LedgerClient.Submitted {
        var pause = Self.answerPauseMilliseconds
        for attempt in 0...Self.answerRetries {
            if attempt > 0 {
                try await Task.sleep(for: .milliseconds(pause))
                pause *= 2
            }
            do {
                return try await client.submit(entries, checks: checks, allowDuplicateFile: allowDuplicateFile, known: known, turn: turn)
            } catch ClientError.unreachable(let why) {
                guard attempt == Self.answerRetries else { continue }
                throw AnswerLost(entries: entries, server: client.base, why: why)
            }
        }
        preconditionFailure("RemoteAppend.submitUntilAnswered: the last attempt returns or throws")
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

/// A submission went out and no answer came back: its entries may have been recorded. Recording
/// the same facts again could record them twice, so the message says how to find out first.
public struct AnswerLost: GigaLedgerError {
    public let entries: [Entry]
    public let server: String
    public let why: String

    public var description: String {
        let last = entries[entries.count - 1]
        let which = entries.count == 1 ? "entry \(last.seq)" : "entries \(entries[0].seq) to \(last.seq)"
        return "sent \(which) to the server and got no answer (\(why)): it may have been recorded; `gigaledger show \(Encoding.hex(last.hash)) --server \(server)` tells, before the same facts are recorded again"
    }
    public var kind: FailureKind { .unusable }
}
