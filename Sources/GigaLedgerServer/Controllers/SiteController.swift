import GigaLedgerCore
import GigaLedgerKit
import Hummingbird

/// The public pages (the same bytes `publish` writes), `health` and `metrics`.
struct SiteController {
    let service: LedgerService
    let metrics: ServerMetrics

    var routes: RouteCollection<LedgerRequestContext> {
        let routes = RouteCollection(context: LedgerRequestContext.self)
        routes.get("/") { _, _ in try await page("index.html") }
        routes.get("index.html") { _, _ in try await page("index.html") }
        for folder in ["entries", "reports"] {
            routes.get("\(folder)/**") { request, _ in try await page(String(request.uri.path.dropFirst())) }
        }
        routes.get("health") { _, _ in try await health() }
        routes.get("metrics") { _, _ in Answer.bytes(metrics.emitted(), type: "text/plain; version=0.0.4", cache: "no-store") }
        return routes
    }

    /// A public page (`PublicSite`): HTML, or a receipt as text.
    func page(_ path: String) async throws -> Response {
        guard let site = try await service.publicSite() else { throw HTTPRefusal(.notFound, "no checkpoint is kept yet: there is no public page") }
        guard let bytes = try await service.run({ try site.page(path, ledger: $0) }) else {
            throw HTTPRefusal(.notFound, "/\(path) is not a page of this ledger")
        }
        let type =
            path.hasSuffix(".html")
            ? "text/html; charset=utf-8"
            : path.hasSuffix(".json")
                ? "application/json"
                : path.hasSuffix(".csv") ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8"
        return Answer.bytes(bytes, type: type, cache: Answer.brief)
    }

    func health() async throws -> Response {
        let size = try await service.run { try $0.size() }
        return Answer.json(.ok, CanonicalJSON.object(["status": .string("ok"), "origin": .string(service.origin), "size": .integer(size)]).encoded())
    }
}
