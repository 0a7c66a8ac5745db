import Foundation
import GigaLedgerCore

#if canImport(Glibc)
import Glibc
#endif

/// The files GigaLedger hands out (checkpoints, receipts, proofs, exports, reports) and the text
/// files it is given: written whole or not at all, read with a limit, each failure one line.
public enum OutputFiles {
    /// Mode of every output file: readable by all, as published evidence is.
    static let outputMode: mode_t = 0o644

    /// Creates `path` and writes `text`, refusing to overwrite; synced before it returns.
    public static func writeNew(_ text: String, to path: String, sync: Bool = true) throws(OutputError) {
        do { try Files.writeNew(path: path, bytes: Array(text.utf8), mode: outputMode, sync: sync) } catch {
            switch error {
            case .exists: throw OutputError(path: path, why: "it already exists; refusing to overwrite it")
            case .failed(let why): throw OutputError(path: path, why: why)
            }
        }
    }

    /// Refuses, before anything is done, an output path that `writeNew` would refuse: one that
    /// exists, or whose folder does not, so a command that records something (a checkpoint, a
    /// cosignature) never records it and then fails to hand it out.
    public static func checkNew(_ path: String) throws(OutputError) {
        if FileManager.default.fileExists(atPath: path) { throw OutputError(path: path, why: "it already exists; refusing to overwrite it") }
        let folder = (URL(fileURLWithPath: path).deletingLastPathComponent().path as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OutputError(path: path, why: "its folder \(folder) does not exist")
        }
        guard access(folder, W_OK) == 0 else { throw OutputError(path: path, why: "its folder \(folder) is not writable") }
    }

    /// Replaces `path` with `text` atomically (a new file beside it, then rename), so a reader sees
    /// the old file or the new one, never half of one.
    /// `sync: false` for a file whose loss in a power cut costs nothing (a cache): not synced.
    public static func replace(_ text: String, at path: String, sync: Bool = true) throws(OutputError) {
        let temporary = path + ".new-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        Files.removeLeftovers(of: path, markers: [".new-"])  // a killed run's
        do { try writeNew(text, to: temporary, sync: sync) } catch { throw OutputError(path: path, why: error.why) }
        guard rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputError(path: path, why: why)
        }
    }

    /// The text of an input file (`what` names it in messages: "checkpoint", "receipt").
    /// A file that cannot be read is `UnreadableFile`; one too large or not UTF-8 is a `FileRefusal`.
    public static func readText(_ path: String, what: String, bytesMax: Int) throws -> String {
        do { return try Files.readText(path: path, bytesMax: bytesMax) } catch {
            switch error {
            case .unreadable(let why): throw UnreadableFile(what: what, path: path, why: why)
            case .tooLarge: throw FileRefusal("\(what) \(path)", "is larger than \(bytesMax) bytes")
            case .notUTF8: throw FileRefusal("\(what) \(path)", "is not UTF-8 text")
            }
        }
    }

    /// Writes `files` as the folder `dir`, all of them or none: into a new sibling folder first,
    /// which then takes `dir`'s place, so no reader sees a mix of old and new files and a killed
    /// run leaves the old folder as it was. An existing `dir` is replaced only when every file in
    /// it is one `isOurs` recognises (an earlier run's output): never a folder of other files.
    public static func writeFolder(_ files: [(name: String, text: String)], to dir: String, isOurs: (String) -> Bool) throws(OutputError) {
        let target = URL(fileURLWithPath: dir).standardizedFileURL.path
        let staging = target + ".new-\(getpid())", previous = target + ".old-\(getpid())"
        let manager = FileManager.default
        Files.removeLeftovers(of: target, markers: [".new-", ".old-"])  // a killed report's folders
        try checkReplaceable(target, isOurs: isOurs)
        if (try? manager.destinationOfSymbolicLink(atPath: target)) != nil {
            throw OutputError(path: target, why: "it is a symbolic link; give the folder it points to")
        }
        do {
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch { throw OutputError(path: target, why: "cannot create its parent folder") }
        try? manager.removeItem(atPath: staging)
        guard mkdir(staging, 0o755) == 0 else { throw OutputError(path: target, why: String(cString: strerror(errno))) }
        do {
            for file in files {
                do { try writeNew(file.text, to: staging + "/" + file.name) } catch {
                    throw OutputError(path: target + "/" + file.name, why: error.why)
                }
            }
            try syncFolder(staging)
            let replacing = manager.fileExists(atPath: target)
            if replacing, rename(target, previous) != 0 { throw OutputError(path: target, why: String(cString: strerror(errno))) }
            guard rename(staging, target) == 0 else {
                let why = String(cString: strerror(errno))
                if replacing { _ = rename(previous, target) }
                throw OutputError(path: target, why: why)
            }
            // The report is in place: a failed sync of its parent only leaves the rename less durable.
            try? syncFolder((target as NSString).deletingLastPathComponent)
            if replacing { try? manager.removeItem(atPath: previous) }
        } catch let error as OutputError {
            try? manager.removeItem(atPath: staging)
            throw error
        } catch {
            try? manager.removeItem(atPath: staging)
            throw OutputError(path: target, why: "\(error)")
        }
    }

    /// `dir` may be replaced: it does not exist, or it is a folder of our files only.
    private static func checkReplaceable(_ dir: String, isOurs: (String) -> Bool) throws(OutputError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw OutputError(path: dir, why: "it is a file, not a folder") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw OutputError(path: dir, why: "its files cannot be listed")
        }
        for name in names.sorted() {
            var isSubfolder: ObjCBool = false
            let isFile =
                FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isSubfolder) && !isSubfolder.boolValue
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + name)) == nil
            guard isFile, isOurs(name) else {
                throw OutputError(path: dir, why: "it holds \(name), which this command did not write; give a new folder")
            }
        }
    }

    /// fsync on a folder makes the names in it (a rename) durable, not only the files' bytes.
    private static func syncFolder(_ path: String) throws(OutputError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw OutputError(path: path, why: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw OutputError(path: path, why: String(cString: strerror(errno))) }
    }
}
