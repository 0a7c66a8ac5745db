/// The three kinds of failure. Each error says which it is where it is thrown, never where it is
/// caught; the front ends map a kind to an exit code or an HTTP status in one place each.
public enum FailureKind: String, Sendable, Equatable {
    /// The input is refused: a bad value, an unknown reference, a key not allowed to sign it.
    /// Exit 65; HTTP 4xx. Nothing was written.
    case refused
    /// The ledger, a key or a file cannot be used: missing, not a ledger, busy, read-only, full, a
    /// wrong passphrase, an output that cannot be written. Exit 2; HTTP 500/503. Nothing was written.
    case unusable
    /// The ledger does not verify: the auditor's finding, never "your input is wrong". Exit 1.
    case notVerified

    /// The command line's exit code for this kind, which the server's JSON errors carry too.
    public var exitCode: Int32 {
        switch self {
        case .refused: return 65
        case .unusable: return 2
        case .notVerified: return 1
        }
    }

    /// One error as the JSON the CLI writes under `--json` and the server answers:
    /// `{"error":{"exit_code":N,"kind":"...","message":"..."}}`.
    public func errorJSON(_ message: String) -> [UInt8] {
        CanonicalJSON.object(["error": .object(["kind": .string(rawValue), "exit_code": .integer(Int64(exitCode)), "message": .string(message)])])
            .encoded()
    }
}

/// An error of GigaLedger's own: one line of text and its kind.
public protocol GigaLedgerError: Error, CustomStringConvertible {
    var kind: FailureKind { get }
    /// The same request may succeed a moment later (another writer held the lock).
    var isRetryable: Bool { get }
    /// What a server tells a client about it: the description, unless it names the operator's
    /// own infrastructure (a database's hosts), which stays in the server's log.
    var publicDescription: String { get }
}

extension GigaLedgerError {
    public var isRetryable: Bool { false }
    public var publicDescription: String { description }
}

/// The first thing found wrong in a ledger: which entry, and what was expected and found.
public struct VerificationFailure: GigaLedgerError, Equatable, Sendable {
    /// The sequence number of the first failing entry (for an index-table mismatch, the entry it names).
    public let seq: Int64
    public let reason: String

    /// The entry was written by a newer GigaLedger (a later entry format): nothing is judged of it
    /// or after it; the ledger cannot be used by this version (exit 2), it is not "not verified".
    public let isNewerFormat: Bool

    public init(seq: Int64, reason: String, isNewerFormat: Bool = false) {
        self.seq = seq
        self.reason = reason
        self.isNewerFormat = isNewerFormat
    }

    /// `entry N: reason`; a failure of the file as a whole (its schema) has `seq` 0: `the ledger file: reason`.
    public var description: String { seq == 0 ? "the ledger file: \(reason)" : "entry \(seq): \(reason)" }
    public var kind: FailureKind { isNewerFormat ? .unusable : .notVerified }
}

/// The system clock is outside the times a ledger records: nothing is recorded until it is fixed.
public struct ClockError: GigaLedgerError, Equatable, Sendable {
    public let time: String
    public var description: String {
        "the system clock says \(time), outside \(CalendarDate.earliest) to \(CalendarDate.latest); nothing was written: fix the clock (timedatectl)"
    }
    public var kind: FailureKind { .unusable }
}

/// An output file that cannot be written (a report, a checkpoint, a receipt): the environment, not the input.
public struct OutputError: GigaLedgerError, Equatable, Sendable {
    public let path: String
    public let why: String

    public init(path: String, why: String) {
        self.path = path
        self.why = why
    }

    public var description: String { "cannot write \(path): \(why); nothing was written there" }
    public var kind: FailureKind { .unusable }
}

/// A file given as input that is refused as a whole (a policy file, a checkpoint, a receipt):
/// names the file and says what is wrong.
public struct FileRefusal: GigaLedgerError, Equatable, Sendable {
    public let what: String
    public let problem: String

    public init(_ what: String, _ problem: String) {
        self.what = what
        self.problem = problem
    }

    public var description: String { "\(what): \(problem)" }
    public var kind: FailureKind { .refused }
}

/// An input file that cannot be read at all (missing, a directory, no permission): the
/// environment, not its content.
public struct UnreadableFile: GigaLedgerError, Equatable, Sendable {
    public let what: String
    public let path: String
    public let why: String

    public init(what: String, path: String, why: String) {
        self.what = what
        self.path = path
        self.why = why
    }

    public var description: String { "\(what) \(path): cannot read it: \(why)" }
    public var kind: FailureKind { .unusable }
}
