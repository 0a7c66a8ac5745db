import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct FactoryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "factory", abstract: "Register AI gigafactories and AI factories.",
                                                        subcommands: [Register.self])

        struct Register: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a factory with its hosts, its eligible CAPEX and, optionally, its operating budget (authority key).")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The factory's ID: lower-case letters, digits and dashes.") var id: String
            @Option(name: .long, help: "The factory's name.") var name: String
            @Option(name: .long, help: "gigafactory or ai-factory.") var kind: String
            @Option(name: .long, help: ArgumentHelp("A host member state (EU code, e.g. DE, EL); repeat for multi-country sites.", valueName: "CC")) var host: [String] = []
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Registered eligible capital expenditure in euros (an AI factory's acquisition cost), e.g. 3500000000: the caps on the Union's share are measured against it.", valueName: "EUR")) var capex: String
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Registered eligible operating budget in euros (an AI factory's operating-cost cap is assessed against it).", valueName: "EUR")) var opex: String?

            func run() throws {
                let factory = try Factory(id: id, name: name, kind: try FactoryKind.parse(kind, field: "kind"), hosts: host,
                                          capex: try Cents.parse(capex, field: "capex"), opex: try opex.map { try Cents.parse($0, field: "opex") })
                _ = try ledger.open(forWriting: true).append(.factoryRegister(factory), key: signing.load(), deliver: { try Render.recorded($0, what: "registered factory \(factory.id)") })
            }
        }
    }

    struct PartnerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "partner", abstract: "Register private partners.",
                                                        subcommands: [Register.self])

        struct Register: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a private partner (authority key).")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The partner's ID: lower-case letters, digits and dashes.") var id: String
            @Option(name: .long, help: "The partner's legal name.") var name: String
            @Option(name: .long, help: ArgumentHelp("Country of establishment (ISO 3166-1 alpha-2).", valueName: "CC")) var country: String
            @Flag(name: .long, help: "The partner is an SME.") var sme = false

            func run() throws {
                let partner = try Partner(id: id, name: name, country: country, isSME: sme)
                _ = try ledger.open(forWriting: true).append(.partnerRegister(partner), key: signing.load(), deliver: { try Render.recorded($0, what: "registered partner \(partner.id)") })
            }
        }
    }

    struct ContributionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "contribution", abstract: "Record contributions: commitments and payments.",
                                                        subcommands: [Record.self])

        struct Record: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record one contribution to a factory.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The factory's ID.") var factory: String
            @Option(name: .long, help: "eu, ms:CC (a member state) or private:ID (a registered partner).") var source: String
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Euros with at most two decimals, e.g. 1250000.00.", valueName: "EUR")) var amount: String
            @Option(name: .long, help: ArgumentHelp("The value date.", valueName: "YYYY-MM-DD")) var date: String
            @Option(name: .long, help: "capex or opex.") var category: String
            @Option(name: .long, help: "commitment or payment.") var kind: String
            @Option(name: .long, help: "A reference: an agreement, an invoice, a payment order.") var ref: String = ""

            func run() throws {
                let item = try Contribution(
                    factory: factory, source: try Source.parse(source, field: "source"), amount: try Cents.parse(amount, field: "amount"),
                    date: try CalendarDate.parse(date, field: "date"), category: try CostCategory.parse(category, field: "category"),
                    kind: try ContributionKind.parse(kind, field: "kind"), ref: ref)
                _ = try ledger.open(forWriting: true).append(.contribution(item), key: signing.load(), deliver: { try Render.recorded($0, what: "recorded \(item.kind.rawValue) of \(item.amount) from \(item.source) to \(item.factory)") })
            }
        }
    }

    struct AccessCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "access", abstract: "Record compute access granted.",
                                                        subcommands: [Record.self])

        struct Record: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record GPU-hours granted to a beneficiary from the Union's or the host's access time.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The factory's ID.") var factory: String
            @Option(name: .long, help: "Who was granted access.") var beneficiary: String
            @Option(name: .long, help: "sme, startup, scaleup, research, public or industry.") var category: String
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Whole GPU-hours granted.", valueName: "N")) var gpuHours: String
            @Option(name: .long, help: ArgumentHelp("The date of the grant.", valueName: "YYYY-MM-DD")) var date: String
            @Option(name: .long, help: "union (the Union's access time) or host.") var pool: String
            @Flag(name: .long, help: "The access is commercial use.") var commercial = false
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("What the beneficiary is charged, in euros (default 0).", valueName: "EUR")) var charge: String = "0"
            @Option(name: .long, help: ArgumentHelp("The beneficiary's country (ISO 3166-1 alpha-2; Greece is stored as EL, GR is taken as EL), for the annual breakdown by state.", valueName: "CC")) var country: String?

            func run() throws {
                let grant = try AccessGrant(
                    factory: factory, beneficiary: beneficiary, category: try AccessCategory.parse(category, field: "category"),
                    gpuHours: try AccessGrant.parseGPUHours(gpuHours, field: "gpu-hours"), date: try CalendarDate.parse(date, field: "date"),
                    pool: try AccessPool.parse(pool, field: "pool"), isCommercial: commercial,
                    charge: try Cents.parse(charge, field: "charge", allowZero: true), country: country)
                _ = try ledger.open(forWriting: true).append(.access(grant), key: signing.load(), deliver: { try Render.recorded($0, what: "recorded \(grant.gpuHours) GPU-hours for \(grant.beneficiary) at \(grant.factory)") })
            }
        }
    }

    struct Correct: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a reversing entry for a contribution or access record; the original stays and reports net them.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: ArgumentHelp("The sequence number of the entry to reverse.", valueName: "SEQ")) var entry: String
        @Option(name: .long, help: "Why, for the record.") var reason: String

        func run() throws {
            let seq = try SequenceNumber.parse(entry, field: "entry")
            let correction = try Correction(entry: seq, reason: reason)
            _ = try ledger.open(forWriting: true).append(.correction(correction), key: signing.load(), deliver: { try Render.recorded($0, what: "reversed entry \(seq)") })
        }
    }
}
