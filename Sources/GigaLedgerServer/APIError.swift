import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import NIOCore

/// The one place where an error becomes an HTTP answer (schema/FORMAT.md section 17): its status
/// from its kind (refused input 4xx; a ledger that cannot be used 503 when a retry may succeed, else
/// 500; one that does not verify 500), and one JSON error with the CLI's one-line message,
/// `{"error":{"exit_code":N,"kind":"...","message":"..."}}`; a refused batch names its entries.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let kind: FailureKind
    let message: String
    /// For a batch: the first refused entry's index, and every refused entry with its message.
    var entryIndex: Int?
    var refused: [(index: Int, message: String)] = []

    init(_ status: HTTPResponse.Status, _ kind: FailureKind, _ message: String) {
        self.status = status
        self.kind = kind
        self.message = message
    }

    /// The answer to `error`, whatever threw it.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let refusal as HTTPRefusal:
            self.init(refusal.status, refusal.kind, refusal.message)
        case let many as SubmissionRefusals:
            self.init(APIError(many.refusals.first?.underlying ?? Refusal(many.description)).status, many.kind, many.description)
            entryIndex = many.refusals.first?.index
            refused = many.refusals.map { ($0.index, $0.underlying.description) }
        case let refusal as SubmissionRefusal:
            self.init(APIError(refusal.underlying).status, refusal.kind, refusal.description)
            entryIndex = refusal.index
        case let error as InputError:
            self.init(.badRequest, error.kind, error.description)
        case let error as any GigaLedgerError:
            self.init(Self.status(of: error), error.kind, error.publicDescription)
        case let error as HTTPError:
            self.init(error.status, error.status.code < 500 ? .refused : .unusable, error.body ?? error.status.reasonPhrase)
        case is NIOTooManyBytesError:
            self.init(.contentTooLarge, .refused, "the request body is too large")
        default:
            self.init(.internalServerError, .unusable, "the server could not answer: \(error)")
        }
    }

    /// The status of one of GigaLedger's errors, by its kind.
    static func status(of error: any GigaLedgerError) -> HTTPResponse.Status {
        switch error.kind {
        case .refused: return .unprocessableContent
        case .unusable: return error.isRetryable ? .serviceUnavailable : .internalServerError
        case .notVerified: return .internalServerError
        }
    }

    /// The JSON error object's members.
    var members: [String: CanonicalJSON] {
        var members: [String: CanonicalJSON] = [
            "kind": .string(kind.rawValue), "exit_code": .integer(Int64(kind.exitCode)), "message": .string(message),
        ]
        if let entryIndex { members["entry_index"] = .integer(Int64(entryIndex)) }
        if !refused.isEmpty {
            members["refused"] = .array(refused.map { .object(["entry_index": .integer(Int64($0.index)), "message": .string($0.message)]) })
        }
        return members
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Answer.json(status, CanonicalJSON.object(["error": .object(members)]).encoded())
    }
}

/// A refusal with its own status: a bad path or query (400, 404), a limit reached (413, 429).
struct HTTPRefusal: GigaLedgerError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }
    /// A limit reached, or a server busy, is "busy, retry" (exit 2), not refused input.
    var kind: FailureKind { isRetryable ? .unusable : .refused }
    var isRetryable: Bool { status == .tooManyRequests || status == .serviceUnavailable }
}

/// Answers' bodies and headers.
enum Answer {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], cache: String = "no-store") -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: cache],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes + [0x0a])))
    }

    static func bytes(_ bytes: [UInt8], type: String, cache: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: cache], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Immutable resources (full tiles and bundles, entries) for a year; the rest briefly (C2SP tlog-tiles).
    static let immutable = "public, max-age=31536000, immutable"
    static let brief = "public, max-age=1"
}
