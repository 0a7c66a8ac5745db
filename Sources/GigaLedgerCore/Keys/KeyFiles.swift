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
        Sodium.protectProcess()  // before any secret is in memory: no core file may hold it
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, "not a regular file") }
        let mode = UInt16(info.st_mode & 0o7777)
        // A public key given by mistake: say so, rather than ask for it to be made private.
        if path.hasSuffix(".pub") || (try? readPublic(path: path)) != nil { throw .publicKeyGiven(path: path) }
        guard mode & 0o077 == 0 || Files.isSystemdCredential(path) else { throw .tooOpen(path: path, mode: mode) }
        let text = try readText(path: path, bytesMax: SecretKeyFile.fileBytesMax)
        return try SecretKeyFile.parse(text, path: path)
    }

    /// Reads a minisign public-key file.
    public static func readPublic(path: String) throws(KeyError) -> PublicKey {
        try PublicKey.decodeMinisign(readText(path: path, bytesMax: PublicKey.fileBytesMax), path: path)
    }

    /// The most public keys one file of several holds (a witness's keys of one log, across rotations).
    public static let publicKeysPerFileMax = 16

    /// One or more minisign public keys in one file, each its two lines (`.pub` files put one after
    /// another): what a witness's `--log ORIGIN=FILE` names, so that a rotation adds a key to it.
    public static func readPublicKeys(path: String) throws(KeyError) -> [PublicKey] {
        let text = try readText(path: path, bytesMax: PublicKey.fileBytesMax * publicKeysPerFileMax)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty, lines.count % 2 == 0, lines.count / 2 <= publicKeysPerFileMax else {
            throw .malformed(
                path: path, "not one or more minisign public keys (each an untrusted comment line and a key line; at most \(publicKeysPerFileMax))")
        }
        var keys = [PublicKey]()
        for pair in stride(from: 0, to: lines.count, by: 2) {
            keys.append(try PublicKey.decodeMinisign(lines[pair] + "\n" + lines[pair + 1] + "\n", path: path))
        }
        return keys
    }

    /// The longest passphrase read from a file, in bytes.
    public static let passphraseBytesMax = 1024
    /// The shortest passphrase a new key takes, in characters (keys made before keep theirs).
    public static let passphraseCharactersMin = 12

    /// A passphrase from a file: its bytes less one final newline (`\n` or `\r\n`); empty is refused.
    public static func readPassphrase(path: String) throws(KeyError) -> SecretBytes {
        Sodium.protectProcess()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .passphraseUnreadable(path: path, errno == ENOENT ? "no such file" : Files.whyUnreadable(path)) }
        defer { close(fd) }
        // A passphrase is as secret as the key it opens: refused where group or others may read it, as a key file is.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, String(cString: strerror(errno))) }
        let mode = UInt16(info.st_mode & 0o7777)
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .passphraseUnreadable(path: path, "it is a directory") }
        if (info.st_mode & S_IFMT) == S_IFREG, mode & 0o077 != 0, !Files.isSystemdCredential(path) {
            throw .passphraseFileTooOpen(path: path, mode: mode)
        }
        // Read straight into a buffer we wipe, one byte past the limit to see an oversized file.
        var bytes = [UInt8](repeating: 0, count: passphraseBytesMax + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            guard got > 0 else { break }
            count += got
        }
        guard count <= passphraseBytesMax else {
            Sodium.wipe(&bytes)
            throw .malformed(path: path, "passphrase file is larger than \(passphraseBytesMax) bytes")
        }
        if count > 0, bytes[count - 1] == 0x0a { count -= 1 }
        if count > 0, bytes[count - 1] == 0x0d { count -= 1 }
        guard count > 0 else {
            Sodium.wipe(&bytes)
            throw .passphraseEmpty(source: path)
        }
        let secret = SecretBytes(count: count)
        secret.withMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
        Sodium.wipe(&bytes)
        return secret
    }

    static func readText(path: String, bytesMax: Int) throws(KeyError) -> String {
        do { return try Files.readText(path: path, bytesMax: bytesMax) } catch {
            switch error {
            case .unreadable(let why): throw .unreadable(path: path, why)
            case .tooLarge: throw .malformed(path: path, "larger than \(bytesMax) bytes")
            case .notUTF8: throw .malformed(path: path, "not UTF-8 text")
            }
        }
    }

    /// Creates `path` with `mode` and writes `text`, failing if it exists (O_EXCL) and syncing to disk.
    public static func writeNew(path: String, text: String, mode: mode_t) throws(KeyError) {
        do { try Files.writeNew(path: path, bytes: Array(text.utf8), mode: mode) } catch {
            switch error {
            case .exists: throw .exists(path: path)
            case .failed(let why): throw .unwritable(path: path, why)
            }
        }
    }
}
