import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import Logging
import NIOCore

/// C2SP tlog-witness over HTTP (`POST add-checkpoint`), every check the Kit's `Witness`.
/// Statuses as the spec says; a refusal's body is its one-line reason.
struct WitnessController {
    let witness: Witness
    let logger: Logger

    var routes: RouteCollection<LedgerRequestContext> {
        let routes = RouteCollection(context: LedgerRequestContext.self)
        routes.post("add-checkpoint") { request, _ in try await addCheckpoint(request) }
        return routes
    }

    func addCheckpoint(_ request: Request) async throws -> Response {
        let body: [UInt8]
        do { body = Array(buffer: try await request.body.collect(upTo: Witness.requestBytesMax)) } catch {
            return Self.text(.contentTooLarge, "the request body is larger than \(Witness.requestBytesMax) bytes\n")
        }
        switch witness.addCheckpoint(body, now: UInt64(Date().timeIntervalSince1970)) {
        case .cosigned(let lines):
            logger.info("cosigned", metadata: ["bytes": "\(body.count)"])
            return Self.text(.ok, lines)
        case .conflict(let size):
            return Response(
                status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: ResponseBody(byteBuffer: ByteBuffer(string: "\(size)\n")))
        case .refused(let status, let message):
            logger.notice("refused", metadata: ["status": "\(status)", "why": "\(message)"])
            return Self.text(HTTPResponse.Status(code: status), message + "\n")
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
