import GigaLedgerCore

/// What the store finds wrong with a ledger file: it cannot be used (missing, not a ledger, locked,
/// read-only, full, SQLite failed), or what it holds is damaged (a head, a tree, an index that does
/// not match the entries). Each case says which kind it is.
/// (An entry the rules refuse is a `Refusal`; a full verification's finding is a `VerificationFailure`.)
public enum LedgerError: GigaLedgerError, Equatable {
    case notFound(path: String, String?)
    case exists(path: String)
    case notALedger(path: String, String)
    case readOnly(path: String, String)
    case busy(path: String)
    /// A running `gigaledger serve` holds the ledger (its one writer): every write goes through it.
    case served(path: String, by: String?)
    /// A copy kept by `gigaledger sync` (marked beside it): written only by its syncs.
    case replica(path: String, of: String?, serving: Bool)
    case full(path: String)
    case headInvalid(seq: Int64, String)
    case treeIncomplete(level: Int, index: Int64)
    case checkpointMismatch(String)
    case notVerified(VerificationFailure)
    /// Stored data the store reads does not match the entries (an index row, the genesis entry).
    case damaged(String)
    /// A row of an index table that the entry its `seq` names does not make (written outside
    /// GigaLedger, by a role that may insert): nothing relies on it.
    case unmadeIndexRow(table: String, row: String, seq: Int64)
    case sqlite(code: Int32, message: String, sql: String?)
    /// A PostgreSQL ledger's server cannot be reached, or no longer takes writes (a failover under
    /// way): nothing was written by this request, or it was and a retry finds it by its hash.
    case unavailable(path: String, String)
    /// A PostgreSQL server that refuses this connection for good (a wrong password, no TLS where it
    /// is required, no such database): retrying does not help; the URL or the server's set-up must change.
    case cannotConnect(path: String, String)
    case postgres(state: String, message: String, sql: String?)

    public var description: String {
        switch self {
        case .notFound(let path, let why?): return "cannot create \(path): \(why)"
        case .notFound(let path, nil):
            return
                "no ledger at \(path): to work through your central ledger server, give --server URL (or set GIGALEDGER_SERVER); for a ledger of your own, create one with `gigaledger init`, or name it with --ledger or GIGALEDGER_LEDGER"
        case .exists(let path): return "\(path) already exists; refusing to overwrite it"
        case .notALedger(let path, let why): return "\(path) is not a GigaLedger ledger: \(why)"
        case .readOnly(let path, let why): return "ledger \(path) is read-only (\(why)); nothing was written"
        case .full(let path): return "the disk holding ledger \(path) is full (or the ledger reached its size limit); nothing was written"
        case .busy(let path): return "ledger \(path) is busy (another process holds the write lock); nothing was written, retry"
        case .served(let path, let url?):
            return
                "ledger \(path) is held by the server \(url) (gigaledger serve, its one writer): write through it with --server \(url), or stop it first; nothing was written"
        case .served(let path, nil):
            return
                "ledger \(path) is held by a running gigaledger serve (its one writer): write through that server with --server URL, or stop it first; nothing was written"
        case .replica(let path, let source, false):
            return
                "ledger \(path) is a copy of \(source ?? "its server") kept by gigaledger sync: run the command through the server instead (add --server \(source ?? "URL")); nothing was written (to write into this file on its own, detach it first: gigaledger sync --detach --ledger \(path))"
        case .replica(let path, let source, true):
            return
                "ledger \(path) is a copy of \(source ?? "a server's ledger") kept by gigaledger sync, not a ledger to serve: to restore a server from it, copy it into a ledger of its own first (gigaledger copy --from \(path) --to LEDGER; the operator runbook, \"Restoring a ledger\"); nothing was served"
        case .headInvalid(let seq, let why):
            return "the ledger's head entry \(seq) does not verify (\(why)); nothing was written, run `gigaledger verify`"
        case .checkpointMismatch(let why): return "the ledger does not extend the checkpoint: \(why)"
        case .damaged(let why): return "the ledger is damaged: \(why); nothing was written, run `gigaledger verify`"
        case .unmadeIndexRow(let table, let row, let seq):
            return
                "the ledger is damaged: the index table \(table) holds a row (\(row)) that entry \(seq) does not make: it was written outside GigaLedger; nothing that relies on it is recorded (nothing was written), run `gigaledger verify`"
        case .notVerified(let failure) where failure.isNewerFormat: return "\(failure); nothing was signed"
        case .notVerified(let failure): return "the ledger does not verify (\(failure)); nothing was signed, run `gigaledger verify`"
        case .treeIncomplete(let level, let index):
            return "the ledger's Merkle tree has no node at level \(level), index \(index); run `gigaledger verify`"
        case .unavailable(let path, let why): return "ledger \(path) cannot be reached (\(why)); retry"
        case .cannotConnect(let path, let why): return "cannot connect to ledger \(path): \(why)"
        case .postgres(let state, let message, let sql):
            return "PostgreSQL error \(state): \(Self.oneLine(message))" + (sql.map { " in: \(Self.oneLine(String($0.prefix(120))))" } ?? "")
        case .sqlite(let code, let message, let sql):
            return "SQLite error \(code): \(Self.oneLine(message))" + (sql.map { " in: \(Self.oneLine(String($0.prefix(120))))" } ?? "")
        }
    }

    /// `text` with every run of white space (line breaks included) as one space: a message is one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    public var kind: FailureKind {
        switch self {
        case .notVerified(let failure) where failure.isNewerFormat: return .unusable
        case .headInvalid, .checkpointMismatch, .treeIncomplete, .notVerified, .damaged, .unmadeIndexRow: return .notVerified
        case .notFound, .exists, .notALedger, .readOnly, .busy, .served, .replica, .full, .sqlite, .unavailable, .cannotConnect, .postgres:
            return .unusable
        }
    }

    /// A database's hosts and errors stay in the server's log; a client learns that it may retry.
    public var publicDescription: String {
        switch self {
        case .unavailable:
            return
                "the ledger's database cannot be reached at the moment; nothing was recorded by this request (or a retry finds it by its hash); retry"
        case .busy: return "the ledger is busy (another writer holds its lock); nothing was written, retry"
        case .cannotConnect, .postgres:
            return "the ledger's database refused the server's connection or statement; the operator has the details in the server's log"
        default: return description
        }
    }

    public var isRetryable: Bool {
        switch self {
        case .busy, .unavailable: return true
        default: return false
        }
    }
}
