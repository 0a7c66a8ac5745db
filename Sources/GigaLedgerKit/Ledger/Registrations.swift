import GigaLedgerCore
import GigaLedgerStore

extension Ledger {
    /// Every registered factory as the registration in force on `day` has it (as a report whose
    /// period ends that day reads it: amendments effective by then, pending ones left out), with
    /// its registration entry, by ID; and the amendments that wait for a countersignature or take
    /// effect after `day`.
    public func factories(on day: CalendarDate) throws -> FactoryRegistrations {
        var data = ReportData(through: nil)
        let seqs = try store.read { reader in
            try ["factory-register", "factory-amend", "countersign"].flatMap { try reader.entrySeqs(ofType: $0) }.sorted()
        }
        for seq in seqs { if let body = try body(seq) { data.add(body) } }
        let state = seqs.last ?? 0
        let later = data.factories.filter { $0.seq <= state }.flatMap { registered in
            (data.factoryAmendments[registered.factory.id] ?? []).filter { amendment in
                (amendment.effectiveFrom.map { $0 > day } ?? false) && !data.isPending(amendment, of: registered.factory, at: state)
            }
        }
        return FactoryRegistrations(
            factories: data.factories(at: state, on: day).sorted { $0.factory.id < $1.factory.id }, pending: data.pendingAmendments(at: state),
            later: later)
    }

    /// Every registered partner, as its latest amendment has it, with its registration entry, by ID.
    public func partners() throws -> [(partner: Partner, seq: Int64)] {
        var amended = [String: Partner]()
        for body in try bodies(ofType: "partner-amend") {
            if case .partnerAmend(let amendment) = body.data { amended[amendment.value.id] = amendment.value }
        }
        return try registrations(.partners).compactMap { body, seq in
            if case .partnerRegister(let partner) = body.data { return (amended[partner.id] ?? partner, seq) }
            return nil
        }
    }

    /// The bodies of every entry of one type, in order (amendments are few).
    private func bodies(ofType type: String) throws -> [EntryBody] {
        try store.read { try $0.entrySeqs(ofType: type) }.compactMap { try body($0) }
    }

    /// The latest policy recorded, with its entry; nil when there is none.
    public func latestPolicy() throws -> (policy: Policy, seq: Int64)? {
        guard let seq = try store.read({ try $0.latestEntry(ofType: "policy") }), let body = try body(seq), case .policy(let policy) = body.data
        else { return nil }
        return (policy, seq)
    }

    private func registrations(_ kind: Registration) throws -> [(EntryBody, Int64)] {
        try store.read { reader in
            try reader.registered(kind).map { _, seq in
                guard let entry = try reader.entry(seq) else {
                    throw LedgerError.damaged("index table \(kind.rawValue) names entry \(seq), which is missing")
                }
                switch Entry.readBody(entry) {
                case .success(let body): return (body, seq)
                case .failure(let failure): throw LedgerError.damaged("entry \(seq): \(failure.reason)")
                }
            }
        }
    }
}

/// The registered factories as in force on a day, and the amendments not (yet) in force.
public struct FactoryRegistrations: Sendable {
    public let factories: [(factory: Factory, seq: Int64)]
    /// Amendments waiting for a second authority's countersignature.
    public let pending: [PendingAmendment]
    /// Amendments in force, but from a later day.
    public let later: [RecordedAmendment]
}

/// For a refusal that names an ID nobody registered: the registered IDs closest to it, so a typo
/// is one glance away.
enum Suggestions {
    /// The most IDs named.
    static let namedMax = 3

    /// The registered IDs closest to `id` by edit distance, closest first.
    static func closest(to id: String, among ids: [String]) -> [String] {
        ids.map { ($0, distance(Array(id.utf8), Array($0.utf8))) }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(namedMax).map(\.0)
    }

    /// Levenshtein distance over bytes (IDs are ASCII).
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() { current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))) }
            previous = current
        }
        return previous[b.count]
    }

    /// What to add to a refusal of `data`: the closest registered factories or partners, when it
    /// names one that is not registered.
    static func hint(for data: EntryData, reader: StoreReader) throws -> String {
        var factory: String?, partner: String?
        switch data {
        case .contribution(let item):
            factory = item.factory
            if case .partner(let id) = item.source { partner = id }
        case .access(let grant): factory = grant.factory
        default: return ""
        }
        if let factory, try !reader.facts.hasFactory(factory) {
            return list("factories", closest(to: factory, among: try reader.registered(.factories).map(\.id)))
        }
        if let partner, try !reader.facts.hasPartner(partner) {
            return list("partners", closest(to: partner, among: try reader.registered(.partners).map(\.id)))
        }
        return ""
    }

    static func list(_ what: String, _ ids: [String]) -> String {
        ids.isEmpty
            ? " (no \(what) are registered yet)"
            : " (closest registered \(what): \(ids.joined(separator: ", ")); `gigaledger \(what == "factories" ? "factory" : "partner") list` shows all)"
    }
}
