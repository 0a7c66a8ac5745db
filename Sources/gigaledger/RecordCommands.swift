import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct FactoryCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "factory", abstract: "Register and list AI gigafactories and AI factories.",
            subcommands: [Register.self, Amend.self, Countersign.self, List.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the registered factories as in force today (or on --on), and the amendments pending or effective later.")

            @OptionGroup var ledger: LedgerOptions
            @Flag(name: .long, help: "Print a JSON array for scripts.") var json = false
            @Option(name: .long, help: ArgumentHelp("The day whose registrations to list (default: today, UTC).", valueName: "YYYY-MM-DD"))
            var on: String?

            func run() async throws {
                let day =
                    try on.map { try CalendarDate.parse($0, field: "on") } ?? CalendarDate.parse(String(try Timestamp.now().prefix(10)), field: "on")
                let registrations = try await ledger.openForReading().factories(on: day)
                let factories = registrations.factories
                if json {
                    print(
                        Render.jsonArray(
                            factories.map { item in
                                var members: [String: CanonicalJSON] = [
                                    "id": .string(item.factory.id), "name": .string(item.factory.name), "kind": .string(item.factory.kind.rawValue),
                                    "hosts": .array(item.factory.hosts.map { .string($0) }), "capex_cents": .integer(item.factory.capex.value),
                                    "entry": .integer(item.seq),
                                ]
                                if let opex = item.factory.opex { members["opex_cents"] = .integer(opex.value) }
                                return .object(members)
                            }))
                    return
                }
                if factories.isEmpty {
                    print("no factories are registered")
                    return
                }
                for (factory, seq) in factories {
                    print(
                        "\(factory.id)  \(factory.kind.rawValue)  \"\(factory.name)\"  hosts \(factory.hosts.joined(separator: ","))  capex \(factory.capex)\(factory.opex.map { "  opex \($0)" } ?? "")  (entry \(seq))"
                    )
                }
                for item in registrations.pending {
                    print(
                        "pending: entry \(item.amendment.seq) (\(item.factoryID)): \(item.changes.joined(separator: "; ")): waits for a second authority's countersignature (gigaledger factory countersign --entry \(item.amendment.seq))"
                    )
                }
                for amendment in registrations.later {
                    print(
                        "from \(amendment.effectiveFrom?.description ?? "?"): entry \(amendment.seq) (\(amendment.factory.id)): \(amendment.reason)")
                }
            }
        }

        struct Register: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Register a factory with its hosts, its eligible CAPEX and, optionally, its operating budget (authority key).")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @OptionGroup var fields: FactoryFields
            @Flag(
                name: .long,
                help:
                    "Register it although a factory with the same name and a host in common is registered (recorded in the entry; reports list the twins together)."
            ) var allowTwin = false

            func run() async throws {
                let factory = try fields.factory(allowsTwin: allowTwin)
                try await ledger.record(.factoryRegister(factory), signing: signing, what: "registered factory \(factory.id)")
            }
        }

        struct Amend: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record new values for a registered factory (every field, as at registration) and why (authority key).",
                discussion: """
                    The registration stays in the ledger. With --effective DAY, the new values apply to every period ending on or \
                    after DAY (a report uses the registration in force on its period's last day, so "from 1 March" counts for the \
                    whole first quarter); without it, they correct the registration from the start, closed periods included. Give \
                    every field, as at registration: one left out (--opex) is removed. A report rolling forward lists an amendment \
                    that reaches into the closed previous period under "Prior-period adjustments of registrations". A change of kind, or a host removed, takes effect only when a second authority key \
                    countersigns it (`gigaledger factory countersign --entry N`).
                    """)

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @OptionGroup var fields: FactoryFields
            @Option(name: .long, help: "Why, for the record.") var reason: String
            @Option(name: .long, help: ArgumentHelp("The first day the new values apply (default: from the start).", valueName: "YYYY-MM-DD"))
            var effective: String?

            func run() async throws {
                let amendment = try Amendment(
                    try fields.factory(), reason: reason, effectiveFrom: try effective.map { try CalendarDate.parse($0, field: "effective") })
                try await ledger.record(.factoryAmend(amendment), signing: signing, what: "amended factory \(amendment.value.id)")
                // On a local ledger, say at once when it waits for four eyes.
                if ledger.serverURL == nil, let pending = try ledger.open(forWriting: false).factories(on: CalendarDate.latest).pending.last,
                    pending.factoryID == amendment.value.id
                {
                    warn(
                        "note: entry \(pending.amendment.seq) (\(pending.changes.joined(separator: "; "))) takes effect only when a second authority key countersigns it: gigaledger factory countersign --key OTHER.key --entry \(pending.amendment.seq)"
                    )
                }
            }
        }

        struct Countersign: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Countersign a factory amendment with a second authority key (four eyes).",
                discussion: """
                    An amendment that changes a factory's kind or removes a host takes effect only when an authority key other \
                    than the one that signed it countersigns it; until then reports use the registration before it and list the \
                    change as pending. Several authority keys may be active at once for this (docs/operator-runbook.md, "Keys: enrol, revoke, rotate").
                    """)

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The sequence number of the factory-amend entry.") var entry: Int64
            @Option(name: .long, help: "Why, for the record (optional).") var reason: String = ""

            func run() async throws {
                let item = try Countersignature(entry: entry, reason: reason)
                try await ledger.record(.countersign(item), signing: signing, what: "countersigned entry \(entry)")
            }
        }
    }

    /// A factory's fields, as `factory register` and `factory amend` take them.
    struct FactoryFields: ParsableArguments {
        @Option(name: .long, help: "The factory's ID: lower-case letters, digits and dashes.") var id: String
        @Option(name: .long, help: "The factory's name.") var name: String
        @Option(name: .long, help: "gigafactory or ai-factory.", completion: .list(FactoryKind.allCases.map(\.rawValue))) var kind: String
        @Option(name: .long, help: ArgumentHelp("A host member state (EU code, e.g. DE, EL); repeat for multi-country sites.", valueName: "CC"))
        var host: [String] = []
        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp(
                "Registered eligible capital expenditure in euros (an AI factory's acquisition cost), e.g. 3500000000: the caps on the Union's share are measured against it.",
                valueName: "EUR")) var capex: String
        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp(
                "Registered eligible operating budget in euros (an AI factory's operating-cost cap is assessed against it).", valueName: "EUR"))
        var opex: String?

        func factory(allowsTwin: Bool = false) throws -> Factory {
            try Factory(
                id: id, name: name, kind: try FactoryKind.parse(kind, field: "kind"), hosts: host,
                capex: try Cents.parse(capex, field: "capex"), opex: try opex.map { try Cents.parse($0, field: "opex") }, allowsTwin: allowsTwin)
        }
    }

    struct PartnerCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "partner", abstract: "Register and list private partners.",
            subcommands: [Register.self, Amend.self, List.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the registered private partners (as their latest amendments have them).")

            @OptionGroup var ledger: LedgerOptions
            @Flag(name: .long, help: "Print a JSON array for scripts.") var json = false

            func run() async throws {
                let partners = try await ledger.openForReading().partners()
                if json {
                    print(
                        Render.jsonArray(
                            partners.map { item in
                                .object([
                                    "id": .string(item.partner.id), "name": .string(item.partner.name), "country": .string(item.partner.country),
                                    "sme": .bool(item.partner.isSME), "entry": .integer(item.seq),
                                ])
                            }))
                    return
                }
                if partners.isEmpty {
                    print("no partners are registered")
                    return
                }
                for (partner, seq) in partners {
                    print("\(partner.id)  \"\(partner.name)\"  \(partner.country)\(partner.isSME ? "  SME" : "")  (entry \(seq))")
                }
            }
        }

        struct Register: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a private partner (authority key).")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @OptionGroup var fields: PartnerFields
            @Flag(
                name: .long,
                help: "Register it although a partner with the same name and country is registered (recorded in the entry; reports list the twins)."
            ) var allowTwin = false

            func run() async throws {
                let partner = try fields.partner(allowsTwin: allowTwin)
                try await ledger.record(.partnerRegister(partner), signing: signing, what: "registered partner \(partner.id)")
            }
        }

        struct Amend: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record new values for a registered partner (every field, as at registration) and why (authority key).")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @OptionGroup var fields: PartnerFields
            @Option(name: .long, help: "Why, for the record.") var reason: String
            @Option(name: .long, help: ArgumentHelp("The first day the new values apply (default: from the start).", valueName: "YYYY-MM-DD"))
            var effective: String?

            func run() async throws {
                let amendment = try Amendment(
                    try fields.partner(), reason: reason, effectiveFrom: try effective.map { try CalendarDate.parse($0, field: "effective") })
                try await ledger.record(.partnerAmend(amendment), signing: signing, what: "amended partner \(amendment.value.id)")
            }
        }
    }

    /// A partner's fields, as `partner register` and `partner amend` take them.
    struct PartnerFields: ParsableArguments {
        @Option(name: .long, help: "The partner's ID: lower-case letters, digits and dashes.") var id: String
        @Option(name: .long, help: "The partner's legal name.") var name: String
        @Option(name: .long, help: ArgumentHelp("Country of establishment (ISO 3166-1 alpha-2).", valueName: "CC")) var country: String
        @Flag(name: .long, help: "The partner is an SME.") var sme = false

        func partner(allowsTwin: Bool = false) throws -> Partner {
            try Partner(id: id, name: name, country: country, isSME: sme, allowsTwin: allowsTwin)
        }
    }

    struct ContributionCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "contribution", abstract: "Record contributions: commitments and payments.",
            subcommands: [Record.self])

        struct Record: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record one contribution to a factory.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The factory's ID.") var factory: String
            @Option(name: .long, help: "eu, ms:CC (a member state) or private:ID (a registered partner).") var source: String
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Euros with at most two decimals, e.g. 1250000.00.", valueName: "EUR"))
            var amount: String
            @Option(name: .long, help: ArgumentHelp("The value date.", valueName: "YYYY-MM-DD")) var date: String
            @Option(name: .long, help: "capex or opex.", completion: .list(CostCategory.allCases.map(\.rawValue))) var category: String
            @Option(name: .long, help: "commitment or payment.", completion: .list(ContributionKind.allCases.map(\.rawValue))) var kind: String
            @Option(name: .long, help: "A reference: an agreement, an invoice, a payment order.") var ref: String = ""
            @OptionGroup var entryChecks: EntryCheckOptions

            func run() async throws {
                let item = try Contribution(
                    factory: factory, source: try Source.parse(source, field: "source"), amount: try Cents.parse(amount, field: "amount"),
                    date: try CalendarDate.parse(date, field: "date"), category: try CostCategory.parse(category, field: "category"),
                    kind: try ContributionKind.parse(kind, field: "kind"), ref: ref, allowsDuplicate: entryChecks.allowDuplicate)
                try await ledger.record(
                    .contribution(item), signing: signing, checks: entryChecks.checks(),
                    what: "recorded \(item.kind.rawValue) of \(item.amount) from \(item.source) to \(item.factory)")
            }
        }
    }

    struct AccessCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "access", abstract: "Record compute access granted.",
            subcommands: [Record.self])

        struct Record: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record GPU-hours granted to a beneficiary from the Union's or the host's access time.")

            @OptionGroup var ledger: LedgerOptions
            @OptionGroup var signing: SigningOptions
            @Option(name: .long, help: "The factory's ID.") var factory: String
            @Option(name: .long, help: "Who was granted access.") var beneficiary: String
            @Option(
                name: .long, help: "sme, startup, scaleup, research, public or industry.", completion: .list(AccessCategory.allCases.map(\.rawValue)))
            var category: String
            @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Whole GPU-hours granted.", valueName: "N")) var gpuHours: String
            @Option(name: .long, help: ArgumentHelp("The date of the grant.", valueName: "YYYY-MM-DD")) var date: String
            @Option(name: .long, help: "union (the Union's access time) or host.", completion: .list(AccessPool.allCases.map(\.rawValue))) var pool:
                String
            @Flag(name: .long, help: "The access is commercial use.") var commercial = false
            @Option(
                name: .long, parsing: .unconditional, help: ArgumentHelp("What the beneficiary is charged, in euros (default 0).", valueName: "EUR"))
            var charge: String = "0"
            @Option(
                name: .long,
                help: ArgumentHelp(
                    "The beneficiary's country (ISO 3166-1 alpha-2; Greece is stored as EL, GR is taken as EL), for the annual breakdown by state.",
                    valueName: "CC")) var country: String?
            @Option(
                name: .long,
                help: ArgumentHelp(
                    "The registered partner the beneficiary is (its SME flag is then checked against --category).", valueName: "ID"))
            var partner: String?
            @OptionGroup var entryChecks: EntryCheckOptions

            func run() async throws {
                let grant = try AccessGrant(
                    factory: factory, beneficiary: beneficiary, category: try AccessCategory.parse(category, field: "category"),
                    gpuHours: try AccessGrant.parseGPUHours(gpuHours, field: "gpu-hours"), date: try CalendarDate.parse(date, field: "date"),
                    pool: try AccessPool.parse(pool, field: "pool"), isCommercial: commercial,
                    charge: try Cents.parse(charge, field: "charge", allowZero: true), country: country, partner: partner,
                    allowsDuplicate: entryChecks.allowDuplicate)
                try await ledger.record(
                    .access(grant), signing: signing, checks: entryChecks.checks(),
                    what: "recorded \(grant.gpuHours) GPU-hours for \(grant.beneficiary) at \(grant.factory)")
            }
        }
    }

    struct Correct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a reversing entry for a contribution or access record; the original stays and reports net them.")

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var signing: SigningOptions
        @Option(name: .long, help: ArgumentHelp("The sequence number of the entry to reverse.", valueName: "SEQ")) var entry: String
        @Option(name: .long, help: "Why, for the record.") var reason: String
        @Flag(name: .long, help: "Show what would be reversed and check the correction; write nothing.") var dryRun = false
        @Flag(name: .long, help: "Record it without asking (required where there is no terminal to ask on: scripts).") var yes = false

        func run() async throws {
            // A reversal is confirmed before it is written: a script says so with --yes.
            if !dryRun && !yes && !Terminal.isInteractive {
                throw UsageRefusal(
                    "correct asks before it records a reversal, and there is no terminal to ask on: give --yes to record it (in a script), or --dry-run to see what it would reverse; nothing was written"
                )
            }
            let seq = try SequenceNumber.parse(entry, field: "entry")
            let correction = try Correction(entry: seq, reason: reason)
            if let url = self.ledger.serverURL { return try await runRemote(seq, correction, url: url) }
            let ledger = try ledger.open(forWriting: true, dryRun: dryRun)
            guard let original = try ledger.body(seq) else {
                throw InputError(field: "entry", value: entry, problem: "is not an entry of this ledger")
            }
            // What is reversed, before anything is signed: the officer sees the amount and the factory.
            print("entry \(seq) (\(original.type), recorded \(original.recordedAt) by key \(original.signer)): \(Render.summarize(original.data))")
            let key = try signing.load()
            if !dryRun && !yes && Terminal.isInteractive {
                guard try Terminal.confirm("Record a correction that reverses it? [y/N] ") else {
                    throw CLIError(message: "not confirmed: nothing was written", kind: .refused)
                }
            }
            _ = try ledger.append(
                .correction(correction), key: key, dryRun: dryRun,
                deliver: { entry in
                    if dryRun {
                        print("dry run: entry \(entry.seq) would reverse entry \(seq); nothing was written")
                    } else {
                        try Render.recorded(entry, what: "reversed entry \(seq)")
                    }
                })
        }
    }
}

extension GigaLedger.Correct {
    /// Through a server: the original read from it (proven in its checked checkpoint) and shown,
    /// confirmed, then the correction signed here and submitted. `--dry-run` shows and stops: the
    /// server's rules run when the correction is submitted.
    func runRemote(_ seq: Int64, _ correction: Correction, url: String) async throws {
        let read = try ledger.remoteRead(url)
        guard let stored = try await read.entry(seq), case .success(let original) = Entry.readBody(stored) else {
            throw InputError(field: "entry", value: entry, problem: "is not an entry of the server's ledger")
        }
        print("entry \(seq) (\(original.type), recorded \(original.recordedAt) by key \(original.signer)): \(Render.summarize(original.data))")
        if dryRun {
            print("dry run: a correction reversing entry \(seq) would be submitted to \(url); nothing was sent")
            return
        }
        if !yes && Terminal.isInteractive {
            guard try Terminal.confirm("Record a correction that reverses it? [y/N] ") else {
                throw CLIError(message: "not confirmed: nothing was written", kind: .refused)
            }
        }
        try await ledger.record(.correction(correction), signing: signing, what: "reversed entry \(seq)")
    }
}
