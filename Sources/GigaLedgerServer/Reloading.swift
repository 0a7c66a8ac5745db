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
    public func reload(logKey: any Signer, witnesses: [WitnessEndpoint]) async throws -> String {
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

/// A witness's certificate and key, read again on SIGHUP (a renewal) as the server's are: both
/// read and checked before the running pair is replaced.
public final class CertificateReloader: Sendable {
    private let holder = Mutex<TLSContextHolder?>(nil)

    public init() {}

    func attach(_ tls: TLSContextHolder?) { holder.withLock { $0 = tls } }

    /// Reads the files again; false when the witness serves plain HTTP (nothing to read).
    public func reload() throws -> Bool {
        guard let tls = holder.withLock({ $0 }) else { return false }
        tls.replace(try TLSContextHolder.context(certificate: tls.certificate, privateKey: tls.privateKey))
        return true
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

    /// The most bytes a PEM certificate chain or key file is read to.
    static let tlsFileBytesMax = 1 << 20

    /// A PEM file the TLS library will read, read first here: what is wrong said in plain words
    /// (who owns a file this process may not read), not in the library's.
    static func checkReadable(_ path: String, what: String) throws {
        do { _ = try Files.readText(path: path, bytesMax: tlsFileBytesMax) } catch {
            let why: String
            switch error {
            case .unreadable(let words): why = words
            case .tooLarge: why = "larger than \(tlsFileBytesMax) bytes: not a PEM file"
            case .notUTF8: why = "not a PEM file (not text)"
            }
            throw ServerStartFailure(message: "\(what) \(path): cannot read it: \(why)")
        }
    }

    /// The server context of the PEM certificate chain and key files.
    static func context(certificate: String, privateKey: String) throws -> NIOSSLContext {
        let certificates: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        try checkReadable(certificate, what: "TLS certificate")
        try checkReadable(privateKey, what: "TLS key")
        do { certificates = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) } } catch {
            throw ServerStartFailure(message: "TLS certificate \(certificate): holds no PEM certificate")
        }
        guard !certificates.isEmpty else { throw ServerStartFailure(message: "TLS certificate \(certificate): holds no PEM certificate") }
        do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
            throw ServerStartFailure(message: "TLS key \(privateKey): holds no PEM private key (an encrypted one is not read)")
        }
        do {
            return try NIOSSLContext(
                configuration: TLSConfiguration.makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key)))
        } catch {
            throw ServerStartFailure(
                message:
                    "the TLS certificate \(certificate) and key \(privateKey) do not make a usable pair: each must be PEM, the certificate (its chain first) the key's"
            )
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
