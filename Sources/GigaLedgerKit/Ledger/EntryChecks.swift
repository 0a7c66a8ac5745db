import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// Checks of an entry about to be recorded that the rules do not make, because a ledger may hold
/// what they catch: the same payment twice (two equal instalments on one day happen), a value date
/// far ahead (a planned commitment). The officer says so explicitly (`--allow-duplicate`,
/// `--future`); `verify` never applies them. They catch the usual slips: a payment booked twice, a
/// year typed wrong, a key scoped to a factory that does not exist.
public struct EntryChecks: Sendable {
    public var allowDuplicate: Bool
    /// With `allowDuplicate`, the duplicate rule is still applied to a record that does not say
    /// it repeats on purpose (no `allow_duplicate` member): the server, which cannot let a request
    /// flag stand for what the signed entry does not say.
    public var duplicateOnlyWhereSaid = false
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

    /// The date, the duplicate rule (`DuplicateRule`), a key scoped to a factory or partner not registered.
    /// `duplicates`, from a batch: `data`'s keys, and whether the ledger holds any of them at all
    /// (`DuplicateRule.Held`); when it holds none, `data` repeats nothing and is not looked up.
    func check(
        _ data: EntryData, today: CalendarDate, reader: StoreReader, signer: KeyID? = nil,
        duplicates: (keys: DuplicateRule.Keys, mayBeHeld: Bool)? = nil
    ) throws {
        try checkDate(data, today: today)
        try Self.checkIdentity(data, reader: reader)
        if case .countersign(let item) = data { try Self.checkCountersignature(item, signer: signer, reader: reader) }
        if !allowDuplicate || (duplicateOnlyWhereSaid && !data.saysDuplicate), duplicates?.mayBeHeld ?? true,
            let conflict = DuplicateRule.conflict(data, among: try DuplicateRule.candidates(for: data, keys: duplicates?.keys, reader: reader))
        {
            throw Refusal("this \(conflict.text): \(conflict.advice(importing: false))")
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

extension EntryChecks {
    /// What gives a rule or a registration its identity: a policy's name and version mean one
    /// text for ever; a factory (a partner) whose name and a host (its country) repeat a registered
    /// one is a twin, refused unless the entry says it is meant (`allow_twin`).
    static func checkIdentity(_ data: EntryData, reader: StoreReader) throws {
        switch data {
        case .policy(let policy):
            let bytes = CanonicalJSON.object(policy.encoded()).encoded()
            for seq in try reader.entrySeqs(ofType: "policy") {
                guard case .policy(let earlier)? = try decoded(seq, reader), earlier.id == policy.id, earlier.version == policy.version else {
                    continue
                }
                guard CanonicalJSON.object(earlier.encoded()).encoded() == bytes else {
                    throw Refusal(
                        "policy \(policy.id) version \(policy.version) is recorded with another text (entry \(seq)): a policy's name and version mean one text; give the changed policy a new version"
                    )
                }
            }
        case .factoryRegister(let factory) where !factory.allowsTwin:
            for (seq, other) in try factoryValues(reader)
            where other.id != factory.id && Twins.key(other.name) == Twins.key(factory.name) {
                guard let host = factory.hosts.first(where: other.hosts.contains) else { continue }
                throw Refusal(
                    "factory \(factory.id) \(InputError.quoted(factory.name)) repeats factory \(other.id) \(InputError.quoted(other.name)) (entry \(seq)): the same name (ignoring case, accents, spacing and punctuation), host \(host); register it with --allow-twin if it really is another factory"
                )
            }
        case .partnerRegister(let partner) where !partner.allowsTwin:
            for (seq, other) in try partnerValues(reader)
            where other.id != partner.id && Twins.key(other.name) == Twins.key(partner.name) && other.country == partner.country {
                throw Refusal(
                    "partner \(partner.id) \(InputError.quoted(partner.name)) repeats partner \(other.id) \(InputError.quoted(other.name)) (entry \(seq)): the same name (ignoring case, accents, spacing and punctuation), country \(partner.country); register it with --allow-twin if it really is another partner"
                )
            }
        default: break
        }
    }

    /// A countersignature counts once per key and only where one is needed: a second one by the
    /// same key, or one of an amendment that needs none, is refused. What needs one is what a
    /// report holds pending without it (`ReportData.fourEyesChanges`: a format-v2 amendment that
    /// changes the kind or removes a host of the registration in force where it takes effect),
    /// read from the same entries the same way.
    static func checkCountersignature(_ item: Countersignature, signer: KeyID?, reader: StoreReader) throws {
        for seq in try reader.entrySeqs(ofType: "countersign") {
            guard let bytes = try reader.body(seq) else { continue }
            let body = try EntryBody.decode(bytes)
            if case .countersign(let earlier) = body.data, earlier.entry == item.entry, body.signer == signer {
                throw Refusal("entry \(item.entry) is already countersigned by this key (entry \(seq))")
            }
        }
        guard case .factoryAmend(let named)? = try decoded(item.entry, reader) else { return }  // the rules name what else is wrong
        var data = ReportData(through: nil)
        // As `Ledger.factories(on:)` reads them: the countersignatures put earlier amendments in force.
        let types = ["factory-register", "factory-amend", "countersign"]
        for seq in try types.flatMap({ try reader.entrySeqs(ofType: $0) }).sorted() {
            if let bytes = try reader.body(seq) { data.add(try EntryBody.decode(bytes)) }
        }
        guard let amendment = data.factoryAmendments[named.value.id]?.first(where: { $0.seq == item.entry }),
            let registered = data.factories.first(where: { $0.factory.id == named.value.id })?.factory
        else { return }
        if data.fourEyesChanges(amendment, of: registered).isEmpty {
            throw Refusal(
                "entry \(item.entry) changes neither the kind nor removes a host of factory \(named.value.id): it took effect without a countersignature"
            )
        }
    }

    /// Every factory registration and amendment, in entry order, with the values it states.
    private static func factoryValues(_ reader: StoreReader) throws -> [(seq: Int64, factory: Factory)] {
        try (reader.entrySeqs(ofType: "factory-register") + reader.entrySeqs(ofType: "factory-amend")).sorted().compactMap { seq in
            switch try decoded(seq, reader) {
            case .factoryRegister(let factory)?: return (seq, factory)
            case .factoryAmend(let amendment)?: return (seq, amendment.value)
            default: return nil
            }
        }
    }

    /// Every partner registration and amendment, in entry order, with the values it states.
    private static func partnerValues(_ reader: StoreReader) throws -> [(seq: Int64, partner: Partner)] {
        try (reader.entrySeqs(ofType: "partner-register") + reader.entrySeqs(ofType: "partner-amend")).sorted().compactMap { seq in
            switch try decoded(seq, reader) {
            case .partnerRegister(let partner)?: return (seq, partner)
            case .partnerAmend(let amendment)?: return (seq, amendment.value)
            default: return nil
            }
        }
    }

    private static func decoded(_ seq: Int64, _ reader: StoreReader) throws -> EntryData? {
        guard let bytes = try reader.body(seq) else { return nil }
        return try EntryBody.decode(bytes).data
    }
}

/// Names compared as a reader would: compatibility-normalised (NFKC: full-width letters are
/// letters), case, accents and width folded, letters and digits only ("AI Gigafactory Bavaria",
/// "ai-gigafactory  BAVARIA", "Ｂａｖａｒｉａ" and "Bavária" read alike). Look-alikes from other
/// scripts (a Cyrillic е) are not folded.
public enum Twins {
    public static func key(_ name: String) -> String {
        let folded = name.precomposedStringWithCompatibilityMapping.folding(
            options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        return String(String.UnicodeScalarView(folded.unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil }))
    }
}
