import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new ledger whose genesis entry enrols the authority key (the root of trust).")

        @OptionGroup var ledger: LocalLedgerOptions
        @OptionGroup var signing: SigningOptions

        @Option(
            name: .long,
            help: "The ledger's origin name, for ever: every checkpoint, receipt and auditor's trust names it (e.g. eurohpc-ju.europa.eu/gigaledger)."
        )
        var origin: String

        @Option(name: .long, help: "The authority key holder's name, as enrolled.")
        var name: String = "Ledger authority"

        func run() async throws {
            try ledger.refuseServer()  // a ledger is made where it will be served, never through a server
            let path = ledger.path
            let originName = origin
            try Ledger.checkCreatable(path: path, origin: originName)  // before a passphrase is asked for
            let key = try signing.load()
            // Nothing is created that this user's own trust store would then refuse.
            if let conflict = try Environment.trustedAuthorities.conflict(origin: originName, authority: key.id) { throw conflict }
            let (created, genesis) = try Ledger.create(path: path, authority: key, authorityName: name, origin: originName)
            try Environment.trustedAuthorities.record(origin: originName, authority: key.id)
            print("created ledger \(ledger.displayPath)")
            print("origin: \(originName)")
            print("authority key: \(key.id) (\(name))")
            print("genesis entry 1, hash \(Encoding.hex(genesis.hash))")
            if let grants = created.grantSQL { Render.grants(grants) }
            // Output that is lost leaves no ledger behind: the command failed, and nothing was made.
            do { try flushStandardOutput() } catch {
                Ledger.removeFiles(path: path)
                throw error
            }
        }
    }
}
