import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy a ledger between stores verbatim, checking every entry and checkpoint as it goes (SQLite to PostgreSQL, PostgreSQL to SQLite).",
            discussion: """
                Copies every entry, checkpoint and cosignature of --from, as it stands when the copy starts, into a new ledger at --to \
                (a SQLite file, or a postgres:// database without a ledger), each checked as a replica checks what it takes in. \
                All or nothing: a failure leaves no ledger at --to. The copy's head, checkpoints and cosignatures equal the original's.
                """)

        @Option(name: .long, help: ArgumentHelp("The ledger to copy: a SQLite file or a postgres:// URL.", valueName: "ledger")) var from: String
        @Option(
            name: .long, help: ArgumentHelp("The new ledger: a SQLite file or a postgres:// URL of a database without a ledger.", valueName: "ledger")
        ) var to: String
        @Flag(name: .long, help: "Print the outcome as JSON for scripts.") var json = false

        func run() async throws {
            let source = try Ledger.open(path: from, forWriting: false)
            // The original's root of trust is the one this user trusts for its origin, as for any command on it.
            if let (origin, authority) = try? source.rootOfTrust() {
                _ = try Environment.trustedAuthorities.check(origin: origin, genesis: authority, pinned: nil, vouching: source.vouchingCheckpoint)
            }
            let outcome = try source.copy(to: to)
            let grants = try Ledger.open(path: to, forWriting: false).grantSQL
            let head = outcome.headHash.map(Encoding.hex) ?? ""
            if json {
                print(
                    Render.jsonObject([
                        "from": .string(Ledger.displayName(from)), "to": .string(Ledger.displayName(to)), "entries": .integer(outcome.entries),
                        "head": .string(head), "checkpoints": .integer(Int64(outcome.checkpoints)),
                        "cosignatures": .integer(Int64(outcome.cosignatures)),
                    ]))
            } else {
                print(
                    "copied \(Ledger.displayName(from)) to \(Ledger.displayName(to)): \(Render.count(outcome.entries, "entry", "entries")), each checked, head \(head); "
                        + "\(Render.count(Int64(outcome.checkpoints), "checkpoint", "checkpoints")), \(Render.count(Int64(outcome.cosignatures), "cosignature", "cosignatures"))"
                )
                if let grants { Render.grants(grants) }
            }
        }
    }
}
