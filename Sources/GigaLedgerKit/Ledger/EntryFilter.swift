import GigaLedgerCore

/// Which entries `log` lists (`--factory`, `--source`, `--signer`, `--from`, `--to`, `--type`):
/// every condition given must hold. A gigafactory's entries are its contributions, access records,
/// registration and amendments; a source's, its contributions. The dates are the day an entry is
/// about: a contribution's or access record's date, else the day it was recorded (UTC).
public struct EntryFilter: Sendable, Equatable {
    public var factory: String?
    public var source: Source?
    public var signer: KeyID?
    public var from: CalendarDate?
    public var to: CalendarDate?
    public var type: String?

    /// The entry types `--type` takes.
    public static let types = [
        "genesis", "key-enroll", "key-revoke", "factory-register", "partner-register", "factory-amend", "partner-amend", "contribution", "access",
        "correction", "policy", "import", "countersign", "report-issue",
    ]

    public init(
        factory: String? = nil, source: Source? = nil, signer: KeyID? = nil, from: CalendarDate? = nil, to: CalendarDate? = nil,
        type: String? = nil
    ) throws(InputError) {
        if let type, !Self.types.contains(type) {
            throw InputError(field: "type", value: type, problem: "is not an entry type (\(Self.types.joined(separator: ", ")))")
        }
        if let from, let to, to < from {
            throw InputError(field: "to", value: to.description, problem: "is before --from \(from)")
        }
        self.factory = factory
        self.source = source
        self.signer = signer
        self.from = from
        self.to = to
        self.type = type
    }

    /// Whether no condition is given (every entry is listed).
    public var isEmpty: Bool { self == EntryFilter.none }
    static let none = EntryFilter(unchecked: ())
    private init(unchecked: Void) {}

    /// Whether `entry` meets every condition. `selected(seq)` says whether an earlier entry met
    /// the gigafactory's and the source's: a correction meets them when the entry it reverses did
    /// (a gigafactory's or a source's list shows what reversed its money).
    public func matches(_ entry: Entry, selected: (Int64) -> Bool = { _ in false }) -> Bool {
        guard factory != nil || source != nil || from != nil || to != nil else { return matches(entry, data: nil, selected: selected) }
        return matches(entry, data: (try? EntryBody.decode(entry.body))?.data, selected: selected)
    }

    /// `matches` with the entry's data already read (nil when it does not read).
    func matches(_ entry: Entry, data: EntryData?, selected: (Int64) -> Bool) -> Bool {
        if let type, entry.type != type { return false }
        if let signer, entry.signer != signer.description { return false }
        guard factory != nil || source != nil || from != nil || to != nil else { return true }
        if factory != nil || source != nil, case .correction(let correction)? = data {
            guard selected(correction.entry) else { return false }
        } else {
            if let factory {
                switch data {
                case .contribution(let item)? where item.factory == factory: break
                case .access(let grant)? where grant.factory == factory: break
                case .factoryRegister(let registered)? where registered.id == factory: break
                case .factoryAmend(let amendment)? where amendment.value.id == factory: break
                default: return false
                }
            }
            if let source {
                guard case .contribution(let item)? = data, item.source == source else { return false }
            }
        }
        if from != nil || to != nil {
            let day: CalendarDate?
            switch data {
            case .contribution(let item)?: day = item.date
            case .access(let grant)?: day = grant.date
            default: day = try? CalendarDate.parse(String(entry.recordedAt.prefix(10)), field: "recorded_at")
            }
            guard let day else { return false }
            if let from, day < from { return false }
            if let to, day > to { return false }
        }
        return true
    }
}

/// `EntryFilter.matches` over a ledger in order: remembers which entries met the gigafactory's
/// and the source's conditions, so that their corrections are selected with them.
public struct EntrySelection {
    public let filter: EntryFilter
    private var scoped = Set<Int64>()

    public init(_ filter: EntryFilter) { self.filter = filter }

    /// Whether `entry`, the next in order, is selected.
    public mutating func admits(_ entry: Entry) -> Bool {
        guard filter.factory != nil || filter.source != nil else { return filter.matches(entry) }
        var scopeOnly = filter
        (scopeOnly.type, scopeOnly.signer, scopeOnly.from, scopeOnly.to) = (nil, nil, nil, nil)
        let data = (try? EntryBody.decode(entry.body))?.data  // read once for both questions
        let inScope = scopeOnly.matches(entry, data: data) { scoped.contains($0) }
        if inScope { scoped.insert(entry.seq) }
        return inScope && filter.matches(entry, data: data) { scoped.contains($0) }
    }
}

extension Ledger {
    /// A filter that names a gigafactory or partner nobody registered is refused, naming the
    /// closest registered ones: a typo would otherwise select nothing, silently.
    public func checkNames(in filter: EntryFilter) throws {
        try store.read { reader in
            if let factory = filter.factory, try !reader.facts.hasFactory(factory) {
                throw InputError(
                    field: "factory", value: factory,
                    problem: "is not a registered factory"
                        + Suggestions.list("factories", Suggestions.closest(to: factory, among: try reader.registered(.factories).map(\.id))))
            }
            if case .partner(let id)? = filter.source, try !reader.facts.hasPartner(id) {
                throw InputError(
                    field: "source", value: "private:\(id)",
                    problem: "is not a registered partner"
                        + Suggestions.list("partners", Suggestions.closest(to: id, among: try reader.registered(.partners).map(\.id))))
            }
        }
    }

    /// Each corrected entry and the correction that reversed it (`log` marks them).
    public func corrections() throws -> [Int64: Int64] {
        try store.read { reader in
            var reversed = [Int64: Int64]()
            for seq in try reader.entrySeqs(ofType: "correction") {
                guard let bytes = try reader.body(seq), case .correction(let correction) = try EntryBody.decode(bytes).data else { continue }
                reversed[correction.entry] = seq
            }
            return reversed
        }
    }
}
