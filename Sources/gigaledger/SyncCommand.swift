import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a verified copy of a server's ledger (an auditor's replica).",
            discussion: """
                Each new entry is checked against the copy's own state (chain, signature, enrolment, scope, rules) \
                and the server's checkpoint must extend what the copy holds; all new entries are kept in one \
                transaction, or none. `verify`, `report` and `export` work on the copy. Exit 1 when the server \
                serves a history that does not extend the copy's (a fork): the evidence is written to a file.
                """)

        @Option(name: .long, help: ArgumentHelp("The server's URL.", valueName: "url")) var from: String
        @Option(name: .long, help: ArgumentHelp("The copy's file (created on the first sync).", valueName: "path"), completion: .file(extensions: ["sqlite"]))
        var ledger: String
        @Option(name: .long, help: ArgumentHelp("The authority key you trust for this ledger (its NAME.pub; default: $GIGALEDGER_AUTHORITY_KEY, else the one recorded for its origin).", valueName: "pub"), completion: .file(extensions: ["pub"]))
        var authorityKey: String?
        @Flag(name: .long, help: "Print the outcome as JSON for scripts.") var json = false

        func run() throws {
            let pinned = try (authorityKey ?? Environment.value(Environment.authorityKey)).map { try KeyFiles.readPublic(path: $0) }
            let replica = Replica(client: try Environment.client(from), trust: try Environment.headTrust(pinned: pinned, keepingCheckpoints: false))
            let path = ledger
            let outcome = try blockingAwait { try await replica.sync(path: path) }
            // The copy's authority, checked against the key given, is now the one this user trusts
            // for its origin (as `init` records it): later commands on the copy need no --authority-key.
            if let (origin, authority) = try? Ledger.open(path: path, forWriting: false).rootOfTrust() {
                _ = try Environment.trustedAuthorities.check(origin: origin, authority: authority, pinned: nil)
            }
            if json {
                print(Render.jsonObject(["ledger": .string(path), "created": .bool(outcome.created), "entries_before": .integer(outcome.before),
                                         "entries_after": .integer(outcome.after), "checkpoints_kept": .integer(Int64(outcome.checkpointsKept))]))
            } else {
                print("\(outcome.created ? "created" : "updated") \(path): \(Render.count(outcome.after - outcome.before, "new entry", "new entries")), \(outcome.after) in all, each verified; \(Render.count(Int64(outcome.checkpointsKept), "checkpoint", "checkpoints")) kept")
            }
        }
    }
}
