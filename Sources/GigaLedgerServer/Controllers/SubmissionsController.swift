import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Hummingbird
import NIOCore
import Synchronization

/// What offices, authorities and auditors send under `ledger/v1` (schema/FORMAT.md section 17):
/// entries they signed, checkpoints an authority signed over a verified copy, auditors'
/// cosignatures. Each is checked by the library as a local command checks it, and kept all or none.
struct SubmissionsController {
    let service: LedgerService
    let metrics: ServerMetrics
    let keyLimiter: RateLimiter
    /// Large submissions (a signed import) being read and checked: one at a time, so that a flood
    /// of large bodies, which anyone can send, keeps no more than one core from the offices' small ones.
    let largeSubmissions = OneAtATime()
    /// The size from which a submission's body counts as large: about 100 entries.
    static let largeBodyBytesMin = 64 * 1024

    init(service: LedgerService, metrics: ServerMetrics) {
        self.service = service
        self.metrics = metrics
        keyLimiter = RateLimiter(perMinute: service.limits.submissionsPerMinutePerKey)
    }

    var routes: RouteCollection<LedgerRequestContext> {
        let routes = RouteCollection(context: LedgerRequestContext.self)
        routes.post("entries") { request, _ in try await submit(request) }
        routes.post("checkpoints") { request, _ in try await keepCheckpoint(request) }
        routes.post("cosignatures") { request, _ in try await keepCosignature(request) }
        // Turns were removed (an office submits, and signs again after a 409); clients of the
        // release before ask for one first and read 503 as "submit without one".
        routes.post("turn") { _, _ -> Response in
            throw APIError(.serviceUnavailable, .unusable, "this server gives no turns: submit without one, and sign again after a 409")
        }
        return routes
    }

    /// A signed entry, or a signed batch (an import): 201 recorded, 200 recorded before (a retry
    /// whose answer was lost), 409 the head moved on (sign again after the head it carries).
    func submit(_ request: Request) async throws -> Response {
        let known = try Query.integer(request, "known", default: 0, range: 0...Int64.max)
        try Query.once(request, "turn")  // sent by clients of the release before; nothing to do
        let large = (request.headers[.contentLength].flatMap { Int($0) } ?? Int.max) >= Self.largeBodyBytesMin
        if large, !largeSubmissions.enter() {
            throw HTTPRefusal(.serviceUnavailable, "the server is checking another large submission: retry in a moment")
        }
        defer { if large { largeSubmissions.leave() } }
        let submission = try Submission.parse(try await body(of: request), bytesMax: service.limits.bodyBytesMax)
        let signers = Set(submission.entries.map(\.signer))
        for signer in signers where keyLimiter.isOver(signer) {
            throw HTTPRefusal(.tooManyRequests, "too many submissions signed by \(signer): at most \(keyLimiter.perMinute) a minute; retry later")
        }
        let (outcome, parts) = try await service.submit(
            submission.entries, checks: submission.checks,
            allowDuplicateFile: submission.allowDuplicateFile, known: known)
        switch outcome {
        case .recorded(let last):
            // Counted once recorded: entries that name a key without its signature count for nothing.
            for signer in signers { keyLimiter.allow(signer) }
            metrics.appends.increment(by: Int64(submission.entries.count))
            let proof = try await proved(parts, known: known, first: submission.entries[0].seq, last: last.seq)
            return answer(.created, ["recorded": .string("now"), "entry": EntryWire.json(last)], proof: proof, known: known)
        case .alreadyRecorded(let last):
            let proof = try await proved(nil, known: known, first: submission.entries[0].seq, last: last.seq)
            return answer(.ok, ["recorded": .string("before"), "entry": EntryWire.json(last)], proof: proof, known: known)
        case .conflict(let head):
            metrics.conflicts.increment()
            let message = "the ledger's head is entry \(head.seq), not entry \(submission.entries[0].seq - 1): sign again after it"
            // "Busy, retry" (exit 2) for a client that gives up signing again.
            let error = APIError(.conflict, .unusable, message)
            return answer(
                .conflict, ["error": .object(error.members), "head": EntryWire.json(head)],
                proof: try await service.headParts(known: known, proving: nil), known: known)
        }
    }

    /// The proof of entries just recorded (or recorded before): `parts`, else made now. When it
    /// cannot be made (the log key's token fails), the entries are in the ledger all the same, and
    /// the refusal says so: a submitter told "nothing was written" would send them again.
    private func proved(_ parts: LedgerService.HeadParts?, known: Int64, first: Int64, last: Int64) async throws -> LedgerService.HeadParts {
        if let parts { return parts }
        do {
            return try await service.headParts(known: known, proving: last)
        } catch {
            throw RecordedWithoutProof(first: first, last: last, why: "\(error)")
        }
    }

    private func answer(_ status: HTTPResponse.Status, _ members: [String: CanonicalJSON], proof: LedgerService.HeadParts, known: Int64) -> Response {
        var members = members
        members["proof"] = HeadAnswer.json(proof, origin: service.origin, known: known)
        return Answer.json(status, CanonicalJSON.object(members).encoded())
    }

    /// A checkpoint an authority signed over its verified copy (`checkpoint --server`), as the
    /// signed note's text: kept when it holds against this ledger (201 `{"kept":"now"}`), or the
    /// one as recent kept before stands (200 `{"kept":"before"}`); the note kept is in `checkpoint`.
    func keepCheckpoint(_ request: Request) async throws -> Response {
        let bytes = try await body(of: request, bytesMax: SignedNote.bytesMax)
        guard let note = String(validating: bytes, as: UTF8.self) else { throw HTTPRefusal(.badRequest, "the checkpoint is not UTF-8 text") }
        let kept = try await service.keepSignedCheckpoint(note)
        return Answer.json(
            kept.isNew ? .created : .ok,
            CanonicalJSON.object(["kept": .string(kept.isNew ? "now" : "before"), "checkpoint": .string(kept.note)]).encoded())
    }

    /// An auditor's cosignature of a kept checkpoint (`cosign --server`), `{"size":N,"key_id":ID,
    /// "line":LINE}` as `ledger/v1/checkpoints` lists them: 201 kept now, 200 kept before.
    func keepCosignature(_ request: Request) async throws -> Response {
        let bytes = try await body(of: request, bytesMax: SignedNote.bytesMax)
        let cosignature = try CheckpointWire.decodeCosignature(bytes)
        let isNew = try await service.keepCosignature(cosignature)
        return Answer.json(isNew ? .created : .ok, CanonicalJSON.object(["kept": .string(isNew ? "now" : "before")]).encoded())
    }

    /// The request body, at most `bytesMax` (default the server's limit), arriving within the
    /// server's body time limit.
    private func body(of request: Request, bytesMax: Int? = nil) async throws -> [UInt8] {
        let limit = bytesMax ?? service.limits.bodyBytesMax
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw HTTPRefusal(.contentTooLarge, "the request body is \(length) bytes, more than \(limit)")
        }
        let seconds = service.limits.bodySecondsMax
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

/// A submission's JSON: the signed entries and the plausibility checks the officer switched off,
/// `{"entries":[ENTRY, ...],"allow_duplicate":false,"future":false}` (schema/FORMAT.md section 17).
struct Submission {
    let entries: [Entry]
    let checks: EntryChecks
    let allowDuplicateFile: Bool

    static let fields = ["entries", "allow_duplicate", "future", "allow_duplicate_file"]

    /// The request's flags as checks: `allow_duplicate` lets through only entries that say so
    /// themselves (their signed `allow_duplicate` member), so that nothing repeats unflagged.
    static func checks(allowDuplicate: Bool, allowFuture: Bool) -> EntryChecks {
        var checks = EntryChecks(allowDuplicate: allowDuplicate, allowFuture: allowFuture)
        checks.duplicateOnlyWhereSaid = true
        return checks
    }

    /// The submission in `body`; a batch's entries are read on every core (a signed import of
    /// 10,000 entries in about half the time), each whole as before, the first refused named by its index.
    static func parse(_ body: [UInt8], bytesMax: Int) throws -> Submission {
        let fields: [String: CanonicalJSON], arrays: [String: [Range<Int>]]
        do { (fields, arrays) = try CanonicalJSON.decodeRelaxedObject(body, bytesMax: bytesMax, unread: ["entries"]) } catch {
            // JSON that is not an object is told apart from what is not JSON, as a whole read tells them.
            if (try? CanonicalJSON.decodeRelaxed(body, bytesMax: bytesMax)) != nil {
                throw HTTPRefusal(.badRequest, "the request body is not a JSON object")
            }
            throw HTTPRefusal(.badRequest, "the request body is not JSON: \(error)")
        }
        if let extra = Set(fields.keys).union(arrays.keys).sorted().first(where: { !Self.fields.contains($0) }) {
            throw InputError(
                field: extra, value: EntryWire.shown(fields[extra]),
                problem: "is not a field of a submission (\(Self.fields.joined(separator: ", ")))")
        }
        guard let list = arrays["entries"], !list.isEmpty else {
            throw InputError(
                field: "entries", value: arrays["entries"] == nil ? EntryWire.shown(fields["entries"]) : "[]",
                problem: "is missing, empty or not an array: submit at least one signed entry")
        }
        guard list.count <= Ledger.entriesPerRequestMax else {
            throw InputError(field: "entries", value: String(list.count), problem: "is more than \(Ledger.entriesPerRequestMax) in one submission")
        }
        // Each element read as the whole body's reading read it (within the body's limit, not an
        // entry line's); a few (an office's append) on this thread.
        let read = { @Sendable (item: (offset: Int, element: Range<Int>)) -> Result<Entry, InputError> in
            Result { () throws(InputError) -> Entry in
                try EntryWire.decode(json: body[item.element], field: "entries[\(item.offset)]", bytesMax: bytesMax)
            }
        }
        let numbered = Array(list.enumerated())
        let entries = try (list.count < Ledger.parallelAdmissionMin ? numbered.map(read) : Parallel.map(numbered, read)).map { try $0.get() }
        func flag(_ name: String) throws -> Bool {
            switch fields[name] {
            case nil: return false
            case .bool(let flag)?: return flag
            default: throw InputError(field: name, value: EntryWire.shown(fields[name]), problem: "is not true or false")
            }
        }
        return Submission(
            entries: entries, checks: Self.checks(allowDuplicate: try flag("allow_duplicate"), allowFuture: try flag("future")),
            allowDuplicateFile: try flag("allow_duplicate_file"))
    }
}

/// A gate that lets one holder through at a time, never waiting: `enter` says whether it got in.
final class OneAtATime: Sendable {
    private let held = Mutex(false)

    func enter() -> Bool {
        held.withLock { held in
            guard !held else { return false }
            held = true
            return true
        }
    }

    func leave() { held.withLock { $0 = false } }
}

/// Entries recorded whose answer could not be signed (the log key's token failed): said as such,
/// never as a refusal, and not to be sent again.
struct RecordedWithoutProof: GigaLedgerError {
    let first: Int64
    let last: Int64
    let why: String
    var description: String {
        "\(first == last ? "entry \(last) was" : "entries \(first) to \(last) were") recorded, but this server cannot sign a checkpoint of them now (\(why)): they are in the ledger, do not send them again; once its operator has restored the log key, `gigaledger status --server` proves them"
    }
    var kind: FailureKind { .unusable }
}
