import ArgumentParser
import Foundation
import GigaLedgerKit
#if canImport(Glibc)
import Glibc
#endif

/// The `gigaledger` command: parses, calls GigaLedgerKit, renders, and picks the exit code.
@main
struct GigaLedger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gigaledger",
        abstract: "A tamper-evident funding ledger for the EU's AI gigafactories.",
        discussion: """
            Exit codes: 0 success; 1 the ledger does not verify; 2 the ledger or a key file cannot be used \
            (missing, not a ledger, busy, read-only, wrong passphrase); 64 bad command line; 65 input refused \
            (a bad value, an unknown factory, a key not allowed to sign it). Nothing is written unless the exit code is 0.
            """,
        subcommands: [Key.self, Init.self, FactoryCommand.self, PartnerCommand.self, ContributionCommand.self,
                      AccessCommand.self, Correct.self, Log.self, Show.self, Verify.self, Status.self,
                      CheckpointCommand.self, Prove.self, CheckReceipt.self, Cosign.self, PolicyCommand.self, Report.self, ExportCommand.self, Import.self, Backup.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as ExitCode {
            terminate(failure.rawValue)
        } catch {
            guard let (message, code) = ExitCodes.classify(error) else { exit(withError: error) }
            FileHandle.standardError.write(Data("gigaledger: error: \(message)\n".utf8))
            terminate(code)
        }
    }
}

/// Flushes standard output and ends the process with `code`.
func terminate(_ code: Int32) -> Never {
    fflush(stdout)
    Glibc.exit(code)
}

/// The exit codes, one per kind of failure (see the discussion above and README.md).
enum ExitCodes {
    static let notVerified: Int32 = 1
    static let unusable: Int32 = 2
    static let refused: Int32 = 65

    /// A one-line message and exit code for our own errors; nil for ArgumentParser's, which it renders.
    static func classify(_ error: Error) -> (String, Int32)? {
        switch error {
        case let error as InputError: return (error.description, refused)
        case let error as Refusal: return (error.description, refused)
        case let error as KeyError: return (error.description, unusable)
        case let error as LedgerError:
            switch error {
            case .headInvalid, .checkpointMismatch, .treeIncomplete, .notVerified: return (error.description, notVerified)
            default: break
            }
            return (error.description, unusable)
        case let error as EntryFormatError: return ("a stored entry cannot be read: \(error); run `gigaledger verify`", notVerified)
        case let error as NoteError: return (error.description, refused)
        case let error as ReceiptError: return (error.description, notVerified)
        case let error as ProofError: return (error.description, notVerified)
        case let error as ImportError: return (error.description, refused)
        case let error as CLIError: return (error.message, error.code)
        default: return nil
        }
    }
}

/// An error the executable itself raises, with its exit code.
struct CLIError: Error {
    let message: String
    let code: Int32
}

/// Writes a line to standard error (warnings and progress; never results).
func warn(_ message: String) {
    FileHandle.standardError.write(Data("gigaledger: \(message)\n".utf8))
}
