import GigaLedgerCore
import GigaLedgerKit
import Hummingbird

/// The C2SP tlog-tiles read path (c2sp.org/tlog-tiles; schema/FORMAT.md section 17): the latest
/// checkpoint, the tiles, the entry bundles, and the full-entry bundles replicas take in. The same
/// bytes `publish` writes for the same paths.
struct TilesController {
    let service: LedgerService

    var routes: RouteCollection<LedgerRequestContext> {
        let routes = RouteCollection(context: LedgerRequestContext.self)
        routes.get("checkpoint") { _, _ in try await checkpoint() }
        routes.get("tile/**") { request, _ in try await tile(request) }
        routes.get("ledger/v1/bundle/**") { request, _ in try await bundle(request) }
        routes.get("ledger/v1/key-entries") { _, _ in try await keys() }
        return routes
    }

    /// `checkpoint`: the latest checkpoint kept, with the witnesses' cosignatures; never cached.
    func checkpoint() async throws -> Response {
        guard let note = try await service.run({ try $0.latestCheckpointCosigned() }) else {
            throw HTTPRefusal(.notFound, "no checkpoint is kept yet")
        }
        return Answer.bytes(Array(note.utf8), type: "text/plain; charset=utf-8", cache: "no-store")
    }

    /// `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: full tiles never change (cached for
    /// a year, immutable); partial ones only grow (cached briefly).
    func tile(_ request: Request) async throws -> Response {
        let components = request.uri.path.split(separator: "/").dropFirst().map(String.init)
        guard let path = TilePath.parse(components) else { throw HTTPRefusal(.notFound, "\(request.uri.path) is not a tile path") }
        let bytes = try await service.run { ledger in
            let size = try ledger.size()
            return try path.level.map { try ledger.tile(level: $0, index: path.index, width: path.width, size: size) }
                ?? ledger.entryBundle(index: path.index, width: path.width, size: size)
        }
        guard let bytes else { throw HTTPRefusal(.notFound, "tile \(path.path) is not complete in this ledger") }
        return Answer.bytes(bytes, type: "application/octet-stream", cache: path.width == TilePath.width ? Answer.immutable : Answer.brief)
    }

    /// `ledger/v1/key-entries`: the entries that enrol and revoke keys up to the latest kept checkpoint,
    /// as JSON lines (what `publish` writes beside it).
    func keys() async throws -> Response {
        guard let bytes = try await service.run({ ledger in try ledger.keysDocument() }) else {
            throw HTTPRefusal(.notFound, "no checkpoint is kept yet")
        }
        return Answer.bytes(bytes, type: "application/x-ndjson", cache: Answer.brief)
    }

    /// `ledger/v1/bundle/<N>[.p/<W>]`: entries 256·N + 1 to 256·N + W in full, as JSON lines;
    /// cached as tiles are.
    func bundle(_ request: Request) async throws -> Response {
        let components = ["entries"] + request.uri.path.split(separator: "/").dropFirst(3).map(String.init)
        guard let path = TilePath.parse(components) else { throw HTTPRefusal(.notFound, "\(request.uri.path) is not a bundle path") }
        let bytes = try await service.run { ledger in try ledger.fullEntryBundle(index: path.index, width: path.width, size: try ledger.size()) }
        guard let bytes else { throw HTTPRefusal(.notFound, "bundle \(path.path) is not complete in this ledger") }
        return Answer.bytes(bytes, type: "application/x-ndjson", cache: path.width == TilePath.width ? Answer.immutable : Answer.brief)
    }
}
