import GigaLedgerCore
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// A request that is not HTTP at all never reaches a handler: Hummingbird answers it 400 with an
/// empty body and closes the connection. This gives that answer the body every other refusal has,
/// one JSON error with a one-line message, so a client (or a person with `nc`) reads why. One per
/// connection, after the HTTP decoder: it sees the parser's error go in and Hummingbird's empty
/// 400 go out, and puts the message in.
final class ParseErrorAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The parser's error, once it has failed: the connection answers this one 400 and closes.
    private var failure: HTTPParserError?

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { failure = error }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let failure, case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest,
            head.headerFields[.contentLength] == "0"
        else { return context.write(data, promise: promise) }
        let body = FailureKind.refused.errorJSON("the request is not HTTP/1.1 (\(failure)): nothing was read") + [0x0a]
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[.contentType] = "application/json"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: promise)
    }
}
