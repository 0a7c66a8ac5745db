import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "policy", abstract: "Record the safeguards reports are checked against.",
                                                        subcommands: [Set.self])

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record a policy file (e.g. schema/policy/eurohpc-2026.json) as an entry signed by an authority key.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: ArgumentHelp("The policy JSON file.", valueName: "file")) var file: String

            func run() throws {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIError(message: "policy file \(file): no such file or not readable", kind: .unusable)
                }
                let policy = try Policy.parseFile([UInt8](data), path: file)
                _ = try ledger.open(forWriting: true).append(.policy(policy), key: signing.load(), deliver: { try Render.recorded($0, what: "recorded policy \(policy.id) version \(policy.version)") })
            }
        }
    }
}
