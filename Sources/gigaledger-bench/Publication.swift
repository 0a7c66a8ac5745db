import Foundation
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// Publication (issue 32): the first publish of a large ledger, then a publish of 1,000 new entries
// onto it: files written, seconds apart from the summary's report pass, and the bytes of
// everything but the full-entry bundles against theirs; beside a raw limit of this machine's
// file system measured in the same run (a file of 8 KiB written whole: written, synced, renamed).

struct PublicationResult {
    var size = 0
    var firstSeconds = 0.0, firstSummarySeconds = 0.0, firstFiles = 0
    var added = 0, nextSeconds = 0.0, nextSummarySeconds = 0.0, nextFiles = 0, nextRemoved = 0
    /// The same, the new entries from every source at once (every source's list gains some).
    var mixedSeconds = 0.0, mixedFiles = 0, mixedLists = 0
    var bundleBytes = 0, otherBytes = 0, fileCount = 0
    /// Files of 8 KiB written whole per second, one after another (the raw limit).
    var rawFilesPerSecond = 0.0
}

/// Writes `count` files of 8 KiB as a publication does (a temporary file, fsync, rename), best of 3.
func measureRawFileWrites(work: String, count: Int = 2_000) -> Double {
    let folder = "\(work)/raw-files"
    let bytes = [UInt8](repeating: 5, count: 8_192)
    var best = 0.0
    for attempt in 0..<3 {
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let start = now()
        for index in 0..<count {
            let path = "\(folder)/\(attempt)-\(index)", temporary = path + ".new"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            precondition(fd >= 0, "bench: cannot create \(temporary)")
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            close(fd)
            rename(temporary, path)
        }
        best = max(best, rate(count, now() - start))
    }
    try? FileManager.default.removeItem(atPath: folder)
    return best
}

func measurePublication(size: Int, added: Int = 1_000, work: String, random: inout SeededRandom) throws -> PublicationResult {
    log("publication of \(size) entries, then \(added) more")
    var result = PublicationResult(size: size, added: added)
    result.rawFilesPerSecond = measureRawFileWrites(work: work)
    let path = "\(work)/publication-\(size).sqlite", out = "\(work)/publication-\(size)"
    let ledger = try makeLedger(path: path)
    _ = try fill(ledger, size: size, random: &random)
    _ = try ledger.signCheckpoint(key: authority)
    var start = now()
    let first = try ledger.publish(to: out)
    result.firstSeconds = now() - start
    result.firstSummarySeconds = Double(first.summaryNanoseconds) / 1e9
    result.firstFiles = first.written
    // As entries arrive: one office's import file (one source).
    _ = try fill(ledger, size: added, random: &random, source: .memberState("DE"))
    _ = try ledger.signCheckpoint(key: authority)
    start = now()
    let next = try ledger.publish(to: out, partialGrace: 0)
    result.nextSeconds = now() - start
    result.nextSummarySeconds = Double(next.summaryNanoseconds) / 1e9
    result.nextFiles = next.written
    result.nextRemoved = next.removed
    // The worst case: entries of every source in one publish.
    _ = try fill(ledger, size: added, random: &random)
    _ = try ledger.signCheckpoint(key: authority)
    start = now()
    let mixed = try ledger.publish(to: out, partialGrace: 0)
    result.mixedSeconds = now() - start - Double(mixed.summaryNanoseconds) / 1e9
    result.mixedFiles = mixed.written
    if let state = FileManager.default.contents(atPath: out + "/entries/lists.json"),
        case .object(let fields)? = try? CanonicalJSON.decode([UInt8](state)), case .array(let lists)? = fields["lists"]
    {
        result.mixedLists = lists.count
    }
    for file in try FileManager.default.subpathsOfDirectory(atPath: out) {
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/" + file)
        guard attributes[.type] as? FileAttributeType == .typeRegular, let bytes = (attributes[.size] as? NSNumber)?.intValue else { continue }
        result.fileCount += 1
        if file.hasPrefix("ledger/v1/bundle/") { result.bundleBytes += bytes } else { result.otherBytes += bytes }
    }
    try? FileManager.default.removeItem(atPath: out)
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    return result
}

func publicationFigures(_ result: PublicationResult) -> String {
    let firstRest = result.firstSeconds - result.firstSummarySeconds, nextRest = result.nextSeconds - result.nextSummarySeconds
    let ratio = Double(result.otherBytes) / Double(max(1, result.bundleBytes))
    func met(_ ok: Bool) -> String { ok ? "met" : "NOT met" }
    return """
        ## Publication (issue 32)

        A ledger of \(result.size) entries published into an empty folder, then \(result.added) entries added and published again
        (`Ledger.publish`, as `gigaledger publish` and `serve --publish` run it). The summary page's figures are the year's
        report at the checkpoint (one pass over the ledger), measured apart; the rest costs what is new.
        Raw limit in the same run: \(fmt(result.rawFilesPerSecond)) files of 8 KiB written whole per second (written, synced, renamed; best of 3).

        | measured | figure |
        |---|--:|
        | first publish of \(result.size) entries: files written | \(result.firstFiles) |
        | its time without the summary / the summary's report pass | \(fmt(firstRest, 1)) s / \(fmt(result.firstSummarySeconds, 1)) s |
        | its files per second ÷ the raw file-write rate | \(fmt(Double(result.firstFiles) / max(firstRest, 0.001) / result.rawFilesPerSecond, 2)) |
        | publish of \(result.added) new entries onto it, one office's import (one source): files written (every file counted) | \(result.nextFiles) |
        | its time without the summary / the summary's report pass | \(fmt(nextRest, 2)) s / \(fmt(result.nextSummarySeconds, 1)) s |
        | publish of \(result.added) more, from every source at once: files written; time without the summary | \(result.mixedFiles); \(fmt(result.mixedSeconds, 2)) s |
        | superseded partial tiles and bundles removed (grace 0) | \(result.nextRemoved) |
        | the publication: files; bytes of the full-entry bundles / of everything else | \(result.fileCount); \(result.bundleBytes) / \(result.otherBytes) |

        Targets:
        - a publish of \(result.added) new entries onto \(result.size) writes at most 60 files: \(result.nextFiles): \(met(result.nextFiles <= 60))
          (from every source at once: \(result.mixedFiles) files, the publication having \(result.mixedLists) entry lists: besides the same tiles,
          bundles and documents, each list that gains an entry has its open page written again, one file per gigafactory and per source)
        - and takes under 2 s apart from the summary's pass: \(fmt(nextRest, 2)) s: \(met(nextRest < 2)) (from every source: \(fmt(result.mixedSeconds, 2)) s)
        - the first publish of \(result.size) entries under 3 minutes plus that pass: \(fmt(firstRest, 1)) s: \(met(firstRest < 180))
        - everything but the full-entry bundles at most 2 × their bytes: \(fmt(ratio, 2)) ×: \(met(ratio <= 2))
        """
}
