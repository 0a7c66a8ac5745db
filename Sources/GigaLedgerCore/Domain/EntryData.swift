/// The facts a ledger records, one case per entry type. Each maps to and from the `data`
/// object of an entry body (schema/FORMAT.md, "Entry types"), with the same checks either way.
public enum EntryData: Equatable, Sendable {
    case genesis(Genesis)
    case keyEnroll(KeyEnrolment)
    case keyRevoke(KeyRevocation)
    case factoryRegister(Factory)
    case partnerRegister(Partner)
    /// A registration's new values (a wrong name, CAPEX or budget): the registration stays, reports
    /// use the latest amendment recorded by their state.
    case factoryAmend(Amendment<Factory>)
    case partnerAmend(Amendment<Partner>)
    case contribution(Contribution)
    case access(AccessGrant)
    case correction(Correction)
    case policy(Policy)
    case importRecord(ImportRecord)
    /// A second authority key's consent to an amendment that changes a factory's kind or removes
    /// a host (format v2): until one is recorded, reports use the registration before it.
    case countersign(Countersignature)
    /// A report issued at a ledger state (format v2): its period and its summary.json's hash.
    case reportIssue(ReportIssue)

    /// The entry type as stored in the `type` column and the body.
    public var type: String {
        switch self {
        case .genesis: return "genesis"
        case .keyEnroll: return "key-enroll"
        case .keyRevoke: return "key-revoke"
        case .factoryRegister: return "factory-register"
        case .partnerRegister: return "partner-register"
        case .factoryAmend: return "factory-amend"
        case .partnerAmend: return "partner-amend"
        case .contribution: return "contribution"
        case .access: return "access"
        case .correction: return "correction"
        case .policy: return "policy"
        case .importRecord: return "import"
        case .countersign: return "countersign"
        case .reportIssue: return "report-issue"
        }
    }

    /// The lowest body format version that can hold this data: 2 for the types and members format
    /// v2 added (schema/FORMAT.md section 5), else 1.
    public var formatVersionMin: Int {
        switch self {
        case .countersign, .reportIssue: return 2
        case .factoryRegister(let factory): return factory.allowsTwin ? 2 : 1
        case .partnerRegister(let partner): return partner.allowsTwin ? 2 : 1
        case .factoryAmend(let amendment): return amendment.effectiveFrom == nil ? 1 : 2
        case .partnerAmend(let amendment): return amendment.effectiveFrom == nil ? 1 : 2
        case .contribution(let item): return item.allowsDuplicate ? 2 : 1
        case .access(let grant): return grant.allowsDuplicate || grant.partner != nil ? 2 : 1
        default: return 1
        }
    }

}

public struct Genesis: Equatable, Sendable {
    public let origin: String
    public let authority: KeyEnrolment

    package init(origin: String, authority: KeyEnrolment) {
        self.origin = origin
        self.authority = authority
    }

    /// The longest origin name, in bytes (a C2SP checkpoint origin line).
    public static let originBytesMax = 200
}

public struct KeyEnrolment: Equatable, Sendable {
    public let publicKey: PublicKey
    public let name: String
    public let role: Role
    public let scopes: [Scope]

    public init(publicKey: PublicKey, name: String, role: Role, scopes: [Scope]) {
        self.publicKey = publicKey
        self.name = name
        self.role = role
        self.scopes = scopes
    }

    /// The most scopes one key may carry.
    public static let scopesMax = 64
}

public struct KeyRevocation: Equatable, Sendable {
    public let keyID: KeyID
    public let reason: String

    public init(keyID: KeyID, reason: String) {
        self.keyID = keyID
        self.reason = reason
    }
}

public struct Factory: Equatable, Sendable {
    public let id: String
    public let name: String
    public let kind: FactoryKind
    public let hosts: [String]
    /// The registered eligible capital expenditure (for an AI factory: its acquisition cost).
    public let capex: Cents
    /// The registered eligible operating budget, when one was registered (an AI factory's
    /// operating-cost cap is assessed against it; without it that cap is not assessable).
    public let opex: Cents?
    /// Registered knowing that another factory has the same name and hosts (format v2,
    /// `allow_twin`); meaningful on a registration only.
    public let allowsTwin: Bool

    /// The most host member states one (multi-country) factory may name.
    public static let hostsMax = 27

    public init(
        id: String, name: String, kind: FactoryKind, hosts: [String], capex: Cents, opex: Cents? = nil, allowsTwin: Bool = false
    ) throws(InputError) {
        self.allowsTwin = allowsTwin
        self.id = try Codes.identifier(id, field: "id")
        self.name = try Codes.text(name, field: "name", bytesMax: Codes.nameBytesMax)
        self.kind = kind
        guard !hosts.isEmpty else { throw InputError(field: "host", value: "", problem: "is missing: name at least one host member state") }
        guard hosts.count <= Factory.hostsMax else {
            throw InputError(field: "host", value: hosts.joined(separator: ","), problem: "names more than \(Factory.hostsMax) states")
        }
        var seen = [String]()
        for host in hosts {
            let code = try Codes.memberState(host, field: "host")
            guard !seen.contains(code) else { throw InputError(field: "host", value: host, problem: "is named twice") }
            seen.append(code)
        }
        self.hosts = seen
        self.capex = capex
        if let opex, opex.value <= 0 {
            throw InputError(field: "opex", value: opex.decimalText, problem: "is zero; leave it out when there is no operating budget")
        }
        self.opex = opex
    }
}

/// New values for a registered factory or partner, and why; from when, when it says (format v2).
public struct Amendment<Value: Equatable & Sendable>: Equatable, Sendable {
    public let value: Value
    public let reason: String
    /// The first day the new values apply; nil: from the start (a corrected registration, and every
    /// amendment recorded before effective dates existed).
    public let effectiveFrom: CalendarDate?

    public init(_ value: Value, reason: String, effectiveFrom: CalendarDate? = nil) throws(InputError) {
        self.value = value
        self.reason = try Codes.text(reason, field: "reason", bytesMax: Codes.noteBytesMax)
        self.effectiveFrom = effectiveFrom
    }
}

public struct Partner: Equatable, Sendable {
    public let id: String
    public let name: String
    public let country: String
    public let isSME: Bool
    /// Registered knowing that another partner has the same name and country (format v2).
    public let allowsTwin: Bool

    public init(id: String, name: String, country: String, isSME: Bool, allowsTwin: Bool = false) throws(InputError) {
        self.allowsTwin = allowsTwin
        self.id = try Codes.identifier(id, field: "id")
        self.name = try Codes.text(name, field: "name", bytesMax: Codes.nameBytesMax)
        self.country = try Codes.country(country, field: "country")
        self.isSME = isSME
    }
}

public struct Contribution: Equatable, Sendable {
    public let factory: String
    public let source: Source
    public let amount: Cents
    public let date: CalendarDate
    public let category: CostCategory
    public let kind: ContributionKind
    public let ref: String
    /// Recorded although it looked like a duplicate of an earlier entry (format v2, `--allow-duplicate`).
    public let allowsDuplicate: Bool

    public init(
        factory: String, source: Source, amount: Cents, date: CalendarDate, category: CostCategory,
        kind: ContributionKind, ref: String, allowsDuplicate: Bool = false
    ) throws(InputError) {
        self.allowsDuplicate = allowsDuplicate
        self.factory = try Codes.identifier(factory, field: "factory")
        self.source = source
        guard amount.value > 0 else {
            throw InputError(field: "amount", value: amount.decimalText, problem: "is zero; an amount must be at least 0.01")
        }
        self.amount = amount
        self.date = date
        self.category = category
        self.kind = kind
        self.ref = try Codes.text(ref, field: "ref", bytesMax: Codes.noteBytesMax, allowEmpty: true)
    }
}

public struct AccessGrant: Equatable, Sendable {
    public let factory: String
    public let beneficiary: String
    public let category: AccessCategory
    public let gpuHours: Int64
    public let date: CalendarDate
    public let pool: AccessPool
    public let isCommercial: Bool
    public let charge: Cents
    /// The beneficiary's country (ISO 3166-1 alpha-2, EL for Greece), for the annual breakdown by
    /// participating state (Statutes Art. 19); optional, absent from records made before it existed.
    public let country: String?
    /// The registered partner the beneficiary is, when named (format v2): its SME flag decides.
    public let partner: String?
    /// Recorded although it looked like a duplicate (format v2, `--allow-duplicate`).
    public let allowsDuplicate: Bool

    /// The most GPU-hours one access record may grant: 10^10, over a century of 100,000 GPUs.
    public static let gpuHoursMax: Int64 = 10_000_000_000

    public static func parseGPUHours(_ text: String, field: String) throws(InputError) -> Int64 {
        guard let value = Int64(text), String(value) == text else {
            // 12.000 or 12,000 or 12 000: a thousands separator, named as one.
            var groups = [0]
            var separated = true
            for character in text {
                if character.isASCII && character.isNumber {
                    groups[groups.count - 1] += 1
                } else if [".", ",", " ", "\u{00A0}", "'"].contains(character) {
                    groups.append(0)
                } else {
                    separated = false
                }
            }
            let digits = String(text.filter { $0.isASCII && $0.isNumber })
            if separated, groups.count > 1, (1...3).contains(groups[0]), groups.dropFirst().allSatisfy({ $0 == 3 }) {
                throw InputError(field: field, value: text, problem: "has a thousands separator; write the whole number alone, \(digits)")
            }
            throw InputError(field: field, value: text, problem: "is not a whole number of GPU-hours")
        }
        guard value > 0 else { throw InputError(field: field, value: text, problem: "must be at least 1") }
        guard value <= gpuHoursMax else { throw InputError(field: field, value: text, problem: "is over the maximum of \(gpuHoursMax)") }
        return value
    }

    public init(
        factory: String, beneficiary: String, category: AccessCategory, gpuHours: Int64, date: CalendarDate,
        pool: AccessPool, isCommercial: Bool, charge: Cents, country: String? = nil, partner: String? = nil,
        allowsDuplicate: Bool = false
    ) throws(InputError) {
        self.partner = try partner.map { (id) throws(InputError) in try Codes.identifier(id, field: "partner") }
        self.allowsDuplicate = allowsDuplicate
        self.factory = try Codes.identifier(factory, field: "factory")
        self.beneficiary = try Codes.text(beneficiary, field: "beneficiary", bytesMax: Codes.nameBytesMax)
        self.category = category
        self.gpuHours = try AccessGrant.parseGPUHours(String(gpuHours), field: "gpu-hours")
        self.date = date
        self.pool = pool
        self.isCommercial = isCommercial
        self.charge = charge
        self.country = try country.map { (code) throws(InputError) in try Codes.country(code, field: "country") }
    }
}

public struct Correction: Equatable, Sendable {
    public let entry: Int64
    public let reason: String

    public init(entry: Int64, reason: String) throws(InputError) {
        guard entry >= 1 else { throw InputError(field: "entry", value: String(entry), problem: "is not a sequence number") }
        self.entry = entry
        self.reason = try Codes.text(reason, field: "reason", bytesMax: Codes.noteBytesMax)
    }
}

extension KeyEnrolment {
    public init(checking publicKey: PublicKey, name: String, role: Role, scopes: [Scope]) throws(InputError) {
        guard Sodium.isValidPublicKey(publicKey.bytes) else {
            throw InputError(
                field: "public_key", value: Encoding.base64(publicKey.bytes),
                problem: "is not a valid Ed25519 public key (small order, not canonical or not on the curve)")
        }
        let name = try Codes.text(name, field: "name", bytesMax: Codes.nameBytesMax)
        guard scopes.count <= KeyEnrolment.scopesMax else {
            throw InputError(
                field: "scope", value: scopes.map(\.description).joined(separator: ","), problem: "lists more than \(KeyEnrolment.scopesMax) scopes")
        }
        guard Set(scopes).count == scopes.count else {
            throw InputError(field: "scope", value: scopes.map(\.description).joined(separator: ","), problem: "names a scope twice")
        }
        if role != .officer, let first = scopes.first {
            throw InputError(field: "scope", value: first.description, problem: "applies to officers only; \(role.rawValue) keys have no scope")
        }
        if role == .officer && scopes.isEmpty {
            throw InputError(
                field: "scope", value: "", problem: "is missing: an officer needs at least one scope (eu, ms:CC, private:ID or factory:ID)")
        }
        self.init(publicKey: publicKey, name: name, role: role, scopes: scopes)
    }
}

/// The record of a bulk import, appended right after the rows it imported, in the same transaction:
/// which file (by SHA-256) and how many rows, so the same file imported twice is caught.
public struct ImportRecord: Equatable, Sendable {
    public let fileName: String
    public let fileSHA256: [UInt8]
    public let rows: Int64

    public init(fileName: String, fileSHA256: [UInt8], rows: Int64) throws(InputError) {
        self.fileName = try Codes.text(fileName, field: "file_name", bytesMax: Codes.nameBytesMax)
        guard fileSHA256.count == 32 else { throw InputError(field: "file_sha256", value: Encoding.hex(fileSHA256), problem: "is not 32 bytes") }
        guard rows >= 1 else { throw InputError(field: "rows", value: String(rows), problem: "must be at least 1") }
        self.fileSHA256 = fileSHA256
        self.rows = rows
    }
}

/// A second authority's consent to an amendment (format v2, type `countersign`).
public struct Countersignature: Equatable, Sendable {
    /// The `factory-amend` entry consented to.
    public let entry: Int64
    public let reason: String

    public init(entry: Int64, reason: String) throws(InputError) {
        guard entry >= 1 else { throw InputError(field: "entry", value: String(entry), problem: "is not a sequence number") }
        self.entry = entry
        self.reason = try Codes.text(reason, field: "reason", bytesMax: Codes.noteBytesMax, allowEmpty: true)
    }
}

/// A report issued (format v2, type `report-issue`): which period, at which ledger state, and the
/// SHA-256 of its summary.json, so the first issue of a period and every re-issue are on the ledger.
public struct ReportIssue: Equatable, Sendable {
    public let period: ReportPeriod
    /// The report's state: the entries it counts (1 to the entry before this one).
    public let entryCount: Int64
    public let summarySHA256: [UInt8]

    public init(period: ReportPeriod, entryCount: Int64, summarySHA256: [UInt8]) throws(InputError) {
        guard entryCount >= 1 else { throw InputError(field: "entry_count", value: String(entryCount), problem: "must be at least 1") }
        guard summarySHA256.count == 32 else {
            throw InputError(field: "summary_sha256", value: Encoding.hex(summarySHA256), problem: "is not 32 bytes")
        }
        self.period = period
        self.entryCount = entryCount
        self.summarySHA256 = summarySHA256
    }
}

extension EntryData {
    /// Whether the record says it repeats an earlier one on purpose (`allow_duplicate`).
    public var saysDuplicate: Bool {
        switch self {
        case .contribution(let item): return item.allowsDuplicate
        case .access(let grant): return grant.allowsDuplicate
        default: return false
        }
    }

    /// The same contribution or access record with `allow_duplicate` set as `flag` (other data as
    /// it is): what duplicates are compared on, the flag aside.
    public func withDuplicateFlag(_ flag: Bool) -> EntryData {
        switch self {
        case .contribution(let item): return .contribution(Contribution(copying: item, allowsDuplicate: flag))
        case .access(let grant): return .access(AccessGrant(copying: grant, allowsDuplicate: flag))
        default: return self
        }
    }
}

extension Contribution {
    init(copying other: Contribution, allowsDuplicate: Bool) {
        factory = other.factory
        source = other.source
        amount = other.amount
        date = other.date
        category = other.category
        kind = other.kind
        ref = other.ref
        self.allowsDuplicate = allowsDuplicate
    }
}

extension AccessGrant {
    init(copying other: AccessGrant, allowsDuplicate: Bool) {
        factory = other.factory
        beneficiary = other.beneficiary
        category = other.category
        gpuHours = other.gpuHours
        date = other.date
        pool = other.pool
        isCommercial = other.isCommercial
        charge = other.charge
        country = other.country
        partner = other.partner
        self.allowsDuplicate = allowsDuplicate
    }
}
