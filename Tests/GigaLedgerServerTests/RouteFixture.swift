import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerServer

/// A fresh temporary folder per test, removed when the value is released.
final class TemporaryFolder: Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gigaledger-routes-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A ledger made through the library (an authority, a log key, an auditor, a German officer, one
/// factory) and the server's application over it, built as `serve` builds it, tested in process.
struct RouteFixture: Sendable {
    let folder = TemporaryFolder()
    let authority = SigningKey.generate()
    let log = SigningKey.generate()
    let auditor = SigningKey.generate()
    let officer = SigningKey.generate()
    static let origin = "test.example/ledger"
    var path: String { folder.file("ledger.sqlite") }

    init() throws {
        let (ledger, _) = try Ledger.create(path: folder.file("ledger.sqlite"), authority: authority, authorityName: "Authority", origin: Self.origin)
        try ledger.append(
            .factoryRegister(
                Factory(
                    id: "de-jupiter", name: "Jupiter AI Gigafactory", kind: .gigafactory, hosts: ["DE"],
                    capex: Cents(350_000_000_000))), key: authority)
        try ledger.append(.keyEnroll(KeyEnrolment(checking: log.publicKey, name: "log key", role: .log, scopes: [])), key: authority)
        try ledger.append(
            .keyEnroll(KeyEnrolment(checking: auditor.publicKey, name: "Court of Auditors", role: .auditor, scopes: [])), key: authority)
        try ledger.append(
            .keyEnroll(
                KeyEnrolment(
                    checking: officer.publicKey, name: "DE officer", role: .officer,
                    scopes: [.source(.memberState("DE")), .factory("de-jupiter")])), key: authority)
    }

    /// The server's application, as `serve` builds it.
    func app(limits: ServerLimits = Self.limits) async throws -> some ApplicationProtocol {
        var configuration = ServerConfiguration(ledgerPath: path, host: "127.0.0.1", port: 0, tls: nil, limits: limits)
        configuration.checkpointsOnceListening = false  // in process, nothing listens
        return try await buildApplication(configuration, logKey: log, logger: Logger(label: "test"))
    }

    /// Checkpoints kept every 10 ms: a test waits for one briefly.
    static var limits: ServerLimits {
        var limits = ServerLimits()
        limits.checkpointIntervalMilliseconds = 10
        return limits
    }

    /// The officer's payment of `ref`, EUR 1,000 from ms:DE, signed after `head`.
    func payment(_ ref: String, after head: Entry, recordedAt: String? = nil) throws -> Entry {
        let data = EntryData.contribution(
            try Contribution(
                factory: "de-jupiter", source: .memberState("DE"), amount: Cents(100_000),
                date: CalendarDate.parse("2026-02-15", field: "date"), category: .capex, kind: .payment, ref: ref))
        let body = EntryBody(seq: head.seq + 1, signer: officer.id, recordedAt: try recordedAt ?? Timestamp.now(), data: data)
        return try Entry.make(body: body, prevHash: head.hash, key: officer)
    }

    /// The ledger's head, read from the file.
    func head() throws -> Entry {
        try #require(try Ledger.open(path: path, forWriting: false).head())
    }

    /// A submission's body.
    static func submission(_ entries: [Entry], extra: [String: CanonicalJSON] = [:]) -> ByteBuffer {
        var members: [String: CanonicalJSON] = ["entries": .array(entries.map(EntryWire.json))]
        for (name, value) in extra { members[name] = value }
        return ByteBuffer(bytes: CanonicalJSON.object(members).encoded())
    }
}

/// An answer's body as text, and as a JSON object.
extension TestResponse {
    var text: String { String(buffer: body) }

    func object() throws -> [String: CanonicalJSON] {
        guard case .object(let fields) = try CanonicalJSON.decodeRelaxed(Array(buffer: body).dropLastNewline()) else {
            throw RouteTestFailure("not a JSON object: \(text)")
        }
        return fields
    }

    /// The error object of a JSON error answer.
    func error() throws -> [String: CanonicalJSON] {
        guard case .object(let error)? = try object()["error"] else { throw RouteTestFailure("no error object: \(text)") }
        return error
    }
}

extension Array where Element == UInt8 {
    func dropLastNewline() -> [UInt8] { last == 0x0a ? Array(dropLast()) : self }
}

struct RouteTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 10 ms, at most 500 times (5 s): a checkpoint the server keeps within
/// its interval. Never a fixed sleep.
func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<500 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return false
}
