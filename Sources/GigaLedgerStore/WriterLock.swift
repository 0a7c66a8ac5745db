import Foundation
import GigaLedgerCore

#if canImport(Glibc)
import Glibc
#endif

/// Who writes a ledger (README, "One writer"): a command that appends and ends, or `gigaledger
/// serve`, which holds the ledger for as long as it runs, so that every write goes through it.
public enum WriterRole: Sendable, Equatable {
    /// A local write command: refused while a server holds the ledger (it names the server).
    case command
    /// `gigaledger serve`: the only writer while it runs; a second server is refused.
    case server
}

/// The lock of a SQLite ledger's one writer: `flock(2)` on the file `LEDGER-writer` beside it,
/// which also holds the URL of the server that holds it. Commands hold it shared for as long as
/// their store is open; a server holds it exclusively until it exits (the kernel releases it when
/// the process dies, however it dies). Not on the database file itself: closing any descriptor of
/// that file would drop SQLite's own POSIX locks on it (sqlite.org/lockingv3.html, "How To
/// Corrupt": "Posix advisory locks canceled by a separate thread doing close()").
final class FileWriterLock: @unchecked Sendable {
    // `@unchecked Sendable`: `descriptor` is set once in init and closed once in deinit.
    private let descriptor: Int32
    let path: String

    /// The lock file of the ledger at `ledger`.
    static func file(of ledger: String) -> String { ledger + "-writer" }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Takes the lock for `role`. A command is refused at once while a server holds it; a server
    /// waits up to `waitSeconds` for commands to finish and is refused at once by another server.
    static func acquire(ledger: String, role: WriterRole, waitSeconds: TimeInterval) throws(LedgerError) -> FileWriterLock {
        let path = file(of: ledger)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .readOnly(path: ledger, "its writer lock \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        let lock = FileWriterLock(descriptor: descriptor, path: path)
        switch role {
        case .command:
            guard flock(descriptor, LOCK_SH | LOCK_NB) == 0 else { throw .served(path: ledger, by: lock.holder()) }
        case .server:
            let deadline = Date().addingTimeInterval(waitSeconds)
            while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                // Held shared (commands finishing) or exclusively (another server)? A shared try tells.
                if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
                    flock(descriptor, LOCK_UN)
                    guard Date() < deadline else { throw .busy(path: ledger) }
                    usleep(20_000)
                    continue
                }
                throw .served(path: ledger, by: lock.holder())
            }
        }
        return lock
    }

    /// Writes the URL of the server holding the lock into the lock file, for commands to name it.
    func announce(_ url: String) {
        let bytes = Array((url + "\n").utf8)
        guard ftruncate(descriptor, 0) == 0 else { return }
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The URL the holding server wrote, if it did.
    private func holder() -> String? {
        var buffer = [UInt8](repeating: 0, count: Self.announcementBytesMax)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text.contains(where: \.isNewline) ? nil : text
    }

    /// The longest URL read back from a lock file.
    static let announcementBytesMax = 1_024
}
