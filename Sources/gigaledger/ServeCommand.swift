import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit
import GigaLedgerServer
import Logging

extension GigaLedger {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the ledger to many offices over HTTP(S): signed entries in, tlog tiles and entries out.",
            discussion: """
                Officers append with `--server URL` on any write command: they sign on their own machine and \
                the server admits the entry with the rules of a local append. While it runs, the server is the \
                ledger's one writer: a second server, and local write commands, are refused and told to write \
                through it; reads (verify, report, backup, publish) work beside it. The log key \
                (`key enroll --role log`) signs checkpoints here, so the authority key stays offline. Stops on \
                SIGTERM or SIGINT after the requests in flight; on SIGHUP reads its log key, its witnesses' \
                keys and its TLS certificate again (all or none). With --publish DIR it also writes each checkpoint \
                it keeps to DIR, as `gigaledger publish` does. The operator runbook, "One server for many offices"; \
                schema/FORMAT.md section 17.
                """)

        @OptionGroup var ledger: LocalLedgerOptions
        @Option(name: .long, help: ArgumentHelp("Address and port to listen on; port 0 picks a free one (printed).", valueName: "host:port"))
        var listen = "127.0.0.1:8470"
        @Option(
            name: .long,
            help: ArgumentHelp(
                "The server's state folder: the largest checkpoint it signed, so that it never serves a ledger rolled back behind it (default: $XDG_STATE_HOME/gigaledger/serve or ~/.local/state/gigaledger/serve).",
                valueName: "dir"), completion: .directory)
        var state: String?
        @Option(
            name: .long,
            help: ArgumentHelp("The log key's secret key file, or a pkcs11: URI of a key on a token: it signs the checkpoints.", valueName: "path"),
            completion: .file(extensions: ["key"]))
        var logKey: String
        @OptionGroup var passphrase: PassphraseOptions
        @Option(name: .long, help: ArgumentHelp("PEM certificate chain for HTTPS (with --tls-key).", valueName: "path"), completion: .file())
        var tlsCert: String?
        @Option(name: .long, help: ArgumentHelp("PEM private key for HTTPS (with --tls-cert).", valueName: "path"), completion: .file())
        var tlsKey: String?
        @Option(name: .long, help: ArgumentHelp("Keep a signed checkpoint of new entries at most this often, in milliseconds.", valueName: "ms"))
        var checkpointInterval: Int64 = ServerLimits().checkpointIntervalMilliseconds
        @Option(name: .long, help: ArgumentHelp("A request body must arrive within this many seconds.", valueName: "seconds"))
        var bodyTimeout: Int64 = ServerLimits().bodySecondsMax
        @Option(name: .long, help: ArgumentHelp("Requests a minute from one address, at most.", valueName: "n"))
        var requestsPerMinute = ServerLimits().requestsPerMinutePerAddress
        @Option(name: .long, help: ArgumentHelp("Submissions a minute signed by one key, at most.", valueName: "n"))
        var submissionsPerMinute = ServerLimits().submissionsPerMinutePerKey
        @Option(
            name: .long,
            help: ArgumentHelp(
                "A C2SP witness to ask for a cosignature of each checkpoint kept: its name, its URL and its public key file (an enrolled auditor key); repeatable.",
                valueName: "name=url=pub"))
        var witness: [String] = []
        @Option(
            name: .long,
            help: ArgumentHelp(
                "A PEM file of the CA certificates to trust for https:// witnesses, instead of the system's (a witness with a certificate of its own CA).",
                valueName: "path"), completion: .file())
        var witnessCa: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "A folder of report folders (`gigaledger report --out`) to show on the public page, each checked to be this ledger's.",
                valueName: "dir"), completion: .directory)
        var reports: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Publish each checkpoint kept into this folder, as `gigaledger publish --out DIR` does (for nginx or any web server).",
                valueName: "dir"), completion: .directory)
        var publish: String?
        @OptionGroup var partialGrace: PartialGraceOption

        func validate() throws {
            _ = try Self.parseListen(listen)
            guard (tlsCert == nil) == (tlsKey == nil) else {
                throw ValidationError("--\(tlsCert == nil ? "tls-cert" : "tls-key") is missing: HTTPS needs both --tls-cert and --tls-key")
            }
            guard (10...3_600_000).contains(checkpointInterval) else {
                throw ValidationError("--checkpoint-interval \(checkpointInterval) is outside 10 to 3600000 milliseconds")
            }
            guard (1...600).contains(bodyTimeout) else { throw ValidationError("--body-timeout \(bodyTimeout) is outside 1 to 600 seconds") }
            guard requestsPerMinute >= 1 else { throw ValidationError("--requests-per-minute \(requestsPerMinute) must be at least 1") }
            guard submissionsPerMinute >= 1 else { throw ValidationError("--submissions-per-minute \(submissionsPerMinute) must be at least 1") }
            for item in witness { _ = try Self.splitWitness(item) }
        }

        func run() async throws {
            // A SIGHUP while the ledger is verified at start is ignored (not the end of the process);
            // once serving, it reloads.
            signal(SIGHUP, SIG_IGN)
            try ledger.refuseServer()  // a server serves its own ledger file, never another server
            let (host, port) = try Self.parseListen(listen)
            var limits = ServerLimits()
            limits.checkpointIntervalMilliseconds = checkpointInterval
            limits.bodySecondsMax = bodyTimeout
            limits.requestsPerMinutePerAddress = requestsPerMinute
            limits.submissionsPerMinutePerKey = submissionsPerMinute
            limits.lockWaitSeconds = try ledger.checkedLockWait()
            var configuration = ServerConfiguration(
                ledgerPath: ledger.path, host: host, port: port,
                tls: tlsCert.flatMap { cert in tlsKey.map { (cert, $0) } }, limits: limits)
            configuration.witnesses = try witness.map(Self.parseWitness)
            configuration.witnessCA = witnessCa
            configuration.stateDirectory = state ?? RollbackGuard.defaultDirectory(environment: ProcessInfo.processInfo.environment)
            configuration.reports = reports
            configuration.publish = publish
            configuration.partialGraceSeconds = partialGrace.seconds
            let key = try SigningOptions(key: logKey, passphrase: passphrase).load()
            let scheme = tlsCert == nil ? "http" : "https"
            let path = ledger.displayPath
            let reloader = ServerReloader()
            let app = try await buildApplication(configuration, logKey: key, logger: Self.logger("gigaledger.serve"), reloader: reloader) {
                address in
                print("gigaledger: serving \(path) on \(scheme)://\(address)")
                try? flushStandardOutput()
            }
            // SIGHUP reads the log key, the witnesses' keys and the certificate again (a rotation, a
            // renewal): all of them or none, the server serving on either way.
            let serveLogger = Self.logger("gigaledger.serve")
            let (logKeyPath, passphrase, witnessOptions) = (logKey, self.passphrase, witness)
            let hangUp = Self.onHangUp {
                Task {
                    do {
                        let key = try SigningOptions(key: logKeyPath, passphrase: passphrase).load(interactive: false)
                        let running = try await reloader.reload(logKey: key, witnesses: try witnessOptions.map(Self.parseWitness))
                        serveLogger.notice("SIGHUP: reloaded: \(running)")
                        if let token = key as? TokenKey, !token.pinChecked {
                            serveLogger.warning(
                                "SIGHUP: the log key's token \(token.tokenName) was logged in already, so its PIN was not checked again: a wrong PIN file would show at the next start"
                            )
                        }
                    } catch {
                        serveLogger.error("SIGHUP: nothing reloaded: \(error)")
                    }
                }
            }
            defer { hangUp.cancel() }
            try await runUntilStopped(app, host: host, port: port)
        }

        /// Runs `action` on each SIGHUP (instead of ending the process, SIGHUP's default) until the
        /// returned source is cancelled.
        static func onHangUp(_ action: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }

        static func logger(_ label: String) -> Logger {
            var logger = Logger(label: label)
            logger.logLevel = .info
            return logger
        }

        /// `NAME=URL=PUB`: the URL may hold `=` itself, so the name is up to the first `=` and the key file after the last.
        static func splitWitness(_ text: String) throws -> (name: String, url: String, key: String) {
            guard let first = text.firstIndex(of: "="), let last = text.lastIndex(of: "="), first < last, first > text.startIndex else {
                throw ValidationError("--witness \(InputError.quoted(text)) is not NAME=URL=PUBLIC_KEY_FILE")
            }
            let url = String(text[text.index(after: first)..<last])
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("--witness \(InputError.quoted(text)) has no http:// or https:// URL")
            }
            return (String(text[..<first]), url, String(text[text.index(after: last)...]))
        }

        static func parseWitness(_ text: String) throws -> WitnessEndpoint {
            let (name, url, key) = try splitWitness(text)
            return WitnessEndpoint(name: name, url: url, key: try KeyFiles.readPublic(path: key))
        }

        /// `HOST:PORT`, the port 0 to 65535.
        static func parseListen(_ text: String) throws -> (String, Int) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
                String(port) == text[text.index(after: colon)...], colon > text.startIndex
            else { throw ValidationError("--listen \(InputError.quoted(text)) is not HOST:PORT with a port from 0 to 65535") }
            return (String(text[..<colon]), port)
        }
    }
}

extension GigaLedger {
    struct WitnessCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "witness",
            abstract: "Run an auditor's C2SP tlog-witness: cosign a log's checkpoints only when consistent with the last one cosigned.",
            subcommands: [Serve.self])

        struct Serve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Serve POST /add-checkpoint (C2SP tlog-witness) for the logs given.",
                discussion: """
                    The witness keeps, per origin, the last checkpoint it cosigned in the state folder, replaced \
                    atomically with each cosignature, and refuses a checkpoint that does not extend it (409 with its \
                    size, or 422 when the consistency proof fails; a fork's request is kept as evidence there). \
                    Give the log server the witness's URL and public key (`serve --witness`). schema/FORMAT.md section 19.
                    """)

            @Option(
                name: .long,
                help: ArgumentHelp(
                    "The witness's secret key file, or a pkcs11: URI of a key on a token (an auditor key enrolled in the ledgers it witnesses, for them to keep its cosignatures).",
                    valueName: "path"), completion: .file(extensions: ["key"]))
            var key: String
            @OptionGroup var passphrase: PassphraseOptions
            @Option(
                name: .long,
                help: ArgumentHelp(
                    "The witness's name on its cosignature lines (a schema-less URL, e.g. court-of-auditors.example/witness).", valueName: "name"))
            var name: String
            @Option(
                name: .long, help: ArgumentHelp("The state folder: the last checkpoint cosigned per origin, and evidence.", valueName: "dir"),
                completion: .directory)
            var state: String
            @Option(
                name: .long,
                help: ArgumentHelp(
                    "A log to witness: its origin and the public key that signs its checkpoints (repeatable; an origin may have several keys).",
                    valueName: "origin=pub"))
            var log: [String] = []
            @Option(name: .long, help: ArgumentHelp("Address and port to listen on; port 0 picks a free one (printed).", valueName: "host:port"))
            var listen = "127.0.0.1:8471"
            @Option(
                name: .long, help: ArgumentHelp("PEM certificate chain for HTTPS (with --tls-key); read again on SIGHUP.", valueName: "path"),
                completion: .file())
            var tlsCert: String?
            @Option(name: .long, help: ArgumentHelp("PEM private key for HTTPS (with --tls-cert).", valueName: "path"), completion: .file())
            var tlsKey: String?

            func validate() throws {
                _ = try GigaLedger.Serve.parseListen(listen)
                guard (tlsCert == nil) == (tlsKey == nil) else {
                    throw ValidationError("--\(tlsCert == nil ? "tls-cert" : "tls-key") is missing: HTTPS needs both --tls-cert and --tls-key")
                }
                guard !log.isEmpty else { throw ValidationError("--log is missing: give at least one ORIGIN=LOG.pub to witness") }
                for item in log where (item.firstIndex(of: "=").map { $0 == item.startIndex } ?? true) {
                    throw ValidationError("--log \(InputError.quoted(item)) is not ORIGIN=PUBLIC_KEY_FILE")
                }
            }

            func run() async throws {
                let (host, port) = try GigaLedger.Serve.parseListen(listen)
                let logs = try Self.readLogs(log)
                let signingKey = try SigningOptions(key: key, passphrase: passphrase).load()
                let witness = try Witness(key: signingKey, name: name, logs: logs, state: try WitnessState(directory: state))
                let name = self.name
                let logger = GigaLedger.Serve.logger("gigaledger.witness")
                let scheme = tlsCert == nil ? "http" : "https"
                let certificates = CertificateReloader()
                let app = try buildWitnessApplication(
                    witness, host: host, port: port, tls: tlsCert.flatMap { cert in tlsKey.map { (cert, $0) } }, certificates: certificates,
                    logger: logger
                ) { address in
                    print("gigaledger: witness \(name) serving on \(scheme)://\(address)")
                    try? flushStandardOutput()
                }
                // SIGHUP: the --log files (a log key added for a rotation) and the certificate (a
                // renewal) read again, all or nothing.
                let items = log
                let hangUp = GigaLedger.Serve.onHangUp {
                    do {
                        let logs = try Self.readLogs(items)
                        let renewed = try certificates.reload()
                        witness.replaceLogs(logs)
                        let keys = logs.values.map(\.count).reduce(0, +)
                        logger.notice(
                            "SIGHUP: reloaded: the --log files (\(logs.count) log\(logs.count == 1 ? "" : "s"), \(keys) key\(keys == 1 ? "" : "s"))\(renewed ? ", the TLS certificate" : "")"
                        )
                    } catch {
                        logger.error("SIGHUP: nothing reloaded, the logs followed and the certificate are unchanged: \(error)")
                    }
                }
                defer { hangUp.cancel() }
                try await runUntilStopped(app, host: host, port: port)
            }

            /// `ORIGIN=FILE` items: each file one or more public keys of that origin's log.
            static func readLogs(_ items: [String]) throws -> [String: [PublicKey]] {
                var logs = [String: [PublicKey]]()
                for item in items {
                    let equals = item.firstIndex(of: "=")!  // validate() checked it
                    logs[String(item[..<equals]), default: []] += try KeyFiles.readPublicKeys(path: String(item[item.index(after: equals)...]))
                }
                return logs
            }
        }
    }
}
