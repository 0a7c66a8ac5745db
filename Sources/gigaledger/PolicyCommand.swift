import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct PolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Record and show the safeguards reports are checked against.",
            subcommands: [Set.self, Show.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record a policy (a JSON file, or one the binary carries) as an entry signed by an authority key.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: ArgumentHelp("A policy JSON file (schema/policy/eurohpc-2026.json is one).", valueName: "file")) var file:
                String?
            @Option(
                name: .long, help: ArgumentHelp("A policy the binary carries: \(BuiltinPolicies.names.joined(separator: ", ")).", valueName: "name"))
            var builtin: String?

            func validate() throws {
                guard (file == nil) != (builtin == nil) else { throw ValidationError("give exactly one of --file FILE or --builtin NAME") }
            }

            func run() async throws {
                let policy = try PolicyCommand.load(file: file, builtin: builtin)
                try await ledger.record(.policy(policy), signing: signing, what: "recorded policy \(policy.id) version \(policy.version)")
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Show a policy's rules, each with its value, source and confidence: the latest recorded in the ledger, or one the binary carries."
            )

            @OptionGroup var ledger: LedgerOptions
            @Option(name: .long, help: ArgumentHelp("A policy the binary carries, instead of the ledger's.", valueName: "name")) var builtin: String?

            func run() async throws {
                let policy: Policy
                if let builtin {
                    policy = try BuiltinPolicies.policy(named: builtin)
                } else {
                    guard let recorded = try await ledger.openForReading().latestPolicy() else {
                        throw CLIError(
                            message:
                                "no policy is recorded: record one with `gigaledger policy set --builtin \(BuiltinPolicies.names.first ?? "NAME")`",
                            kind: .refused)
                    }
                    print("recorded at entry \(recorded.seq)")
                    policy = recorded.policy
                }
                print("policy \(policy.id) version \(policy.version): \(policy.title)")
                print("in force from \(policy.effectiveFrom?.description ?? "any date (no effective date)")")
                for rule in policy.rules {
                    let value =
                        rule.categories.map { $0.map(\.rawValue).joined(separator: ", ") }
                        ?? rule.cents.map { Cents.formatted($0) } ?? rule.basisPoints.map { Fraction.basisPoints($0).percentText } ?? "condition"
                    print("\(rule.id): \(value) [\(rule.confidence.rawValue)] \(rule.source)")
                }
            }
        }

        static func load(file: String?, builtin: String?) throws -> Policy {
            if let builtin { return try BuiltinPolicies.policy(named: builtin) }
            guard let file, let data = FileManager.default.contents(atPath: file) else {
                throw CLIError(
                    message:
                        "policy file \(file ?? ""): no such file or not readable; the binary carries \(BuiltinPolicies.names.joined(separator: ", ")) (--builtin)",
                    kind: .unusable)
            }
            return try Policy.parseFile([UInt8](data), path: file)
        }
    }
}
