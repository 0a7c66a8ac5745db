import Foundation
import GigaLedgerCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The connections of one process to a PostgreSQL ledger, for the store's synchronous transactions.
///
/// postgres-nio speaks the wire protocol (TLS, SCRAM, extended queries); this keeps a few idle
/// connections and picks the host. Not `PostgresClient`'s pool: it leases a connection only inside
/// an async closure, which the store's synchronous `read` and `write` cannot hold without parking a
/// task per transaction, and it serves one host, while a ledger with a standby lists two and must
/// find, after a failover, the one that accepts writes. Each connection is used by one transaction
/// at a time; every wait is bounded (`connect_timeout`, the lock wait, `answerSecondsMax` per
/// answer), so nothing hangs.
final class PostgresBackend: @unchecked Sendable {
    // `@unchecked Sendable`: `idle` and `hostIndex` are read and written only under `lock`.
    let location: PostgresLocation
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    /// The host that answered last: tried first next time.
    private var hostIndex = 0
    private var nextID = 0
    private let logger: Logger = {
        var logger = Logger(label: "gigaledger.postgres")
        logger.logLevel = .critical  // a refusal reaches the caller as an error, once; nothing is printed
        return logger
    }()

    /// Idle connections kept for the next transaction (a server's requests run several at once).
    static let idleConnectionsMax = 8

    /// A command's writes, or the server's (`WriterRole`).
    let role: WriterRole
    /// How long a writer waits for the ledger's lock (set once, when the ledger is opened).
    var lockWaitSeconds: TimeInterval = LedgerStore.lockWaitSecondsDefault
    /// The server's session that holds `serveLockKey` (under `lock`), and the URL it announces.
    private var serverLock: PostgresConnection?
    private var announced: String?
    /// Held while the server's lock is taken (again).
    private let acquiring = NSLock()

    init(location: PostgresLocation, role: WriterRole = .command) {
        self.location = location
        self.role = role
    }

    deinit {
        // Waited for (bounded), except on an event loop, where waiting traps: the last reference
        // may go there (a server stopping on its witness's word releases its service on one).
        let waits = MultiThreadedEventLoopGroup.currentEventLoop == nil
        for connection in idle + (serverLock.map { [$0] } ?? []) {
            if waits {
                _ = try? PostgresSession.bounded(connection.close(), seconds: 5)
            } else {
                connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }  // kept until closed
            }
        }
    }

    // MARK: - One writer

    /// The advisory lock of the ledger's one writer while `gigaledger serve` runs: held for the
    /// server's life by a session of its own ("GLSV"); every command's write transaction takes it
    /// shared first, and is refused when it cannot (the lock's session names the server in its
    /// `application_name`, which every role may read in `pg_stat_activity`).
    static let serveLockKey: Int64 = 0x474C_5356
    /// The prefix of the holding session's `application_name`, before the server's URL.
    static let serveApplicationName = "gigaledger serve"

    /// Takes the server's lock on a session of its own, waiting up to `waitSeconds` for commands'
    /// transactions to end; refused at once when another server holds it. Taken again on the next
    /// write after its session was lost (a failover: the new primary knows no lock).
    /// With `probe`, the held session is asked a `SELECT 1` first (a session the database ended is
    /// not always seen closed before something is sent on it).
    func holdServerLock(waitSeconds: TimeInterval, probe: Bool = false) throws {
        // One at a time: two writes that find the lock's session lost must not both take it again
        // (the second would find it held by the first, this very server, and refuse).
        acquiring.lock()
        defer { acquiring.unlock() }
        lock.lock()
        var held = serverLock.map { !$0.isClosed } ?? false
        let current = serverLock
        lock.unlock()
        if held, probe, let current {
            held = (try? PostgresSession(connection: current, logger: logger, location: location).execute("SELECT 1")) != nil
        }
        guard !held else { return }
        let connection = try lease()
        let session = PostgresSession(connection: connection, logger: logger, location: location)
        do {
            try session.execute("SET application_name = '\(applicationName)'")
            let deadline = Date().addingTimeInterval(waitSeconds)
            while try session.rows("SELECT pg_try_advisory_lock(\(Self.serveLockKey))").first?.first != .integer(1) {
                // Held shared (commands finishing) or exclusively (another server)? A shared try tells.
                guard try session.rows("SELECT pg_try_advisory_lock_shared(\(Self.serveLockKey))").first?.first == .integer(1) else {
                    throw LedgerError.served(path: location.description, by: try Self.server(holding: session))
                }
                try session.execute("SELECT pg_advisory_unlock_shared(\(Self.serveLockKey))")
                guard Date() < deadline else { throw LedgerError.busy(path: location.description) }
                usleep(20_000)
            }
        } catch {
            _ = try? PostgresSession.bounded(connection.close(), seconds: 5)
            throw error
        }
        lock.lock()
        let stale = serverLock
        serverLock = connection
        lock.unlock()
        if let stale { _ = try? PostgresSession.bounded(stale.close(), seconds: 5) }
    }

    /// Names the server's URL in its lock session's `application_name` (at most 63 bytes: NAMEDATALEN).
    func announce(_ url: String) {
        lock.lock()
        announced = url
        let connection = serverLock
        lock.unlock()
        guard let connection else { return }
        _ = try? PostgresSession(connection: connection, logger: logger, location: location).execute("SET application_name = '\(applicationName)'")
    }

    /// `gigaledger serve URL`, quote-free and cut to PostgreSQL's 63 bytes.
    private var applicationName: String {
        lock.lock()
        defer { lock.unlock() }
        let text = Self.serveApplicationName + (announced.map { " " + $0 } ?? "")
        return String(decoding: Array(text.utf8.filter { $0 != UInt8(ascii: "'") && $0 >= 0x20 && $0 < 0x7f }.prefix(63)), as: UTF8.self)
    }

    /// In a command's write transaction: refuses when a server holds the ledger.
    static func refuseIfServed(_ session: PostgresSession, path: String) throws {
        guard try session.rows("SELECT pg_try_advisory_xact_lock_shared(\(serveLockKey))").first?.first != .integer(1) else { return }
        throw LedgerError.served(path: path, by: try server(holding: session))
    }

    /// The URL the session holding the server's lock announced, if it did.
    private static func server(holding session: PostgresSession) throws -> String? {
        let rows = try session.rows(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = \(serveLockKey) AND l.objsubid = 1
              AND l.mode = 'ExclusiveLock' AND l.granted
            """)
        guard case .text(let name)? = rows.first?.first, name.hasPrefix(serveApplicationName + " ") else { return nil }
        return String(name.dropFirst(serveApplicationName.count + 1))
    }

    /// Runs `body` on a connection of its own, returned to the idle ones after (closed after an error
    /// that may have broken it: the next transaction connects again, to whichever host accepts writes).
    func withConnection<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let connection = try lease()
        let session = PostgresSession(connection: connection, logger: logger, location: location)
        do {
            let result = try body(session)
            release(connection, reusable: !session.isBroken)
            return result
        } catch {
            release(connection, reusable: !session.isBroken)
            throw error
        }
    }

    /// `body` in one transaction on a connection of its own (`PostgresSession.transaction`).
    func transaction<T>(readOnly: Bool, commit: Bool = true, lockWaitSeconds: TimeInterval, _ body: (PostgresSession) throws -> T) throws -> T {
        if !readOnly, role == .server { try holdServerLock(waitSeconds: lockWaitSeconds) }
        return try withConnection { session in
            try session.transaction(readOnly: readOnly, commit: commit, lockWaitSeconds: lockWaitSeconds) {
                if !readOnly, role == .command || role == .replica { try Self.refuseIfServed(session, path: location.description) }
                return try body(session)
            }
        }
    }

    private func lease() throws -> PostgresConnection {
        lock.lock()
        while let connection = idle.popLast() {
            if !connection.isClosed {
                lock.unlock()
                return connection
            }
        }
        let start = hostIndex
        nextID += 1
        let id = nextID
        lock.unlock()
        var failures: [String] = []
        for offset in 0..<location.hosts.count {
            let index = (start + offset) % location.hosts.count
            do {
                let connection = try connect(to: location.hosts[index], id: id)
                lock.lock()
                hostIndex = index
                lock.unlock()
                return connection
            } catch {
                // A refusal for good (a wrong password, no TLS, no such database) is not retried elsewhere.
                if case .cannotConnect = error { throw error }
                if case .unavailable(_, let why) = error { failures.append(why) } else { failures.append(error.description) }
            }
        }
        throw LedgerError.unavailable(path: location.description, failures.joined(separator: "; "))
    }

    private func release(_ connection: PostgresConnection, reusable: Bool) {
        lock.lock()
        if reusable, !connection.isClosed, idle.count < Self.idleConnectionsMax {
            idle.append(connection)
            lock.unlock()
            return
        }
        // A broken connection may mean a failover: the idle ones go to the same host, so they go too.
        let dropped = reusable ? [] : idle
        if !reusable { idle.removeAll() }
        lock.unlock()
        for stale in dropped + [connection] { _ = try? PostgresSession.bounded(stale.close(), seconds: 5) }
    }

    /// A connection to `host`, checked to accept writes when the location requires it.
    private func connect(to host: PostgresLocation.Host, id: Int) throws(LedgerError) -> PostgresConnection {
        let name = host.isSocketFolder ? host.socketPath : "\(host.name):\(host.port)"
        var configuration: PostgresConnection.Configuration
        do {
            if host.isSocketFolder {
                configuration = .init(
                    unixSocketPath: host.socketPath, username: location.user, password: location.password, database: location.database)
            } else {
                configuration = .init(
                    host: host.name, port: host.port, username: location.user, password: location.password,
                    database: location.database, tls: try tls())
            }
        } catch {
            throw .unavailable(path: location.description, "TLS cannot be set up: \(error)")
        }
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeoutSeconds))
        let connection: PostgresConnection
        do {
            let connecting = PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: logger)
            do {
                connection = try PostgresSession.bounded(connecting, seconds: Int64(location.connectTimeoutSeconds) + 5)
            } catch let error as PostgresSession.NoAnswer {
                connecting.whenSuccess { late in
                    let closing: EventLoopFuture<Void> = late.close()
                    _ = closing
                }  // given up on: closed when it comes
                throw error
            }
        } catch {
            if let why = PostgresSession.permanentFailure(error) { throw .cannotConnect(path: location.description, "\(name): \(why)") }
            throw .unavailable(path: location.description, "\(name): \(PostgresSession.describe(error))")
        }
        guard location.requiresReadWrite else { return connection }
        let session = PostgresSession(connection: connection, logger: logger, location: location)
        do {
            // A standby (in recovery) refuses writes: the next host may be the promoted one.
            guard try session.rows("SELECT pg_is_in_recovery()").first?.first == .integer(0) else {
                throw LedgerError.unavailable(path: location.description, "\(name) is a standby (in recovery), not accepting writes")
            }
        } catch let error as LedgerError {
            _ = try? PostgresSession.bounded(connection.close(), seconds: 5)
            throw error
        } catch {
            _ = try? PostgresSession.bounded(connection.close(), seconds: 5)
            throw .unavailable(path: location.description, "\(name): \(error)")
        }
        return connection
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        switch location.tls {
        case .disable: return .disable
        case .prefer, .require:
            // libpq's `prefer` and `require` encrypt without checking the certificate; `verify-full` checks it.
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            let context = try NIOSSLContext(configuration: configuration)
            return location.tls == .prefer ? .prefer(context) : .require(context)
        case .verifyFull:
            return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

/// One leased connection, used synchronously: each statement waits for its answer.
public final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    let location: PostgresLocation
    /// Set when an error may have left the connection unusable (lost, or the server stopping).
    private(set) var isBroken = false

    init(connection: PostgresConnection, logger: Logger, location: PostgresLocation) {
        self.connection = connection
        self.logger = logger
        self.location = location
    }

    /// Statements sent and not yet waited for (`enqueue`): their answers are checked at the next
    /// `flush`, which every read and the commit make first.
    private var pending: [(future: EventLoopFuture<PostgresQueryResult>, sql: String)] = []
    /// The most statements in flight before `enqueue` waits for them (bounds the memory they hold).
    static let pendingMax = 512

    /// Sends `sql` without waiting for its answer: the connection sends each statement as soon as
    /// the one before it is answered, so a run of INSERTs costs no thread wake-up each. A refused
    /// statement fails the transaction; its error is thrown by the next `flush`, and nothing commits.
    func enqueue(_ sql: String, _ values: [ColumnValue]) throws {
        pending.append((connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: Self.bindings(values)), logger: logger), sql))
        if pending.count >= Self.pendingMax { try flush() }
    }

    /// Rows of INSERTs not sent yet (`insert`), per statement in the order each was first given.
    private var inserts: [(sql: String, rows: [[ColumnValue]])] = []
    private var insertRows = 0
    /// Rows gathered before they are sent as multi-row INSERTs (8 columns at most: 4,000 parameters
    /// of the protocol's 65,535).
    static let insertRowsMax = 500

    /// Gathers one row of `sql`, an `INSERT INTO table (columns) VALUES (?, ...)`, to be sent with
    /// the other rows of the same statement as one multi-row INSERT: an import's hundreds of
    /// thousands of rows in hundreds of statements. The rows go into each table in the order given;
    /// the triggers see each row (entries_follow_head sees the rows before it in the same statement).
    func insert(_ sql: String, _ values: [ColumnValue]) throws {
        if let index = inserts.firstIndex(where: { $0.sql == sql }) { inserts[index].rows.append(values) } else { inserts.append((sql, [values])) }
        insertRows += 1
        if insertRows >= Self.insertRowsMax { try sendInserts() }
    }

    private func sendInserts() throws {
        // The entries first: the other rows refer to them, and a batch may begin in the middle of a
        // row's statements (its entry sent with the batch before, the next rows' entries in this one).
        let gathered = inserts.filter { $0.sql.hasPrefix("INSERT INTO entries ") } + inserts.filter { !$0.sql.hasPrefix("INSERT INTO entries ") }
        inserts.removeAll(keepingCapacity: true)
        insertRows = 0
        for (sql, rows) in gathered {
            guard rows.count > 1, let values = sql.range(of: "VALUES (", options: .backwards) else {
                for row in rows { try enqueue(sql, row) }
                continue
            }
            let tuple = String(sql[sql.index(before: values.upperBound)...])
            try enqueue(
                sql[..<values.upperBound].dropLast() + Array(repeating: tuple, count: rows.count).joined(separator: ", "), rows.flatMap { $0 })
        }
    }

    /// Sends what `insert` gathered and waits for every statement sent by `enqueue`; throws the first one's error.
    func flush() throws {
        if !inserts.isEmpty { try sendInserts() }
        guard !pending.isEmpty else { return }
        let sent = pending
        pending.removeAll(keepingCapacity: true)
        var first: Error?
        for (future, sql) in sent {
            do { _ = try Self.bounded(future) } catch { if first == nil { first = failure(error, sql: sql) } }
        }
        if let first { throw first }
    }

    /// The rows `sql` returns, each a list of column values; `?` in `sql` are bound to `values` in order.
    func rows(_ sql: String, _ values: [ColumnValue] = []) throws -> [[ColumnValue]] {
        try flush()
        let result: PostgresQueryResult
        do {
            result = try Self.bounded(connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: Self.bindings(values)), logger: logger))
        } catch {
            throw failure(error, sql: sql)
        }
        return try result.rows.map { row in try row.map(Self.value) }
    }

    /// Runs `sql` for its effect.
    func execute(_ sql: String, _ values: [ColumnValue] = []) throws {
        _ = try rows(sql, values)
    }

    /// The longest wait for one answer (a statement, or the commit waiting for a synchronous standby
    /// that is gone): then the connection is given up as broken, the caller told to retry. Also
    /// the guard against a query sent on a connection that closed at that moment, whose answer
    /// would never come.
    static let answerSecondsMax: Int64 = 30

    /// `future`'s value, or `NoAnswer` after `answerSecondsMax`.
    static func bounded<T: Sendable>(_ future: EventLoopFuture<T>, seconds: Int64 = answerSecondsMax) throws -> T {
        let promise = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: promise)
        let timer = future.eventLoop.scheduleTask(in: .seconds(seconds)) { promise.fail(NoAnswer(seconds: seconds)) }
        defer { timer.cancel() }
        return try promise.futureResult.wait()
    }

    struct NoAnswer: Error, CustomStringConvertible {
        let seconds: Int64
        var description: String { "no answer from the database server within \(seconds) s" }
    }

    /// SQL with `?` placeholders (SQLite's, which the store's statements use) numbered `$1`, `$2`…
    /// as PostgreSQL's protocol wants. No statement of the store has a `?` in a literal.
    static func numbered(_ sql: String) -> String {
        var out = "", number = 0
        out.reserveCapacity(sql.utf8.count + 8)
        for character in sql {
            if character == "?" {
                number += 1
                out += "$\(number)"
            } else {
                out.append(character)
            }
        }
        return out
    }

    static func bindings(_ values: [ColumnValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .integer(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .other: preconditionFailure("PostgresSession: \(value) is not a value GigaLedger writes")
            }
        }
        return bindings
    }

    /// A cell as the kinds of value the store reads: integers, texts, byte strings; a boolean as 0 or 1.
    static func value(_ cell: PostgresCell) throws -> ColumnValue {
        guard var bytes = cell.bytes else { return .other("NULL") }
        switch cell.dataType {
        case .int8, .int4, .int2: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea: return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        case .text, .varchar, .name, .bpchar: return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default: return .other("a value of PostgreSQL type \(cell.dataType)")
        }
    }

    /// The store's error for a PostgreSQL error (its SQLSTATE, postgresql.org/docs/current/errcodes-appendix.html).
    func failure(_ error: Error, sql: String) -> Error {
        let path = location.description
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else {
            isBroken = true
            return LedgerError.unavailable(path: path, Self.describe(error))
        }
        let message = LedgerError.oneLine(error.serverInfo?[.message] ?? "error \(state)")
        switch state {
        case "55P03", "40001", "40P01": return LedgerError.busy(path: path)
        // A standby, or a primary being demoted: another host may take writes.
        case "25006":
            isBroken = true
            return LedgerError.unavailable(path: path, "the server no longer accepts writes (\(message))")
        // No privilege: to write (a role granted SELECT only), or to read at all.
        case "42501":
            let writes = ["INSERT", "UPDATE", "DELETE", "LOCK"].contains { sql.uppercased().hasPrefix($0) }
            return writes
                ? LedgerError.readOnly(path: path, "PostgreSQL: \(message)")
                : LedgerError.cannotConnect(
                    path: path,
                    "this PostgreSQL role may not read the ledger (\(message)); grant it SELECT, and INSERT to append (the SQL `gigaledger init` prints)"
                )
        case "53100": return LedgerError.full(path: path)
        // A stored row that contradicts one being written, or a trigger refusing it: the ledger is damaged.
        case "23505", "23503", "23514", "P0001": return LedgerError.damaged("PostgreSQL refused a row as conflicting with a stored one (\(message))")
        case "42P01", "42703": return LedgerError.notALedger(path: path, "PostgreSQL: \(message)")
        default:
            if state.hasPrefix("08") || state.hasPrefix("57") {
                isBroken = true
                return LedgerError.unavailable(path: path, message)
            }
            return LedgerError.postgres(state: state, message: message, sql: sql)
        }
    }

    /// Why a connection attempt failed for good, in words, or nil when another attempt may succeed
    /// (the server down or starting, a network fault).
    static func permanentFailure(_ error: Error) -> String? {
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .sslUnsupported: return "the server does not offer TLS, which sslmode requires (sslmode=disable or prefer to connect without it)"
        case .authMechanismRequiresPassword:
            return "the server asks for a password: give it in the URL (postgres://USER:PASSWORD@...) or in PGPASSWORD"
        case .unsupportedAuthMechanism:
            return "the server asks for an authentication method this client does not support (use scram-sha-256 or md5 in pg_hba.conf)"
        case .saslError: return "the password exchange (SCRAM) failed"
        default: break
        }
        guard let state = error.serverInfo?[.sqlState] else { return nil }
        let message = LedgerError.oneLine(error.serverInfo?[.message] ?? state)
        // 28: authorization (wrong password, no pg_hba.conf line); 3D000: no such database; 42501: no CONNECT privilege.
        return state.hasPrefix("28") || state == "3D000" || state == "42501" ? message : nil
    }

    /// A connection-level error in one line: what postgres-nio and the server said, never the password.
    static func describe(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return LedgerError.oneLine(message) }
            // The driver's account of a refused connection runs to a paragraph; this is what it says.
            if error.code == .connectionError, let underlying = error.underlying, "\(underlying)".contains("Connection refused") {
                return "the connection was refused: is PostgreSQL running and listening there?"
            }
            if let underlying = error.underlying { return LedgerError.oneLine("\(error.code): \(underlying)") }
            return "\(error.code)"
        }
        return LedgerError.oneLine("\(error)")
    }
}

extension PostgresSession {
    /// Runs `sql`, a script of statements each ending with `;` at the end of a line (a function body
    /// between `$$` lines may hold more), one statement at a time (the schema's script).
    func script(_ sql: String) throws {
        for statement in Self.statements(sql) { try execute(statement) }
    }

    static func statements(_ sql: String) -> [String] {
        var statements: [String] = [], current = "", inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            if !inBody, line.hasPrefix("--") || line.allSatisfy(\.isWhitespace) { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        return statements
    }

    /// The advisory lock every write transaction takes before it reads the head (the ledger's
    /// "GLDG" application ID, as SQLite's `application_id`): one writer at a time, never a fork.
    static let writeLockKey: Int64 = 0x474C_4447

    /// Runs `body` in one transaction: a read-only snapshot (`REPEATABLE READ`), or a write that
    /// first takes the ledger's advisory lock, waiting at most `lockWaitSeconds`. Commits when
    /// `body` returns and `commit` is true, else rolls back; always rolls back on an error.
    func transaction<T>(readOnly: Bool, commit: Bool = true, lockWaitSeconds: TimeInterval, _ body: () throws -> T) throws -> T {
        try execute(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN ISOLATION LEVEL READ COMMITTED")
        do {
            // Every lock a statement waits for (the ledger's, or a table's that an administrator's
            // VACUUM FULL or ALTER holds), at most the lock wait: then "busy, retry".
            try execute("SET LOCAL lock_timeout = \(max(1, Int(lockWaitSeconds * 1000)))")
            if !readOnly { try execute("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))") }
            let result = try body()
            try execute(commit ? "COMMIT" : "ROLLBACK")
            return result
        } catch {
            try? flush()  // the statements still in flight answer (with errors) before the rollback
            if !isBroken { try? execute("ROLLBACK") }
            throw error
        }
    }
}
