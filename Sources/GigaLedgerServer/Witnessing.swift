import AsyncHTTPClient
import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Asks the server's witnesses (C2SP tlog-witness, `add-checkpoint`) to cosign each checkpoint the
/// log key keeps, and keeps their cosignatures in the ledger. Best effort, on its own task so that
/// a slow witness never holds up the checkpoints: a witness that is down or refuses leaves the
/// checkpoint without its cosignature (and logs why); the latest checkpoint is asked for again
/// until every witness cosigned it. The size each witness last cosigned is learnt from its 409.
final class Witnessing: Service, Sendable {
    /// How long a witness may take to connect, and to answer.
    static let connectSecondsMax: Int64 = 2
    static let answerSecondsMax: Int64 = 10
    /// How often the task looks for a checkpoint to have cosigned, and asks a failing witness again.
    static let pollMilliseconds: Int64 = 200
    static let retrySecondsMax: Int64 = 30

    /// The witnesses asked; their keys replaced on SIGHUP (`reload`).
    var witnesses: [WitnessEndpoint] { endpoints.withLock { $0 } }
    private let endpoints: Mutex<[WitnessEndpoint]>
    private let service: LedgerService
    private let logger: Logger
    private let http: HTTPClient
    /// The size each witness last cosigned, by its public key's ID, as far as this server knows.
    private let cosigned = Mutex<[String: Int64]>([:])
    /// The latest checkpoint kept, to be cosigned.
    private let wanted = Mutex<Int64>(0)

    /// The checkpoint of `size` entries was kept: have it cosigned (the task asks).
    func checkpointKept(_ size: Int64) {
        wanted.withLock { $0 = max($0, size) }
    }

    /// Until the server stops: asks every witness that has not cosigned the latest checkpoint kept;
    /// one that failed is asked again after a pause that doubles, up to `retrySecondsMax`.
    func run() async throws {
        var failedAt = [String: (ContinuousClock.Instant, Duration)]()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let size = wanted.withLock { $0 }
            for witness in witnesses where size > 0 {
                let id = witness.key.id.description
                guard cosigned.withLock({ $0[id] ?? 0 }) < size else { continue }
                if let (at, pause) = failedAt[id], ContinuousClock.now - at < pause { continue }
                do {
                    if try await ask(witness, size: size) { logger.info("cosigned", metadata: ["witness": "\(witness.name)", "size": "\(size)"]) }
                    failedAt[id] = nil
                } catch {
                    let pause = min((failedAt[id]?.1 ?? .milliseconds(500)) * 2, .seconds(Self.retrySecondsMax))
                    failedAt[id] = (ContinuousClock.now, pause)
                    logger.warning(
                        "no cosignature", metadata: ["witness": "\(witness.name)", "size": "\(size)", "why": "\(error)", "retry_in": "\(pause)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Self.pollMilliseconds)) }
        }
    }

    /// `caFile`: the CA certificates trusted for `https://` witnesses instead of the system's.
    init(witnesses: [WitnessEndpoint], caFile: String? = nil, service: LedgerService, logger: Logger) throws {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(Witnessing.connectSecondsMax), read: .seconds(Witnessing.answerSecondsMax)))
        if let caFile {
            try TLSContextHolder.checkReadable(caFile, what: "witnesses' CA file (--witness-ca)")
            guard let roots = try? NIOSSLCertificate.fromPEMFile(caFile), !roots.isEmpty else {
                throw ServerStartFailure(message: "witnesses' CA file (--witness-ca) \(caFile): holds no PEM certificate")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            configuration.tlsConfiguration = tls
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        endpoints = Mutex(witnesses)
        self.service = service
        self.logger = logger
    }

    /// Asks `witnesses` from now on (SIGHUP: their key files read again); a witness whose key
    /// changed is asked from size 0 again.
    func reload(_ witnesses: [WitnessEndpoint]) {
        endpoints.withLock { $0 = witnesses }
    }

    // Not `syncShutdown`: the last reference may go on one of the client's own event loops (a
    // server stopping because its witness refused its history), where waiting traps. The client
    // keeps itself alive until its connections are closed.
    deinit { http.shutdown { _ in } }

    /// One witness: from the size it last cosigned; on a 409, once more from the size it names.
    private func ask(_ witness: WitnessEndpoint, size: Int64) async throws -> Bool {
        var old = cosigned.withLock { $0[witness.key.id.description] } ?? 0
        for _ in 0..<2 {
            let from = old
            guard from <= size, let body = try await service.run({ try $0.witnessRequest(size: size, old: from) }) else {
                throw WitnessFailure("it cosigned \(old) entries, more than this checkpoint's \(size)")
            }
            let (status, answer) = try await post(body, to: witness)
            switch status {
            case 200:
                cosigned.withLock { $0[witness.key.id.description] = size }
                let key = witness.key
                return try await service.run { try $0.keepWitnessCosignature(answer, size: size, witness: key) }
            case 409:
                guard let known = Int64(answer.trimmingCharacters(in: .newlines)), known >= 0 else { throw WitnessFailure("409 without a size") }
                if known == old {
                    await service.witnessRefused(from: old, witness: witness)
                    throw WitnessFailure("409 at size \(old): it holds another checkpoint of that size (a fork?)")
                }
                // A size beyond this checkpoint: kept by the rollback guard (beyond the ledger, the
                // server stops at its next one-writer check); asked again from 0 next time.
                guard known <= size else {
                    service.witnessSaid(known, witness: witness)
                    throw WitnessFailure("it says it cosigned \(known) entries, more than this checkpoint's \(size)")
                }
                old = known
                cosigned.withLock { $0[witness.key.id.description] = known }
            case 422 where from > 0:
                // The consistency proof from the size it holds does not verify: not its history.
                await service.witnessRefused(from: from, witness: witness)
                throw WitnessFailure("422: it refused the consistency proof from its \(from) entries: \(Self.printable(answer))")
            default:
                throw WitnessFailure("\(status): \(Self.printable(answer))")
            }
        }
        throw WitnessFailure("its size kept changing")
    }

    /// A witness's answer as a log may show it: at most 300 characters, each one that is not
    /// printable ASCII (a newline that would forge a log line) as `?`.
    static func printable(_ answer: String) -> String {
        String(String.UnicodeScalarView(answer.unicodeScalars.prefix(300).map { $0.value >= 0x20 && $0.value < 0x7f ? $0 : "?" }))
    }

    private func post(_ body: [UInt8], to witness: WitnessEndpoint) async throws -> (UInt, String) {
        var request = HTTPClientRequest(url: witness.url.hasSuffix("/") ? witness.url + "add-checkpoint" : witness.url + "/add-checkpoint")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await http.execute(request, timeout: .seconds(Self.answerSecondsMax))
            let answer = try await response.body.collect(upTo: 64 * 1024)
            return (response.status.code, String(buffer: answer))
        } catch {
            throw WitnessFailure(Self.words(error, url: witness.url))
        }
    }

    /// Why a witness could not be asked, in words an operator acts on (its log line), not the
    /// HTTP and TLS libraries' type names.
    static func words(_ error: any Error, url: String) -> String {
        let text = String(describing: error)
        let said: [(String, String)] = [
            ("failedToValidateHostname", "its TLS certificate is not issued for the host of \(url)"),
            ("WRONG_VERSION_NUMBER", "\(url) does not speak HTTPS: give the witness's http:// address"),
            (
                "CERTIFICATE_VERIFY_FAILED",
                "its TLS certificate is not trusted (one of the auditors' own CA? give that CA's certificate with --witness-ca)"
            ),
            (
                "handshakeFailed",
                "the TLS handshake with \(url) failed (its certificate not trusted? one of the auditors' own CA is given with --witness-ca)"
            ),
            ("remoteConnectionClosed", "\(url) closed the connection without an answer (if the witness speaks HTTPS, give its https:// address)"),
            ("Connection refused", "the connection to \(url) was refused (is the witness running there?)"),
            ("connectTimeout", "no connection to \(url) within \(connectSecondsMax) s"),
            ("deadlineExceeded", "no answer from \(url) within \(answerSecondsMax) s"),
            ("UnknownHost", "no such host: the name in \(url) does not resolve"),
        ]
        return said.first { text.contains($0.0) }?.1 ?? "the request to \(url) failed"
    }
}

struct WitnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
