import GigaLedgerCore

/// A list of entries the public pages show (FORMAT.md section 18): every entry, a gigafactory's,
/// or a source's. Each is numbered oldest first and cut into pages of `EntryLists.perPage`, so a
/// full page never changes: a publication writes a page once it is full and never again.
public enum EntryList: Hashable, Comparable, Sendable {
    case all
    case factory(String)
    case source(String)

    /// The folder of its pages: `entries/`, `entries/factory-<ID>/`, `entries/source-<source>/`.
    var folder: String {
        switch self {
        case .all: "entries/"
        case .factory(let id): "entries/factory-\(PublicSite.slug(id))/"
        case .source(let source): "entries/source-\(PublicSite.slug(source))/"
        }
    }

    var heading: String {
        switch self {
        case .all: "All entries"
        case .factory(let id): "Entries of gigafactory \(id)"
        case .source(let source): "Entries from \(source)"
        }
    }

    /// The lists an entry is on besides `.all`: its gigafactory's and its source's; a correction
    /// is on the lists of the entry it reverses (`reversed`: that entry's data).
    static func lists(of data: EntryData?, reversed: EntryData? = nil) -> [EntryList] {
        switch data {
        case .correction?: reversed.map { lists(of: $0) } ?? []
        case .contribution(let item)?: [.factory(item.factory), .source(item.source.description)]
        case .access(let grant)?: [.factory(grant.factory)]
        case .factoryRegister(let factory)?: [.factory(factory.id)]
        case .factoryAmend(let amendment)?: [.factory(amendment.value.id)]
        default: []
        }
    }

    /// Persisted as `kind` and `name` in `entries/lists.json`.
    var kind: String {
        switch self {
        case .all: "all"
        case .factory: "factory"
        case .source: "source"
        }
    }
    var name: String {
        switch self {
        case .all: ""
        case .factory(let id): id
        case .source(let source): source
        }
    }
    init?(kind: String, name: String) {
        switch kind {
        case "all" where name.isEmpty: self = .all
        case "factory" where !name.isEmpty: self = .factory(name)
        case "source" where !name.isEmpty: self = .source(name)
        default: return nil
        }
    }
}

/// Every list's entries by sequence number, oldest first, at one ledger size. `serve` keeps them
/// all (`keepsAll`), to answer any page of any list, extended by the new entries at each
/// checkpoint (O(new)); `publish` keeps only each list's open page (`tails`), the entries after its
/// last full page, persisted in the publication as `entries/lists.json`: a full page is written
/// once, when it fills, and never read again.
public struct EntryLists: Sendable {
    /// Entries per page of a list.
    public static let perPage = 256
    /// The largest `entries/lists.json` read back (lists x 255 numbers).
    static let stateBytesMax = 64 * 1024 * 1024

    public private(set) var size: Int64 = 0
    /// Whether every entry of every list is held (serve), or only those after the full pages (publish).
    let keepsAll: Bool
    /// The entries held of each list, oldest first; `dropped`: how many came before them (full pages).
    private(set) var members: [EntryList: [Int64]] = [:]
    private var dropped: [EntryList: Int] = [:]

    public init(keepsAll: Bool) { self.keepsAll = keepsAll }

    /// How many entries `list` holds.
    func count(_ list: EntryList) -> Int {
        list == .all && keepsAll ? Int(size) : (dropped[list] ?? 0) + (members[list]?.count ?? 0)
    }

    /// Adds entry `seq` (the next one) with its data; returns the lists it is on (`.all` too).
    @discardableResult
    mutating func add(seq: Int64, data: EntryData?, reversed: EntryData? = nil) -> [EntryList] {
        precondition(seq == size + 1, "EntryLists.add: entries in order")
        size = seq
        let lists = [EntryList.all] + EntryList.lists(of: data, reversed: reversed)
        for list in lists where list != .all || !keepsAll { members[list, default: []].append(seq) }
        return lists
    }

    /// The lists that hold at least one entry, in a fixed order (all, the gigafactories, the sources).
    var lists: [EntryList] { Set(members.keys).union(dropped.keys).union([.all]).sorted() }

    /// The sequence numbers of page `page` (from 1) of `list`: nil beyond its last page, or for a
    /// page no longer held. The page after the last full one exists, empty, so that a full page
    /// can always link to its next.
    func page(_ page: Int, of list: EntryList) -> [Int64]? {
        let count = count(list)
        guard page >= 1, page <= count / Self.perPage + 1 else { return nil }
        let range = (page - 1) * Self.perPage..<min(count, page * Self.perPage)
        if list == .all && keepsAll { return range.map { Int64($0) + 1 } }
        let first = dropped[list] ?? 0
        guard range.lowerBound >= first else { return nil }
        return Array(members[list]?[(range.lowerBound - first)..<(range.upperBound - first)] ?? [])
    }

    /// The first page held of `list` (publish: its open page, or a full one not yet written).
    func firstHeldPage(_ list: EntryList) -> Int { (dropped[list] ?? 0) / Self.perPage + 1 }

    /// Whether `list`'s first held page is full.
    func holdsFullPage(_ list: EntryList) -> Bool { !keepsAll && (members[list]?.count ?? 0) >= Self.perPage }

    /// Lets go of `list`'s first held page, once it is full and written.
    mutating func dropFullPage(_ list: EntryList) {
        precondition(holdsFullPage(list), "EntryLists.dropFullPage: the page is not full")
        members[list]!.removeFirst(Self.perPage)
        dropped[list, default: 0] += Self.perPage
    }

    /// Every entry held, over all lists.
    var held: Set<Int64> { Set(members.values.joined()) }

    // MARK: - entries/lists.json

    /// `{"lists":[{"count":C,"kind":K,"name":N,"open":[seq,...]}...],"pages":V,"size":S}`: each list's
    /// count and the entries of its open page, canonical JSON.
    /// `pages`: what the list pages were made with (`PublicSite.listPagesVersion`): pages made by
    /// another version are made again.
    func encoded(pages: String) -> [UInt8] {
        precondition(!keepsAll, "EntryLists.encoded: only a publication's lists are kept")
        let lists = self.lists.map { list -> CanonicalJSON in
            .object([
                "kind": .string(list.kind), "name": .string(list.name), "count": .integer(Int64(count(list))),
                "open": .array((members[list] ?? []).map { .integer($0) }),
            ])
        }
        return CanonicalJSON.object(["size": .integer(size), "lists": .array(lists), "pages": .string(pages)]).encoded()
    }

    /// A publication's lists as `encoded` wrote them; nil when they are not of that shape (each
    /// open page shorter than a page, its entries ascending and at most `size`, the count
    /// consistent): the caller then lists every entry again.
    static func decode(_ bytes: [UInt8], pages: String) -> EntryLists? {
        guard case .object(let fields)? = try? CanonicalJSON.decode(bytes), case .integer(let size)? = fields["size"], size >= 0,
            fields["pages"] == .string(pages),
            case .array(let items)? = fields["lists"]
        else { return nil }
        var lists = EntryLists(keepsAll: false)
        lists.size = size
        for item in items {
            guard case .object(let member) = item, case .string(let kind)? = member["kind"], case .string(let name)? = member["name"],
                let list = EntryList(kind: kind, name: name), case .integer(let count)? = member["count"], case .array(let open)? = member["open"]
            else { return nil }
            let seqs = open.compactMap { value -> Int64? in if case .integer(let seq) = value { seq } else { nil } }
            guard seqs.count == open.count, seqs.count < perPage, count >= seqs.count, (count - Int64(seqs.count)) % Int64(perPage) == 0,
                zip(seqs, seqs.dropFirst()).allSatisfy({ $0 < $1 }), seqs.allSatisfy({ $0 >= 1 && $0 <= size }),
                list != .all || count == size, lists.members[list] == nil
            else { return nil }
            lists.members[list] = seqs
            lists.dropped[list] = Int(count) - seqs.count
        }
        guard size == 0 || lists.members[.all] != nil else { return nil }
        return lists
    }
}
