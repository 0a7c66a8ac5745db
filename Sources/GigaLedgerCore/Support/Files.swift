import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Files written whole or not at all, and read with a size limit: the one place that calls
/// `open`, `write` and `fsync` for the files GigaLedger makes (keys, checkpoints, receipts, reports).
package enum Files {
    /// What is at `path` itself (a link is a link, not what it points to); nil when nothing is.
    package static func kind(_ path: String) -> FileAttributeType? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .typeDirectory
        case S_IFREG: return .typeRegular
        case S_IFLNK: return .typeSymbolicLink
        default: return .typeUnknown
        }
    }

    /// `path` with every symbolic link resolved (the file's real path), or `path` when it cannot be
    /// resolved (it does not exist): what files kept beside a ledger are named after.
    package static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    package enum WriteFailure: Error, CustomStringConvertible {
        case exists
        case failed(String)

        package var description: String {
            switch self {
            case .exists: return "it already exists"
            case .failed(let why): return why
            }
        }
    }

    /// Creates `path` with `mode` and writes `bytes`, failing if it exists (O_EXCL) and syncing to
    /// disk before it returns. A failed write removes what it made.
    package static func writeNew(path: String, bytes: [UInt8], mode: mode_t, sync: Bool = true) throws(WriteFailure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw errno == EEXIST ? .exists : .failed(String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have cleared bits we asked for; never adds any we did not
        var written = 0
        while written < bytes.count {
            // write(2) may write less than asked (a signal, a large file): go on from where it stopped.
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else { break }
            written += count
        }
        guard written == bytes.count, !sync || fsync(fd) == 0 else {
            let why = written == bytes.count ? String(cString: strerror(errno)) : "short write: \(String(cString: strerror(errno)))"
            unlink(path)
            throw .failed(why)
        }
    }

    /// Creates `path` and the folders above it that are missing, each with `mode` whatever the
    /// umask: a publication's folders are for a web server's user to read, also when the process
    /// that writes them runs with a strict umask (a systemd service's `UMask=0077`).
    package static func makeFolders(_ path: String, mode: mode_t) throws(WriteFailure) {
        var missing = [String]()
        var current = path
        while !current.isEmpty, current != "/", kind(current) == nil {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for folder in missing.reversed() {
            if mkdir(folder, mode) == 0 {
                _ = chmod(folder, mode)
            } else if errno != EEXIST {
                throw .failed(String(cString: strerror(errno)))
            }
        }
    }

    package enum ReadFailure: Error {
        case unreadable(String)
        case tooLarge
        case notUTF8
    }

    /// The text of `path`, refused past `bytesMax` bytes or when it is not UTF-8.
    package static func readText(path: String, bytesMax: Int) throws(ReadFailure) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .unreadable("no such file") }
        guard !isDirectory.boolValue else { throw .unreadable("it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(whyUnreadable(path)) }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: bytesMax + 1)) ?? Data()
        guard data.count <= bytesMax else { throw .tooLarge }
        guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8 }
        return text
    }

    /// Why `path` cannot be opened for reading, in words an operator acts on: a file another user
    /// owns (a key made by root for a service that runs as its own user) names both users.
    package static func whyUnreadable(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return "not readable"
        }
        let failure = errno
        guard failure == EACCES || failure == EPERM else { return String(cString: strerror(failure)).lowercased() }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return "permission denied: a folder on its path is closed to this user (this process runs as \(userName(geteuid())))"
        }
        guard info.st_uid == geteuid() else {
            return
                "permission denied: \(ownership(info)): give it to that user (chown), or hand it to a systemd service as a credential (LoadCredential=)"
        }
        return "permission denied: its mode \(String(info.st_mode & 0o777, radix: 8)) does not let its owner (\(userName(info.st_uid))) read it"
    }

    /// Why this process may not write `path`, for a file it may read: who owns it, its mode, and
    /// who this process runs as.
    package static func whyUnwritable(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return String(cString: strerror(errno)).lowercased() }
        return ownership(info)
    }

    /// "it is owned by root (uid 0) with mode 600, and this process runs as gigaledger (uid 999)".
    static func ownership(_ info: stat) -> String {
        "it is owned by \(userName(info.st_uid)) with mode \(String(info.st_mode & 0o777, radix: 8)), and this process runs as \(userName(geteuid()))"
    }

    /// Whether `path` is a credential systemd handed this service (`LoadCredential=`,
    /// `LoadCredentialEncrypted=`): a file in `$CREDENTIALS_DIRECTORY`, a read-only folder only the
    /// service may read, whose files systemd makes readable to the service's user (by owner, or by
    /// an access control list that shows as group bits): their mode is systemd's to set, not ours to refuse.
    package static func isSystemdCredential(_ path: String) -> Bool {
        guard let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return false }
        let folder = (realPath(path) as NSString).deletingLastPathComponent
        return folder == realPath(directory)
    }

    /// A user's name and number ("gigaledger (uid 998)"), or the number alone.
    static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "\(String(cString: name)) (uid \(uid))"
    }

    /// Removes what killed runs of ours left anywhere under `folder`: files named
    /// `<any name><marker><pid>` whose process is gone (a publication's files are written so).
    package static func removeLeftovers(under folder: String, marker: String) {
        guard let names = FileManager.default.enumerator(atPath: folder) else { return }
        while let relative = names.nextObject() as? String {
            guard let range = relative.range(of: marker, options: .backwards), isGone(relative[range.upperBound...]) else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + relative)
        }
    }

    /// Whether `text` is the PID of a process that no longer runs.
    private static func isGone(_ text: Substring) -> Bool {
        guard let pid = Int32(text), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes what a killed run of ours left beside `path`: files or folders named
    /// `<name><marker><pid>` whose process is gone (a live process's work is left alone).
    package static func removeLeftovers(of path: String, markers: [String]) {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let folder = url.deletingLastPathComponent().path, name = url.lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for candidate in names {
            for marker in markers where candidate.hasPrefix(name + marker) {
                let rest = candidate.dropFirst(name.count + marker.count)
                // "-wal" and "-shm" of a partial database copy go with it.
                guard isGone(rest.split(separator: "-").first ?? "") else { continue }
                try? FileManager.default.removeItem(atPath: folder + "/" + candidate)
            }
        }
    }
}
