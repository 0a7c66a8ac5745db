import Foundation
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

/// Asking for a passphrase on the controlling terminal with echo turned off, and for a yes.
enum Terminal {
    /// Whether a person is at the keyboard: standard input and error are terminals.
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1 }

    /// Asks `question` on the terminal; true only for an answer that starts with y or Y.
    static func confirm(_ question: String) throws -> Bool {
        try flushStandardOutput()
        try? FileHandle.standardError.write(contentsOf: Data(question.utf8))
        guard let answer = readLine(strippingNewline: true) else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// `what` names the secret in messages; `elsewhere` says where else it may come from.
    static func readSecret(
        prompt: String, what: String = "passphrase", elsewhere: String = "use --passphrase-file or GIGALEDGER_PASSPHRASE_FILE"
    ) throws -> SecretBytes {
        Sodium.protectProcess()  // the passphrase is a secret too
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError(
                message: "a \(what) is needed and there is no terminal to ask on: \(elsewhere)",
                kind: .unusable)
        }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var saved = termios()
        let isTTY = tcgetattr(fd, &saved) == 0
        if isTTY {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if isTTY { tcsetattr(fd, TCSAFLUSH, &saved) }
            _ = "\n".withCString { write(fd, $0, 1) }
        }
        var bytes = [UInt8]()
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 0x0a {
            guard bytes.count < KeyFiles.passphraseBytesMax else {
                Sodium.wipe(&bytes)
                throw KeyError.malformed(path: "/dev/tty", "\(what) too long")
            }
            bytes.append(byte)
        }
        byte = 0
        if bytes.last == 0x0d { bytes.removeLast() }
        guard !bytes.isEmpty else {
            if what == "passphrase" { throw KeyError.passphraseEmpty(source: "the terminal") }
            throw CLIError(message: "the \(what) typed at the terminal is empty", kind: .unusable)
        }
        return SecretBytes(taking: &bytes)
    }
}
