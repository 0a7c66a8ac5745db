import Foundation
import GigaLedgerCore
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// What `gigaledger serve` reads again on SIGHUP, without a restart and without dropping a
/// connection: the log key (a rotation: the new key enrolled, its file put in place), the
/// witnesses' public keys, and the TLS certificate chain and key (a renewal). All or nothing: each
/// part is read and checked as at start before any replaces the running one; when one fails,
/// nothing changes and the server goes on as it was (the caller logs why).
public final class ServerReloader: Sendable {
    private struct Parts {
        var service: LedgerService?
        var witnessing: Witnessing?
        var tls: TLSContextHolder?
        var ledgerPath = ""
    }
    private let parts = Mutex(Parts())

    public init() {}

    func attach(service: LedgerService, witnessing: Witnessing?, tls: TLSContextHolder?, ledgerPath: String) {
        parts.withLock { $0 = Parts(service: service, witnessing: witnessing, tls: tls, ledgerPath: ledgerPath) }
    }

    /// Replaces the log key, the witnesses and the certificate with those given (read again by the
    /// caller from the same files), each checked first; returns what now runs, for the log.
    public func reload(logKey: SigningKey, witnesses: [WitnessEndpoint]) async throws -> String {
        let parts = parts.withLock { $0 }
        guard let service = parts.service else { throw Refusal("the server is not running yet: nothing was reloaded") }
        guard witnesses.count == (parts.witnessing?.witnesses.count ?? 0) else {
            throw Refusal("the witnesses given differ in number from those at start: restart the server to add or remove one; nothing was reloaded")
        }
        let keys = try await service.run { try $0.keys() }
        try LedgerService.checkWitnesses(witnesses, keys: keys)
        try LedgerService.checkLogKey(logKey, keys: keys, path: parts.ledgerPath, running: true)
        let context = try parts.tls.map { try TLSContextHolder.context(certificate: $0.certificate, privateKey: $0.privateKey) }
        // Everything read and checked: now replaced together.
        service.replaceLogKey(logKey)
        parts.witnessing?.reload(witnesses)
        if let context { parts.tls?.replace(context) }
        return "log key \(logKey.id), \(witnesses.count) witness\(witnesses.count == 1 ? "" : "es")" + (context == nil ? "" : ", TLS certificate")
    }
}

/// The TLS context new connections use; replaced on SIGHUP (connections open keep theirs).
final class TLSContextHolder: Sendable {
    let certificate: String
    let privateKey: String
    private let current: Mutex<NIOSSLContext>

    init(certificate: String, privateKey: String) throws {
        self.certificate = certificate
        self.privateKey = privateKey
        current = Mutex(try Self.context(certificate: certificate, privateKey: privateKey))
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    func replace(_ context: NIOSSLContext) { current.withLock { $0 = context } }

    /// The server context of the PEM certificate chain and key files.
    static func context(certificate: String, privateKey: String) throws -> NIOSSLContext {
        let certificates: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
            return try NIOSSLContext(
                configuration: TLSConfiguration.makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key)))
        } catch {
            throw ServerStartFailure(message: "cannot read the TLS certificate \(certificate) or its key \(privateKey): \(error)")
        }
    }
}

/// HummingbirdTLS's `TLSChannel`, with the context taken from a holder at each new connection.
struct ReloadableTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value
    let baseChannel: BaseChannel
    let holder: TLSContextHolder

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = holder.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            self.baseChannel.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: BaseChannel.Value, logger: Logger) async {
        await baseChannel.handle(value: value, logger: logger)
    }
}

extension ReloadableTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { baseChannel.responder }
}
