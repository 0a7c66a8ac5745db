import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import Prometheus
import ServiceLifecycle

/// `gigaledger serve`: the ledger over HTTP for many offices (README, "Deploying for many
/// offices"; schema/FORMAT.md section 17). It parses, calls Kit, renders and picks the status;
/// every rule is Kit's, the same code as a local append.
public enum LedgerServer {
    /// Runs until SIGTERM or SIGINT, then finishes the requests in flight. `listening` is called
    /// with the bound address ("127.0.0.1:PORT") once the server accepts connections.
    public static func run(_ configuration: ServerConfiguration, logKey: SigningKey, logger: Logger,
                           listening: @escaping @Sendable (String) -> Void) async throws {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let service = try LedgerService(path: configuration.ledgerPath, logKey: logKey, limits: configuration.limits, reports: configuration.reports)
        try await service.checkWitnesses(configuration.witnesses)
        let witnessing = configuration.witnesses.isEmpty ? nil : Witnessing(witnesses: configuration.witnesses, service: service, logger: logger)
        let routes = Routes(service: service, limits: configuration.limits, registry: registry, logger: logger)
        let router = Router(context: LedgerRequestContext.self)
        router.add(middleware: JSONErrors())
        routes.register(on: router)
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ParseErrorAnswer(), ConnectionWatcher()], idleTimeout: .seconds(configuration.limits.idleSecondsMax))
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: certificates,
                                                                            privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)))
            server = try .tls(.http1(configuration: http), tlsConfiguration: tlsConfiguration)
        } else {
            server = .http1(configuration: http)
        }
        let app = Application(
            router: router, server: server,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "gigaledger"),
            services: [CheckpointKeeper(service: service, witnessing: witnessing, logger: logger, interval: configuration.limits.checkpointIntervalMilliseconds)]
                + (witnessing.map { [$0] } ?? []),
            onServerRunning: { channel in
                let address = channel.localAddress
                listening("\(address?.ipAddress ?? configuration.host):\(address?.port ?? configuration.port)")
            },
            logger: logger)
        do { try await app.runService() } catch let error as IOError {
            throw ServerStartFailure(message: "cannot listen on \(configuration.host):\(configuration.port): \(String(cString: strerror(error.errnoCode)))"
                                     + (error.errnoCode == EADDRINUSE ? " (another server holds the port; pick another with --listen)" : ""))
        }
    }
}

/// The request context: the client's address, for the per-address rate limit.
struct LedgerRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The request's connection (a turn's waiter watches it: `ConnectionWatcher`).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

/// Signs and keeps a checkpoint of new entries with the log key, at most once per interval, until
/// the server shuts down, and asks the witnesses to cosign each (and, at the start, the latest).
struct CheckpointKeeper: Service {
    let service: LedgerService
    let witnessing: Witnessing?
    let logger: Logger
    let interval: Int64

    func run() async throws {
        if let witnessing, let latest = try? await service.run({ try $0.checkpoints(above: 0).checkpoints.last?.size }) {
            witnessing.checkpointKept(latest)
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if let size = try await service.keepCheckpointIfDue() {
                    logger.info("checkpoint kept", metadata: ["size": "\(size)"])
                    witnessing?.checkpointKept(size)
                }
            } catch {
                logger.error("checkpoint not kept: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(interval))
        }
        // One last checkpoint of what was appended before the shutdown.
        _ = try? await service.keepCheckpointIfDue()
    }
}

/// An unknown path or method, or any error Hummingbird raises itself: one JSON error like every
/// other refusal.
struct JSONErrors: RouterMiddleware {
    typealias Context = LedgerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let error as HTTPError {
            return Routes.error(error.status, .refused, "\(request.method) \(request.uri.path): \(error.body ?? error.status.reasonPhrase)")
        }
    }
}

/// The server could not start: its address cannot be bound.
public struct ServerStartFailure: GigaLedgerError {
    public let message: String
    public var description: String { message }
    public var kind: FailureKind { .unusable }
}
