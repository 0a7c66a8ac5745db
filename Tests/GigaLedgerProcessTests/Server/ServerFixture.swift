import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore

/// A real `gigaledger serve` process on 127.0.0.1 with a port the system picks, over a ledger made
/// by `CLIFixture` (authority, a German officer) plus a log key; stopped when released.
final class ServerProcess: @unchecked Sendable {
    // Set once in init; `process` is only signalled and waited on after.
    let process: Process
    let url: String
    let ledger: String
    private let output: Pipe
    private let logPath: String

    /// The last lines of the server's log (its stderr), for a failure's message.
    var log: String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
    }

    /// Starts the server over `ledger` in `dir` and waits until it prints its address.
    init(
        dir: TempDir, ledger: String, listen: String = "127.0.0.1:0", extra: [String] = [], logKey: String = "log.key", env: [String: String] = [:]
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        // A state folder per ledger file (a test's forked copy is another server's ledger, not a rollback of this one).
        let state = ["--state", Self.stateFolder(dir, ledger: ledger)]
        process.arguments =
            ["serve", "--ledger", ledger, "--listen", listen, "--log-key", logKey, "--checkpoint-interval", "50"]
            + (extra.contains("--state") ? [] : state) + extra
        process.currentDirectoryURL = dir.url
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path].merging(env) { $1 }
        output = Pipe()
        process.standardOutput = output
        // The server's log, kept in the test's folder: a test that fails on how it stopped shows it (`log`).
        logPath = dir.file("serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        process.standardInput = FileHandle.nullDevice
        self.ledger = ledger
        try process.run()
        // "gigaledger: serving PATH on http://127.0.0.1:PORT"
        guard let text = firstLine(of: output.fileHandleForReading) else {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ServerStartFailure(output: "no address printed: " + (try String(contentsOfFile: logPath, encoding: .utf8)).suffix(2000))
        }
        guard let range = text.range(of: " on http") else { throw ServerStartFailure(output: text) }
        url = String(text[text.index(range.lowerBound, offsetBy: 4)...])
    }

    /// SIGTERM, and waits for the graceful exit.
    /// The state folder a test's server of `ledger` keeps (`--state`).
    static func stateFolder(_ dir: TempDir, ledger: String) -> String {
        dir.file("serve-state-" + String(ledger.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.suffix(40)))
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGKILL: no chance to finish anything.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill() }
}

struct ServerStartFailure: Error, CustomStringConvertible {
    let output: String
    var description: String { "the server did not start: \(output)" }
}

/// `CLIFixture`'s ledger with a log key enrolled, and the officer's passphrase for remote appends.
struct ServerFixture {
    let cli: CLIFixture
    var dir: TempDir { cli.dir }
    var ledger: String { cli.ledger }

    /// A SQLite fixture is a copy of one made once per test process (`template`), as `CLIFixture`'s is.
    init(ledger: String? = nil) throws {
        guard ledger == nil else {
            cli = try CLIFixture(ledger: ledger)
            try Self.enrolLogKey(cli)
            return
        }
        cli = try CLIFixture(copying: try Self.template.get())
    }

    static let template: Result<CLIFixture, any Error> = Result {
        let cli = try CLIFixture()
        try enrolLogKey(cli)
        return cli
    }

    private static func enrolLogKey(_ cli: CLIFixture) throws {
        try cli.expectOK(["key", "generate", "--out", "log", "--unencrypted"])
        try cli.expectOK(["key", "enroll", "--key", "authority.key", "--pub", "log.pub", "--name", "log key", "--role", "log"])
    }

    func start(ledger path: String? = nil) throws -> ServerProcess {
        try ServerProcess(dir: dir, ledger: path ?? ledger)
    }

    /// Runs `gigaledger ARGS --server URL` as an office elsewhere would: no ledger file named.
    @discardableResult
    func remote(_ arguments: [String], server: ServerProcess, env: [String: String] = [:]) -> Run {
        Binary.run(arguments + ["--server", server.url], in: dir, env: ["GIGALEDGER_PASSPHRASE_FILE": cli.passphraseFile].merging(env) { $1 })
    }

    /// The officer's payment of `ref`, about 1,000 EUR from ms:DE (`TestAmounts`: another ref, another amount).
    func payment(ref: String) -> [String] {
        [
            "contribution", "record", "--key", "officer.key", "--factory", "de-jupiter", "--source", "ms:DE", "--amount", TestAmounts.text(ref: ref),
            "--date", "2026-02-15", "--category", "capex", "--kind", "payment", "--ref", ref,
        ]
    }
}

/// One HTTP request to the server, raw bytes in and out (no client library's help or checks).
/// `halfClose` ends the sending side after the request (a client that hung up mid-body).
/// `from`: the loopback address the request comes from (127.0.0.1 unless given: 127.0.0.0/8 is all loopback).
func rawHTTP(
    _ url: String, request: [UInt8], readTimeout: TimeInterval = 10, halfClose: Bool = false, from source: String? = nil
) throws -> (status: Int, body: String) {
    let (status, body) = try rawHTTPBytes(url, request: request, readTimeout: readTimeout, halfClose: halfClose, from: source)
    return (status, String(decoding: body, as: UTF8.self))
}

/// `rawHTTP`, the body as bytes (a tile is binary).
func rawHTTPBytes(
    _ url: String, request: [UInt8], readTimeout: TimeInterval = 10, halfClose: Bool = false, from source: String? = nil
) throws -> (status: Int, body: [UInt8]) {
    let socket = try connectedSocket(url, from: source)
    defer { close(socket) }
    var timeout = timeval(tv_sec: Int(readTimeout), tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    if halfClose { shutdown(socket, Int32(SHUT_WR)) }
    var answer = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(socket, &buffer, buffer.count, 0)
        if count <= 0 { break }
        answer += buffer[0..<count]
    }
    let head = String(decoding: answer.prefix(64), as: UTF8.self)
    let status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
    let end = headEnd(answer)
    return (status, end.map { Array(answer[($0 + 4)...]) } ?? [])
}

/// A socket connected to the server at `url` (127.0.0.1), from `source` when given.
func connectedSocket(_ url: String, from source: String? = nil) throws -> Int32 {
    let port = UInt16(url.split(separator: ":").last!)!
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(socket)
            throw ServerStartFailure(output: "cannot bind to \(source)")
        }
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(socket)
        throw ServerStartFailure(output: "cannot connect to \(url)")
    }
    return socket
}

/// A socket bound to 127.0.0.1 at a port the kernel picks (listening, when asked), and the port.
func boundSocket(listening: Bool) throws -> (socket: Int32, port: UInt16) {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, length) == 0 && (!listening || listen(socket, 16) == 0) && getsockname(socket, $0, &length) == 0
        }
    }
    guard bound else {
        close(socket)
        throw ServerStartFailure(output: "no port on 127.0.0.1")
    }
    return (socket, UInt16(bigEndian: address.sin_port))
}

/// Where an HTTP message's head ends (the index of its blank line's CRLF CRLF), if it has.
func headEnd(_ message: [UInt8]) -> Int? {
    let separator: [UInt8] = [13, 10, 13, 10]
    return (0..<max(0, message.count - 3)).first { message[$0..<($0 + 4)].elementsEqual(separator) }
}

/// Sends a request and hangs up without reading the answer (a client that went away).
func hangUp(_ url: String, request: [UInt8]) throws {
    let socket = try connectedSocket(url)
    _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    close(socket)
}

/// A request's bytes: method, path, body with its Content-Length (or `length` when given, to lie).
func httpRequest(_ method: String, _ path: String, body: [UInt8] = [], length: Int? = nil) -> [UInt8] {
    Array(
        "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length ?? body.count)\r\nConnection: close\r\n\r\n"
            .utf8) + body
}

/// A proxy between a client and a server, one request per connection, that hands each answer's
/// body to `rewrite` with the request's first line: what it returns is sent instead (with its
/// length), nil sends nothing (the answer is lost). A man in the middle, or a server's operator.
final class RewritingProxy: @unchecked Sendable {
    // Set once in init.
    let url: String
    private let listener: Int32
    private let target: String
    private let rewrite: @Sendable (_ requestLine: String, _ body: [UInt8]) -> [UInt8]?

    init(target: String, rewrite: @escaping @Sendable (_ requestLine: String, _ body: [UInt8]) -> [UInt8]?) throws {
        self.target = target
        self.rewrite = rewrite
        let (socket, port) = try boundSocket(listening: true)
        listener = socket
        url = "http://127.0.0.1:\(port)"
        // Accepts until the proxy is released (its listener closed).
        Thread { [weak self] in
            while true {
                let client = accept(socket, nil, nil)
                guard client >= 0, let self else { return }
                Thread { self.serve(client) }.start()
            }
        }.start()
    }

    /// The proxy of `AnswerDroppingProxy`: submissions are recorded, their answers lost.
    static func droppingSubmissionAnswers(target: String) throws -> RewritingProxy {
        try RewritingProxy(target: target) { line, body in line.hasPrefix("POST /ledger/v1/entries") ? nil : body }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        guard let request = Self.readMessage(client), let server = try? connectedSocket(target) else { return }
        defer { close(server) }
        _ = request.withUnsafeBytes { send(server, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard let answer = Self.readMessage(server), let end = headEnd(answer) else { return }
        let requestLine = String(decoding: request.prefix { $0 != 0x0D }, as: UTF8.self)
        guard let body = rewrite(requestLine, Array(answer[(end + 4)...])) else { return }
        let head = String(decoding: answer[..<end], as: UTF8.self).split(separator: "\r\n")
            .filter { !$0.lowercased().hasPrefix("content-length:") && !$0.lowercased().hasPrefix("connection:") }.joined(separator: "\r\n")
        // One request per connection: said, so that a client never sends another on it.
        let rewritten = Array("\(head)\r\ncontent-length: \(body.count)\r\nconnection: close\r\n\r\n".utf8) + body
        _ = rewritten.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    /// One HTTP message: the head and a body of its Content-Length.
    private static func readMessage(_ socket: Int32) -> [UInt8]? {
        var message = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = headEnd(message) {
                let head = String(decoding: message[..<end], as: UTF8.self).lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if message.count >= end + 4 + length { return message }
            }
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            message += buffer[0..<count]
        }
    }
}
