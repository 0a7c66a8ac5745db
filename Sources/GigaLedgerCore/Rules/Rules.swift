/// An enrolled key as the ledger knows it at some sequence number.
public struct KeyRecord: Equatable, Sendable {
    public let enrolment: KeyEnrolment
    public let enrolledAt: Int64
    public var revokedAt: Int64?

    package init(enrolment: KeyEnrolment, enrolledAt: Int64, revokedAt: Int64? = nil) {
        self.enrolment = enrolment
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }

    public var isActive: Bool { revokedAt == nil }
}

/// What the rules need to know about the ledger before an entry: answered from memory while
/// verifying (replaying every entry) and from the index tables while appending.
package protocol LedgerFacts {
    func key(_ id: KeyID) throws -> KeyRecord?
    func activeAuthorityCount() throws -> Int
    func hasFactory(_ id: String) throws -> Bool
    func hasPartner(_ id: String) throws -> Bool
    /// The entry that corrected entry `seq`, if one did.
    func correction(of seq: Int64) throws -> Int64?
    /// The body of an earlier entry, for corrections; nil when there is none.
    func body(_ seq: Int64) throws -> EntryBody?
    /// The latest entry before `seq` that is neither a contribution nor an access record (what an
    /// import record's rows must not include).
    func latestNonRowEntry(before seq: Int64) throws -> (seq: Int64, type: String)?
    /// The body format version of entry `seq`; nil when there is none.
    func formatVersion(of seq: Int64) throws -> Int?
}

/// The ledger refuses an entry: a rule of who may sign what, or a reference to something unknown.
public struct Refusal: GigaLedgerError, Equatable, Sendable {
    public var kind: FailureKind { .refused }
    public let message: String
    public var description: String { message }
    public init(_ message: String) { self.message = message }
}

/// The rules every entry must satisfy given the entries before it (schema/FORMAT.md, "Rules").
/// The same function runs when an entry is appended and when `verify` replays the ledger.
package enum Rules {
    /// Checks `body` against `facts` and returns the signer's key, whose signature the caller checks.
    package static func check(_ body: EntryBody, facts: LedgerFacts) throws -> PublicKey {
        if case .genesis(let genesis) = body.data {
            guard body.seq == 1 else { throw Refusal("a genesis entry may only be entry 1") }
            guard genesis.authority.role == .authority else { throw Refusal("the genesis key must have the authority role") }
            guard genesis.authority.publicKey.id == body.signer else { throw Refusal("the genesis entry must be signed by the key it enrols") }
            return genesis.authority.publicKey
        }
        guard body.seq > 1 else { throw Refusal("entry 1 must be the genesis entry") }
        if let before = try facts.formatVersion(of: body.seq - 1), before > body.version {
            throw Refusal(
                "the entry is of format \(body.formatText) after an entry of \(EntryBody.formatText(before)): written by an older GigaLedger; upgrade it (a ledger's format never goes back)"
            )
        }
        guard body.version >= body.data.formatVersionMin else {
            throw Refusal("the entry's members need format \(EntryBody.formatText(body.data.formatVersionMin)); it says \(body.formatText)")
        }
        if body.version >= 2 { try checkPaymentDate(body) }
        guard let signer = try facts.key(body.signer) else { throw Refusal("signer \(body.signer) is not an enrolled key") }
        if let revokedAt = signer.revokedAt { throw Refusal("signer \(body.signer) (\(signer.enrolment.name)) was revoked at entry \(revokedAt)") }
        try authorize(body.data, signer: signer, facts: facts)
        try checkReferences(body.data, seq: body.seq, facts: facts)
        if case .countersign(let item) = body.data, let amendment = try facts.body(item.entry) {
            guard amendment.signer != body.signer else {
                throw Refusal("entry \(item.entry) was signed by this key: a countersignature needs a second authority key")
            }
            // A second key enrolled after the amendment could be its signer's own, made for the purpose.
            guard signer.enrolledAt < item.entry else {
                throw Refusal(
                    "key \(body.signer) (\(signer.enrolment.name)) was enrolled at entry \(signer.enrolledAt), after the amendment (entry \(item.entry)): a countersignature needs an authority key enrolled before it"
                )
            }
        }
        return signer.enrolment.publicKey
    }

    /// The most days a payment's value date may follow the UTC day it is recorded (format v2): one,
    /// for the offices east of UTC whose today is UTC's tomorrow. A payment is recorded once made;
    /// a planned one is a commitment, which may look ahead.
    package static let paymentDaysAheadMax = 1

    static func checkPaymentDate(_ body: EntryBody) throws {
        guard case .contribution(let item) = body.data, item.kind == .payment,
            let recorded = try? CalendarDate.parse(String(body.recordedAt.prefix(10)), field: "recorded_at"),
            item.date.dayNumber - recorded.dayNumber > paymentDaysAheadMax
        else { return }
        throw Refusal(
            "date: \"\(item.date)\" is a payment dated more than \(paymentDaysAheadMax) day after the day it is recorded (\(recorded)): record a payment once it is made, and a planned one as a commitment"
        )
    }

    /// Who may sign what: registrations need an authority; a contribution an authority or an
    /// officer whose scope names its source; an access record an authority or an officer whose
    /// scope names the factory; a correction a key that could have signed the original.
    static func authorize(_ data: EntryData, signer: KeyRecord, facts: LedgerFacts) throws {
        // Computed only for a refusal: this runs for every entry appended and replayed.
        var who: String { "key \(signer.enrolment.publicKey.id) (\(signer.enrolment.name), \(signer.enrolment.role.rawValue))" }
        var scopes: String { signer.enrolment.scopes.map(\.description).joined(separator: ", ") }
        switch data {
        case .genesis, .keyEnroll, .keyRevoke, .factoryRegister, .partnerRegister, .factoryAmend, .partnerAmend, .policy, .countersign,
            .reportIssue:
            guard signer.enrolment.role == .authority else { throw Refusal("\(who) may not sign a \(data.type) entry: it needs an authority key") }
        case .contribution(let item):
            if signer.enrolment.role == .authority { return }
            guard signer.enrolment.role == .officer, signer.enrolment.scopes.contains(.source(item.source)) else {
                throw Refusal(
                    "\(who) may not record a contribution from \(item.source): its scope is \(scopes.isEmpty ? "empty" : scopes) (needs an officer key scoped to \(item.source), or an authority key)"
                )
            }
        case .access(let grant):
            if signer.enrolment.role == .authority { return }
            // A factory nobody registered is named so, not as a scope the key lacks (`checkReferences` says it).
            guard try facts.hasFactory(grant.factory) else { return }
            guard signer.enrolment.role == .officer, signer.enrolment.scopes.contains(.factory(grant.factory)) else {
                throw Refusal(
                    "\(who) may not record access at factory \(grant.factory): its scope is \(scopes.isEmpty ? "empty" : scopes) (needs an officer key scoped to factory:\(grant.factory), or an authority key)"
                )
            }
        case .importRecord:
            guard signer.enrolment.role == .authority || signer.enrolment.role == .officer else {
                throw Refusal("\(who) may not sign an import record: it needs an authority or officer key")
            }
        case .correction(let correction):
            guard let original = try facts.body(correction.entry) else { throw Refusal("entry \(correction.entry) does not exist") }
            // What the entry is comes before who may correct it: no key corrects a registration.
            try checkCorrectable(original, entry: correction.entry)
            do { try authorize(original.data, signer: signer, facts: facts) } catch let refusal as Refusal {
                throw Refusal("may not correct entry \(correction.entry): \(refusal.message)")
            }
        }
    }

    /// Only contributions and access records are corrected; the refusal says what changes the others.
    package static func checkCorrectable(_ original: EntryBody, entry: Int64) throws {
        let instead: String
        switch original.data {
        case .contribution, .access: return
        case .factoryRegister, .factoryAmend: instead = "a factory's registration is changed by an amendment (factory amend)"
        case .partnerRegister, .partnerAmend: instead = "a partner's registration is changed by an amendment (partner amend)"
        case .correction: instead = "to undo a correction, record the original's facts again"
        case .importRecord: instead = "correct the rows it recorded, entry by entry"
        case .keyEnroll: instead = "a key is withdrawn by revoking it (key revoke)"
        case .policy: instead = "a policy is replaced by recording a new one (policy set)"
        default: instead = "it stays as recorded"
        }
        throw Refusal(
            "entry: \"\(entry)\" is \(original.type == "import" ? "an" : "a") \(original.type) entry; only contributions and access records can be corrected: \(instead)"
        )
    }

    /// References must point at what exists; registrations must not repeat an ID.
    static func checkReferences(_ data: EntryData, seq: Int64, facts: LedgerFacts) throws {
        switch data {
        case .genesis, .policy:
            break
        case .countersign(let item):
            guard item.entry < seq, let amendment = try facts.body(item.entry), case .factoryAmend = amendment.data else {
                throw Refusal("entry: \"\(item.entry)\" is not an earlier factory-amend entry; only an amendment is countersigned")
            }
        case .reportIssue(let issue):
            guard issue.entryCount < seq else {
                throw Refusal("entry_count: \"\(issue.entryCount)\" is not a state before this entry (at most \(seq - 1))")
            }
        case .importRecord(let record):
            // The record follows its rows: the `rows` entries before it are contributions or access
            // records by the same signer.
            guard record.rows < seq else { throw Refusal("rows: \"\(record.rows)\" is more than the entries before it") }
            if let other = try facts.latestNonRowEntry(before: seq), other.seq >= seq - record.rows {
                throw Refusal("entry \(other.seq), counted as an imported row, is a \(other.type) entry")
            }
        case .keyEnroll(let enrolment):
            if let existing = try facts.key(enrolment.publicKey.id) {
                throw Refusal("key \(enrolment.publicKey.id) is already enrolled (entry \(existing.enrolledAt))")
            }
        case .keyRevoke(let revocation):
            guard let target = try facts.key(revocation.keyID) else { throw Refusal("key_id: \"\(revocation.keyID)\" is not an enrolled key") }
            if let revokedAt = target.revokedAt { throw Refusal("key \(revocation.keyID) was already revoked at entry \(revokedAt)") }
            if target.enrolment.role == .authority, try facts.activeAuthorityCount() <= 1 {
                throw Refusal("key \(revocation.keyID) is the last active authority key; enrol another authority first")
            }
        case .factoryRegister(let factory):
            if try facts.hasFactory(factory.id) { throw Refusal("id: \"\(factory.id)\" is already a registered factory") }
        case .partnerRegister(let partner):
            if try facts.hasPartner(partner.id) { throw Refusal("id: \"\(partner.id)\" is already a registered partner") }
        case .factoryAmend(let amendment):
            guard try facts.hasFactory(amendment.value.id) else {
                throw Refusal("id: \"\(amendment.value.id)\" is not a registered factory; register it first")
            }
        case .partnerAmend(let amendment):
            guard try facts.hasPartner(amendment.value.id) else {
                throw Refusal("id: \"\(amendment.value.id)\" is not a registered partner; register it first")
            }
        case .contribution(let item):
            guard try facts.hasFactory(item.factory) else { throw Refusal("factory: \"\(item.factory)\" is not a registered factory") }
            if case .partner(let id) = item.source, try !facts.hasPartner(id) {
                throw Refusal("source: \"private:\(id)\" is not a registered partner")
            }
        case .access(let grant):
            guard try facts.hasFactory(grant.factory) else { throw Refusal("factory: \"\(grant.factory)\" is not a registered factory") }
            if let partner = grant.partner, try !facts.hasPartner(partner) {
                throw Refusal("partner: \"\(partner)\" is not a registered partner")
            }
        case .correction(let correction):
            // What it is was checked with who may correct it (`authorize`, which runs first).
            guard correction.entry < seq, try facts.body(correction.entry) != nil else {
                throw Refusal("entry: \"\(correction.entry)\" is not an earlier entry")
            }
            if let earlier = try facts.correction(of: correction.entry) {
                throw Refusal("entry: \"\(correction.entry)\" has already been corrected, by entry \(earlier)")
            }
        }
    }
}

/// The facts replayed in memory from the entries, while verifying.
package final class ReplayedFacts: LedgerFacts {
    package var keys = [KeyID: KeyRecord]()
    /// Every enrolled key's public key, revoked ones too (a signature's validity does not change).
    package var publicKeys: [KeyID: PublicKey] { keys.mapValues(\.enrolment.publicKey) }
    package var factories = [String: Int64]()
    package var partners = [String: Int64]()
    package var corrections = [Int64: Int64]()
    package var latestNonRow: (seq: Int64, type: String)?
    package var origin = ""
    /// The format version of the last entry applied.
    package private(set) var latestVersion: Int?
    /// The last entry applied.
    package private(set) var replayed: Int64 = 0
    private let readBody: (Int64) throws -> EntryBody?

    package init(readBody: @escaping (Int64) throws -> EntryBody?) { self.readBody = readBody }

    package func key(_ id: KeyID) -> KeyRecord? { keys[id] }
    package func activeAuthorityCount() -> Int { keys.values.filter { $0.isActive && $0.enrolment.role == .authority }.count }
    package func hasFactory(_ id: String) -> Bool { factories[id] != nil }
    package func hasPartner(_ id: String) -> Bool { partners[id] != nil }
    package func correction(of seq: Int64) -> Int64? { corrections[seq] }
    /// Only an entry already replayed is read: a body of the future is no fact yet.
    package func body(_ seq: Int64) throws -> EntryBody? { seq <= replayed ? try readBody(seq) : nil }
    package func latestNonRowEntry(before seq: Int64) -> (seq: Int64, type: String)? { latestNonRow.flatMap { $0.seq < seq ? $0 : nil } }
    /// The last entry's version from memory; an earlier one's from its body.
    package func formatVersion(of seq: Int64) throws -> Int? { seq == replayed ? latestVersion : try body(seq)?.version }

    /// Records what an entry, already checked, changes.
    package func apply(_ body: EntryBody) {
        replayed = body.seq
        switch body.data {
        case .contribution, .access: break
        default: latestNonRow = (body.seq, body.type)
        }
        switch body.data {
        case .genesis(let genesis):
            origin = genesis.origin
            keys[genesis.authority.publicKey.id] = KeyRecord(enrolment: genesis.authority, enrolledAt: body.seq)
        case .keyEnroll(let enrolment):
            keys[enrolment.publicKey.id] = KeyRecord(enrolment: enrolment, enrolledAt: body.seq)
        case .keyRevoke(let revocation):
            keys[revocation.keyID]?.revokedAt = body.seq
        case .factoryRegister(let factory):
            factories[factory.id] = body.seq
        case .partnerRegister(let partner):
            partners[partner.id] = body.seq
        case .correction(let correction):
            corrections[correction.entry] = body.seq
        case .contribution, .access, .policy, .importRecord, .factoryAmend, .partnerAmend, .countersign, .reportIssue:
            break
        }
        latestVersion = body.version
    }
}
