import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

/// The `gigaledger` command: parses, calls GigaLedgerKit, renders, and picks the exit code.
@main
struct GigaLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gigaledger",
        abstract: "A tamper-evident funding ledger for the EU's AI gigafactories.",
        discussion: """
            Exit codes: 0 success; 1 the ledger does not verify; 2 the ledger or a key file cannot be used \
            (missing, not a ledger, busy, read-only, wrong passphrase); 64 bad command line; 65 input refused \
            (a bad value, an unknown factory, a key not allowed to sign it). Nothing is written unless the exit code is 0.
            """,
        version: GigaLedger.version,
        subcommands: [
            Key.self, Init.self, FactoryCommand.self, PartnerCommand.self, ContributionCommand.self,
            AccessCommand.self, Correct.self, Log.self, Show.self, Verify.self, Status.self,
            CheckpointCommand.self, Prove.self, CheckReceipt.self, Cosign.self, PolicyCommand.self, Report.self, ExportCommand.self, Import.self,
            Backup.self, Copy.self, Serve.self, Sync.self, Publish.self, WitnessCommand.self,
        ]
    )

    /// The release, and the formats it writes and reads.
    static let version =
        "gigaledger 0.13.0, source \(sourceCommit) (entries \(EntryBody.format), schema migrations through \(Ledger.latestMigration), report summaries \(ReportRenderer.summaryFormat.split(separator: "/").last ?? ""))"

    static func main() async {
        do {
            try refuseInvalidUTF8Arguments()
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand { try await asynchronous.run() } else { try command.run() }
            try flushStandardOutput()
        } catch let failure as ExitCode {
            terminate(failure.rawValue)
        } catch let refusal as UsageRefusal {
            let code = ExitCode.validationFailure.rawValue
            try? FileHandle.standardError.write(
                contentsOf: Data(
                    (jsonRequested ? jsonError(kind: "usage", code: code, message: refusal.message) : "gigaledger: error: \(refusal.message)").utf8
                        + [0x0a]))
            terminate(code)
        } catch let error as GigaLedgerError {
            fail(kind: error.kind, message: error.description)
        } catch {
            // ArgumentParser's own errors (a bad command line, help, version), which it renders;
            // any other error (one from Foundation, say) is "cannot be used", never "does not verify".
            let code = exitCode(for: error).rawValue
            if code == ExitCode.failure.rawValue { fail(kind: .unusable, message: "\(error)") }
            if jsonRequested && code != 0 {
                try? FileHandle.standardError.write(
                    contentsOf: Data(jsonError(kind: "usage", code: code, message: fullMessage(for: error)).utf8 + [0x0a]))
                terminate(code)
            }
            exit(withError: error)
        }
    }

    /// One line on standard error (JSON when asked for) and the exit code of `kind`.
    static func fail(kind: FailureKind, message: String) -> Never {
        let code = ExitCodes.code(for: kind)
        try? FileHandle.standardError.write(
            contentsOf: Data(
                (jsonRequested
                    ? jsonError(kind: kind.rawValue, code: code, message: message)
                    : "gigaledger: error: \(message)").utf8 + [0x0a]))
        terminate(code)
    }

    /// Whether the command line asks for JSON: then a failure is one JSON object on standard error
    /// (README, "JSON output").
    static var jsonRequested: Bool { CommandLine.arguments.dropFirst().contains("--json") }

    /// `{"error":{"exit_code":65,"kind":"refused","message":"..."}}`: canonical JSON, one line.
    static func jsonError(kind: String, code: Int32, message: String) -> String {
        Render.jsonObject(["error": .object(["kind": .string(kind), "exit_code": .integer(Int64(code)), "message": .string(message)])])
    }
}

/// Refuses an argument that is not UTF-8: Swift would read it with U+FFFD in place of the bad
/// bytes, and a name or reference would be stored as something its writer never typed.
func refuseInvalidUTF8Arguments() throws(CLIError) {
    for index in 1..<Int(CommandLine.argc) {
        guard let pointer = CommandLine.unsafeArgv[index] else { continue }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
        if String(validating: bytes, as: UTF8.self) == nil {
            let shown = InputError.quoted(String(decoding: bytes, as: UTF8.self))
            throw CLIError(message: "argument \(index) \(shown) is not valid UTF-8; nothing was written", kind: .refused)
        }
    }
}

/// Flushes standard output; output that was lost (a full disk, /dev/full, a closed pipe) is a failure,
/// whether the flush loses it or an earlier write did (a line-buffered or unbuffered stream writes
/// as it goes, and its failure is only in the stream's error flag).
func flushStandardOutput() throws(OutputError) {
    guard fflush(nil) == 0 else { throw OutputError(path: "standard output", why: String(cString: strerror(errno))) }
    guard !standardOutputWriteFailed() else { throw OutputError(path: "standard output", why: "a write to it failed") }
}

/// Flushes standard output and ends the process with `code`.
func terminate(_ code: Int32) -> Never {
    fflush(nil)
    Glibc.exit(code)
}

/// The exit codes, one per kind of failure (see the discussion above and README.md): the one place
/// where a kind becomes a number.
enum ExitCodes {
    static let notVerified = FailureKind.notVerified.exitCode
    static let unusable = FailureKind.unusable.exitCode
    static let refused = FailureKind.refused.exitCode

    static func code(for kind: FailureKind) -> Int32 { kind.exitCode }
}

/// An error the executable itself raises, with its kind.
/// A command line that cannot go on as given, found once the command runs (ArgumentParser's own
/// refusals add a usage block): one line, exit 64, nothing written.
struct UsageRefusal: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

struct CLIError: GigaLedgerError {
    let message: String
    let kind: FailureKind
    var description: String { message }
}

/// Writes a line to standard error (warnings and progress; never results). A standard error that
/// cannot be written (a closed pipe) loses the warning, not the command: `write(_:)` would trap.
func warn(_ message: String) {
    try? FileHandle.standardError.write(contentsOf: Data("gigaledger: \(message)\n".utf8))
}
