import Foundation
import GigaLedgerCore
import Synchronization

/// Whose turn it is to sign after the head (schema/FORMAT.md section 17, "Turns"). Offices that
/// race for the same head all sign, one wins and the others are answered 409 and sign again: under
/// contention most of the work is wasted and an unlucky office can lose for seconds. A turn makes
/// them queue instead: first come, first served, one holder at a time. The holder signs after the
/// head its turn's answer carries and submits with the turn's token; the turn passes on when that
/// submission is answered, or when the holder lets `turnMilliseconds` pass. A 409 keeps it (another
/// writer without a turn got in first) when the entry is one its signer signed, at most
/// `renewalsMax` times: anyone can send a stale entry, only the signer a signed one.
///
/// A turn is a courtesy, not a lock: a submission without one is admitted as before (the head
/// alone decides), so a client that holds a turn and vanishes delays the other turn-takers by at
/// most `turnMilliseconds`, and nobody else.
final class Turns: Sendable {
    /// How long a holder has to sign and submit before the turn passes on.
    let turnMilliseconds: Int64
    /// How long an office waits in the queue before it is answered 503 (busy; retry).
    let waitMilliseconds: Int64
    /// The most offices waiting at once; more are answered 503 at once.
    let waitersMax: Int

    private struct Waiter {
        let id: UInt64
        let address: String?
        let continuation: CheckedContinuation<String?, Never>
        /// When it is answered nil if still waiting.
        let deadline: ContinuousClock.Instant
    }
    /// How often the turn's and the waiters' times are looked at: one task for every turn, not
    /// a timer per turn and per waiter (hundreds a second under load, each a wake-up). A turn
    /// passes on, and a waiter gives up, at most this much after its time.
    static let tickMilliseconds: Int64 = 20
    /// An address whose turns lapsed unused this many times within `lapseWindowSeconds` gets no
    /// turn until they age out (its offices submit without one): turns taken and never used would
    /// otherwise hold every office behind them a second each. An office's crash costs one lapse.
    static let lapsesMax = 5
    static let lapseWindowSeconds: Int64 = 60
    /// Turns lapsed unused within `lapseWindowSeconds` from this many different addresses, and no
    /// office gets a turn until they age out: offices then submit without one (a race, each signing
    /// again after a 409), slower but never held up a turn's length per turn taken and not used
    /// from many addresses (which the limit per address cannot see). One address's lapses (offices
    /// behind one gateway, a crashed command) count once here; its own limit is `lapsesMax`.
    static let lapsingAddressesMax = 3
    /// The most addresses whose lapses are remembered; more, and the oldest memory goes.
    static let lapseAddressesMax = 10_000
    /// How many times one turn is kept after a 409: a holder that keeps losing to writers without
    /// a turn lets the next office try.
    static let renewalsMax = 5

    private struct State {
        var holder: (token: String, generation: UInt64)?
        /// When the holder's time is up.
        var holderDeadline = ContinuousClock.Instant.now
        var holderAddress: String?
        /// When turns given to each address lapsed unused, within the window; and to which addresses.
        var lapses = [String: [ContinuousClock.Instant]]()
        var allLapses = [(address: String?, at: ContinuousClock.Instant)]()

        /// No turns for anyone: turns given to too many addresses lapsed unused of late.
        mutating func isSuspended(now: ContinuousClock.Instant) -> Bool {
            allLapses.removeAll { now - $0.at > .seconds(Turns.lapseWindowSeconds) }
            return Set(allLapses.map { $0.address ?? "" }).count >= Turns.lapsingAddressesMax
        }

        /// No turn for `address`: turns are suspended, or its own lapsed too often.
        mutating func isBarred(_ address: String?, now: ContinuousClock.Instant) -> Bool {
            if isSuspended(now: now) { return true }
            guard let address, var times = lapses[address] else { return false }
            times.removeAll { now - $0 > .seconds(Turns.lapseWindowSeconds) }
            lapses[address] = times.isEmpty ? nil : times
            return times.count >= Turns.lapsesMax
        }

        mutating func lapsed(_ address: String?, now: ContinuousClock.Instant) {
            allLapses.append((address, now))
            guard let address else { return }
            if lapses[address] == nil && lapses.count >= Turns.lapseAddressesMax { lapses.removeAll() }
            lapses[address, default: []].append(now)
        }
        var renewals = 0
        var waiters = [Waiter]()
        var nextID: UInt64 = 0
        var generation: UInt64 = 0
    }
    private let state = Mutex(State())

    init(turnMilliseconds: Int64, waitMilliseconds: Int64, waitersMax: Int) {
        self.turnMilliseconds = turnMilliseconds
        self.waitMilliseconds = waitMilliseconds
        self.waitersMax = waitersMax
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: .milliseconds(Self.tickMilliseconds))
                guard let self else { return }
                self.expire(now: .now)
            }
        }
    }

    /// Answers nil to the waiters whose time is up, and passes on a turn whose time is up.
    private func expire(now: ContinuousClock.Instant) {
        let (late, lapsed) = state.withLock { state -> ([Waiter], (token: String, generation: UInt64)?) in
            let late = state.waiters.filter { $0.deadline <= now }
            if !late.isEmpty { state.waiters.removeAll { $0.deadline <= now } }
            return (late, state.holder != nil && state.holderDeadline <= now ? state.holder : nil)
        }
        for waiter in late { waiter.continuation.resume(returning: nil) }
        if let lapsed {
            pass(lapsed: true) { $0?.token == lapsed.token && $0?.generation == lapsed.generation }
        }
    }

    /// Waits for the turn; returns its token, or nil when the wait was too long, the queue full or
    /// the client gone (`gone`: a waiter leaves the queue when its connection's client goes away,
    /// and a turn given to a client already gone passes on at once).
    func take(gone: GoneSignal?, address: String?) async -> String? {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        // Watching before queueing: a client gone before it is queued is never queued (below).
        let watching = gone?.onFire { [weak self] in self?.giveUp(id) }
        defer { gone?.withdraw(watching) }
        let taken = await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let (token, queued) = state.withLock { state -> (String?, Bool) in
                if state.isBarred(address, now: .now) || gone?.isFired == true { return (nil, false) }
                if state.holder == nil { return (grant(&state, to: address), false) }
                guard state.waiters.count < waitersMax else { return (nil, false) }
                state.waiters.append(Waiter(id: id, address: address, continuation: continuation,
                                            deadline: .now + .milliseconds(waitMilliseconds)))
                return (nil, true)
            }
            if !queued { continuation.resume(returning: token) }
        }
        guard let token = taken else { return nil }
        if gone?.isFired == true {
            release(token)
            return nil
        }
        return token
    }

    /// Whether `address` gets no turn now, its turns having lapsed unused too often.
    func isBarred(_ address: String?) -> Bool {
        state.withLock { $0.isBarred(address, now: .now) }
    }

    /// Whether nobody gets a turn now, too many having lapsed unused of late.
    func isSuspended() -> Bool {
        state.withLock { $0.isSuspended(now: .now) }
    }

    /// A waiter whose client has gone is answered nil.
    private func giveUp(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: nil)
    }

    /// The turn of `token` is over (its submission was answered): the next waiter's.
    func release(_ token: String) {
        pass { $0?.token == token }
    }

    /// The holder met a conflict (a writer without a turn got in first): it keeps the turn, with
    /// its time counted again, to sign after the new head. False when `token` no longer holds it.
    func renew(_ token: String) -> Bool {
        state.withLock { state in
            guard state.holder?.token == token, state.renewals < Self.renewalsMax else { return false }
            state.renewals += 1
            state.generation += 1
            state.holder = (token, state.generation)
            state.holderDeadline = .now + .milliseconds(turnMilliseconds)
            return true
        }
    }

    /// Passes the turn on when the holder is the one `current` names (`lapsed`: its time ran
    /// out unused, counted against its address). Waiters of a barred address are answered nil.
    private func pass(lapsed: Bool = false, when current: ((token: String, generation: UInt64)?) -> Bool) {
        let (next, barred) = state.withLock { state -> ((Waiter, String)?, [Waiter]) in
            guard state.holder != nil, current(state.holder) else { return (nil, []) }
            let now = ContinuousClock.now
            if lapsed { state.lapsed(state.holderAddress, now: now) }
            state.holder = nil
            state.holderAddress = nil
            var barred = [Waiter]()
            while !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                if state.isBarred(waiter.address, now: now) { barred.append(waiter); continue }
                return ((waiter, grant(&state, to: waiter.address)), barred)
            }
            return (nil, barred)
        }
        for waiter in barred { waiter.continuation.resume(returning: nil) }
        if let (waiter, token) = next { waiter.continuation.resume(returning: token) }
    }

    /// Makes a new holder and starts its clock.
    private func grant(_ state: inout State, to address: String?) -> String {
        state.generation += 1
        state.renewals = 0
        let token = Encoding.hex((0..<16).map { _ in UInt8.random(in: 0...255) })
        state.holder = (token, state.generation)
        state.holderAddress = address
        // After `turnMilliseconds` the turn passes on, whatever the holder did, unless renewed.
        state.holderDeadline = .now + .milliseconds(turnMilliseconds)
        return token
    }
}
