import Foundation
import GigaLedgerCore

#if canImport(Glibc)
import Glibc
#endif

/// Where a PostgreSQL ledger is: a `postgres://` (or `postgresql://`) URL as libpq reads it
/// (postgresql.org/docs/current/libpq-connect.html, "Connection URIs"), with the standard `PG*`
/// environment variables for what the URL leaves out. Several hosts (`host1:5432,host2:5432`) are
/// tried in order; with `target_session_attrs=read-write` (the default for more than one host) the
/// one that accepts writes is used, so a server finds the promoted standby after a failover.
public struct PostgresLocation: Equatable, Sendable {
    public struct Host: Equatable, Sendable {
        /// A host name or address, or a folder holding the server's Unix socket (starts with `/`).
        public let name: String
        public let port: Int
        public var isSocketFolder: Bool { name.hasPrefix("/") }
        /// The socket file in a socket folder, as libpq names it.
        public var socketPath: String { "\(name)/.s.PGSQL.\(port)" }
    }

    public enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }

    public let hosts: [Host]
    public let user: String
    /// From the URL or `PGPASSWORD`; never printed (`description` leaves it out).
    public let password: String?
    public let database: String
    public let tls: TLSMode
    /// Whether only a host that accepts writes is used (`target_session_attrs=read-write`).
    public let requiresReadWrite: Bool
    /// How long to wait for each host to answer, in seconds (`connect_timeout`, `PGCONNECT_TIMEOUT`).
    public let connectTimeoutSeconds: Int

    /// Whether `text` names a PostgreSQL ledger rather than a SQLite file.
    public static func isURL(_ text: String) -> Bool {
        let lowered = text.prefix(13).lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    static let connectTimeoutDefault = 5
    static let portDefault = 5432

    /// Parses `url`; what it leaves out comes from `environment` (`PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGCONNECT_TIMEOUT`, `PGTARGETSESSIONATTRS`).
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(InputError) {
        func refuse(_ problem: String) -> InputError { InputError(field: "ledger", value: Self.redacted(url), problem: problem) }
        guard Self.isURL(url) else { throw refuse("is not a postgres:// URL") }
        var rest = String(url.drop(while: { $0 != ":" }).dropFirst(3))
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let key = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding else {
                    throw refuse("has a malformed parameter \(InputError.quoted(String(pair)))")
                }
                query[key] = value
            }
            rest = String(rest[..<mark])
        }
        var authority = rest, path = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = String(rest[..<slash])
            path = String(rest[rest.index(after: slash)...])
        }
        var userInfo: String?
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[..<at])
            authority = String(authority[authority.index(after: at)...])
        }
        var user = environment["PGUSER"], password = environment["PGPASSWORD"]
        if let userInfo {
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            if !parts[0].isEmpty { user = parts[0] }
            if parts.count == 2 { password = parts[1] }
        }
        if let value = query["user"] { user = value }
        if let value = query["password"] { password = value }
        let defaultPort = try Self.port(query["port"] ?? environment["PGPORT"] ?? String(Self.portDefault), refuse)
        var hosts: [Host] = []
        for spec in authority.split(separator: ",", omittingEmptySubsequences: false) where !spec.isEmpty {
            let decoded = String(spec).removingPercentEncoding ?? String(spec)
            if decoded.hasPrefix("/") {
                // A socket folder may carry a port after it, as in libpq: %2Fvar%2Frun%2Fpostgresql:5433.
                if let colon = decoded.lastIndex(of: ":"), let port = Int(decoded[decoded.index(after: colon)...]), (1...65_535).contains(port) {
                    hosts.append(Host(name: String(decoded[..<colon]), port: port))
                } else {
                    hosts.append(Host(name: decoded, port: defaultPort))
                }
                continue
            }
            if let colon = decoded.lastIndex(of: ":"), !decoded.hasSuffix("]") {
                hosts.append(Host(name: String(decoded[..<colon]), port: try Self.port(String(decoded[decoded.index(after: colon)...]), refuse)))
            } else {
                hosts.append(Host(name: decoded, port: defaultPort))
            }
        }
        if hosts.isEmpty, let names = query["host"] ?? environment["PGHOST"] {
            hosts = names.split(separator: ",").map { Host(name: String($0), port: defaultPort) }
        }
        if hosts.isEmpty { hosts = [Host(name: "/var/run/postgresql", port: defaultPort)] }
        // As libpq: no user named (nor PGUSER) is the operating system's user of this process.
        guard let user = user.flatMap({ $0.isEmpty ? nil : $0 }) ?? Self.systemUser() else {
            throw refuse("names no user, and this process's user has no name (give postgres://USER@HOST/DATABASE, or PGUSER)")
        }
        let database = path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? query["dbname"] ?? environment["PGDATABASE"] ?? user
        guard let tls = TLSMode(rawValue: query["sslmode"] ?? environment["PGSSLMODE"] ?? (hosts.allSatisfy(\.isSocketFolder) ? "disable" : "prefer"))
        else {
            throw refuse(
                "has sslmode \(InputError.quoted(query["sslmode"] ?? environment["PGSSLMODE"] ?? "")), not disable, prefer, require or verify-full")
        }
        let attributes = query["target_session_attrs"] ?? environment["PGTARGETSESSIONATTRS"] ?? (hosts.count > 1 ? "read-write" : "any")
        guard ["any", "read-write", "primary"].contains(attributes) else {
            throw refuse("has target_session_attrs \(InputError.quoted(attributes)), not any, read-write or primary")
        }
        let timeout = query["connect_timeout"] ?? environment["PGCONNECT_TIMEOUT"] ?? String(Self.connectTimeoutDefault)
        guard let seconds = Int(timeout), (1...600).contains(seconds) else {
            throw refuse("has connect_timeout \(InputError.quoted(timeout)), not 1 to 600 seconds")
        }
        self.hosts = hosts
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.requiresReadWrite = attributes != "any"
        self.connectTimeoutSeconds = seconds
    }

    /// The name of this process's operating-system user (libpq's default user), if it has one.
    static func systemUser() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }

    private static func port(_ text: String, _ refuse: (String) -> InputError) throws(InputError) -> Int {
        guard let port = Int(text), (1...65_535).contains(port) else { throw refuse("has port \(InputError.quoted(text)), not 1 to 65535") }
        return port
    }

    /// The URL without its password: what messages name.
    public var description: String {
        let names = hosts.map {
            $0.isSocketFolder ? $0.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.name : "\($0.name):\($0.port)"
        }
        return "postgres://\(user)@\(names.joined(separator: ","))/\(database)"
    }

    /// `url` with any password replaced by `***`, for a message about a URL that did not parse.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        var text = url
        let authorityEnd = text[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
        if let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        {
            text.replaceSubrange(text.index(after: colon)..<at, with: "***")
        }
        if let range = text.range(of: "password=") {
            let end = text[range.upperBound...].firstIndex(of: "&") ?? text.endIndex
            text.replaceSubrange(range.upperBound..<end, with: "***")
        }
        return text
    }
}
