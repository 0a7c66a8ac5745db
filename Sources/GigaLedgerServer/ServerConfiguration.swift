import Foundation
import GigaLedgerCore
import GigaLedgerKit

/// What `gigaledger serve` is told: where the ledger is, where to listen, the log key, the limits.
public struct ServerConfiguration: Sendable {
    public var ledgerPath: String
    public var host: String
    /// 0 picks a free port (printed when the server listens).
    public var port: Int
    /// PEM files of the certificate chain and its private key; nil serves plain HTTP (loopback, or
    /// behind a TLS-terminating proxy).
    public var tls: (certificate: String, privateKey: String)?
    public var limits: ServerLimits
    /// The witnesses asked to cosign each checkpoint kept (`--witness NAME=URL=PUB`).
    public var witnesses: [WitnessEndpoint] = []
    /// A PEM file of the CA certificates trusted for `https://` witnesses instead of the system's
    /// (`--witness-ca`: a witness with a certificate of the auditors' own CA).
    public var witnessCA: String?
    /// A folder of report folders shown on the public page (`--reports DIR`).
    public var reports: String?
    /// A folder to publish each checkpoint kept into (`--publish DIR`, as `gigaledger publish`), and
    /// how long superseded partial tiles stay there (`--partial-grace`).
    public var publish: String?
    public var partialGraceSeconds: TimeInterval = Ledger.partialGraceSecondsDefault
    /// The server's state folder (`--state`): the rollback guard, the largest checkpoint it signed
    /// (`RollbackGuard`); nil keeps none (routes tested in process).
    public var stateDirectory: String?
    /// The log key keeps checkpoints only once the server listens (a server that cannot bind its
    /// port writes nothing); routes tested in process, which never listen, turn it off.
    public var checkpointsOnceListening = true

    public init(ledgerPath: String, host: String, port: Int, tls: (certificate: String, privateKey: String)?, limits: ServerLimits = ServerLimits()) {
        self.ledgerPath = ledgerPath
        self.host = host
        self.port = port
        self.tls = tls
        self.limits = limits
    }
}

/// The server's limits, each named once; every request beyond one is refused with a JSON error.
public struct ServerLimits: Sendable {
    /// The largest request body: a signed import of `Ledger.entriesPerRequestMax` entries.
    public var bodyBytesMax = 16 * 1024 * 1024
    /// A request body must arrive within this time (a slow client holds no connection for long).
    public var bodySecondsMax: Int64 = 15
    /// A connection with no request for this long is closed.
    public var idleSecondsMax: Int64 = 60
    /// Submissions per minute by one signing key, and requests per minute from one address.
    public var submissionsPerMinutePerKey = 1_200
    public var requestsPerMinutePerAddress = 12_000
    /// How often the log key signs and keeps a checkpoint of new entries, at most.
    public var checkpointIntervalMilliseconds: Int64 = 1_000
    /// The most entries one read of a range returns.
    public var entriesPerReadMax = 1_000
    /// How long the server waits at start for local commands writing the ledger to finish, and
    /// each write for the database's lock (`--lock-wait`).
    public var lockWaitSeconds: Double = 10

    public init() {}
}

/// A C2SP tlog-witness the log server asks for cosignatures: its name on cosignature lines, its
/// submission URL prefix, and its public key (an auditor key enrolled in the ledger).
public struct WitnessEndpoint: Sendable {
    public let name: String
    public let url: String
    public let key: PublicKey

    public init(name: String, url: String, key: PublicKey) {
        self.name = name
        self.url = url
        self.key = key
    }
}
