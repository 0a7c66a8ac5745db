import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// `gigaledger witness serve`: C2SP tlog-witness over HTTP (`POST add-checkpoint`), every check
/// the Kit's `Witness`. Statuses as the spec says; a refusal's body is its one-line reason.
public enum WitnessServer {
    public static func run(_ witness: Witness, host: String, port: Int, logger: Logger,
                           listening: @escaping @Sendable (String) -> Void) async throws {
        let router = Router(context: LedgerRequestContext.self)
        router.post("add-checkpoint") { request, _ -> Response in
            let body: [UInt8]
            do { body = Array(buffer: try await request.body.collect(upTo: Witness.requestBytesMax)) } catch {
                return text(.contentTooLarge, "the request body is larger than \(Witness.requestBytesMax) bytes\n")
            }
            switch witness.addCheckpoint(body, now: UInt64(Date().timeIntervalSince1970)) {
            case .cosigned(let lines):
                logger.info("cosigned", metadata: ["bytes": "\(body.count)"])
                return text(.ok, lines)
            case .conflict(let size):
                return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: ResponseBody(byteBuffer: ByteBuffer(string: "\(size)\n")))
            case .refused(let status, let message):
                logger.notice("refused", metadata: ["status": "\(status)", "why": "\(message)"])
                return text(HTTPResponse.Status(code: status), message + "\n")
            }
        }
        let app = Application(
            router: router, server: .http1(configuration: HTTP1Channel.Configuration(idleTimeout: .seconds(60))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "gigaledger-witness"),
            onServerRunning: { channel in
                listening("\(channel.localAddress?.ipAddress ?? host):\(channel.localAddress?.port ?? port)")
            },
            logger: logger)
        do { try await app.runService() } catch let error as IOError {
            throw ServerStartFailure(message: "cannot listen on \(host):\(port): \(String(cString: strerror(error.errnoCode)))")
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
