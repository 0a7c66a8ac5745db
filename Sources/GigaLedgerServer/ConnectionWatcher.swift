import NIOCore
import NIOHTTP1
import Synchronization

/// Tells when a connection's client has gone (its end closed: the server allows half-closed
/// connections, so that arrives as `inputClosed`; or the connection closed). A turn waiter whose
/// client has gone gives up its place at once (`Turns`), instead of holding every office behind
/// it for a turn nobody will use. One per connection, after the HTTP decoder; found by its
/// connection in a table, not in the pipeline (a hop to the connection's event loop and back on
/// every turn request).
final class ConnectionWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let gone = GoneSignal()

    /// The signals of the connections open now, by connection.
    private static let open = Mutex<[ObjectIdentifier: GoneSignal]>([:])

    func handlerAdded(context: ChannelHandlerContext) {
        let (key, gone) = (ObjectIdentifier(context.channel), gone)
        Self.open.withLock { $0[key] = gone }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        _ = Self.open.withLock { $0.removeValue(forKey: key) }
    }

    /// Bytes that are not HTTP: the connection is answered 400 and closed (`ParseErrorAnswer`),
    /// so a turn it asked for would never be used.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { gone.fire() }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { gone.fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone.fire()  // its entry in the table, fired now, goes when the closed channel's handlers are removed
        context.fireChannelInactive()
    }

    /// The signal of `channel`'s watcher; a fired one when the connection is no longer open
    /// (every connection of the server has a watcher from its start).
    static func signal(of channel: any Channel) -> GoneSignal {
        let key = ObjectIdentifier(channel)
        return open.withLock { $0[key] } ?? GoneSignal(fired: true)
    }
}

/// Fired once, when a client has gone; actions registered before run then, those registered after
/// at once. An action can be withdrawn (a waiter that got its turn): a connection kept alive for
/// thousands of turns holds none of theirs.
final class GoneSignal: Sendable {
    private struct State {
        var fired = false
        var nextID: UInt64 = 0
        var actions = [UInt64: @Sendable () -> Void]()
    }
    private let state: Mutex<State>

    init(fired: Bool = false) {
        state = Mutex(State(fired: fired))
    }

    var isFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.actions = [:] }
            return Array(state.actions.values)
        }
        for action in actions { action() }
    }

    /// Runs `action` when the signal fires (at once if it has); returns what withdraws it.
    @discardableResult
    func onFire(_ action: @escaping @Sendable () -> Void) -> UInt64? {
        let id = state.withLock { state -> UInt64? in
            if state.fired { return nil }
            state.nextID += 1
            state.actions[state.nextID] = action
            return state.nextID
        }
        if id == nil { action() }
        return id
    }

    func withdraw(_ id: UInt64?) {
        guard let id else { return }
        _ = state.withLock { $0.actions.removeValue(forKey: id) }
    }
}
