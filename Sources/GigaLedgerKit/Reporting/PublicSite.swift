import Foundation
import GigaLedgerCore
import Mustache

/// The public, read-only web pages of a ledger at its latest kept checkpoint (`serve` answers them,
/// `publish` writes them; FORMAT.md section 18): a summary (the checkpoint with its cosigners, each
/// gigafactory's committed and paid totals and the verdicts of the safeguards in force), every
/// entry in pages (all, by gigafactory, by source), each entry with its receipt. Server-rendered
/// HTML from the Mustache templates, no script: headings, table captions and header cells, a
/// viewport for phones, dark text on white. The same state gives the same bytes.
public struct PublicSite: Sendable {
    /// Entries per page of a list.
    public static let entriesPerPage = 100
    /// The largest report file published (a report's HTML with its appendix).
    public static let reportFileBytesMax = 64 * 1024 * 1024

    /// One entry as the lists show it.
    struct Row: Sendable {
        let seq: Int64
        let type: String
        let recordedAt: String
        let summary: String
        let factory: String?
        let source: String?
    }

    struct VerdictLine: Sendable {
        let status: String
        let css: String
        let rule: String
    }

    /// A report folder published with the site: `reports/<name>/<file>`.
    struct ReportLink: Sendable {
        let name: String
        let period: String
        let entryCount: Int64
        let signed: Bool
        let files: [String]
    }

    struct FactoryLine: Sendable {
        let id: String
        let name: String
        let hosts: String
        let committed: String
        let paid: String
        let unionShare: String
        let verdicts: [VerdictLine]
    }

    let origin: String
    /// The size of the checkpoint the site shows.
    public let size: Int64
    let rootHex: String
    /// The latest kept checkpoint with its cosignatures, as `checkpoint` is served.
    public let note: String
    let signer: String
    let cosigners: [String]
    let policy: String
    let year: Int
    let factories: [FactoryLine]
    let programme: [VerdictLine]
    /// Newest first; and the same, of each gigafactory and each source (made once: a list page
    /// is asked for many times).
    let rows: [Row]
    let byFactory: [String: [Row]]
    let bySource: [String: [Row]]
    let keyNames: [String: String]
    /// The folder the reports are read from, and the reports of this ledger found there.
    let reportsDirectory: String?
    let reports: [ReportLink]

    /// Every path of the site, in a fixed order.
    public var paths: [String] {
        var paths = ["index.html"]
        func list(_ prefix: String, _ count: Int) {
            for page in 1...max(1, Self.pageCount(count)) { paths.append("entries/\(prefix)page-\(page).html") }
        }
        list("", rows.count)
        for id in factoryIDs { list("factory-\(Self.slug(id))/", byFactory[id]?.count ?? 0) }
        for source in sources { list("source-\(Self.slug(source))/", bySource[source]?.count ?? 0) }
        for row in rows.reversed() { paths += ["entries/\(row.seq).html", "receipts/\(row.seq).txt"] }
        for report in reports { paths += report.files.map { "reports/\(report.name)/\($0)" } }
        return paths
    }

    /// The page at `path`, or nil when the site has none. Receipts need the ledger; `receipts`, a
    /// maker for this site's checkpoint (`Ledger.receiptMaker`), saves reading the keys for each.
    public func page(_ path: String, ledger: any LedgerServing, receipts: ((Int64) throws -> Receipt)? = nil) throws -> [UInt8]? {
        if path == "index.html" { return render("page-index.html", index(root: "")) }
        let parts = path.split(separator: "/").map(String.init)
        if parts.count == 2, parts[0] == "receipts", parts[1].hasSuffix(".txt"), let seq = Int64(parts[1].dropLast(4)),
            String(seq) + ".txt" == parts[1],
            seq >= 1, seq <= size
        {
            return Array(try (receipts ?? ledger.receiptMaker(checkpointNote: note))(seq).encoded.utf8)
        }
        if parts.count == 3, parts[0] == "reports", let directory = reportsDirectory,
            let report = reports.first(where: { $0.name == parts[1] }), report.files.contains(parts[2])
        {
            let file = directory + "/" + report.name + "/" + parts[2]
            guard let data = FileManager.default.contents(atPath: file), data.count <= Self.reportFileBytesMax else {
                throw FileRefusal("report file \(file)", "cannot be read, or is larger than \(Self.reportFileBytesMax) bytes")
            }
            return [UInt8](data)
        }
        guard parts.first == "entries" else { return nil }
        if parts.count == 2, parts[1].hasSuffix(".html"), let seq = Int64(parts[1].dropLast(5)), String(seq) + ".html" == parts[1] {
            guard seq >= 1, seq <= size, let entry = try ledger.entry(seq) else { return nil }
            return render("page-entry.html", entryContext(entry))
        }
        guard let last = parts.last, last.hasPrefix("page-"), last.hasSuffix(".html"), let number = Int(last.dropFirst(5).dropLast(5)),
            "page-\(number).html" == last, number >= 1
        else { return nil }
        switch parts.count {
        case 2: return list(rows, heading: "All entries", filter: nil, prefix: "", page: number)
        case 3 where parts[1].hasPrefix("factory-"):
            guard let id = factoryIDs.first(where: { "factory-" + Self.slug($0) == parts[1] }) else { return nil }
            return list(byFactory[id] ?? [], heading: "Entries of \(id)", filter: "gigafactory \(id)", prefix: parts[1] + "/", page: number)
        case 3 where parts[1].hasPrefix("source-"):
            guard let source = sources.first(where: { "source-" + Self.slug($0) == parts[1] }) else { return nil }
            return list(bySource[source] ?? [], heading: "Entries from \(source)", filter: "source \(source)", prefix: parts[1] + "/", page: number)
        default: return nil
        }
    }

    // MARK: - Pages

    private var factoryIDs: [String] { factories.map(\.id) }
    private var sources: [String] { PeriodFigures.ordered(Array(bySource.keys)) }

    static func pageCount(_ count: Int) -> Int { (count + entriesPerPage - 1) / entriesPerPage }

    /// A path segment for an ID or a source: letters, digits, `.` and `-` kept, others as `-`.
    static func slug(_ text: String) -> String {
        PathSegment.safe(text, replacement: "-")
    }

    private func base(root: String, title: String) -> [String: Any] {
        ["root": root, "origin": origin, "pageTitle": title, "size": String(size), "rootHex": rootHex]
    }

    private func index(root: String) -> [String: Any] {
        var values = base(root: root, title: "Summary")
        values["signer"] = signer
        values["cosigners"] = cosigners.enumerated().map { ["name": $0.element, "last": $0.offset == cosigners.count - 1] as [String: Any] }
        values["policy"] = policy
        values["year"] = String(year)
        values["factories"] = factories.enumerated().map { index, factory -> [String: Any] in
            [
                "id": factory.id, "slug": Self.slug(factory.id), "name": factory.name, "hosts": factory.hosts, "committed": factory.committed,
                "paid": factory.paid, "unionShare": factory.unionShare, "last": index == factories.count - 1,
                "verdicts": factory.verdicts.map { ["status": $0.status, "css": $0.css, "rule": $0.rule] },
            ]
        }
        values["hasProgramme"] = !programme.isEmpty
        values["programme"] = programme.map { ["status": $0.status, "css": $0.css, "rule": $0.rule] }
        values["hasReports"] = !reports.isEmpty
        values["reports"] = reports.map { report -> [String: Any] in
            [
                "name": report.name, "period": report.period, "entryCount": String(report.entryCount), "signed": report.signed,
                "html": report.files.contains("report.html") ? "reports/\(report.name)/report.html" : "",
                "files": report.files.map { ["file": $0, "name": report.name] },
            ]
        }
        let sources = self.sources
        values["sources"] = sources.enumerated().map {
            ["name": $0.element, "slug": Self.slug($0.element), "last": $0.offset == sources.count - 1] as [String: Any]
        }
        return values
    }

    private func list(_ rows: [Row], heading: String, filter: String?, prefix: String, page: Int) -> [UInt8]? {
        let pages = max(1, Self.pageCount(rows.count))
        guard page <= pages else { return nil }
        let root = prefix.isEmpty ? "../" : "../../"
        let slice = rows.dropFirst((page - 1) * Self.entriesPerPage).prefix(Self.entriesPerPage)
        var values = base(root: root, title: heading)
        values["heading"] = heading
        values["filter"] = filter ?? ""
        values["count"] = String(rows.count)
        values["page"] = String(page)
        values["pages"] = String(pages)
        values["previous"] = page > 1 ? "page-\(page - 1).html" : ""
        values["next"] = page < pages ? "page-\(page + 1).html" : ""
        values["entries"] = slice.map { ["seq": String($0.seq), "recordedAt": $0.recordedAt, "type": $0.type, "summary": $0.summary] }
        return render("page-entries.html", values)
    }

    private func entryContext(_ entry: Entry) -> [String: Any] {
        var values = base(root: "../", title: "Entry \(entry.seq)")
        let body = try? EntryBody.decode(entry.body)
        values["seq"] = String(entry.seq)
        values["type"] = entry.type
        values["summary"] = body?.data.summary ?? ""
        values["recordedAt"] = entry.recordedAt
        values["signer"] = entry.signer
        values["signerName"] = keyNames[entry.signer] ?? ""
        values["hash"] = Encoding.hex(entry.hash)
        values["prevHash"] = Encoding.hex(entry.prevHash)
        values["signature"] = Encoding.hex(entry.signature)
        values["body"] = String(decoding: entry.body, as: UTF8.self)
        return values
    }

    private func render(_ template: String, _ values: [String: Any]) -> [UInt8] {
        Array((Self.library.render(values, withTemplate: template) ?? "").utf8)
    }

    /// The page templates, with the report's: read once.
    private static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all where name.hasPrefix("page-") { try? library.register(text, named: name) }
        return library
    }()
}

extension Ledger {
    /// The public site at the latest kept checkpoint; nil when none is kept. Computes the
    /// year's verdicts at that state (verifying the ledger up to it, as `report` does) and reads
    /// every entry once for the lists.
    public func publicSite(reports reportsDirectory: String? = nil) throws -> PublicSite? {
        guard let latest = try store.read({ try $0.latestCheckpoint() }) else { return nil }
        let size = latest.size
        let note = try withCosignatures(latest.note, size: size)
        let keys = try keys()
        let signer = keys.first { record in
            record.enrolment.role.signsCheckpoints && (try? Checkpoint.open(latest.note, trusting: [record.enrolment.publicKey])) != nil
        }
        let cosigners = ((try? SignedNote.parse(note))?.signatures ?? []).filter { $0.payload.count == 72 }.map(\.name)
        var rows = [PublicSite.Row]()
        rows.reserveCapacity(Int(size))
        var from: Int64 = 1
        while from <= size {
            let page = try store.read { try $0.entries(from: from, limit: Int(min(10_000, size - from + 1))) }
            guard !page.isEmpty else { break }
            for entry in page {
                let data = (try? EntryBody.decode(entry.body))?.data
                var factory: String?, source: String?
                switch data {
                case .contribution(let item)?: (factory, source) = (item.factory, item.source.description)
                case .access(let grant)?: factory = grant.factory
                case .factoryRegister(let registered)?: factory = registered.id
                default: break
                }
                rows.append(
                    PublicSite.Row(
                        seq: entry.seq, type: entry.type, recordedAt: entry.recordedAt, summary: data?.summary ?? "",
                        factory: factory, source: source))
            }
            from += Int64(page.count)
        }
        let year = rows.last.flatMap { Int($0.recordedAt.prefix(4)) } ?? 2026
        let report = try? periodReport(period: .year(year), at: size, fullVerify: false).report
        func line(_ verdict: Verdict) -> PublicSite.VerdictLine {
            PublicSite.VerdictLine(status: verdict.status.rawValue, css: verdict.status.cssClass, rule: verdict.rule.id)
        }
        // Without a policy in force there are no verdicts, but the figures stand.
        let judged =
            try report.map { $0.factories.map { ($0.factory, $0.cumulative, $0.verdicts) } }
            ?? factoryFigures(at: size).map { ($0.factory, $0.figures, [Verdict]()) }
        let factories = judged.map { factory, figures, verdicts -> PublicSite.FactoryLine in
            let total = figures.total, union = figures.union
            let share = total.paid > 0 && union.paid >= 0 && union.paid <= total.paid ? Fraction(union.paid, total.paid).percentText : "—"
            return PublicSite.FactoryLine(
                id: factory.id, name: factory.name, hosts: factory.hosts.joined(separator: ", "),
                committed: Cents.formatted(total.committed), paid: Cents.formatted(total.paid), unionShare: share,
                verdicts: verdicts.map(line))
        }
        let newestFirst = Array(rows.reversed())
        // The report folders of this ledger in `reportsDirectory`, by name; others are left out.
        var reports = [PublicSite.ReportLink]()
        if let reportsDirectory {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory)) ?? []
            for name in names.sorted() where PublicSite.slug(name) == name {
                let folder = reportsDirectory + "/" + name
                guard let found = try? publishableReport(folder, size: size) else { continue }
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
                    ReportBundle.isReportFile($0) || $0 == "checkpoint.txt" || $0 == "consistency.txt" || $0.hasSuffix(".txt.minisig")
                }.sorted()
                reports.append(
                    PublicSite.ReportLink(
                        name: name, period: found.period.description, entryCount: found.entryCount, signed: found.signed, files: files))
            }
        }
        return PublicSite(
            origin: try origin(), size: size, rootHex: Encoding.hex(latest.root), note: note,
            signer: signer.map { "\($0.enrolment.name) (\($0.enrolment.role.rawValue) key \($0.enrolment.publicKey.id))" } ?? "a key of the ledger",
            cosigners: cosigners, policy: report.map { "\($0.policy.id) version \($0.policy.version)" } ?? "no policy recorded: no verdicts",
            year: year, factories: factories, programme: (report?.programme ?? []).map(line), rows: newestFirst,
            byFactory: Dictionary(grouping: newestFirst.filter { $0.factory != nil }, by: { $0.factory! }),
            bySource: Dictionary(grouping: newestFirst.filter { $0.source != nil }, by: { $0.source! }),
            keyNames: Dictionary(keys.map { ($0.enrolment.publicKey.id.description, $0.enrolment.name) }, uniquingKeysWith: { a, _ in a }),
            reportsDirectory: reportsDirectory, reports: reports)
    }
}
