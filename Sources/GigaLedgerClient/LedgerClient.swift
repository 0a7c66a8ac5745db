import AsyncHTTPClient
import Foundation
import GigaLedgerCore
import GigaLedgerKit
import NIOCore
import NIOHTTP1
import NIOSSL

/// The HTTP side of a GigaLedger server (schema/FORMAT.md section 17): requests and their answers
/// parsed, nothing checked beyond their shape. `RemoteAppend` and `Replica` check what matters.
public final class LedgerClient: Sendable {
    /// The longest answer read: a page of entries.
    public static let answerBytesMax = 64 * 1024 * 1024
    /// How long one request may take.
    public static let requestSecondsMax: Int64 = 60

    public let base: String
    private let http: HTTPClient

    /// `url` is the server's base URL, `http://` or `https://`. `caFile`, a PEM file of the
    /// certificates to trust for HTTPS instead of the system's (a ministry's own CA, a test's).
    public init(url: String, caFile: String? = nil) throws(InputError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil,
            parsed.query == nil
        else { throw InputError(field: "server", value: url, problem: "is not an http:// or https:// URL") }
        if let port = parsed.port, !(1...65535).contains(port) {
            throw InputError(field: "server", value: url, problem: "has port \(port); a port is from 1 to 65535")
        }
        // No credentials in a URL: they would be echoed in every message (the signature is the credential).
        guard parsed.user == nil, parsed.password == nil else {
            throw InputError(
                field: "server", value: "\(scheme)://...@\(parsed.host ?? "")",
                problem: "holds a user name or password; give the server's URL without them")
        }
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        var configuration = HTTPClient.Configuration()
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw InputError(field: "server-ca", value: caFile, problem: "is not a readable PEM file")
            }
            guard let roots = try? NIOSSLCertificate.fromPEMFile(caFile), !roots.isEmpty else {
                throw InputError(
                    field: "server-ca", value: caFile,
                    problem: "holds no PEM certificate (a key file?): give the file of the certificate of the CA that issued the server's")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            configuration.tlsConfiguration = tls
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    // Not `syncShutdown`: waiting traps when the last reference goes on an event loop; the client
    // keeps itself alive until its connections are closed.
    deinit { http.shutdown { _ in } }

    // MARK: - Answers

    /// A head with everything a client checks before signing after it.
    public struct Head: Sendable {
        public let origin: String
        public let size: Int64
        public let head: Entry
        public let checkpoint: String
        public let inclusion: [Merkle.Hash]
        public let consistencyFrom: Int64
        public let consistency: [Merkle.Hash]
        public let checkpointKeyEntries: [Entry]
        /// In a submission's answer: the submitted entry's inclusion proof in the checkpoint.
        public let entryInclusion: [Merkle.Hash]?
    }

    public func head(known: Int64) async throws -> Head {
        try Self.head(try Self.object(try await getJSON("ledger/v1/head?known=\(known)"), "head answer"))
    }

    /// Reads what the server sent; anything not of the protocol's shape is the server's fault
    /// (`ClientError.malformed`, exit 2), never the user's input.
    static func protocolValue<T>(_ read: () throws -> T) throws -> T {
        do { return try read() } catch let error as InputError {
            throw ClientError.malformed(error.description)
        }
    }

    static func head(_ fields: [String: CanonicalJSON]) throws -> Head {
        try protocolValue { try headUnchecked(fields) }
    }

    private static func headUnchecked(_ fields: [String: CanonicalJSON]) throws -> Head {
        Head(
            origin: try text(fields, "origin"), size: try integer(fields, "size"),
            head: try EntryWire.decode(fields["head"] ?? .object([:]), field: "head"),
            checkpoint: try text(fields, "checkpoint"), inclusion: try hashes(fields, "inclusion"),
            consistencyFrom: try integer(fields, "consistency_from"), consistency: try hashes(fields, "consistency"),
            checkpointKeyEntries: try array(fields, "checkpoint_keys").enumerated().map {
                try EntryWire.decode($0.element, field: "checkpoint_keys[\($0.offset)]")
            },
            entryInclusion: fields["entry_inclusion"] == nil ? nil : try hashes(fields, "entry_inclusion"))
    }

    /// What the server said of a submission.
    public enum Submitted: Sendable {
        /// Recorded now or before (a retry); `proof` is a head answer whose checkpoint includes it.
        case recorded(entry: Entry, now: Bool, proof: Head)
        /// The head moved on; `proof` is a head answer for the new head: sign again after it.
        case conflict(head: Entry, proof: Head)
    }

    /// Submits signed entries; `known` is the size of the checkpoint the client holds, for the
    /// consistency proof in the answer.
    public func submit(_ entries: [Entry], checks: EntryChecks, allowDuplicateFile: Bool = false, known: Int64) async throws -> Submitted {
        // A signed import's thousands of entries encoded on every core.
        let body = CanonicalJSON.encodedObject([
            "entries": CanonicalJSON.encodedArray(Parallel.map(entries, EntryWire.encode)),
            "allow_duplicate": CanonicalJSON.bool(checks.allowDuplicate).encoded(),
            "future": CanonicalJSON.bool(checks.allowFuture).encoded(), "allow_duplicate_file": CanonicalJSON.bool(allowDuplicateFile).encoded(),
        ])
        let (status, answer) = try await request("ledger/v1/entries?known=\(known)", method: .POST, body: body)
        let fields = try Self.object(try Self.json(answer), "submission answer")
        switch status {
        case 200, 201:
            return .recorded(
                entry: try Self.protocolValue { try EntryWire.decode(fields["entry"] ?? .object([:]), field: "entry") }, now: status == 201,
                proof: try Self.head(try Self.object(fields["proof"] ?? .object([:]), "proof")))
        case 409:
            return .conflict(
                head: try Self.protocolValue { try EntryWire.decode(fields["head"] ?? .object([:]), field: "head") },
                proof: try Self.head(try Self.object(fields["proof"] ?? .object([:]), "proof")))
        default:
            throw Self.serverError(status, fields)
        }
    }

    /// Submits a checkpoint an authority signed over its verified copy; returns the note the
    /// server keeps for the newest size (this one, or one as recent kept before) and whether this is new.
    public func submitCheckpoint(_ note: String) async throws -> (note: String, isNew: Bool) {
        let (status, answer) = try await request(
            "ledger/v1/checkpoints", method: .POST, body: Array(note.utf8), contentType: "text/plain; charset=utf-8")
        let fields = try Self.object(try Self.json(answer), "checkpoint answer")
        guard status == 200 || status == 201 else { throw Self.serverError(status, fields) }
        return (try Self.text(fields, "checkpoint"), status == 201)
    }

    /// Submits an auditor's cosignature of a kept checkpoint; whether it is new (false: kept before).
    public func submitCosignature(_ cosignature: ReplicatedCosignature) async throws -> Bool {
        let (status, answer) = try await request("ledger/v1/cosignatures", method: .POST, body: CheckpointWire.json(cosignature).encoded())
        let fields = try Self.object(try Self.json(answer), "cosignature answer")
        guard status == 200 || status == 201 else { throw Self.serverError(status, fields) }
        return status == 201
    }

    /// Entries `from` on, at most `count`.
    public func entries(from: Int64, count: Int) async throws -> [Entry] {
        let (status, answer) = try await request("ledger/v1/entries?from=\(from)&count=\(count)", method: .GET, body: nil)
        guard status == 200 else { throw Self.serverError(status, (try? Self.object(Self.json(answer), "")) ?? [:]) }
        return try Self.protocolValue { try EntryWire.decodeLines(answer) }
    }

    public func entry(_ seq: Int64) async throws -> Entry? {
        try await entry(.seq(seq))
    }

    /// The entry a sequence number or a hash names; nil when the server has none.
    public func entry(_ reference: EntryReference) async throws -> Entry? {
        try await optionalEntry("ledger/v1/entries/\(reference)")
    }

    /// The entry that enrolled key `id`; nil when the server's ledger has no such key.
    public func enrolmentEntry(of id: KeyID) async throws -> Entry? {
        try await optionalEntry("ledger/v1/keys/\(id)")
    }

    private func optionalEntry(_ path: String) async throws -> Entry? {
        let (status, answer) = try await request(path, method: .GET, body: nil)
        if status == 404 { return nil }
        guard status == 200 else { throw Self.serverError(status, (try? Self.object(Self.json(answer), "")) ?? [:]) }
        return try Self.protocolValue { try EntryWire.decode(json: answer) }
    }

    /// The consistency proof from the tree of `from` entries to the tree of `to`.
    public func consistencyProof(from: Int64, to: Int64) async throws -> [Merkle.Hash] {
        try Self.hashes(try Self.object(try await getJSON("ledger/v1/proof/consistency?from=\(from)&to=\(to)"), "consistency proof"), "proof")
    }

    /// The inclusion proof of entry `seq` in the tree of `size` entries.
    public func inclusionProof(seq: Int64, size: Int64) async throws -> [Merkle.Hash] {
        try Self.hashes(try Self.object(try await getJSON("ledger/v1/proof/inclusion?seq=\(seq)&size=\(size)"), "inclusion proof"), "proof")
    }

    /// The checkpoints kept above `size`, and their cosignatures, as rows: a server answers those
    /// above `size`; a publication's static file (which ignores the query) lists them all.
    public func checkpoints(above size: Int64) async throws -> (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]) {
        guard let bytes = try await file("ledger/v1/checkpoints?above=\(size)") else {
            throw ClientError.malformed("\(base) has no ledger/v1/checkpoints")
        }
        // Every row the document lists: a publication's static file ignores the query and lists them all.
        return try Self.protocolValue { try CheckpointWire.decodeDocument(bytes.last == 0x0a ? Array(bytes.dropLast()) : bytes) }
    }

    // MARK: - A published ledger (static files, FORMAT.md section 18)

    /// Whether the address serves the GigaLedger API (`health` answers) or only published files.
    public func servesAPI() async throws -> Bool {
        let (status, _) = try await request("health", method: .GET, body: nil)
        return status == 200
    }

    /// A published file's bytes; nil when there is none (404).
    public func file(_ path: String) async throws -> [UInt8]? {
        let (status, answer) = try await request(path, method: .GET, body: nil)
        if status == 404 { return nil }
        guard status == 200 else { throw ClientError.unreachable("\(base)/\(path): status \(status)") }
        return answer
    }

    /// A full-entry bundle (`ledger/v1/bundle/<N>[.p/<W>]`), served or published, read as entries.
    public func bundle(_ path: TilePath) async throws -> [Entry] {
        let relative = "ledger/v1/bundle/" + path.path.dropFirst("entries/".count)
        if let bytes = try await file(relative) { return try Self.protocolValue { try EntryWire.decodeLines(bytes) } }
        // A partial bundle a publication removed once its full one was published (C2SP tlog-tiles
        // lets a reader fall back to the full one): its first entries are the partial one's.
        let full = TilePath(level: nil, index: path.index, width: TilePath.width)
        guard path.width < TilePath.width, let bytes = try await file("ledger/v1/bundle/" + full.path.dropFirst("entries/".count)) else {
            throw ClientError.malformed("\(base) has no \(relative)")
        }
        return Array(try Self.protocolValue { try EntryWire.decodeLines(bytes) }.prefix(path.width))
    }

    // MARK: - HTTP

    private func getJSON(_ path: String) async throws -> CanonicalJSON {
        let (status, answer) = try await request(path, method: .GET, body: nil)
        let value = try Self.json(answer)
        guard status == 200 else { throw Self.serverError(status, (try? Self.object(value, "")) ?? [:]) }
        return value
    }

    /// One request and its whole answer within `requestSecondsMax` (a server that trickles its
    /// answer a byte at a time is cut off too).
    private func request(_ path: String, method: HTTPMethod, body: [UInt8]?, contentType: String = "application/json") async throws -> (UInt, [UInt8])
    {
        let seconds = Self.requestSecondsMax
        return try await withThrowingTaskGroup(of: (UInt, [UInt8])?.self) { group in
            group.addTask { try await self.requestOnce(path, method: method, body: body, contentType: contentType) }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw ClientError.unreachable("\(self.base): no whole answer within \(seconds) s")
            }
            return answer
        }
    }

    private func requestOnce(_ path: String, method: HTTPMethod, body: [UInt8]?, contentType: String) async throws -> (UInt, [UInt8]) {
        var request = HTTPClientRequest(url: "\(base)/\(path)")
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(Self.requestSecondsMax))
            let bytes = try await response.body.collect(upTo: Self.answerBytesMax)
            return (response.status.code, Array(buffer: bytes))
        } catch let error as ClientError {
            throw error
        } catch let error as NIOSSLError {
            let text = String(describing: error)
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("PACKET_LENGTH_TOO_LONG") {
                throw ClientError.misaddressed(
                    "\(base): the server at this address does not speak HTTPS: give its http:// address (http://\(base.dropFirst("https://".count)))")
            }
            let untrusted = text.contains("CERTIFICATE_VERIFY_FAILED")
            throw ClientError.misaddressed(
                "\(base): " + (untrusted ? "its TLS certificate is not trusted" : "the TLS handshake failed")
                    + "; if the server's certificate is from your own CA, give that CA's PEM file with --server-ca (or GIGALEDGER_SERVER_CA)")
        } catch is NIOTooManyBytesError {
            throw ClientError.malformed("its answer to \(path) is larger than \(Self.answerBytesMax) bytes")
        } catch {
            let text = Self.firstLine(error)
            if text.contains("Connection refused") {
                throw ClientError.unreachable("\(base): the connection was refused (is the server running at this address?)")
            }
            if text.contains("remoteConnectionClosed") && base.hasPrefix("http://") {
                // Also how an answer lost on the way looks: asked again (a submission is found by its hash).
                throw ClientError.unreachable(
                    "\(base): the server closed the connection without an answer: if it speaks HTTPS, give its https:// address (https://\(base.dropFirst("http://".count)))"
                )
            }
            if text.contains("failedToValidateHostname") {
                throw ClientError.misaddressed(
                    "\(base): its TLS certificate is not issued for \(URL(string: base)?.host ?? "this name"): use the name the certificate was issued for"
                )
            }
            if text.contains("UnknownHost") || text.contains("Name or service not known") {
                throw ClientError.misaddressed("\(base): no such host: \(URL(string: base)?.host ?? base) is not a name this machine can resolve")
            }
            if text.contains("OPENSSL_internal") || text.contains("unknownError") {
                throw ClientError.misaddressed(
                    "\(base): the TLS connection failed (a certificate or key file that is not what the connection needs?)")
            }
            throw ClientError.unreachable("\(base): \(Self.plainWords(text))")
        }
    }

    /// A library's error named in words, not by its type: `HTTPClientError.connectTimeout` is
    /// "connect timeout"; other texts as they are.
    static func plainWords(_ text: String) -> String {
        let pattern = text.split(separator: ".", maxSplits: 1)
        guard pattern.count == 2, pattern[0].hasSuffix("Error"), pattern[0].allSatisfy(\.isLetter) else { return text }
        let name = pattern[1].prefix { $0.isLetter || $0.isNumber }
        var words = ""
        for character in name {
            if character.isUppercase { words += " " }
            words += character.lowercased()
        }
        let rest = pattern[1].dropFirst(name.count)
        return words.trimmingCharacters(in: .whitespaces) + (rest.isEmpty ? "" : " " + rest.trimmingCharacters(in: CharacterSet(charactersIn: "() ")))
    }

    /// An error's text, on one line, without the source paths of the libraries that raised it.
    static func firstLine(_ error: any Error) -> String {
        var text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
        while let at = text.range(of: " at /") {
            let end = text[at.upperBound...].firstIndex(where: { $0 == "]" || $0 == ")" || $0 == " " }) ?? text.endIndex
            text.removeSubrange(at.lowerBound..<end)
        }
        return text
    }

    static func json(_ bytes: [UInt8]) throws -> CanonicalJSON {
        do { return try CanonicalJSON.decodeRelaxed(bytes.last == 0x0a ? Array(bytes.dropLast()) : bytes, bytesMax: answerBytesMax) } catch {
            throw ClientError.malformed("the server's answer is not JSON (\(error))")
        }
    }

    /// The server's JSON error, raised with its kind, so the CLI exits as it would locally.
    static func serverError(_ status: UInt, _ fields: [String: CanonicalJSON]) -> any Error {
        guard case .object(let error)? = fields["error"], case .string(let message)? = error["message"] else {
            return ClientError.malformed("the server answered \(status) without a JSON error")
        }
        let kind: FailureKind
        switch error["kind"] {
        case .string("notVerified")?: kind = .notVerified
        case .string("unusable")?: kind = .unusable
        default: kind = status >= 500 ? .unusable : .refused
        }
        var index: Int?
        if case .integer(let value)? = error["entry_index"] { index = Int(value) }
        var refused = [(index: Int, message: String)]()
        if case .array(let list)? = error["refused"] {
            for item in list {
                if case .object(let fields) = item, case .integer(let at)? = fields["entry_index"], case .string(let text)? = fields["message"] {
                    refused.append((Int(at), text))
                }
            }
        }
        return ServerRefusal(message: message, kind: kind, status: status, entryIndex: index, refused: refused)
    }

    static func object(_ value: CanonicalJSON, _ what: String) throws -> [String: CanonicalJSON] {
        guard case .object(let fields) = value else { throw ClientError.malformed("the \(what) is not a JSON object") }
        return fields
    }

    static func text(_ fields: [String: CanonicalJSON], _ name: String) throws -> String {
        guard case .string(let value)? = fields[name] else { throw ClientError.malformed("the server's answer lacks \(name)") }
        return value
    }

    static func integer(_ fields: [String: CanonicalJSON], _ name: String) throws -> Int64 {
        guard case .integer(let value)? = fields[name] else { throw ClientError.malformed("the server's answer lacks the integer \(name)") }
        return value
    }

    static func array(_ fields: [String: CanonicalJSON], _ name: String) throws -> [CanonicalJSON] {
        guard case .array(let value)? = fields[name] else { throw ClientError.malformed("the server's answer lacks the array \(name)") }
        return value
    }

    static func hashes(_ fields: [String: CanonicalJSON], _ name: String) throws -> [Merkle.Hash] {
        try array(fields, name).map { value in
            guard case .string(let text) = value, let hash = Encoding.unhex(text), hash.count == 32 else {
                throw ClientError.malformed("\(name) holds something that is not a 32-byte hash in hex")
            }
            return hash
        }
    }
}

/// The server refused, with its one-line message and kind.
public struct ServerRefusal: GigaLedgerError {
    public let message: String
    public let kind: FailureKind
    public let status: UInt
    /// Which entry of a batch was refused (0-based), when the server said.
    public let entryIndex: Int?

    /// Every refused entry of a batch (index, message), when the server listed them.
    public let refused: [(index: Int, message: String)]

    public init(message: String, kind: FailureKind, status: UInt, entryIndex: Int?, refused: [(index: Int, message: String)] = []) {
        self.message = message
        self.kind = kind
        self.status = status
        self.entryIndex = entryIndex
        self.refused = refused
    }
    /// A refusal of what was sent reads as a local one would, after "the server refused it";
    /// anything else names the HTTP status, for the operator.
    public var description: String {
        (400..<500).contains(status) && !isRetryable ? "the server refused it: \(message)" : "the server answered HTTP \(status): \(message)"
    }
    public var isRetryable: Bool { status == 503 || status == 429 }
}

/// The server cannot be reached or answers what is not the protocol.
public enum ClientError: GigaLedgerError {
    /// Not reachable now (refused, timed out, closed): it may be a moment later.
    case unreachable(String)
    /// Not reachable at this address as given (the wrong scheme, a certificate not trusted or not
    /// for this name, a name that does not resolve): asking again does not help.
    case misaddressed(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreachable(let why), .misaddressed(let why): return "cannot reach the server \(why); nothing was recorded"
        case .malformed(let why): return "the server does not speak GigaLedger's protocol: \(why)"
        }
    }
    public var kind: FailureKind { .unusable }
}
