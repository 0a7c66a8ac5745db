import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// Appending through a server (the operator runbook, "One server for many offices"): fetch the head, check it
/// against the checkpoint kept from last time, sign after it here, submit. When another office
/// appended meanwhile the server answers 409 with the new head, checked as the first was, and this
/// signs again after it; a busy server (503, 429: a database failing over, a rate limit) is asked
/// again with the same signed entries. Both after a random pause, for at most
/// `waitSeconds` in all (`--lock-wait`); then "busy, retry" (exit 2). The secret key never leaves
/// this process; the server admits the entry with the rules of a local append.
public struct RemoteAppend: Sendable {
    /// A submission whose answer was lost is sent again this many times, after 0.2, 0.4, 0.8,
    /// 1.6 and 3.2 s (a server restarting is back within them).
    static let answerRetries = 5
    static let answerPauseMilliseconds = 200
    /// The pause before signing again after a conflict: a random part of 1 ms, every time. Offices
    /// that met spread out, yet a loser signs again while the head the 409 gave it is still likely
    /// the head. A pause that grows makes every later try of the office that waits stale (the
    /// server commits an entry every 2 ms or so under load): measured, with pauses doubling to
    /// 16 ms one of 8 offices lost 318 times in a row (3.2 s), and with pauses growing to 1 s one
    /// was starved for 10 s.
    static let conflictPauseMilliseconds: Int64 = 1
    /// The pause before asking a busy server again (503, 429: a failover takes seconds): a random
    /// part of 10 ms, doubled with each try up to 1 s.
    static let busyPauseMillisecondsFirst: Int64 = 10
    static let busyPauseMillisecondsMax: Int64 = 1_000

    public let client: LedgerClient
    public let trust: HeadTrust
    /// How long to keep trying after conflicts and a busy server, in all.
    public let waitSeconds: Double

    public init(client: LedgerClient, trust: HeadTrust, waitSeconds: Double = 10) {
        self.client = client
        self.trust = trust
        self.waitSeconds = waitSeconds
    }

    /// Signs `data` after the server's checked head and submits it; returns the entry recorded.
    /// A retry of a submission whose answer was lost is found by its hash: never recorded twice.
    public func append(_ data: EntryData, key: any Signer, checks: EntryChecks) async throws -> Entry {
        try await appendCounting(data, key: key, checks: checks).entry
    }

    /// `append`, and how many conflicts (409s) it met on the way (the benchmark's figure).
    /// `after`: a head checked by the previous append of this process (its answer's proof), so a
    /// run of appends asks for the head once; nil asks the server.
    public func appendCounting(
        _ data: EntryData, key: any Signer, checks: EntryChecks,
        after: HeadTrust.Checked? = nil
    ) async throws -> (entry: Entry, conflicts: Int, next: HeadTrust.Checked) {
        var made = 0
        let (entries, next) = try await appendBatch(checks: checks, after: after) { head in
            made += 1
            return [
                try Entry.make(
                    body: EntryBody(seq: head.seq + 1, signer: key.id, recordedAt: try Timestamp.now(), data: data), prevHash: head.hash, key: key)
            ]
        }
        return (entries.last!, made - 1, next)
    }

    /// Signs the entries `make` builds after the checked head (all or none recorded) and submits
    /// them, signing again after each conflict's new head.
    public func appendBatch(checks: EntryChecks, allowDuplicateFile: Bool = false, make: (Entry) throws -> [Entry]) async throws -> [Entry] {
        try await appendBatch(checks: checks, allowDuplicateFile: allowDuplicateFile, after: nil, make: make).entries
    }

    /// `appendBatch` from a head already checked (`after`), returning also the checked head of
    /// the answer, for the next append of the same process.
    public func appendBatch(
        checks: EntryChecks, allowDuplicateFile: Bool = false, after: HeadTrust.Checked?,
        make: (Entry) throws -> [Entry]
    ) async throws -> (entries: [Entry], next: HeadTrust.Checked) {
        var backoff = Backoff(waitSeconds: waitSeconds)
        var checked: HeadTrust.Checked
        if let after { checked = after } else { checked = try await checkedHead(&backoff) }
        do {
            return try await signAndSubmit(checks: checks, allowDuplicateFile: allowDuplicateFile, checked: &checked, backoff: backoff, make: make)
        } catch {
            // Whatever ended the append, the newest checkpoint it checked is kept for next time.
            try? trust.keep(checked, server: client.base)
            throw error
        }
    }

    /// The server's checked head; a server that cannot be reached or is busy (restarting, failing
    /// over) is asked again within the wait.
    private func checkedHead(_ backoff: inout Backoff) async throws -> HeadTrust.Checked {
        while true {
            do { return try await trust.checkedHead(client) } catch let error as any GigaLedgerError where Self.isTransient(error) {
                try await backoff.pauseWhileBusy(or: error)
            }
        }
    }

    /// The head to sign after once another office appended first; a server busy meanwhile (failing
    /// over) is asked again within the wait.
    private func checkedAfterConflict(
        _ proof: LedgerClient.Head, checked: HeadTrust.Checked, backoff: inout Backoff
    ) async throws -> HeadTrust.Checked {
        while true {
            do { return try await trust.checkedAfterConflict(proof, checked: checked, client: client) } catch let error as any GigaLedgerError
                where Self.isTransient(error)
            {
                try await backoff.pauseWhileBusy(or: error)
            }
        }
    }

    /// The signatures and submissions; `checked` is the newest head checked.
    private func signAndSubmit(
        checks: EntryChecks, allowDuplicateFile: Bool, checked: inout HeadTrust.Checked, backoff: Backoff,
        make: (Entry) throws -> [Entry]
    ) async throws -> (entries: [Entry], next: HeadTrust.Checked) {
        var backoff = backoff
        var entries = try make(checked.head)
        while true {
            guard let last = entries.last else {
                try trust.keep(checked, server: client.base)
                return ([], checked)
            }
            let submitted: LedgerClient.Submitted
            do {
                submitted = try await submitUntilAnswered(
                    entries, checks: checks, allowDuplicateFile: allowDuplicateFile, known: checked.checkpoint.size)
            } catch let error as ServerRefusal where error.isRetryable {
                // Busy: the same signed entries again (if they were recorded after all, the server finds them by their hash).
                try await backoff.pauseWhileBusy(or: error)
                continue
            }
            switch submitted {
            case .recorded(let recorded, _, let proof):
                guard recorded.hash == last.hash else { throw ClientError.malformed("the server recorded another entry than the one submitted") }
                // Proven in a checkpoint that extends the one checked before signing; kept for next time.
                return (entries, try trust.keepRecorded(last, proof: proof, after: checked, server: client.base, batch: entries))
            case .conflict(_, let proof):
                // Another office appended first: the new head, checked as the first one was, then signed after.
                checked = try await checkedAfterConflict(proof, checked: checked, backoff: &backoff)
                try await backoff.pauseAfterConflict(
                    or: ServerBusy(
                        message:
                            "the ledger's head kept moving (other offices appending) for \(Self.seconds(waitSeconds)) s (--lock-wait); nothing was recorded, retry"
                    ))
                entries = try make(checked.head)
            }
        }
    }

    /// Submits `entries`; when the answer is lost (the server unreachable, maybe after the request
    /// went out), sends the same signed entries again after growing pauses: the server finds
    /// entries it recorded by their hash, so nothing is recorded twice. When no answer comes at
    /// all, the entries may have been recorded: `AnswerLost` says so, and how to find out.
    private func submitUntilAnswered(
        _ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool, known: Int64
    ) async throws -> LedgerClient.Submitted {
        var pause = Self.answerPauseMilliseconds
        for attempt in 0...Self.answerRetries {
            if attempt > 0 {
                try await Task.sleep(for: .milliseconds(pause))
                pause *= 2
            }
            do {
                return try await client.submit(entries, checks: checks, allowDuplicateFile: allowDuplicateFile, known: known)
            } catch ClientError.unreachable(let why) {
                guard attempt == Self.answerRetries else { continue }
                throw AnswerLost(entries: entries, server: client.base, why: why)
            }
        }
        preconditionFailure("RemoteAppend.submitUntilAnswered: the last attempt returns or throws")
    }

    /// A server that may answer a moment later: busy (503, 429), or not reachable (restarting).
    static func isTransient(_ error: any GigaLedgerError) -> Bool {
        if error.isRetryable { return true }
        if case ClientError.unreachable? = error as? ClientError { return true }
        return false
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(value)
    }

    /// Random pauses within a total wait: short ones after conflicts, longer ones that double
    /// while the server is busy.
    struct Backoff {
        let deadline: ContinuousClock.Instant
        let waitSeconds: Double
        var busyCeiling = RemoteAppend.busyPauseMillisecondsFirst

        init(waitSeconds: Double) {
            self.waitSeconds = waitSeconds
            deadline = .now + .milliseconds(Int64(waitSeconds * 1000))
        }

        func pauseAfterConflict(or error: any GigaLedgerError) async throws {
            try await pause(upTo: RemoteAppend.conflictPauseMilliseconds, or: error)
        }

        mutating func pauseWhileBusy(or error: any GigaLedgerError) async throws {
            try await pause(upTo: busyCeiling, or: error)
            busyCeiling = min(busyCeiling * 2, RemoteAppend.busyPauseMillisecondsMax)
        }

        /// Sleeps a random part of `ceiling` ms (no later than the deadline); throws `error`, or
        /// "busy, retry" naming it, when the wait is over.
        private func pause(upTo ceiling: Int64, or error: any GigaLedgerError) async throws {
            let left = deadline - .now
            guard left > .zero else {
                if error is ServerBusy { throw error }
                throw ServerBusy(
                    message:
                        "still after \(RemoteAppend.seconds(waitSeconds)) s (--lock-wait): \(error)"
                )
            }
            try await Task.sleep(for: min(.microseconds(Int64.random(in: 0...(ceiling * 1000))), left))
        }
    }
}

/// Other offices kept appending first, or the server stayed busy: nothing was recorded; the same
/// command may succeed later.
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
        return
            "sent \(which) to the server and got no answer (\(why)): it may have been recorded; `gigaledger show \(Encoding.hex(last.hash)) --server \(server)` tells, before the same facts are recorded again"
    }
    public var kind: FailureKind { .unusable }
}
