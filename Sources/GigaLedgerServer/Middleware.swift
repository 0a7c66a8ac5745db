import Foundation
import GigaLedgerCore
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// The request context: the client's address, for the per-address rate limit.
struct LedgerRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Every error a route or a limit throws, and every path or method no route takes, as one JSON
/// error (`APIError`); errors that are the server's own (5xx) are logged. The server keeps serving.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch {
            var answer = APIError(error)
            if let http = error as? HTTPError, http.status == .notFound || http.status == .methodNotAllowed {
                answer = APIError(http.status, .refused, "\(request.method) \(request.uri.path): \(http.body ?? http.status.reasonPhrase)")
            }
            // The server's own faults are logged; a busy ledger (503) is the client's to retry.
            if answer.status.code >= 500 && answer.status != .serviceUnavailable { logger.error("\(request.method) \(request.uri.path): \(error)") }
            return try answer.response(from: request, context: context)
        }
    }
}

/// At most `perMinute` requests a minute from one address (429, "busy, retry").
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let limiter: RateLimiter

    init(perMinute: Int) { limiter = RateLimiter(perMinute: perMinute) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let address = context.remoteAddress?.ipAddress, !limiter.allow(address) {
            throw HTTPRefusal(.tooManyRequests, "too many requests from \(address): at most \(limiter.perMinute) a minute; retry later")
        }
        return try await next(request, context)
    }
}

/// Requests by route and status, and their durations (Prometheus, `GET metrics`).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }
}

/// The server's metrics, in a registry of its own (two applications in one test process each
/// count their own): each route's counter by status and timer made once, appends and conflicts.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private struct Made {
        var counters = [String: Metrics.Counter]()
        var timers = [String: Metrics.Timer]()
    }
    private let made = Mutex(Made())
    let appends: Metrics.Counter
    let conflicts: Metrics.Counter

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        appends = Metrics.Counter(label: "gigaledger_appends_total", factory: factory)
        conflicts = Metrics.Counter(label: "gigaledger_conflicts_total", factory: factory)
    }

    func request(route: String, status: Int, duration: Duration) {
        let (counter, timer) = made.withLock { made -> (Metrics.Counter, Metrics.Timer) in
            let key = "\(route) \(status)"
            let counter =
                made.counters[key]
                ?? Metrics.Counter(label: "gigaledger_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory)
            let timer =
                made.timers[route] ?? Metrics.Timer(label: "gigaledger_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            (made.counters[key], made.timers[route]) = (counter, timer)
            return (counter, timer)
        }
        counter.increment()
        timer.record(duration: duration)
    }

    /// Prometheus's text format.
    func emitted() -> [UInt8] {
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        return buffer
    }
}

/// At most N requests a minute per key (an address, a signer), counted in fixed one-minute windows.
final class RateLimiter: Sendable {
    let perMinute: Int
    private let windows = Mutex<[String: (minute: Int64, count: Int)]>([:])
    /// Forget the windows when this many keys are held (a flood of addresses cannot grow it without bound).
    private static let keysMax = 100_000

    init(perMinute: Int) { self.perMinute = perMinute }

    /// Whether `key` has used up this minute (nothing counted).
    func isOver(_ key: String) -> Bool {
        let minute = Int64(Date().timeIntervalSince1970) / 60
        return windows.withLock { windows in
            guard let window = windows[key], window.minute == minute else { return false }
            return window.count >= perMinute
        }
    }

    /// Counts one use by `key` this minute; whether it is within the limit.
    @discardableResult
    func allow(_ key: String) -> Bool {
        let minute = Int64(Date().timeIntervalSince1970) / 60
        return windows.withLock { windows in
            if windows.count >= Self.keysMax { windows.removeAll(keepingCapacity: true) }
            var window = windows[key] ?? (minute, 0)
            if window.minute != minute { window = (minute, 0) }
            window.count += 1
            windows[key] = window
            return window.count <= perMinute
        }
    }
}

/// Query parameters, each given at most once, each an integer in a range.
enum Query {
    /// A parameter given twice is refused: which one counts would be a guess.
    static func once(_ request: Request, _ name: String) throws {
        let count = request.uri.queryParameters.getAll(name).count
        guard count <= 1 else { throw HTTPRefusal(.badRequest, "query parameter \(name) is given \(count) times; give it once") }
    }

    static func integer(_ request: Request, _ name: String, default value: Int64?, range: ClosedRange<Int64>) throws -> Int64 {
        try once(request, name)
        guard let text = request.uri.queryParameters.get(name) else {
            guard let value else { throw HTTPRefusal(.badRequest, "query parameter \(name) is missing") }
            return value
        }
        guard let number = Int64(text), String(number) == text, range.contains(number) else {
            throw HTTPRefusal(
                .badRequest, "query parameter \(name) \(InputError.quoted(text)) is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}
