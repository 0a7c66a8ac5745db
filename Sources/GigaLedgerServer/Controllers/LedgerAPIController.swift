import GigaLedgerCore
import GigaLedgerKit
import Hummingbird

/// The JSON conveniences under `ledger/v1` (schema/FORMAT.md section 17): the head with its proofs,
/// entries by range, sequence number, hash or key, the kept checkpoints, inclusion and consistency
/// proofs. Every answer can be checked against a checkpoint; none is to be taken on trust.
struct LedgerAPIController {
    let service: LedgerService

    var routes: RouteCollection<LedgerRequestContext> {
        let routes = RouteCollection(context: LedgerRequestContext.self)
        routes.get("head") { request, _ in try await head(request) }
        routes.get("entries") { request, _ in try await entries(request) }
        routes.get("entries/:id") { _, context in try await entry(context) }
        routes.get("keys/:id") { _, context in try await keyEntry(context) }
        routes.get("checkpoints") { request, _ in try await checkpoints(request) }
        routes.get("proof/inclusion") { request, _ in try await inclusion(request) }
        routes.get("proof/consistency") { request, _ in try await consistency(request) }
        return routes
    }

    /// The head, a checkpoint that covers it, the head's inclusion proof and, from `known` (the
    /// size of the checkpoint the client kept), a consistency proof: everything a client checks
    /// before it signs after the head.
    func head(_ request: Request) async throws -> Response {
        let known = try Query.integer(request, "known", default: 0, range: 0...Int64.max)
        return Answer.json(
            .ok, HeadAnswer.json(try await service.headParts(known: known, proving: nil), origin: service.origin, known: known).encoded())
    }

    /// Entries `from` on, at most `count` (and the server's limit), as JSON lines.
    func entries(_ request: Request) async throws -> Response {
        let perRead = Int64(service.limits.entriesPerReadMax)
        let from = try Query.integer(request, "from", default: 1, range: 1...Int64.max)
        let count = try Query.integer(request, "count", default: perRead, range: 1...perRead)
        let entries = try await service.run { try $0.entries(from: from, limit: Int(count)) }
        return Answer.bytes(EntryWire.encodeLines(entries), type: "application/x-ndjson", cache: "no-store")
    }

    /// One entry, by its sequence number or its hash.
    func entry(_ context: LedgerRequestContext) async throws -> Response {
        let reference = try EntryReference.parse(context.parameters.get("id") ?? "", field: "entry")
        guard let entry = try await service.run({ try $0.entry(reference) }) else { throw HTTPRefusal(.notFound, "there is no entry \(reference)") }
        return Answer.json(.ok, EntryWire.encode(entry), cache: Answer.immutable)
    }

    /// The entry that enrolled a key (by its 16-hex-digit ID).
    func keyEntry(_ context: LedgerRequestContext) async throws -> Response {
        let id = try KeyID.parse(context.parameters.get("id") ?? "", field: "key")
        guard let entry = try await service.run({ try $0.enrolmentEntry(of: id) }) else {
            throw HTTPRefusal(.notFound, "key \(id) is not enrolled in this ledger")
        }
        return Answer.json(.ok, EntryWire.encode(entry), cache: Answer.immutable)
    }

    /// The checkpoints kept above `above`, with their cosignatures: a replica keeps them as rows.
    func checkpoints(_ request: Request) async throws -> Response {
        let above = try Query.integer(request, "above", default: 0, range: 0...Int64.max)
        return Answer.json(.ok, try await service.run { try $0.checkpointsDocument(above: above) })
    }

    func inclusion(_ request: Request) async throws -> Response {
        let seq = try Query.integer(request, "seq", default: nil, range: 1...Int64.max)
        let size = try Query.integer(request, "size", default: nil, range: 1...Int64.max)
        let proof = try await service.run { try $0.inclusionProof(seq: seq, size: size) }
        return Answer.json(.ok, CanonicalJSON.object(["seq": .integer(seq), "size": .integer(size), "proof": HeadAnswer.hex(proof)]).encoded())
    }

    func consistency(_ request: Request) async throws -> Response {
        let from = try Query.integer(request, "from", default: nil, range: 1...Int64.max)
        let to = try Query.integer(request, "to", default: nil, range: 1...Int64.max)
        let proof = try await service.run { ledger -> [Merkle.Hash] in
            guard to <= (try ledger.size()) else { throw HTTPRefusal(.notFound, "the ledger has fewer than \(to) entries") }
            return from == to ? [] : try ledger.consistencyProof(old: from, new: to)
        }
        return Answer.json(.ok, CanonicalJSON.object(["from": .integer(from), "to": .integer(to), "proof": HeadAnswer.hex(proof)]).encoded())
    }
}

/// A head answer (FORMAT.md section 17), as `head` and every submission's answer carry it.
enum HeadAnswer {
    static func json(_ parts: LedgerService.HeadParts, origin: String, known: Int64) -> CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "origin": .string(origin), "size": .integer(parts.size), "head": EntryWire.json(parts.head), "checkpoint": .string(parts.note),
            "inclusion": hex(parts.inclusion), "consistency_from": .integer(known), "consistency": hex(parts.consistency),
            "checkpoint_keys": .array(parts.keyEntries.map(EntryWire.json)),
        ]
        if let entryInclusion = parts.entryInclusion { members["entry_inclusion"] = hex(entryInclusion) }
        return .object(members)
    }

    static func hex(_ proof: [Merkle.Hash]) -> CanonicalJSON {
        .array(proof.map { .string(Encoding.hex($0)) })
    }
}
