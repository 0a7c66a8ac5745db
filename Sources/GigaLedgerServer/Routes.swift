import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// The HTTP API (schema/FORMAT.md section 17): C2SP tlog-tiles read path, JSON conveniences,
/// signed entries in. Each handler parses, calls the service, renders; `respond` picks the status.
struct Routes: Sendable {
    let service: LedgerService
    let limits: ServerLimits
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let addressLimiter: RateLimiter
    let keyLimiter: RateLimiter
    let turns: Turns
    private let routeMetrics = RouteMetrics()

    init(service: LedgerService, limits: ServerLimits, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.service = service
        self.limits = limits
        self.registry = registry
        self.logger = logger
        addressLimiter = RateLimiter(perMinute: limits.requestsPerMinutePerAddress)
        keyLimiter = RateLimiter(perMinute: limits.submissionsPerMinutePerKey)
        turns = Turns(turnMilliseconds: limits.turnMilliseconds, waitMilliseconds: limits.turnWaitMilliseconds, waitersMax: limits.turnWaitersMax)
    }

    func register(on router: Router<LedgerRequestContext>) {
        router.get("/") { request, context in try await respond(request, context, "page") { try await page("index.html") } }
        router.get("index.html") { request, context in try await respond(request, context, "page") { try await page("index.html") } }
        router.get("entries/**") { request, context in try await respond(request, context, "page") { try await page(String(request.uri.path.dropFirst())) } }
        router.get("receipts/**") { request, context in try await respond(request, context, "page") { try await page(String(request.uri.path.dropFirst())) } }
        router.get("reports/**") { request, context in try await respond(request, context, "page") { try await page(String(request.uri.path.dropFirst())) } }
        router.get("health") { request, context in try await respond(request, context, "health") { try await health() } }
        router.get("metrics") { request, context in try await respond(request, context, "metrics") { metrics() } }
        router.get("checkpoint") { request, context in try await respond(request, context, "checkpoint") { try await checkpoint() } }
        router.get("tile/**") { request, context in try await respond(request, context, "tile") { try await tile(request) } }
        router.get("ledger/v1/bundle/**") { request, context in try await respond(request, context, "bundle") { try await bundle(request) } }
        router.get("ledger/v1/head") { request, context in try await respond(request, context, "head") { try await head(request) } }
        router.get("ledger/v1/entries") { request, context in try await respond(request, context, "entries") { try await entries(request) } }
        router.get("ledger/v1/entries/:id") { request, context in try await respond(request, context, "entry") { try await entry(context) } }
        router.get("ledger/v1/keys/:id") { request, context in try await respond(request, context, "key") { try await keyEntry(context) } }
        router.get("ledger/v1/checkpoints") { request, context in try await respond(request, context, "checkpoints") { try await checkpoints(request) } }
        router.get("ledger/v1/proof/inclusion") { request, context in try await respond(request, context, "inclusion") { try await inclusion(request) } }
        router.get("ledger/v1/proof/consistency") { request, context in try await respond(request, context, "consistency") { try await consistency(request) } }
        router.post("ledger/v1/turn") { request, context in try await respond(request, context, "turn") { try await turn(request, context) } }
        router.post("ledger/v1/entries") { request, context in try await respond(request, context, "submit") { try await submit(request) } }
    }

    // MARK: - Answers

    /// Every answer goes through here: the per-address limit, the metrics, and one JSON error per
    /// refusal with the CLI's one-line message; the server keeps serving whatever a request holds.
    private func respond(_ request: Request, _ context: LedgerRequestContext, _ name: String,
                         _ body: () async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        if let address = context.remoteAddress?.ipAddress, !addressLimiter.allow(address) {
            response = Self.error(.tooManyRequests, FailureKind.unusable, "too many requests from \(address): at most \(limits.requestsPerMinutePerAddress) a minute; retry later")
        } else {
            do { response = try await body() } catch {
                response = Self.failure(error)
                if response.status.code >= 500 { logger.error("\(name): \(error)") }
            }
        }
        routeMetrics.count(route: name, status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    /// The status for an error, by its kind (one place): refused input 4xx, a ledger that cannot
    /// be used 503 (busy) or 500, one that does not verify 500.
    static func failure(_ error: any Error) -> Response {
        if let many = error as? SubmissionRefusals, let first = many.refusals.first {
            // Every refused entry of a batch, each with its index: the client names every row.
            let response = failure(first.underlying)
            return json(response.status, CanonicalJSON.object(["error": .object([
                "kind": .string(many.kind.rawValue), "exit_code": .integer(Int64(many.kind.exitCode)), "message": .string(many.description),
                "entry_index": .integer(Int64(first.index)),
                "refused": .array(many.refusals.map { .object(["entry_index": .integer(Int64($0.index)), "message": .string($0.underlying.description)]) }),
            ])]).encoded())
        }
        if let refusal = error as? SubmissionRefusal {
            // Which entry of a batch: the client names the file's row.
            let response = failure(refusal.underlying)
            return json(response.status, CanonicalJSON.object(["error": .object([
                "kind": .string(refusal.kind.rawValue), "exit_code": .integer(Int64(refusal.kind.exitCode)),
                "message": .string(refusal.description), "entry_index": .integer(Int64(refusal.index))])]).encoded())
        }
        switch error {
        case let error as HTTPRefusal: return Self.error(error.status, error.kind, error.message)
        case let error as InputError: return Self.error(.badRequest, error.kind, error.description)
        case let error as any GigaLedgerError:
            if error.isRetryable { return Self.error(.serviceUnavailable, error.kind, error.publicDescription) }
            return Self.error(error.kind == .refused ? .unprocessableContent : .internalServerError, error.kind, error.publicDescription)
        default: return Self.error(.internalServerError, .unusable, "the server could not answer: \(error)")
        }
    }

    static func error(_ status: HTTPResponse.Status, _ kind: FailureKind, _ message: String) -> Response {
        json(status, kind.errorJSON(message))
    }

    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], cache: String = "no-store") -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: cache],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes + [0x0a])))
    }

    static func bytes(_ bytes: [UInt8], type: String, cache: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: cache], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Read path

    /// A public page (`PublicSite`): HTML, or a receipt as text; the same bytes `publish` writes.
    private func page(_ path: String) async throws -> Response {
        guard let site = try await service.publicSite() else { throw HTTPRefusal(.notFound, "no checkpoint is kept yet: there is no public page") }
        guard let bytes = try await service.run({ try site.page(path, ledger: $0) }) else { throw HTTPRefusal(.notFound, "/\(path) is not a page of this ledger") }
        let type = path.hasSuffix(".html") ? "text/html; charset=utf-8" : path.hasSuffix(".json") ? "application/json"
            : path.hasSuffix(".csv") ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8"
        return Self.bytes(bytes, type: type, cache: "public, max-age=1")
    }

    private func health() async throws -> Response {
        let size = try await service.run { try $0.size() }
        return Self.json(.ok, CanonicalJSON.object(["status": .string("ok"), "origin": .string(service.origin), "size": .integer(size)]).encoded())
    }

    private func metrics() -> Response {
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        return Self.bytes(buffer, type: "text/plain; version=0.0.4", cache: "no-store")
    }

    /// C2SP tlog-tiles `checkpoint`: the latest checkpoint kept, with the witnesses' cosignatures.
    private func checkpoint() async throws -> Response {
        guard let note = try await service.run({ try $0.latestCheckpointCosigned() }) else {
            throw HTTPRefusal(.notFound, "no checkpoint is kept yet")
        }
        return Self.bytes(Array(note.utf8), type: "text/plain; charset=utf-8", cache: "no-store")
    }

    /// C2SP tlog-tiles `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: full tiles never
    /// change (cached for a year, immutable); partial ones only grow (cached briefly).
    private func tile(_ request: Request) async throws -> Response {
        let components = request.uri.path.split(separator: "/").dropFirst().map(String.init)
        guard let path = TilePath.parse(components) else { throw HTTPRefusal(.notFound, "\(request.uri.path) is not a tile path") }
        let size = try await service.run { try $0.size() }
        let bytes = try await service.run { ledger in
            try path.level.map { try ledger.tile(level: $0, index: path.index, width: path.width, size: size) }
                ?? ledger.entryBundle(index: path.index, width: path.width, size: size)
        }
        guard let bytes else { throw HTTPRefusal(.notFound, "tile \(path.path) is not complete in a tree of \(size) entries") }
        let cache = path.width == TilePath.width ? "public, max-age=31536000, immutable" : "public, max-age=1"
        return Self.bytes(bytes, type: "application/octet-stream", cache: cache)
    }

    /// `ledger/v1/bundle/<N>[.p/<W>]`: entries 256·N + 1 to 256·N + W in full, as JSON lines, the
    /// static form of `ledger/v1/entries` (what `publish` writes for replicas); cached as tiles are.
    private func bundle(_ request: Request) async throws -> Response {
        let components = ["entries"] + request.uri.path.split(separator: "/").dropFirst(3).map(String.init)
        guard let path = TilePath.parse(components) else { throw HTTPRefusal(.notFound, "\(request.uri.path) is not a bundle path") }
        let bytes = try await service.run { ledger in try ledger.fullEntryBundle(index: path.index, width: path.width, size: try ledger.size()) }
        guard let bytes else { throw HTTPRefusal(.notFound, "bundle \(path.path) is not complete in this ledger") }
        let cache = path.width == TilePath.width ? "public, max-age=31536000, immutable" : "public, max-age=1"
        return Self.bytes(bytes, type: "application/x-ndjson", cache: cache)
    }

    /// The head, a checkpoint that covers it, the head's inclusion proof and, from `known` (the
    /// size of the checkpoint the client kept), a consistency proof: everything a client checks
    /// before it signs after the head.
    private func head(_ request: Request) async throws -> Response {
        let known = try Query.integer(request, "known", default: 0, range: 0...Int64.max)
        return Self.json(.ok, try await headAnswer(known: known, proving: nil).encoded())
    }

    /// The head answer (FORMAT.md section 17); with `proving`, also the inclusion proof of that
    /// entry in the checkpoint (`entry_inclusion`): a submitter's proof that its entry is in.
    private func headAnswer(known: Int64, proving seq: Int64?) async throws -> CanonicalJSON {
        headAnswer(try await service.headParts(known: known, proving: seq), known: known)
    }

    private func headAnswer(_ parts: LedgerService.HeadParts, known: Int64) -> CanonicalJSON {
        func hex(_ proof: [Merkle.Hash]) -> CanonicalJSON { .array(proof.map { .string(Encoding.hex($0)) }) }
        var members: [String: CanonicalJSON] = [
            "origin": .string(service.origin), "size": .integer(parts.size), "head": EntryWire.json(parts.head), "checkpoint": .string(parts.note),
            "inclusion": hex(parts.inclusion), "consistency_from": .integer(known), "consistency": hex(parts.consistency),
            "checkpoint_keys": .array(parts.keyEntries.map(EntryWire.json)),
        ]
        if let entryInclusion = parts.entryInclusion { members["entry_inclusion"] = hex(entryInclusion) }
        return .object(members)
    }

    /// Entries `from` on, at most `count` (and the server's limit), as JSON lines: a replica's feed.
    private func entries(_ request: Request) async throws -> Response {
        let from = try Query.integer(request, "from", default: 1, range: 1...Int64.max)
        let count = try Query.integer(request, "count", default: Int64(limits.entriesPerReadMax), range: 1...Int64(limits.entriesPerReadMax))
        let entries = try await service.run { try $0.entries(from: from, limit: Int(count)) }
        return Self.bytes(EntryWire.encodeLines(entries), type: "application/x-ndjson", cache: "no-store")
    }

    /// One entry, by its sequence number or its hash.
    private func entry(_ context: LedgerRequestContext) async throws -> Response {
        let reference = try EntryReference.parse(context.parameters.get("id") ?? "", field: "entry")
        guard let entry = try await service.run({ try $0.entry(reference) }) else { throw HTTPRefusal(.notFound, "there is no entry \(reference)") }
        return Self.json(.ok, EntryWire.encode(entry), cache: "public, max-age=31536000, immutable")
    }

    /// The entry that enrolled a key (by its 16-hex-digit ID): a client checks a signer's entries with it.
    private func keyEntry(_ context: LedgerRequestContext) async throws -> Response {
        let id = try KeyID.parse(context.parameters.get("id") ?? "", field: "key")
        guard let entry = try await service.run({ try $0.enrolmentEntry(of: id) }) else { throw HTTPRefusal(.notFound, "key \(id) is not enrolled in this ledger") }
        return Self.json(.ok, EntryWire.encode(entry), cache: "public, max-age=31536000, immutable")
    }

    /// The checkpoints kept above `above`, with their cosignatures: a replica keeps them as rows.
    private func checkpoints(_ request: Request) async throws -> Response {
        let above = try Query.integer(request, "above", default: 0, range: 0...Int64.max)
        let document = try await service.run { try $0.checkpointsDocument(above: above) }
        return Self.json(.ok, document)
    }

    private func inclusion(_ request: Request) async throws -> Response {
        let seq = try Query.integer(request, "seq", default: nil, range: 1...Int64.max)
        let size = try Query.integer(request, "size", default: nil, range: 1...Int64.max)
        let proof = try await service.run { try $0.inclusionProof(seq: seq, size: size) }
        return Self.json(.ok, CanonicalJSON.object(["seq": .integer(seq), "size": .integer(size), "proof": .array(proof.map { .string(Encoding.hex($0)) })]).encoded())
    }

    private func consistency(_ request: Request) async throws -> Response {
        let from = try Query.integer(request, "from", default: nil, range: 1...Int64.max)
        let to = try Query.integer(request, "to", default: nil, range: 1...Int64.max)
        let proof = try await service.run { ledger -> [Merkle.Hash] in
            guard to <= (try ledger.size()) else { throw HTTPRefusal(.notFound, "the ledger has fewer than \(to) entries") }
            return from == to ? [] : try ledger.consistencyProof(old: from, new: to)
        }
        return Self.json(.ok, CanonicalJSON.object(["from": .integer(from), "to": .integer(to), "proof": .array(proof.map { .string(Encoding.hex($0)) })]).encoded())
    }

    // MARK: - Write path

    /// The turn to sign after the head (`Turns`): waits in the queue, then answers the token, how
    /// long it lasts and the head answer to sign after. 503 when the wait is too long.
    private func turn(_ request: Request, _ context: LedgerRequestContext) async throws -> Response {
        let known = try Query.integer(request, "known", default: 0, range: 0...Int64.max)
        let gone = ConnectionWatcher.signal(of: context.channel)
        guard let token = await turns.take(gone: gone, address: context.remoteAddress?.ipAddress) else {
            // A client that went away is answered for form's sake (nobody reads it), and not counted.
            if gone.isFired { return Self.error(.serviceUnavailable, .unusable, "the client went away before its turn") }
            Counter(label: "gigaledger_turns_refused_total").increment()
            if turns.isSuspended() {
                return Self.error(.serviceUnavailable, .unusable, "turns are suspended: turns given to \(Turns.lapsingAddressesMax) addresses lapsed unused within \(Turns.lapseWindowSeconds) s; submit without one")
            }
            if turns.isBarred(context.remoteAddress?.ipAddress) {
                return Self.error(.serviceUnavailable, .unusable, "turns given to this address lapsed unused \(Turns.lapsesMax) times within \(Turns.lapseWindowSeconds) s: it gets none until they age out; submit without one")
            }
            return Self.error(.serviceUnavailable, .unusable, "the server is busy: no turn to sign within \(limits.turnWaitMilliseconds) ms; retry later")
        }
        do {
            let proof = try await headAnswer(known: known, proving: nil)
            return Self.json(.ok, CanonicalJSON.object(["turn": .string(token), "turn_ms": .integer(limits.turnMilliseconds), "proof": proof]).encoded())
        } catch {
            turns.release(token)
            throw error
        }
    }

    /// A signed entry, or a signed batch (an import): `{"entries":[...], "allow_duplicate":false,
    /// "future":false}`. 201 recorded, 200 recorded before (a retry), 409 the head moved on. With
    /// `turn`, the submission of a turn's holder: the turn passes on once it is answered, but for
    /// a 409, which lets the holder sign again at once.
    private func submit(_ request: Request) async throws -> Response {
        let known = try Query.integer(request, "known", default: 0, range: 0...Int64.max)
        try Query.once(request, "turn")
        let turn = request.uri.queryParameters.get("turn").map { String($0) }
        do {
            let (outcome, parts, count, first, signers, signed) = try await submitted(request, known: known)
            switch outcome {
            case .recorded(let last):
                turn.map(turns.release)
                // Counted once recorded: entries that name a key without its signature count for nothing.
                for signer in signers { keyLimiter.count(signer) }
                Counter(label: "gigaledger_appends_total").increment(by: count)
                let proof = if let parts { headAnswer(parts, known: known) } else { try await headAnswer(known: known, proving: last.seq) }
                return Self.json(.created, CanonicalJSON.object(["recorded": .string("now"), "entry": EntryWire.json(last), "proof": proof]).encoded())
            case .alreadyRecorded(let last):
                turn.map(turns.release)
                return Self.json(.ok, CanonicalJSON.object(["recorded": .string("before"), "entry": EntryWire.json(last),
                                                             "proof": try await headAnswer(known: known, proving: last.seq)]).encoded())
            case .conflict(let head):
                Counter(label: "gigaledger_conflicts_total").increment()
                // The turn is kept only for an entry its signer really signed (anyone can send a stale one).
                let kept = signed ? (turn.map(turns.renew) ?? false) : false
                if !kept { turn.map(turns.release) }
                let parts = try await service.headParts(known: known, proving: nil)
                // Entries another process appended to the file are served once this server has verified them.
                let message = head.seq > parts.size
                    ? "the ledger's head is entry \(head.seq), appended by another process and not yet verified by this server (its verified head is entry \(parts.size)): sign again shortly"
                    : "the ledger's head is entry \(head.seq), not entry \(first - 1): sign again after it"
                var answer: [String: CanonicalJSON] = [
                    "error": .object(["kind": .string("conflict"), "exit_code": .integer(Int64(FailureKind.refused.exitCode)), "message": .string(message)]),
                    "head": EntryWire.json(head),
                    "proof": headAnswer(parts, known: known),
                ]
                if kept, let turn { answer["turn"] = .string(turn) }
                return Self.json(.conflict, CanonicalJSON.object(answer).encoded())
            }
        } catch {
            turn.map(turns.release)
            throw error
        }
    }

    /// A submission read, checked against the limits and handed to the ledger: the outcome, how
    /// many entries it held and the first one's seq.
    private func submitted(_ request: Request, known: Int64) async throws -> (SubmissionOutcome, LedgerService.HeadParts?, count: Int, first: Int64, signers: Set<String>, signed: Bool) {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.bodyBytesMax {
            throw HTTPRefusal(.contentTooLarge, "the request body is \(length) bytes, more than \(limits.bodyBytesMax)")
        }
        let body = try await readBody(request)
        let submission = try Submission.parse(body, bytesMax: limits.bodyBytesMax)
        let signers = Set(submission.entries.map(\.signer))
        for signer in signers where keyLimiter.isOver(signer) {
            throw HTTPRefusal(.tooManyRequests, "too many submissions signed by \(signer): at most \(limits.submissionsPerMinutePerKey) a minute; retry later")
        }
        let (outcome, parts) = try await service.submit(submission.entries, checks: submission.checks, allowDuplicateFile: submission.allowDuplicateFile, known: known)
        var signed = true
        if case .conflict = outcome {
            let first = submission.entries[0]
            signed = (try? await service.run { try $0.isSignedByEnrolledKey(first) }) ?? false
        }
        return (outcome, parts, submission.entries.count, submission.entries[0].seq, signers, signed)
    }

    /// The request body, at most `bodyBytesMax`, arriving within `bodySecondsMax`.
    private func readBody(_ request: Request) async throws -> [UInt8] {
        let limit = limits.bodyBytesMax
        let seconds = limits.bodySecondsMax
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                do { return Array(buffer: try await request.body.collect(upTo: limit)) } catch is NIOTooManyBytesError {
                    throw HTTPRefusal(.contentTooLarge, "the request body is larger than \(limit) bytes")
                } catch {
                    throw HTTPRefusal(.badRequest, "the request body did not arrive whole: \(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw HTTPRefusal(.requestTimeout, "the request body did not arrive within \(seconds) s")
            }
            return body
        }
    }
}

/// A refusal with its HTTP status: a bad path or query, a limit reached.
struct HTTPRefusal: GigaLedgerError {
    let status: HTTPResponse.Status
    let message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
    var description: String { message }
    /// A limit reached is "busy, retry" (exit 2), not refused input.
    var kind: FailureKind { status == .tooManyRequests ? .unusable : .refused }
    var isRetryable: Bool { status == .tooManyRequests }
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
            throw HTTPRefusal(.badRequest, "query parameter \(name) \(InputError.quoted(text)) is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

/// A submission's JSON: the signed entries and the plausibility checks the officer switched off,
/// `{"entries":[ENTRY, ...],"allow_duplicate":false,"future":false}` (schema/FORMAT.md section 17).
struct Submission {
    let entries: [Entry]
    let checks: EntryChecks
    let allowDuplicateFile: Bool

    static func parse(_ body: [UInt8], bytesMax: Int) throws -> Submission {
        let value: CanonicalJSON
        do { value = try CanonicalJSON.decodeRelaxed(body, bytesMax: bytesMax) } catch {
            throw HTTPRefusal(.badRequest, "the request body is not JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw HTTPRefusal(.badRequest, "the request body is not a JSON object") }
        if let extra = fields.keys.sorted().first(where: { !["entries", "allow_duplicate", "future", "allow_duplicate_file"].contains($0) }) {
            throw InputError(field: extra, value: EntryWire.shown(fields[extra]), problem: "is not a field of a submission (entries, allow_duplicate, future, allow_duplicate_file)")
        }
        guard case .array(let list)? = fields["entries"], !list.isEmpty else {
            throw InputError(field: "entries", value: EntryWire.shown(fields["entries"]), problem: "is missing, empty or not an array: submit at least one signed entry")
        }
        guard list.count <= Ledger.entriesPerRequestMax else {
            throw InputError(field: "entries", value: String(list.count), problem: "is more than \(Ledger.entriesPerRequestMax) in one submission")
        }
        var entries = [Entry]()
        entries.reserveCapacity(list.count)
        for (index, item) in list.enumerated() { entries.append(try EntryWire.decode(item, field: "entries[\(index)]")) }
        func flag(_ name: String) throws -> Bool {
            switch fields[name] {
            case nil: return false
            case .bool(let flag)?: return flag
            default: throw InputError(field: name, value: EntryWire.shown(fields[name]), problem: "is not true or false")
            }
        }
        return Submission(entries: entries, checks: EntryChecks(allowDuplicate: try flag("allow_duplicate"), allowFuture: try flag("future")),
                          allowDuplicateFile: try flag("allow_duplicate_file"))
    }
}

/// At most N requests a minute per key (an address, a signer), counted in fixed one-minute windows.
final class RateLimiter: Sendable {
    private let perMinute: Int
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

    /// Counts one use by `key` this minute.
    func count(_ key: String) {
        _ = allow(key)
    }

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

/// Each route's request counter (by status) and duration timer, made once: a metric made per
/// request is a lookup in the registry under its lock, on every answer's path.
final class RouteMetrics: Sendable {
    private struct Made {
        var counters = [String: Metrics.Counter]()
        var timers = [String: Metrics.Timer]()
    }
    private let made = Mutex(Made())

    func count(route: String, status: Int, duration: Duration) {
        let (counter, timer) = made.withLock { made -> (Metrics.Counter, Metrics.Timer) in
            let key = "\(route) \(status)"
            let counter = made.counters[key] ?? Metrics.Counter(label: "gigaledger_requests_total", dimensions: [("route", route), ("status", String(status))])
            let timer = made.timers[route] ?? Metrics.Timer(label: "gigaledger_request_duration_seconds", dimensions: [("route", route)])
            (made.counters[key], made.timers[route]) = (counter, timer)
            return (counter, timer)
        }
        counter.increment()
        timer.record(duration: duration)
    }
}
