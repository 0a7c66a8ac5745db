import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing key and passphrase files with the permissions ssh and minisign insist on.
public enum KeyFiles {
    /// Reads a secret-key file, refusing one that group or others may access.
    public static func readSecret(path: String) throws(KeyError) -> SecretKeyFile.Parsed {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, "not a regular file") }
        let mode = UInt16(info.st_mode & 0o7777)
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        let text = try readText(path: path, bytesMax: SecretKeyFile.fileBytesMax)
        return try SecretKeyFile.parse(text, path: path)
    }

    /// Reads a minisign public-key file.
    public static func readPublic(path: String) throws(KeyError) -> PublicKey {
        try PublicKey.decodeMinisign(readText(path: path, bytesMax: PublicKey.fileBytesMax), path: path)
    }

    /// The longest passphrase read from a file, in bytes.
    public static let passphraseBytesMax = 1024

    /// A passphrase from a file: its bytes less one final newline (`\n` or `\r\n`); empty is refused.
    public static func readPassphrase(path: String) throws(KeyError) -> SecretBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, String(cString: strerror(errno))) }
        defer { close(fd) }
        // Read straight into a buffer we wipe, one byte past the limit to see an oversized file.
        var bytes = [UInt8](repeating: 0, count: passphraseBytesMax + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            guard got > 0 else { break }
            count += got
        }
        guard count <= passphraseBytesMax else { Sodium.wipe(&bytes); throw .malformed(path: path, "passphrase file is larger than \(passphraseBytesMax) bytes") }
        if count > 0, bytes[count - 1] == 0x0a { count -= 1 }
        if count > 0, bytes[count - 1] == 0x0d { count -= 1 }
        guard count > 0 else { Sodium.wipe(&bytes); throw .passphraseEmpty(source: path) }
        let secret = SecretBytes(count: count)
        secret.withMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
        Sodium.wipe(&bytes)
        return secret
    }

    static func readText(path: String, bytesMax: Int) throws(KeyError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable(path: path, "no such file or not readable") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: bytesMax + 1)) ?? Data()
        guard data.count <= bytesMax else { throw .malformed(path: path, "larger than \(bytesMax) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw .malformed(path: path, "not UTF-8 text") }
        return text
    }

    /// Creates `path` with `mode` and writes `text`, failing if it exists (O_EXCL) and syncing to disk.
    public static func writeNew(path: String, text: String, mode: mode_t) throws(KeyError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .unwritable(path: path, String(cString: strerror(errno)))
        }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have cleared bits we asked for; never adds any we did not
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(path)
            throw .unwritable(path: path, why)
        }
    }
}
