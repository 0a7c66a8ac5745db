import Foundation
import GigaLedgerCore
import Synchronization

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
    /// `gigaledger sync`, taking entries into a copy of a server's ledger: the one command a copy
    /// accepts (`ReplicaMark`); locked as a command.
    case replica
    /// A dry run (`--dry-run`): the real checks in a transaction rolled back, so it takes no writer
    /// lock and works beside a server and on a copy; it must never commit.
    case dryRun
}

/// The lock of a SQLite ledger's one writer: an open-file-description lock (`F_OFD_SETLK`,
/// fcntl(2)) on one byte of the database file itself, far beyond the bytes SQLite locks
/// (sqlite.org/lockingv3.html: its locks lie at 1 GiB), so it follows the file whatever path
/// names it (a symbolic link, a hard link) and cannot be removed from under the server. Commands
/// hold it read-locked (shared) while their store is open; a server holds it write-locked until it
/// exits (the kernel drops it when the process dies, however it dies).
///
/// The descriptor is closed only after the store's SQLite connection: closing any descriptor of the
/// file drops the process's POSIX locks on it, SQLite's included ("How To Corrupt", section 2.2). A
/// refused attempt's descriptor is therefore never closed (`parked`): another store of this process
/// may hold SQLite locks on the same file; a refused command exits anyway.
///
/// The URL of the server that holds it is written to `LEDGER-writer` beside the file's real path
/// (opened without following a link), for the commands it refuses to name.
final class FileWriterLock: @unchecked Sendable {
    // `@unchecked Sendable`: `descriptor` is set once in init and closed once, by `release`.
    private let descriptor: Int32
    /// The database file's real path (links resolved).
    let realPath: String

    /// The offset of the locked byte: far beyond any byte SQLite locks (its region starts at 1 GiB).
    static let lockOffset: off_t = 0x7FFF_FFFF_FFFF_0000
    /// Linux's `F_OFD_SETLK` (fcntl.h: 37).
    private static let ofdSetLock: Int32 = 37

    /// The file that names the server holding the ledger at `ledger`.
    static func file(of ledger: String) -> String { Files.realPath(ledger) + "-writer" }

    private init(descriptor: Int32, realPath: String) {
        self.descriptor = descriptor
        self.realPath = realPath
    }

    /// Descriptors of refused attempts, never closed (see above).
    private static let parked = Mutex<[Int32]>([])

    /// Closes the descriptor, dropping the lock. Requires the store's SQLite connection closed.
    func release() { close(descriptor) }

    /// Takes the lock for `role`. A command is refused at once while a server holds it; a server
    /// waits up to `waitSeconds` for commands to finish and is refused at once by another server.
    static func acquire(ledger: String, role: WriterRole, waitSeconds: TimeInterval) throws(LedgerError) -> FileWriterLock {
        let descriptor = open(ledger, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .readOnly(path: ledger, "it cannot be opened for writing: \(String(cString: strerror(errno)))")
        }
        let lock = FileWriterLock(descriptor: descriptor, realPath: Files.realPath(ledger))
        do {
            try lock.take(role, waitSeconds: waitSeconds, ledger: ledger)
        } catch {
            parked.withLock { $0.append(descriptor) }
            throw error
        }
        return lock
    }

    private func take(_ role: WriterRole, waitSeconds: TimeInterval, ledger: String) throws(LedgerError) {
        switch role {
        case .command, .replica, .dryRun:
            guard lock(F_RDLCK) else { throw .served(path: ledger, by: holder()) }
        case .server:
            let deadline = Date().addingTimeInterval(waitSeconds)
            while !lock(F_WRLCK) {
                // Held shared (commands finishing) or exclusively (another server)? A shared try tells.
                guard lock(F_RDLCK) else { throw .served(path: ledger, by: holder()) }
                _ = lock(F_UNLCK)
                guard Date() < deadline else { throw .busy(path: ledger) }
                usleep(20_000)
            }
        }
    }

    /// Sets this description's lock on the byte to `type` (F_RDLCK, F_WRLCK, F_UNLCK) without
    /// waiting; whether it was set.
    private func lock(_ type: Int32) -> Bool {
        var region = Glibc.flock()
        region.l_type = Int16(type)
        region.l_whence = Int16(SEEK_SET)
        region.l_start = Self.lockOffset
        region.l_len = 1
        region.l_pid = 0  // required by F_OFD_* locks
        return fcntl(descriptor, Self.ofdSetLock, &region) == 0
    }

    /// Writes the URL of the server holding the lock into `LEDGER-writer`, for commands to name it.
    func announce(_ url: String) {
        let path = realPath + "-writer"
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard file >= 0 else { return }
        defer { close(file) }
        let bytes = Array((url + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
    }

    /// The URL the holding server wrote, if it wrote one that reads as a URL.
    private func holder() -> String? {
        let file = open(realPath + "-writer", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: Self.announcementBytesMax)
        let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // Only printable ASCII is repeated to a terminal, and only what looks like the server's URL.
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        return text
    }

    /// The longest URL read back from the file.
    static let announcementBytesMax = 1_024
}
