import Foundation
import GigaLedgerCore
import GigaLedgerStore
import Mustache

/// The public, read-only web pages of a ledger at its latest kept checkpoint (`serve` answers them,
/// `publish` writes them; FORMAT.md section 18): a summary (the checkpoint with its cosigners; for
/// each gigafactory the money by source, the Union's shares each labelled with what it measures,
/// the safeguards' verdicts in plain words with their article and confidence, the flags of the
/// year's report; charts), and the entries in lists (all, by gigafactory, by source) numbered
/// oldest first, 256 to a page, so that a full page never changes. No page and no receipt per
/// entry: `gigaledger prove --entry N --server URL` makes a receipt from the tiles and bundles.
/// Server-rendered HTML from the Mustache templates, no script. The same state gives the same bytes.
public struct PublicSite: Sendable {
    /// The largest report file published (a report's HTML with its appendix).
    public static let reportFileBytesMax = 64 * 1024 * 1024

    /// One entry as the lists show it.
    struct Row: Sendable {
        let seq: Int64
        let type: String
        let recordedAt: String
        let summary: String
        let signer: String

        /// `data`: the entry's data, decoded by the caller (nil: decoded here; undecodable: no
        /// summary). `reversed`: for a correction, the data of the entry it reverses.
        init(_ entry: Entry, data: EntryData?? = nil, reversed: EntryData? = nil, keyNames: [String: String]) {
            seq = entry.seq
            type = entry.type
            recordedAt = entry.recordedAt
            let summary = (data ?? (try? EntryBody.decode(entry.body))?.data)?.summary ?? ""
            self.summary = summary + (reversed.map { " (it recorded: \($0.summary))" } ?? "")
            signer = keyNames[entry.signer] ?? entry.signer
        }
    }

    /// A report folder published with the site: `reports/<name>/<file>`.
    struct ReportLink: Sendable {
        let name: String
        let period: String
        let entryCount: Int64
        let signed: Bool
        let files: [String]
    }

    /// The size of the checkpoint the site shows.
    public let size: Int64
    /// The latest kept checkpoint with its cosignatures, as `checkpoint` is served.
    public let note: String
    /// The summary page, made once per checkpoint.
    let index: [UInt8]
    /// The lists: all of them (serve), or their open pages (publish).
    public internal(set) var lists: EntryLists
    let keyNames: [String: String]
    let origin: String
    /// The folder the reports are read from, and the reports of this ledger found there.
    let reportsDirectory: String?
    let reports: [ReportLink]

    /// The summary's path, and each report file's: the pages that are neither lists nor tiles.
    public var fixedPaths: [String] {
        ["index.html"] + reports.flatMap { report in report.files.map { "reports/\(report.name)/\($0)" } }
    }

    /// The page at `path`, or nil when the site has none (serve: the lists are all held).
    public func page(_ path: String, ledger: any LedgerServing) throws -> [UInt8]? {
        if path == "index.html" { return index }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "reports" { return try reportFile(parts[1], parts[2]) }
        guard parts.first == "entries", let last = parts.last, last.hasPrefix("page-"), last.hasSuffix(".html"),
            let number = Int(last.dropFirst(5).dropLast(5)), "page-\(number).html" == last
        else { return nil }
        let folder = parts.dropLast().joined(separator: "/") + "/"
        guard let list = lists.lists.first(where: { $0.folder == folder }), let seqs = lists.page(number, of: list) else { return nil }
        return Self.listPage(list, page: number, rows: try Self.rows(seqs, ledger: ledger, keyNames: keyNames), origin: origin)
    }

    func reportFile(_ name: String, _ file: String) throws -> [UInt8]? {
        guard let directory = reportsDirectory, let report = reports.first(where: { $0.name == name }), report.files.contains(file) else {
            return nil
        }
        let path = directory + "/" + report.name + "/" + file
        guard let data = FileManager.default.contents(atPath: path), data.count <= Self.reportFileBytesMax else {
            throw FileRefusal("report file \(path)", "cannot be read, or is larger than \(Self.reportFileBytesMax) bytes")
        }
        return [UInt8](data)
    }

    /// The rows of entries `seqs` (ascending), read in runs of consecutive numbers.
    static func rows(_ seqs: [Int64], ledger: any LedgerServing, keyNames: [String: String]) throws -> [Row] {
        var rows = [Row]()
        rows.reserveCapacity(seqs.count)
        var index = 0
        while index < seqs.count {
            var end = index + 1
            while end < seqs.count, seqs[end] == seqs[end - 1] + 1 { end += 1 }
            let run = try ledger.entries(from: seqs[index], limit: end - index)
            guard run.count == end - index else { throw LedgerError.damaged("entries \(seqs[index]) to \(seqs[end - 1]) cannot be read") }
            for entry in run {
                let (data, reversed) = try Self.listed(entry, ledger: ledger)
                rows.append(Row(entry, data: .some(data), reversed: reversed, keyNames: keyNames))
            }
            index = end
        }
        return rows
    }

    /// An entry's data as the lists read it, and for a correction the data of the entry it
    /// reverses (an earlier entry: read from the ledger), which decides its lists and its row.
    static func listed(_ entry: Entry, ledger: any LedgerServing) throws -> (data: EntryData?, reversed: EntryData?) {
        let data = (try? EntryBody.decode(entry.body))?.data
        guard case .correction(let correction)? = data, let original = try ledger.entry(correction.entry) else { return (data, nil) }
        return (data, (try? EntryBody.decode(original.body))?.data)
    }

    // MARK: - Pages

    /// A path segment for an ID or a source: letters, digits, `.` and `-` kept, others as `-`.
    static func slug(_ text: String) -> String {
        PathSegment.safe(text, replacement: "-")
    }

    /// Page `page` of `list`: its entries, numbered oldest first; nothing on it depends on the
    /// checkpoint, so a full page is the same at every later state. A full page links to the next.
    static func listPage(_ list: EntryList, page: Int, rows: [Row], origin: String) -> [UInt8] {
        let per = EntryLists.perPage
        let first = (page - 1) * per + 1
        var values: [String: Any] = ["root": list == .all ? "../" : "../../", "pageTitle": "\(list.heading), page \(page)", "origin": origin]
        values["heading"] = list.heading
        values["perPage"] = String(per)
        values["page"] = String(page)
        // (A Mustache section opens for an empty string too: what is absent is left out.)
        if !rows.isEmpty { values["range"] = "\(first) to \(first + rows.count - 1)" }
        values["full"] = rows.count == per
        if page > 1 { values["previous"] = "page-\(page - 1).html" }
        if rows.count == per { values["next"] = "page-\(page + 1).html" }
        values["entries"] = rows.map {
            ["seq": String($0.seq), "recordedAt": $0.recordedAt, "type": $0.type, "summary": $0.summary, "signer": $0.signer]
        }
        return render("page-entries.html", values)
    }

    /// The wording of the entries' one-line summaries on the list pages (`EntryData.summary`):
    /// counted up when it changes ("imported 1 row", 2).
    static let summaryWording = 2

    /// What the list pages are made with: the first 8 bytes of the SHA-256 of their templates and
    /// the summaries' wording, in hex. A publication whose pages were made otherwise (an older
    /// binary) has them made again.
    static let listPagesVersion: String = {
        let names = ["page-entries.html", "page-head.html", "page-foot.html"]
        let text =
            names.map { name in EmbeddedTemplates.all.first { $0.0 == name }?.1 ?? "" }.joined(separator: "\u{0}")
            + "\u{0}summaries \(summaryWording)"
        return Encoding.hex(Array(SHA256State.hash(Array(text.utf8)).prefix(8)))
    }()

    static func render(_ template: String, _ values: [String: Any]) -> [UInt8] {
        Array((library.render(values, withTemplate: template) ?? "").utf8)
    }

    /// The page templates: read once.
    private static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all where name.hasPrefix("page-") { try? library.register(text, named: name) }
        return library
    }()
}

extension Ledger {
    /// The public site at the latest kept checkpoint; nil when none is kept. Its summary comes from
    /// the year's report at that state (one verifying pass, as `report` makes it); its lists extend
    /// `lists` (of an earlier size of this ledger) with the entries after it: O(new).
    public func publicSite(reports reportsDirectory: String? = nil, lists given: EntryLists) throws -> PublicSite? {
        guard let latest = try store.read({ try $0.latestCheckpoint() }) else { return nil }
        let size = latest.size
        let note = try withCosignatures(latest.note, size: size)
        let keys = try keys()
        let keyNames = Dictionary(keys.map { ($0.enrolment.publicKey.id.description, $0.enrolment.name) }, uniquingKeysWith: { a, _ in a })
        var lists = given
        try extend(&lists, to: size)
        let reports = try publishedReports(reportsDirectory, size: size)
        let index = try PublicSummary.make(ledger: self, checkpoint: latest, note: note, keys: keys, lists: lists, reports: reports)
        return PublicSite(
            size: size, note: note, index: index, lists: lists, keyNames: keyNames, origin: try origin(), reportsDirectory: reportsDirectory,
            reports: reports)
    }

    /// `lists` extended with entries up to `size`, read in pages.
    func extend(_ lists: inout EntryLists, to size: Int64, each: ((Entry, [EntryList]) throws -> Void)? = nil) throws {
        guard lists.size <= size else { throw LedgerError.damaged("the public lists are of \(lists.size) entries, more than \(size)") }
        while lists.size < size {
            let page = try store.read { try $0.entries(from: lists.size + 1, limit: Int(min(10_000, size - lists.size))) }
            guard !page.isEmpty else { throw LedgerError.damaged("entry \(lists.size + 1) cannot be read") }
            for entry in page {
                let (data, reversed) = try PublicSite.listed(entry, ledger: self)
                let on = lists.add(seq: entry.seq, data: data, reversed: reversed)
                try each?(entry, on)
            }
        }
    }

    /// Whether `folder/name` carries a minisign signature (`name.minisig`) that verifies with a
    /// key this ledger enrols.
    func isSignedReportFile(_ folder: String, _ name: String) -> Bool {
        let path = folder + "/" + name
        guard Files.kind(path) == .typeRegular, Files.kind(path + ".minisig") == .typeRegular,
            let data = FileManager.default.contents(atPath: path), data.count <= PublicSite.reportFileBytesMax,
            let signature = FileManager.default.contents(atPath: path + ".minisig"), signature.count <= 4_096,
            let parsed = Minisign.parse(String(decoding: signature, as: UTF8.self)),
            let key = (try? keys())?.first(where: { $0.enrolment.publicKey.id == parsed.keyID })
        else { return false }
        return Minisign.isValid(parsed, of: [UInt8](data), by: key.enrolment.publicKey)
    }

    /// The report folders of this ledger in `reportsDirectory`, by name; others are left out.
    func publishedReports(_ reportsDirectory: String?, size: Int64) throws -> [PublicSite.ReportLink] {
        guard let reportsDirectory else { return [] }
        var reports = [PublicSite.ReportLink]()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory)) ?? []
        for name in names.sorted() where PublicSite.slug(name) == name {
            let folder = reportsDirectory + "/" + name
            guard let found = try? publishableReport(folder, size: size) else { continue }
            // Plain files only (a link is not followed out of the folder). summary.json was checked
            // against the ledger; another report file only when its own signature, by a key the
            // ledger enrols, verifies (an unsigned report.html could say anything); the checkpoint
            // and consistency files are signed notes, served as text.
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
                Files.kind(folder + "/" + $0) == .typeRegular
            }
            let signed = Set(names.filter { isSignedReportFile(folder, $0) })
            let files = names.filter { name in
                if name == "summary.json" || name == "checkpoint.txt" || name == "consistency.txt" { return true }
                if name.hasSuffix(".minisig") { return signed.contains(String(name.dropLast(".minisig".count))) }
                return ReportBundle.isReportFile(name) && signed.contains(name)
            }.sorted()
            reports.append(
                PublicSite.ReportLink(name: name, period: found.period.description, entryCount: found.entryCount, signed: found.signed, files: files))
        }
        return reports
    }
}
