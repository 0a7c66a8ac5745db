import GigaLedgerCore
import GigaLedgerStore

/// Checks of an entry about to be recorded that the rules do not make, because a ledger may hold
/// what they catch: the same payment twice (two equal instalments on one day happen), a value date
/// far ahead (a planned commitment). The officer says so explicitly (`--allow-duplicate`,
/// `--future`); `verify` never applies them. They catch the usual slips: a payment booked twice, a
/// year typed wrong, a key scoped to a factory that does not exist.
public struct EntryChecks: Sendable {
    public var allowDuplicate: Bool
    public var allowFuture: Bool
    /// How many days after today a value date may be without `allowFuture`.
    public var horizonDays: Int

    /// The default horizon: a year and a day, so next year's commitment of the same day passes.
    public static let horizonDaysDefault = 366

    public init(allowDuplicate: Bool = false, allowFuture: Bool = false, horizonDays: Int = horizonDaysDefault) {
        self.allowDuplicate = allowDuplicate
        self.allowFuture = allowFuture
        self.horizonDays = horizonDays
    }

    /// Every check off: for callers that record known data (tests, the benchmark's synthetic ledgers).
    public static let none = EntryChecks(allowDuplicate: true, allowFuture: true)

    /// A value date more than `horizonDays` after `today` is refused unless `allowFuture`.
    func checkDate(_ data: EntryData, today: CalendarDate) throws(InputError) {
        guard !allowFuture else { return }
        let date: CalendarDate
        switch data {
        case .contribution(let item): date = item.date
        case .access(let grant): date = grant.date
        default: return
        }
        guard date.dayNumber - today.dayNumber > horizonDays else { return }
        throw InputError(
            field: "date", value: date.description,
            problem: "is more than \(horizonDays) days after today (\(today)): if it really is that far ahead, record it with --future")
    }

    /// The first uncorrected entry recording exactly `data`: the digest finds candidates, the data
    /// decides, compared as canonical bytes (texts are never compared as equivalent strings).
    static func earlierEntry(with data: EntryData, digest: Int64, reader: StoreReader) throws -> Int64? {
        let bytes = CanonicalJSON.object(EntryBody.encode(data)).encoded()
        for seq in try reader.uncorrectedEntries(factsDigest: digest) {
            guard let entry = try reader.entry(seq), case .success(let body) = Entry.readBody(entry) else { continue }
            if CanonicalJSON.object(EntryBody.encode(body.data)).encoded() == bytes { return seq }
        }
        return nil
    }

    /// The date, the same facts as an earlier entry no correction cancels, a key scoped to a
    /// factory or partner not registered.
    func check(_ data: EntryData, today: CalendarDate, reader: StoreReader) throws {
        try checkDate(data, today: today)
        if !allowDuplicate, let digest = Facts.digest(data), let earlier = try Self.earlierEntry(with: data, digest: digest, reader: reader) {
            throw Refusal("this repeats entry \(earlier) (\(Facts.words(data))): record it with --allow-duplicate if it really is a second one")
        }
        if case .keyEnroll(let enrolment) = data {
            for scope in enrolment.scopes {
                switch scope {
                case .factory(let id) where try !reader.facts.hasFactory(id):
                    let closest = Suggestions.closest(to: id, among: try reader.registered(.factories).map(\.id))
                    throw InputError(
                        field: "scope", value: scope.description,
                        problem: "names a factory that is not registered"
                            + (closest.isEmpty ? "" : " (closest: \(closest.map { "factory:\($0)" }.joined(separator: ", ")))"))
                case .source(.partner(let id)) where try !reader.facts.hasPartner(id):
                    let closest = Suggestions.closest(to: id, among: try reader.registered(.partners).map(\.id))
                    throw InputError(
                        field: "scope", value: scope.description,
                        problem: "names a partner that is not registered"
                            + (closest.isEmpty ? "" : " (closest: \(closest.map { "private:\($0)" }.joined(separator: ", ")))"))
                default: break
                }
            }
        }
    }
}
