import Foundation
import GigaLedgerTestSupport
import Synchronization
import Testing

/// A PostgreSQL server of the test's own, from Debian's packages (`make deps` installs them): a new
/// cluster in a temporary folder, listening on 127.0.0.1 at a free port and on a private socket
/// folder, run as the `postgres` user when the tests run as root (PostgreSQL refuses to run as
/// root). Stopped and removed when released. Nothing is mocked: the store talks to it over TCP.
final class PostgresServer: @unchecked Sendable {
    // Set once in init; the process is only signalled after.
    let folder: String
    let port: Int
    /// The superuser's password (SCRAM over TCP, as a deployment would have it).
    static let password = "test-superuser-pw"
    private(set) var data: String

    /// The newest PostgreSQL server binaries installed (Debian: /usr/lib/postgresql/VERSION/bin).
    static let binaries: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last else { return nil }
        let bin = "\(root)/\(version)/bin"
        return FileManager.default.isExecutableFile(atPath: "\(bin)/initdb") ? bin : nil
    }()

    /// Whether the tests run as root, so that PostgreSQL's programs run as `postgres`.
    static let asPostgresUser = getuid() == 0

    /// A new primary, or a hot standby of `primary` that it replicates to synchronously
    /// (`synchronous_commit = remote_apply`: a commit returns once the standby has applied it).
    init(standbyOf primary: PostgresServer? = nil) throws {
        guard let bin = Self.binaries else { throw PostgresUnavailable(why: "no PostgreSQL server installed (run `make deps`)") }
        folder = "/tmp/gigaledger-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        port = try freePort()
        data = "\(folder)/data"
        if Self.asPostgresUser { _ = try Self.run("/bin/chown", ["postgres", folder]) }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
        if let primary {
            try Self.runAsPostgres(
                "\(bin)/pg_basebackup",
                [
                    "-h", "127.0.0.1", "-p", String(primary.port), "-U", "postgres", "-D", data,
                    "-X", "stream", "-R", "--checkpoint=fast",
                ], env: ["PGPASSWORD": Self.password])
            // The standby's name, which the primary waits for (synchronous_standby_names).
            try append(
                "\(data)/postgresql.auto.conf",
                """
                primary_conninfo = 'host=127.0.0.1 port=\(primary.port) user=postgres password=\(Self.password) application_name=standby1'
                hot_standby = on

                """)
        } else {
            try write("\(folder)/pw", Self.password + "\n")
            try Self.runAsPostgres(
                "\(bin)/initdb",
                [
                    "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                    "--pwfile=\(folder)/pw", "-E", "UTF8", "--locale=C.UTF-8",
                ])
            // TLS with a certificate of its own (self-signed: `sslmode=require` encrypts without
            // checking it, `verify-full` refuses it), as a deployment across a network would have.
            try Self.run(
                "/usr/bin/openssl",
                [
                    "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", "\(data)/server.key", "-out", "\(data)/server.crt",
                ])
            if Self.asPostgresUser { try Self.run("/bin/chown", ["postgres", "\(data)/server.key", "\(data)/server.crt"]) }
            chmod("\(data)/server.key", 0o600)
            try append(
                "\(data)/postgresql.conf",
                """
                listen_addresses = '127.0.0.1'
                max_connections = 100
                wal_level = replica
                max_wal_senders = 4
                synchronous_commit = remote_apply
                ssl = on

                """)
        }
        try Self.runAsPostgres(
            "\(bin)/pg_ctl",
            [
                "-D", data, "-l", "\(folder)/log", "-w", "-t", "60",
                "-o", "-p \(port) -k \(folder)", "start",
            ])
        if let primary {
            // Only now that the standby runs does the primary wait for it at each commit (else the
            // set-up's own statements would wait for a standby that is not there yet).
            try primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
            try primary.psql("SELECT pg_reload_conf()")
            for _ in 0..<200 where try primary.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'") != "sync" {
                usleep(50_000)
            }
            guard try primary.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'") == "sync" else {
                throw PostgresUnavailable(why: "the standby did not become synchronous")
            }
        }
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/DATABASE`.
    func url(_ database: String, user: String = "postgres", password: String = PostgresServer.password) -> String {
        "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// A new database, for one test.
    func createDatabase() throws -> String {
        let name = "t_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs `sql` with psql as the superuser, over the private socket; returns its output, unaligned.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        try Self.runAsPostgres(
            "/usr/bin/psql",
            [
                "-h", folder, "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                "-At", "-c", sql,
            ])
    }

    /// psql as above; the status and error output too, for statements that are meant to fail.
    func psqlResult(_ sql: String, database: String) throws -> (status: Int32, output: String) {
        try Self.runResult(
            Self.asPostgresUser ? "/usr/sbin/runuser" : "/usr/bin/psql",
            (Self.asPostgresUser ? ["-u", "postgres", "--", "/usr/bin/psql"] : [])
                + ["-h", folder, "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
    }

    /// Promotes a standby to a primary that accepts writes.
    func promote() throws {
        try Self.runAsPostgres("\(Self.binaries!)/pg_ctl", ["-D", data, "-w", "-t", "60", "promote"])
    }

    /// SIGKILL to the server and every process it started: a host that dies.
    func kill() {
        guard let text = try? String(contentsOfFile: "\(data)/postmaster.pid", encoding: .utf8),
            let pid = Int32(text.split(separator: "\n").first ?? "")
        else { return }
        _ = try? Self.runResult("/usr/bin/pkill", ["-KILL", "-P", String(pid)])
        Foundation.kill(pid, SIGKILL)
        for _ in 0..<100 where Foundation.kill(pid, 0) == 0 { usleep(50_000) }
    }

    func stop() {
        _ = try? Self.runAsPostgres("\(Self.binaries!)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
    }

    deinit {
        stop()
        kill()
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func write(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        if Self.asPostgresUser { _ = try Self.run("/bin/chown", ["postgres", path]) }
    }

    private func append(_ path: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @discardableResult
    static func runAsPostgres(_ program: String, _ arguments: [String], env: [String: String] = [:]) throws -> String {
        asPostgresUser
            ? try run(
                "/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env", "-C", "/tmp"] + env.map { "\($0)=\($1)" } + [program] + arguments)
            : try run(program, arguments, env: env)
    }

    @discardableResult
    static func run(_ program: String, _ arguments: [String], env: [String: String] = [:]) throws -> String {
        let (status, output) = try runResult(program, arguments, env: env)
        guard status == 0 else { throw PostgresUnavailable(why: "\(program) \(arguments.joined(separator: " ")) exited \(status): \(output)") }
        return output
    }

    /// Runs `program` and waits for it with `waitpid`, its output to a file. Not `Process`: its exit
    /// is noticed on a dispatch queue, which may be starved while tests wait for the shared server
    /// being started here; and `pg_ctl start` leaves a server running that may hold a copy of
    /// whatever descriptors it was given, so a pipe would never reach its end.
    static func runResult(_ program: String, _ arguments: [String], env: [String: String] = [:]) throws -> (Int32, String) {
        let output = "/tmp/gigaledger-pg-output-\(UUID().uuidString)"
        defer { unlink(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let environment = ProcessInfo.processInfo.environment.merging(env) { $1 }.map { "\($0)=\($1)" }
        var pid: pid_t = 0
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard spawned == 0 else { throw PostgresUnavailable(why: "\(program) cannot be started: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// One primary for the tests of a run that need only a database each (started once: initdb takes
    /// seconds), stopped when the test process exits.
    static let shared: Result<PostgresServer, Error> = Result {
        let server = try PostgresServer()
        sharedFolder.withLock { $0 = (server.data, server.folder) }
        atexit {
            guard let (data, folder) = PostgresServer.sharedFolder.withLock({ $0 }), let bin = PostgresServer.binaries else { return }
            _ = try? PostgresServer.runAsPostgres("\(bin)/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: folder)
        }
        return server
    }
    private static let sharedFolder = Mutex<(String, String)?>(nil)
}

struct PostgresUnavailable: Error, CustomStringConvertible {
    let why: String
    var description: String { "PostgreSQL: \(why)" }
}
