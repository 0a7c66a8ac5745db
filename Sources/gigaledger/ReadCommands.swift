import ArgumentParser
import Foundation
import GigaLedgerClient
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the entries, one line each, or as a JSON array; all of them, or those the options select (all must hold).")

        @OptionGroup var ledger: LedgerOptions
        @Option(name: .long, help: ArgumentHelp("Only this gigafactory's entries (money, access, registration, amendments).", valueName: "ID"))
        var factory: String?
        @Option(name: .long, help: ArgumentHelp("Only contributions from this source: eu, ms:CC or private:ID.", valueName: "source"))
        var source: String?
        @Option(name: .long, help: ArgumentHelp("Only entries signed by this key.", valueName: "KEYID")) var signer: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Only entries about this day or later: a contribution's or access record's date, else the day it was recorded.",
                valueName: "YYYY-MM-DD"))
        var from: String?
        @Option(name: .long, help: ArgumentHelp("Only entries about this day or earlier (as --from).", valueName: "YYYY-MM-DD")) var to: String?
        @Option(name: .long, help: ArgumentHelp("Only entries of this type: contribution, access, correction, key-enroll, ...", valueName: "type"))
        var type: String?
        @Flag(name: .long, help: "Print a JSON array of entries for scripts.") var json = false

        func validate() throws {
            // An option's value outside its list is a usage error (exit 64), as a bad --delimiter is.
            if let type, !EntryFilter.types.contains(type) {
                throw ValidationError("--type \(InputError.quoted(type)) is not an entry type (\(EntryFilter.types.joined(separator: ", ")))")
            }
        }

        func filter() throws -> EntryFilter {
            try EntryFilter(
                factory: factory, source: try source.map { try Source.parse($0, field: "source") },
                signer: try signer.map { text in
                    // Key IDs are printed in capitals; one typed in small letters is the same key.
                    do { return try KeyID.parse(text.uppercased(), field: "signer") } catch let error as InputError {
                        throw InputError(field: "signer", value: text, problem: error.problem)
                    }
                }, from: try from.map { try CalendarDate.parse($0, field: "from") },
                to: try to.map { try CalendarDate.parse($0, field: "to") }, type: type)
        }

        func run() async throws {
            let filter = try filter()
            // Through a server: this user's own verified copy, brought up to the server's head first.
            let ledger = try await ledger.openForReading()
            try ledger.checkNames(in: filter)
            var first = true
            // "#" and the widest sequence number, so the columns line up from entry 1 to the last.
            let width = String(try ledger.size()).count + 1
            // Each line of a reversed entry says which correction reversed it.
            let reversedBy = json ? [:] : try ledger.corrections()
            var selection = EntrySelection(filter)
            if json { print("[", terminator: "") }
            try ledger.forEachEntry { entry in
                guard selection.admits(entry) else { return }
                if json {
                    print((first ? "" : ",\n") + Render.json(entry), terminator: "")
                } else {
                    print(Render.line(entry, seqWidth: width) + (reversedBy[entry.seq].map { "  [corrected by #\($0)]" } ?? ""))
                }
                first = false
            }
            if json { print("]") }
            if first && !json && !filter.isEmpty { warn("no entry matches the options given") }
        }

    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one entry in full: its fields, hashes and signature.")

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The entry's sequence number, or its hash (64 hex digits).") var seq: String
        @Flag(name: .long, help: "Print JSON for scripts.") var json = false

        func run() async throws {
            // "#7" as `log` prints it is entry 7.
            let reference = try EntryReference.parse(seq.hasPrefix("#") ? String(seq.dropFirst()) : seq, field: "entry")
            // Through a server: this user's own verified copy, brought up to the server's head first.
            let ledger = try await self.ledger.openForReading()
            guard let entry = try ledger.entry(reference) else {
                throw InputError(
                    field: "entry", value: seq,
                    problem: self.ledger.serverURL == nil ? "is not an entry of this ledger" : "is not an entry of the server's ledger")
            }
            // What later entries say of it: the correction that reversed it, the amendments of a registration.
            let later = try ledger.followUps(of: entry.seq)
            if json {
                var members = Render.jsonFields(entry)
                if !later.isEmpty { members["later"] = .array(later.map { .object(["seq": .integer($0.seq), "what": .string($0.what)]) }) }
                print(Render.jsonObject(members))
            } else {
                print(Render.detail(entry))
                for item in later { print("later       \(item.what)") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-check every entry: hashes, links, signatures, signers' enrolment, scope and revocation.",
            discussion: "Exit 0: verified. Exit 1: not verified; the first failing entry and the reason are printed. Exit 2: could not verify.")

        @OptionGroup var ledger: LocalLedgerOptions
        @Flag(name: .long, help: "Print the result as JSON.") var json = false
        @Option(name: .long, help: ArgumentHelp("Also check that the ledger extends this checkpoint, published earlier.", valueName: "checkpoint"))
        var since: String?
        @OptionGroup var witnesses: WitnessOptions

        func run() async throws {
            let (ledger, _, authority, trust) = try ledger.openTrusted(forWriting: false)
            let required = try witnesses.load()
            let bar = ProgressBar(label: "verifying")
            let report =
                try since.map { try ledger.verify(extending: try readCheckpointFile($0), named: $0) }
                ?? ledger.verify(progress: { bar.update(Int($0), Int($1)) })
            bar.finish()
            let warnings = try ledger.storeWarnings() + (report.isVerified ? ledger.cosignaturesThatDoNotCount() : [])
            for warning in warnings { warn("warning: \(warning)") }
            let head = report.headHash.map(Encoding.hex) ?? ""
            // A later authority key trusted vouched by an entry it signed, or else by a checkpoint: which, said.
            let vouchingEntry = trust?.vouchedAt.flatMap { try? ledger.entry($0) }.flatMap { $0.signer == trust?.key.description ? $0.type : nil }
            let trustText = Render.trust(trust, vouchingEntryType: vouchingEntry)
            // Every authority key with its status: the root of trust may have been rotated since.
            let authorities = report.isVerified ? try ledger.keys().filter { $0.enrolment.role == .authority } : []
            if json {
                var fields: [String: CanonicalJSON] = [
                    "verified": .bool(report.isVerified), "entries": .integer(report.verifiedCount),
                    "head": .string(head), "origin": .string(report.origin),
                    "authority_key": .string(trust?.key.description ?? authority?.description ?? ""), "authority_trust": .string(trustText),
                    "genesis_authority_key": .string(authority?.description ?? ""),
                    "warnings": .array(warnings.map { .string($0) }),
                    "authority_keys": .array(
                        authorities.map { key in
                            var members: [String: CanonicalJSON] = [
                                "key_id": .string(key.enrolment.publicKey.id.description), "name": .string(key.enrolment.name),
                                "enrolled_at": .integer(key.enrolledAt),
                            ]
                            if let revoked = key.revokedAt { members["revoked_at"] = .integer(revoked) }
                            return .object(members)
                        }),
                ]
                if let failure = report.failure {
                    fields["failed_entry"] = .integer(failure.seq)
                    fields["reason"] = .string(failure.reason)
                }
                print(String(decoding: CanonicalJSON.object(fields).encoded(), as: UTF8.self))
            } else if let failure = report.failure, failure.isNewerFormat {
                print("CANNOT VERIFY WITH THIS VERSION: \(failure)")
                print("(entries 1 to \(report.verifiedCount) verified)")
            } else if let failure = report.failure {
                print("NOT VERIFIED: \(failure)")
                print("(entries 1 to \(report.verifiedCount) verified)")
            } else {
                print("verified: \(Render.count(report.verifiedCount, "entry", "entries")), head \(head)")
                print("origin: \(report.origin)")
                print("authority key: \(trust?.key.description ?? authority?.description ?? "unknown") (\(trustText))")
                for key in authorities {
                    let status = key.revokedAt.map { "revoked at entry \($0)" } ?? "active"
                    let how = key.enrolledAt == 1 ? "the genesis authority" : "enrolled at entry \(key.enrolledAt)"
                    print("  authority \(key.enrolment.publicKey.id) \(InputError.quoted(key.enrolment.name)): \(how), \(status)")
                }
                // The key trusted still stands for the history it vouched for; say so, and what to trust next.
                if let trusted = trust?.key, let revoked = authorities.first(where: { $0.enrolment.publicKey.id == trusted })?.revokedAt {
                    let active = authorities.filter(\.isActive).map { $0.enrolment.publicKey.id.description }.joined(separator: ", ")
                    print(
                        "note: the authority key you trust, \(trusted), was revoked at entry \(revoked); this ledger descends from it, and its active authority key is \(active): give that key's .pub with --authority-key to trust it from now on (known_ledgers keeps the key recorded first: replace its line for \(report.origin) to move)"
                    )
                }
            }
            if let failure = report.failure { throw ExitCode(ExitCodes.code(for: failure.kind)) }
            if let required {
                let (size, count) = try ledger.witnessCount(of: required.keys)
                try required.check(cosigners: count, size: size)
                if !json { print("the latest checkpoint (size \(size)) is cosigned by \(count) of the \(required.keys.count) witnesses given") }
            }
            if let since, !json { print("extends checkpoint \(since)") }
        }
    }
}
