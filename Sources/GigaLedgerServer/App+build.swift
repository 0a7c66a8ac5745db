import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// `gigaledger serve`'s application, built from its configuration and returned; running it is
/// the caller's step (Hummingbird's template: `buildApplication`, then `runService`). Opens the
/// ledger as its one writer and verifies it first (the operator runbook, "One server for many offices";
/// schema/FORMAT.md section 17). `listening` is called with the bound address ("HOST:PORT") once
/// the server accepts connections.
public func buildApplication(
    _ configuration: ServerConfiguration, logKey: any Signer, logger: Logger, reloader: ServerReloader? = nil,
    listening: @escaping @Sendable (String) -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let service = try await NIOThreadPool.singleton.runIfActive {
        try LedgerService(
            path: configuration.ledgerPath, logKey: logKey, limits: configuration.limits, reports: configuration.reports,
            listening: !configuration.checkpointsOnceListening, stateDirectory: configuration.stateDirectory)
    }
    try await service.checkWitnesses(configuration.witnesses)
    let metrics = ServerMetrics()
    let witnessing =
        configuration.witnesses.isEmpty
        ? nil : try Witnessing(witnesses: configuration.witnesses, caFile: configuration.witnessCA, service: service, logger: logger)
    let keeper = CheckpointKeeper(service: service, witnessing: witnessing, logger: logger)
    let publisher = configuration.publish.map {
        Publisher(
            service: service, ledgerPath: configuration.ledgerPath, directory: $0, reports: configuration.reports,
            partialGrace: configuration.partialGraceSeconds, logger: logger)
    }
    let scheme = configuration.tls == nil ? "http" : "https"
    let tls = try configuration.tls.map { try TLSContextHolder(certificate: $0.certificate, privateKey: $0.privateKey) }
    reloader?.attach(service: service, witnessing: witnessing, tls: tls, ledgerPath: configuration.ledgerPath)
    return Application(
        router: buildRouter(service: service, metrics: metrics, logger: logger),
        server: serverBuilder(tls: tls, idleSeconds: configuration.limits.idleSecondsMax),
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "gigaledger"),
        services: [keeper] + (witnessing.map { [$0] } ?? []) + (publisher.map { [$0] } ?? []),
        onServerRunning: { channel in
            let address = "\(channel.localAddress?.ipAddress ?? configuration.host):\(channel.localAddress?.port ?? configuration.port)"
            service.announce("\(scheme)://\(address)")
            listening(address)
        },
        logger: logger)
}

/// The routes and the middleware every route shares: metrics outermost (they count every answer),
/// then the one mapping of errors to JSON answers, then the per-address limit.
func buildRouter(service: LedgerService, metrics: ServerMetrics, logger: Logger) -> Router<LedgerRequestContext> {
    let router = Router(context: LedgerRequestContext.self)
    router.addMiddleware {
        MetricsMiddleware(metrics: metrics)
        ErrorMiddleware(logger: logger)
        RateLimitMiddleware(perMinute: service.limits.requestsPerMinutePerAddress)
    }
    router.addRoutes(TilesController(service: service).routes)
    router.addRoutes(LedgerAPIController(service: service).routes, atPath: "ledger/v1")
    router.addRoutes(SubmissionsController(service: service, metrics: metrics).routes, atPath: "ledger/v1")
    router.addRoutes(SiteController(service: service, metrics: metrics).routes)
    return router
}

/// HTTP/1.1, or HTTPS with the context the holder has when a connection opens (replaced on
/// SIGHUP); bytes that are not HTTP get a JSON error too (`ParseErrorAnswer`).
func serverBuilder(tls: TLSContextHolder?, idleSeconds: Int64) -> HTTPServerBuilder {
    let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ParseErrorAnswer()], idleTimeout: .seconds(idleSeconds))
    guard let tls else { return .http1(configuration: http) }
    return HTTPServerBuilder { responder in
        ReloadableTLSChannel(baseChannel: HTTP1Channel(responder: responder, configuration: http), holder: tls)
    }
}

/// The witness's application (`gigaledger witness serve`): C2SP tlog-witness's one route.
public func buildWitnessApplication(
    _ witness: Witness, host: String, port: Int, tls: (certificate: String, privateKey: String)? = nil,
    certificates: CertificateReloader? = nil, logger: Logger, listening: @escaping @Sendable (String) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = Router(context: LedgerRequestContext.self)
    router.addRoutes(WitnessController(witness: witness, logger: logger).routes)
    let holder = try tls.map { try TLSContextHolder(certificate: $0.certificate, privateKey: $0.privateKey) }
    certificates?.attach(holder)
    return Application(
        router: router,
        server: serverBuilder(tls: holder, idleSeconds: 60),
        configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "gigaledger-witness"),
        onServerRunning: { channel in listening("\(channel.localAddress?.ipAddress ?? host):\(channel.localAddress?.port ?? port)") },
        logger: logger)
}

/// Runs an application until SIGTERM or SIGINT, then finishes the requests in flight; an address
/// that cannot be bound is said in one line.
public func runUntilStopped(_ app: some ApplicationProtocol, host: String, port: Int) async throws {
    defer { app.logger.info("stopped") }
    do { try await app.runService() } catch let error as IOError {
        throw ServerStartFailure(
            message: "cannot listen on \(host):\(port): \(String(cString: strerror(error.errnoCode)))"
                + (error.errnoCode == EADDRINUSE ? " (another server holds the port; pick another with --listen)" : ""))
    } catch is SocketAddressError {
        throw ServerStartFailure(
            message:
                "cannot listen on \(host):\(port): \(host) is not an address of this machine (give an IP address or a name it resolves, e.g. 127.0.0.1 or 0.0.0.0)"
        )
    }
}

/// Signs and keeps a checkpoint of new entries with the log key, at most once per interval, until
/// the server shuts down, and asks the witnesses to cosign each (and, at the start, the latest).
struct CheckpointKeeper: Service {
    let service: LedgerService
    let witnessing: Witnessing?
    let logger: Logger

    func run() async throws {
        // Nothing is written before the server listens: one that cannot bind its port exits 2 with the ledger as it was.
        while !service.listening.withLock({ $0 }) {
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(10)) }
        }
        if let witnessing, let latest = service.keptSize { witnessing.checkpointKept(latest) }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Still the one writer, or the server stops: thrown out of this service, it ends the application.
            do { try await service.checkOneWriter() } catch let error as any GigaLedgerError where error.isRetryable {
                // The database out of reach (a failover under way): checked again next time.
                logger.warning("one-writer check postponed: \(error)")
            } catch {
                logger.critical("stopping: \(error)")
                throw error
            }
            do {
                if let size = try await service.keepCheckpointIfDue() {
                    logger.info("checkpoint kept", metadata: ["size": "\(size)"])
                    witnessing?.checkpointKept(size)
                }
            } catch {
                logger.error("checkpoint not kept: \(error)")
            }
            // A shutdown ends the pause at once (an interval may be an hour).
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(service.limits.checkpointIntervalMilliseconds)) }
        }
        // One last checkpoint of what was appended before the shutdown.
        _ = try? await service.keepCheckpointIfDue()
    }
}

/// The server could not start: its address cannot be bound, its certificate cannot be read.
public struct ServerStartFailure: GigaLedgerError {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .unusable }
}
