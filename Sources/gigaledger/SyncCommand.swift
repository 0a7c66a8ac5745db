import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a verified copy of a server's ledger (an auditor's replica).",
            discussion: """
                Each new entry is checked against the copy's own state (chain, signature, enrolment, scope, rules) \
                and the server's checkpoint must extend what the copy holds; all new entries are kept in one \
                transaction, or none. `verify`, `report` and `export` work on the copy. Exit 1 when the server \
                serves a history that does not extend the copy's (a fork): the evidence is written to a file. \
                With --witness, the copy goes only up to the latest checkpoint that the witnesses cosigned. \
                --from may also be the address of a publication (`gigaledger publish`) on any web server.
                """)

        @Option(name: .long, help: ArgumentHelp("The server's URL, or a publication's (default: $GIGALEDGER_SERVER).", valueName: "url")) var from:
            String?
        @OptionGroup var ledger: LocalLedgerOptions
        @OptionGroup var serverCA: ServerCAOption
        @OptionGroup var witnesses: WitnessOptions
        @Flag(name: .long, help: "Print the outcome as JSON for scripts.") var json = false
        @Flag(
            name: .long,
            help: "Make the copy a ledger of its own: remove its mark, so that write commands write into it (nothing is fetched).")
        var detach = false
        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp(
                "With --witness: how long the server's checkpoints may wait for the witnesses' cosignatures before the sync exits 2 (e.g. 600, 600s, 10m, 2h, 1d; default 10m).",
                valueName: "duration"))
        var maxLag: String?

        /// `--max-lag` in seconds: a number of seconds, minutes (`m`) or hours (`h`), 1 s to 7 days.
        func maxLagSeconds() throws -> Int64 {
            guard let text = maxLag else { return Replica.Quorum.maxLagSecondsDefault }
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            let unit = text.last.flatMap { units[$0] }
            guard let number = Int64(unit == nil ? text : String(text.dropLast())), number >= 1, number * (unit ?? 1) <= 7 * 86_400 else {
                throw InputError(field: "max-lag", value: text, problem: "is not a duration from 1 s to 7 days (e.g. 600, 600s, 10m, 2h, 1d)")
            }
            return number * (unit ?? 1)
        }

        func validate() throws {
            if detach, from != nil || !witnesses.witness.isEmpty {
                throw ValidationError("--detach fetches nothing: give it no --from or --witness")
            }
            if maxLag != nil, witnesses.witness.isEmpty { throw ValidationError("--max-lag needs --witness keys") }
        }

        func run() async throws {
            if detach { return try runDetach() }
            guard let from = from ?? ledger.server ?? Environment.value(Environment.server) else {
                throw ValidationError("--from is missing: give the server's or the publication's URL (or set GIGALEDGER_SERVER)")
            }
            let pinned = try ledger.pinnedAuthority()
            let lag = try maxLagSeconds()
            let quorum = try witnesses.load().map {
                Replica.Quorum(witnesses: $0.keys, count: $0.quorum, maxLagSeconds: lag, labels: witnesses.witness)
            }
            let replica = Replica(client: try Environment.client(from), trust: try Environment.headTrust(pinned: pinned, keepingCheckpoints: false))
            let path = ledger.path
            // The copy's authority, checked against the key given, becomes the one this user trusts
            // for its origin (as `init` records it): later commands on the copy need no --authority-key.
            let outcome: Replica.Outcome
            do { outcome = try await replica.sync(path: path, quorum: quorum, lockWaitSeconds: try ledger.checkedLockWait()) } catch let error
                as any GigaLedgerError where error.kind == .unusable
            {
                // A quorum that cannot be met because a key given is no auditor's is the input's fault, not an outage.
                if let quorum { try Self.refuseWitnessesThatCannotCosign(quorum, path: path) }
                throw error
            }
            if outcome.offered < outcome.after {
                // A server behind the checkpoint it signed for this copy removed history (a
                // restored backup, a stale former primary): a finding, exit 1. A publication
                // behind may be a stale mirror (a cache): a note.
                if try await replica.client.servesAPI() {
                    throw CLIError(
                        message:
                            "\(from) serves a checkpoint of \(outcome.offered) entries, fewer than the \(outcome.after) this copy holds under a checkpoint the ledger's log key signed: history was removed (a backup restored, or a former primary that missed the last commits); nothing was taken in; this copy, \(Ledger.displayName(path)), holds entries \(outcome.offered + 1) to \(outcome.after), which the server lost: send it to the server's operator (the operator runbook, \"Restoring a ledger\"); once the operator has restored the ledger, keep a new copy in another file",
                        kind: .notVerified)
                }
            }
            if json {
                print(
                    Render.jsonObject([
                        "ledger": .string(Ledger.displayName(path)), "created": .bool(outcome.created), "entries_before": .integer(outcome.before),
                        "entries_after": .integer(outcome.after), "checkpoints_kept": .integer(Int64(outcome.checkpointsKept)),
                        "cosignatures_kept": .integer(Int64(outcome.cosignaturesKept)),
                    ]))
            } else {
                print(
                    "\(outcome.created ? "created" : "updated") \(Ledger.displayName(path)): \(Render.count(outcome.after - outcome.before, "new entry", "new entries")), \(outcome.after) in all, each verified; \(Render.count(Int64(outcome.checkpointsKept), "checkpoint", "checkpoints")) and \(Render.count(Int64(outcome.cosignaturesKept), "cosignature", "cosignatures")) kept"
                )
                if outcome.offered < outcome.after {
                    print(
                        "note: \(from) offers a checkpoint of \(outcome.offered) entries, behind this copy's \(outcome.after): a stale mirror, or it was rolled back"
                    )
                }
                if outcome.reattached {
                    print("note: \(Ledger.displayName(path)) had been detached, and nothing was written into it since: it is a copy of \(from) again")
                }
                if let quorum, let (size, count) = try? Ledger.open(path: path, forWriting: false).witnessCount(of: quorum.witnesses) {
                    print("its latest checkpoint (\(size) entries) is cosigned by \(count) of the \(quorum.witnesses.count) witnesses given")
                }
            }
            // What the witnesses cosigned was taken in; their lag beyond --max-lag is an outage to report.
            if let lagging = outcome.lagging {
                if let quorum { try Self.refuseWitnessesThatCannotCosign(quorum, path: path) }
                throw lagging
            }
        }

        /// A `--witness` key that the copy enrols with another role than `auditor` never cosigns: a
        /// refusal naming it (exit 65), not "retry later".
        static func refuseWitnessesThatCannotCosign(_ quorum: Replica.Quorum, path: String) throws {
            guard (try? Ledger.exists(at: path)) == true, let keys = try? Ledger.open(path: path, forWriting: false).keys() else { return }
            for (key, label) in zip(quorum.witnesses, quorum.labels) {
                guard let record = keys.first(where: { $0.enrolment.publicKey == key }), record.enrolment.role != .auditor else { continue }
                throw InputError(
                    field: "witness", value: label,
                    problem:
                        "is the key of \(InputError.quoted(record.enrolment.name)), enrolled as \(record.enrolment.role.rawValue): only auditor keys cosign checkpoints"
                )
            }
        }
    }
}

extension GigaLedger.Sync {
    /// `sync --detach`: the copy marked detached, said with what it was a copy of.
    func runDetach() throws {
        let path = ledger.path
        let shown = Ledger.displayName(path)
        guard try Ledger.exists(at: path) else { throw CLIError(message: "there is no ledger at \(shown): nothing to detach", kind: .unusable) }
        if Ledger.isDatabase(path) {
            // Marked inside the database alone (no file beside it): the mark cleared.
            let copy = try Ledger.open(path: path, forWriting: true, lockWaitSeconds: try ledger.checkedLockWait(), role: .replica)
            guard try copy.isMarkedCopy() else {
                throw CLIError(message: "\(shown) is not a copy kept by gigaledger sync (it carries no copy mark): nothing to detach", kind: .refused)
            }
            try copy.markCopy(false)
            print(
                "detached \(shown): a ledger of its own from now: write commands write into it; a later sync into it checks every entry it holds against the server's, as any sync does"
            )
            return
        }
        guard ReplicaMark.isMarked(ledger: path) else {
            throw CLIError(message: "\(shown) is not a copy kept by gigaledger sync (it carries no copy mark): nothing to detach", kind: .refused)
        }
        guard let mark = ReplicaMark.read(ledger: path) else {
            throw CLIError(
                message: "the copy mark of \(shown) cannot be read as one: nothing was detached (sync it again to mark it anew, or keep a new copy)",
                kind: .unusable)
        }
        guard !mark.detached else {
            print("\(shown) is detached already (a copy of \(mark.source) up to \(mark.size) entries); write commands write into it")
            return
        }
        try mark.detachedMark.write(ledger: path)
        try Ledger.open(path: path, forWriting: true, lockWaitSeconds: try ledger.checkedLockWait(), role: .replica).markCopy(false)
        print(
            "detached \(shown): a copy of \(mark.source) up to \(mark.size) entries, and a ledger of its own from now: write commands write into it; a sync into it refuses the entries written into it as the copy's own, and makes it a copy again only if nothing was written"
        )
    }
}

extension GigaLedger {
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the ledger's latest checkpoint as static files for any web server: C2SP tlog-tiles, and full entries for replicas.",
            discussion: """
                The files are what `gigaledger serve` answers for the same paths, byte for byte: `checkpoint`, \
                `tile/...`, `ledger/v1/bundle/...`, `ledger/v1/checkpoints`, `ledger/v1/key-entries` and the public pages \
                (`index.html`, the entry lists under `entries/`). Run it again after new checkpoints (or let \
                `gigaledger serve --publish DIR` do it): only what is new is written (tiles, bundles, the lists' \
                open pages, the summary), and `checkpoint` last, so a reader never sees a checkpoint whose files \
                are missing. Partial tiles and bundles are removed once their full one is older than \
                --partial-grace. Anyone can then keep a verified copy with `gigaledger sync --from URL-OF-THE-FOLDER`, \
                or prove one entry with `gigaledger prove --entry N --server URL-OF-THE-FOLDER`. \
                schema/FORMAT.md section 18.
                """)

        @OptionGroup var ledger: LocalLedgerOptions
        @Option(name: .long, help: ArgumentHelp("The folder to publish into (created if missing).", valueName: "dir"), completion: .directory)
        var out: String
        @Option(
            name: .long,
            help: ArgumentHelp(
                "A folder of report folders (`gigaledger report --out`) to publish with the page, each checked to be this ledger's.", valueName: "dir"
            ), completion: .directory)
        var reports: String?
        @OptionGroup var partialGrace: PartialGraceOption
        @Flag(name: .long, help: "Print the outcome as JSON for scripts.") var json = false

        func run() async throws {
            let publication = try ledger.open(forWriting: false).publish(to: out, reports: reports, partialGrace: partialGrace.seconds)
            if json {
                print(Render.jsonObject(Self.fields(publication, out: out)))
            } else {
                print(Self.text(publication, out: out))
            }
        }

        static func fields(_ publication: Ledger.Publication, out: String) -> [String: CanonicalJSON] {
            [
                "out": .string(out), "size": .integer(publication.size), "before": .integer(publication.before),
                "files_written": .integer(Int64(publication.written)), "files_kept": .integer(Int64(publication.kept)),
                "partials_removed": .integer(Int64(publication.removed)), "ledger_size": .integer(publication.ledgerSize),
            ]
        }

        static func text(_ publication: Ledger.Publication, out: String) -> String {
            "published the checkpoint of \(Render.count(publication.size, "entry", "entries")) to \(out)"
                + (publication.before > 0 ? " (after \(publication.before))" : "")
                + ": \(Render.count(Int64(publication.written), "file", "files")) written, \(publication.kept) unchanged"
                + (publication.removed > 0
                    ? ", \(publication.removed) superseded partial \(publication.removed == 1 ? "tile" : "tiles") removed" : "")
                + (publication.ledgerSize > publication.size
                    ? "\nnote: entries \(publication.size + 1) to \(publication.ledgerSize) are in no checkpoint yet, so not published: sign one (`gigaledger checkpoint`, or a server's log key) and publish again"
                    : "")
        }
    }
}
