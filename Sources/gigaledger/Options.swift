import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

/// Where the ledger file is: `--ledger PATH`, else `GIGALEDGER_LEDGER`, else `./ledger.sqlite`.
struct LedgerFileOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger: a SQLite file, or a PostgreSQL database as postgres://USER@HOST:PORT/DATABASE (password from the URL or $PGPASSWORD) (default: $GIGALEDGER_LEDGER, else ./ledger.sqlite).",
            valueName: "path"),
        completion: .file(extensions: ["sqlite"]))
    var ledger: String?

    // `.unconditional`: `--lock-wait -1` is a value to refuse, not a missing one.
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "How long to wait for another writer, or (with --server) to sign again after other offices' entries and to wait out a busy server, before failing with \"busy, retry\".",
            valueName: "seconds"))
    var lockWait: Double = Ledger.lockWaitSecondsDefault

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The authority key you trust for this ledger (its NAME.pub; default: $GIGALEDGER_AUTHORITY_KEY, else the key recorded the first time a ledger of this origin was opened, in ~/.config/gigaledger/known_ledgers).",
            valueName: "pub"))
    var authorityKey: String?

    func validate() throws {
        guard lockWait >= 0, lockWait <= 3600 else { throw ValidationError("--lock-wait \(lockWait) is outside 0 to 3600 seconds") }
    }
}

/// The ledger of a command that can also go through a server: the file's options and `--server`.
struct LedgerOptions: ParsableArguments, LedgerLocation {
    @OptionGroup var file: LedgerFileOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Work through this GigaLedger server instead of a local file (default: $GIGALEDGER_SERVER): whatever is signed is signed here, and the key never leaves this machine.",
            valueName: "url"))
    var server: String?
    @OptionGroup var serverCA: ServerCAOption
}

/// `--partial-grace SECONDS` (`publish`, `serve --publish`): how long a partial tile or bundle
/// stays once its full one is published, 0 to a year.
struct PartialGraceOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "How long a partial tile or bundle stays once its full one is published (a reader may hold an older checkpoint).",
            valueName: "seconds"))
    var partialGrace: String = String(Int(Ledger.partialGraceSecondsDefault))

    static let secondsMax = 365 * 86_400

    var seconds: TimeInterval { TimeInterval(Int(partialGrace) ?? 0) }

    func validate() throws {
        guard let seconds = Int(partialGrace), seconds >= 0, seconds <= Self.secondsMax else {
            throw ValidationError("--partial-grace \(InputError.quoted(partialGrace)) is not a number of seconds from 0 to \(Self.secondsMax)")
        }
    }
}

/// `--server-ca FILE`: the certificates to trust for an https:// server (its own CA's, for a
/// self-signed one) instead of the system's; the same as `GIGALEDGER_SERVER_CA`, which it sets for
/// the command's clients.
struct ServerCAOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PEM file of the CA certificates to trust for an https:// server, instead of the system's (default: $GIGALEDGER_SERVER_CA).",
            valueName: "pem"), completion: .file())
    var serverCa: String?

    func validate() throws {
        if let serverCa { setenv(Environment.serverCA, serverCa, 1) }
    }
}

/// The ledger of a command that works on the file only. `--server` is still read, hidden from
/// its help, so that giving one is answered with what to do instead (`refuseServer`), not with
/// an unknown option.
struct LocalLedgerOptions: ParsableArguments, LedgerLocation {
    @OptionGroup var file: LedgerFileOptions

    @Option(name: .long, help: ArgumentHelp("Refused: this command works on a ledger file.", valueName: "url", visibility: .hidden))
    var server: String?
}

/// Where the ledger is, and how a command opens it, for both kinds of ledger options.
protocol LedgerLocation {
    var file: LedgerFileOptions { get }
    var server: String? { get }
}

extension LedgerLocation {
    var ledger: String? { file.ledger }
    var lockWait: Double { file.lockWait }
    var authorityKey: String? { file.authorityKey }

    var path: String {
        ledger ?? Environment.value(Environment.ledger) ?? "ledger.sqlite"
    }

    /// The ledger as messages name it: a PostgreSQL URL without its password.
    var displayPath: String { Ledger.displayName(path) }

    /// The server to append through, if any: `--server`, else `GIGALEDGER_SERVER` (unless `--ledger` names a file).
    var serverURL: String? {
        server ?? (ledger == nil ? Environment.value(Environment.server) : nil)
    }

    /// Records `data`, signed by the signing key, in the local ledger or through the server, and
    /// prints what was recorded (`what`). Locally the output is part of the transaction (lost
    /// output records nothing); through a server it follows the server's acknowledgement.
    func record(_ data: EntryData, signing: SigningOptions, checks: EntryChecks = EntryChecks(), what: String) async throws {
        guard let url = serverURL else {
            _ = try open(forWriting: true).append(data, key: signing.load(), checks: checks, deliver: { try Render.recorded($0, what: what) })
            return
        }
        let remote = try remoteAppend(url)
        let entry = try await remote.append(data, key: try signing.load(), checks: checks)
        try Render.recorded(entry, what: what)
    }

    /// The verified copy a signature about the whole ledger is made over (`checkpoint` and
    /// `cosign` with `--server`): the file `--ledger` or `GIGALEDGER_LEDGER` names, created or
    /// brought up to the server's latest checkpoint first (`sync`, O(new), every new entry checked).
    func syncedCopy(_ url: String, forWriting: Bool) async throws -> Ledger {
        guard let path = ledger ?? Environment.value(Environment.ledger) else {
            throw CLIError(
                message:
                    "with --server, name your verified copy of the ledger with --ledger COPY.sqlite (or GIGALEDGER_LEDGER): it is synced from \(url) first, and the signature is made over it",
                kind: .refused)
        }
        let lockWait = try checkedLockWait()
        let replica = Replica(
            client: try Environment.client(url), trust: try Environment.headTrust(pinned: try pinnedAuthority(), keepingCheckpoints: false))
        _ = try await replica.sync(path: path, lockWaitSeconds: lockWait)
        // The copy is the sync's: opened as it opens it (a write command would be refused a copy), written by nothing here.
        return try Ledger.open(path: path, forWriting: forWriting, lockWaitSeconds: lockWait, role: .replica)
    }

    /// A read command's ledger: the local file, or with `--server` this user's own verified copy of
    /// the server's ledger, brought up to the server's checked head first (O(new), every new entry
    /// checked as `verify` checks it): nothing read rests on the server's word.
    func openForReading() async throws -> Ledger {
        guard let url = serverURL else { return try open(forWriting: false) }
        // A copy named on the command line is the one kept (as `sync --ledger` keeps it).
        if ledger != nil { return try await syncedCopy(url, forWriting: false) }
        let read = try remoteRead(url)
        let checked = try await read.trust.checkedHead(read.client)
        guard let copy = try read.trust.copies?.ledger(origin: checked.checkpoint.origin) else {
            throw CLIError(
                message: "no verified copy of the ledger of \(url) could be kept in the configuration folder: set HOME or XDG_CONFIG_HOME",
                kind: .unusable)
        }
        return copy
    }

    /// Reading through the server at `url`, checked as a remote append checks the head.
    func remoteRead(_ url: String) throws -> RemoteRead {
        let remote = try remoteAppend(url)
        return RemoteRead(client: remote.client, trust: remote.trust)
    }

    /// The remote append for `url`, trusting the authority key given or recorded for its origin and
    /// keeping the last checkpoint seen in the user's configuration folder.
    func remoteAppend(_ url: String) throws -> RemoteAppend {
        RemoteAppend(
            client: try Environment.client(url),
            trust: try Environment.headTrust(pinned: pinnedAuthority(), keepingCheckpoints: true, lockWait: try checkedLockWait()),
            waitSeconds: try checkedLockWait())
    }

    /// `--lock-wait`, within 0 to 3600 seconds: how long a local writer waits for the lock, and a
    /// client signs again after conflicts or waits out a busy server, before "busy, retry".
    func checkedLockWait() throws -> Double {
        // `LedgerFileOptions.validate` refused anything outside 0 to 3600 seconds before `run`.
        precondition((0...3600).contains(lockWait), "LedgerLocation.checkedLockWait: validate() lets no other value through")
        return lockWait
    }

    /// The authority key given: `--authority-key`, else `GIGALEDGER_AUTHORITY_KEY`.
    func pinnedAuthority() throws -> PublicKey? {
        try Environment.pinnedAuthority(authorityKey)
    }

    /// Opens the ledger and checks its root of trust (the genesis authority key) against the key
    /// given or recorded for its origin; a ledger whose genesis cannot be read is left to verify.
    func open(forWriting: Bool, dryRun: Bool = false) throws -> Ledger {
        try openTrusted(forWriting: forWriting, dryRun: dryRun).ledger
    }

    /// `open`, and how the authority key came to be trusted (nil when the genesis cannot be read).
    /// A dry run (`dryRun`) writes nothing: it takes no writer lock (it works beside a server) and
    /// works on a copy kept by `sync`.
    func openTrusted(
        forWriting: Bool, dryRun: Bool = false
    ) throws -> (ledger: Ledger, origin: String?, authority: KeyID?, trust: TrustedAuthorities.Trusted?) {
        // A command that works on a file must not quietly use a local one when a server was named.
        try refuseServer()
        let lockWait = try checkedLockWait()
        let pinned = try pinnedAuthority()
        let ledger = try Ledger.open(path: path, forWriting: forWriting, lockWaitSeconds: lockWait, role: dryRun ? .dryRun : .command)
        guard let (origin, authority) = try? ledger.rootOfTrust() else { return (ledger, nil, nil, nil) }
        // The key trusted may be a later authority key: it vouches by an entry or a checkpoint it signed (FORMAT.md section 12).
        let trust = try Environment.trustedAuthorities.check(origin: origin, genesis: authority, pinned: pinned, vouching: ledger.vouchingCheckpoint)
        if let pinned { try? Environment.trustedAuthorities.recordIfNone(origin: origin, key: pinned.id) }
        return (ledger, origin, authority, trust)
    }

    /// Refuses a server for a command that works on a ledger file: `--server`, or
    /// `GIGALEDGER_SERVER` when no ledger is named (neither `--ledger` nor `GIGALEDGER_LEDGER`).
    func refuseServer() throws {
        if server?.isEmpty == true { throw InputError(field: "server", value: "", problem: "is empty: give a server's URL, or leave --server out") }
        let named = ledger != nil || Environment.value(Environment.ledger) != nil
        if let server = server ?? (named ? nil : Environment.value(Environment.server)) {
            throw CLIError(
                message:
                    "this command works on a ledger file, not a server (\(server)\(server == self.server ? "" : ", from \(Environment.server)")): keep a verified copy with `gigaledger sync --from \(server) --ledger COPY.sqlite` and give --ledger COPY.sqlite; --server is for write commands, reads (status, log, show, factory list, partner list, key list, policy show), checkpoint, cosign and prove --entry",
                kind: .refused)
        }
    }
}

/// The passphrase source: `--passphrase-file PATH`, else `GIGALEDGER_PASSPHRASE_FILE`, else the
/// terminal; for a key on a token, the same file or terminal gives its PIN, and `--pkcs11-module`
/// the token's PKCS#11 module.
struct PassphraseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the passphrase (or a token's PIN) from this file (default: $GIGALEDGER_PASSPHRASE_FILE, else ask on the terminal).",
            valueName: "path"),
        completion: .file())
    var passphraseFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The PKCS#11 module of a key given as a pkcs11: URI (default: $GIGALEDGER_PKCS11_MODULE, else p11-kit's proxy).",
            valueName: "path"),
        completion: .file(extensions: ["so"]))
    var pkcs11Module: String?

    /// Where a token key's module is and how long a call to it is waited for
    /// (`GIGALEDGER_PKCS11_SECONDS`, default `TokenKey.waitSecondsDefault`).
    func tokenAccess(uri: PKCS11URI) throws -> TokenKey.Access {
        var seconds = TokenKey.waitSecondsDefault
        if let text = Environment.value(Environment.pkcs11Seconds) {
            guard let value = Int(text), String(value) == text, (1...3600).contains(value) else {
                throw CLIError(
                    message: "\(Environment.pkcs11Seconds) \(InputError.quoted(text)) is not a number of seconds from 1 to 3600", kind: .unusable)
            }
            seconds = value
        }
        guard let module = uri.modulePath ?? pkcs11Module ?? Environment.value(Environment.pkcs11Module) ?? Environment.pkcs11ProxyModule else {
            throw TokenError.noModule(uri.description)
        }
        return TokenKey.Access(modulePath: module, waitSeconds: seconds)
    }

    /// The key on a token `uri` names, opened (or made, `generating`), its PIN read as `readPIN`
    /// says; `interactive` false never asks the terminal.
    func token(_ uri: PKCS11URI, generating: Bool = false, interactive: Bool = true) throws -> TokenKey {
        let pin: TokenKey.PINSource = { token in
            guard interactive || passphraseFile != nil else { throw TokenError.pinNeeded(token: token) }
            return try readPIN(token: token)
        }
        let access = try tokenAccess(uri: uri)
        return try generating ? TokenKey.generate(uri, access: access, pin: pin) : TokenKey.open(uri, access: access, pin: pin)
    }

    /// A token's PIN, and where it came from: `--passphrase-file`, else asked on the terminal
    /// without echo. Never `GIGALEDGER_PASSPHRASE_FILE`: a key file's passphrase sent as a PIN
    /// would use up one of the card's tries.
    func readPIN(token: String) throws -> (pin: SecretBytes, source: String) {
        if let passphraseFile { return (try KeyFiles.readPassphrase(path: passphraseFile), "--passphrase-file \(passphraseFile)") }
        let pin = try Terminal.readSecret(
            prompt: "PIN for token \(token): ", what: "PIN for token \(token)",
            elsewhere: "use --passphrase-file, or ?pin-source=file:PATH in the key's URI (GIGALEDGER_PASSPHRASE_FILE is never taken as a PIN)")
        return (pin, "the terminal")
    }

    var file: String? {
        passphraseFile ?? Environment.value(Environment.passphraseFile)
    }

    /// The passphrase from the file, or asked on the terminal (twice when `confirm`: a new key's,
    /// which must be at least `KeyFiles.passphraseCharactersMin` characters).
    func read(prompt: String, confirm: Bool) throws -> SecretBytes {
        if let file {
            let secret = try KeyFiles.readPassphrase(path: file)
            if confirm { try Self.checkNew(secret) }
            return secret
        }
        let first = try Terminal.readSecret(prompt: prompt)
        guard confirm else { return first }
        try Self.checkNew(first)
        let second = try Terminal.readSecret(prompt: "Repeat the passphrase: ")
        guard first.constantTimeEquals(second) else { throw KeyError.passphraseMismatch }
        return first
    }

    static func checkNew(_ secret: SecretBytes) throws {
        guard secret.codePointCount >= KeyFiles.passphraseCharactersMin else { throw KeyError.passphraseTooShort(characters: secret.codePointCount) }
        guard !secret.hasControlBytes else { throw KeyError.passphraseHasControls }
    }
}

/// The signing key: `--key PATH`, else `GIGALEDGER_KEY`.
struct SigningOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("Your secret key file, or a key on a token as a pkcs11: URI (default: $GIGALEDGER_KEY).", valueName: "path"),
        completion: .file(extensions: ["key"]))
    var key: String?

    @OptionGroup var passphrase: PassphraseOptions

    init() {}

    init(key: String?, passphrase: PassphraseOptions) {
        self.key = key
        self.passphrase = passphrase
    }

    /// The key file: `--key`, else `GIGALEDGER_KEY`.
    var keyPath: String? { key ?? Environment.value(Environment.key) }

    /// Reads, checks and (if encrypted) decrypts the secret key, or opens the key on a token that
    /// a `pkcs11:` URI names (RFC 7512); `interactive` false (a server's SIGHUP) never asks the
    /// terminal: an encrypted key or a token's PIN then needs a passphrase file (or the URI's pin-source).
    func load(interactive: Bool = true) throws -> any Signer {
        guard let path = keyPath else {
            throw CLIError(message: "no signing key: give --key PATH or set GIGALEDGER_KEY", kind: .unusable)
        }
        if PKCS11URI.isURI(path) {
            return try passphrase.token(try tokenURI(path), interactive: interactive)
        }
        let parsed = try KeyFiles.readSecret(path: path)
        if !interactive && parsed.isEncrypted && passphrase.file == nil {
            throw CLIError(
                message:
                    "the key \(path) is encrypted and no passphrase file is given (--passphrase-file, GIGALEDGER_PASSPHRASE_FILE): it cannot be read again without a terminal",
                kind: .unusable)
        }
        let secret = parsed.isEncrypted ? try passphrase.read(prompt: "Passphrase for \(path): ", confirm: false) : nil
        return try SecretKeyFile.open(parsed, passphrase: secret)
    }
}

/// The plausibility checks an officer may switch off for one entry (or one import), saying so.
struct EntryCheckOptions: ParsableArguments {
    @Flag(
        name: .long,
        help:
            "Record it although an earlier entry has the same facts (a real second payment of the same amount, say): the entry says so, and reports list it."
    )
    var allowDuplicate = false
    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Accept a value date more than the horizon ahead (default \(EntryChecks.horizonDaysDefault) days; $\(Environment.horizonDays) sets it)."))
    var future = false

    func checks() throws -> EntryChecks {
        var horizon = EntryChecks.horizonDaysDefault
        if let text = Environment.value(Environment.horizonDays) {
            guard let days = Int(text), String(days) == text, days >= 0, days <= 36_500 else {
                throw CLIError(
                    message: "\(Environment.horizonDays) \(InputError.quoted(text)) is not a number of days from 0 to 36500", kind: .unusable)
            }
            horizon = days
        }
        return EntryChecks(allowDuplicate: allowDuplicate, allowFuture: future, horizonDays: horizon)
    }
}

/// The environment variables that stand in for options, read in one place: an empty value counts as unset.
enum Environment {
    static let horizonDays = "GIGALEDGER_DATE_HORIZON_DAYS"
    static let ledger = "GIGALEDGER_LEDGER"
    static let key = "GIGALEDGER_KEY"
    static let passphraseFile = "GIGALEDGER_PASSPHRASE_FILE"
    static let authorityKey = "GIGALEDGER_AUTHORITY_KEY"
    static let server = "GIGALEDGER_SERVER"
    /// A PEM file of the certificates to trust for an https:// server, instead of the system's.
    static let serverCA = "GIGALEDGER_SERVER_CA"
    /// The PKCS#11 module for keys given as pkcs11: URIs, and how long a call to it is waited for.
    static let pkcs11Module = "GIGALEDGER_PKCS11_MODULE"
    static let pkcs11Seconds = "GIGALEDGER_PKCS11_SECONDS"
    /// p11-kit's proxy module (Debian: p11-kit-modules), which loads the modules the system has
    /// configured (OpenSC for smart cards, an HSM's): the module used when none is named.
    static var pkcs11ProxyModule: String? {
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"].map { $0 + "/p11-kit-proxy.so" }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The known-ledgers file of this user (XDG_CONFIG_HOME or HOME).
    static var trustedAuthorities: TrustedAuthorities {
        TrustedAuthorities(path: TrustedAuthorities.defaultPath(environment: ProcessInfo.processInfo.environment))
    }

    /// The client of the server at `url`, trusting `GIGALEDGER_SERVER_CA` for HTTPS when set.
    static func client(_ url: String) throws -> LedgerClient {
        try LedgerClient(url: url, caFile: value(serverCA))
    }

    /// What a client trusts of a server's answers: `pinned`, else this user's known ledgers; the
    /// checkpoints kept per origin in the configuration folder (`keepingCheckpoints`; a replica's
    /// own entries stand for them instead); evidence written to the current folder.
    /// `lockWait`: how long to wait for another command of this user that is bringing the same
    /// own copy up to date (`--lock-wait`).
    static func headTrust(pinned: PublicKey?, keepingCheckpoints: Bool, lockWait: Double = Ledger.lockWaitSecondsDefault) throws -> HeadTrust {
        let environment = ProcessInfo.processInfo.environment
        // A client that keeps no copy of its own would have to take keys and revocations from the server's word.
        guard !keepingCheckpoints || OwnCopies.defaultDirectory(environment: environment) != nil else {
            throw CLIError(
                message:
                    "a command through a server keeps its own verified copy of the ledger in the configuration folder, and there is none: set HOME or XDG_CONFIG_HOME",
                kind: .unusable)
        }
        return HeadTrust(
            pinned: pinned, known: trustedAuthorities,
            kept: KeptCheckpoints(directory: keepingCheckpoints ? KeptCheckpoints.defaultDirectory(environment: environment) : nil),
            evidenceDirectory: FileManager.default.currentDirectoryPath,
            copies: keepingCheckpoints
                ? OwnCopies.defaultDirectory(environment: environment).map {
                    OwnCopies(directory: $0, notice: { warn($0) }, lockWaitSeconds: lockWait)
                } : nil)
    }

    /// The authority key given: `option` (`--authority-key`), else `GIGALEDGER_AUTHORITY_KEY`.
    static func pinnedAuthority(_ option: String?) throws -> PublicKey? {
        try (option ?? value(authorityKey)).map { try KeyFiles.readPublic(path: $0) }
    }

    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// `text` read as a PKCS#11 URI. A PIN written in it is on the command line, which other users
/// of the machine may read (`ps`) and a shell keeps in its history: said once, on stderr.
func tokenURI(_ text: String) throws -> PKCS11URI {
    let uri = try PKCS11URI.parse(text)
    if uri.pinValue != nil {
        warn(
            "warning: the key's URI holds its PIN (pin-value), which others on this machine can read while the command runs; use ?pin-source=file:PATH"
        )
    }
    return uri
}
