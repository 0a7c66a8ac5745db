/// The `data` object of each entry type, field by field (schema/FORMAT.md, "Entry types").
extension EntryBody {
    package static func encode(_ data: EntryData) -> [String: CanonicalJSON] {
        switch data {
        case .genesis(let genesis):
            var fields = encode(genesis.authority)
            fields["origin"] = .string(genesis.origin)
            return fields
        case .keyEnroll(let enrolment):
            return encode(enrolment)
        case .keyRevoke(let revocation):
            return ["key_id": .string(revocation.keyID.description), "reason": .string(revocation.reason)]
        case .factoryAmend(let amendment):
            var fields = encode(.factoryRegister(amendment.value))
            fields["allow_twin"] = nil
            fields["reason"] = .string(amendment.reason)
            if let from = amendment.effectiveFrom { fields["effective_from"] = .string(from.description) }
            return fields
        case .partnerAmend(let amendment):
            var fields = encode(.partnerRegister(amendment.value))
            fields["allow_twin"] = nil
            fields["reason"] = .string(amendment.reason)
            if let from = amendment.effectiveFrom { fields["effective_from"] = .string(from.description) }
            return fields
        case .factoryRegister(let factory):
            var fields: [String: CanonicalJSON] = [
                "id": .string(factory.id), "name": .string(factory.name), "kind": .string(factory.kind.rawValue),
                "hosts": .array(factory.hosts.map { .string($0) }), "capex_cents": .integer(factory.capex.value),
            ]
            if let opex = factory.opex { fields["opex_cents"] = .integer(opex.value) }
            if factory.allowsTwin { fields["allow_twin"] = .bool(true) }
            return fields
        case .partnerRegister(let partner):
            var fields: [String: CanonicalJSON] = [
                "id": .string(partner.id), "name": .string(partner.name), "country": .string(partner.country), "sme": .bool(partner.isSME),
            ]
            if partner.allowsTwin { fields["allow_twin"] = .bool(true) }
            return fields
        case .contribution(let item):
            var fields: [String: CanonicalJSON] = [
                "factory": .string(item.factory), "source": .string(item.source.description), "amount_cents": .integer(item.amount.value),
                "date": .string(item.date.description), "category": .string(item.category.rawValue), "kind": .string(item.kind.rawValue),
                "ref": .string(item.ref),
            ]
            if item.allowsDuplicate { fields["allow_duplicate"] = .bool(true) }
            return fields
        case .access(let grant):
            var fields: [String: CanonicalJSON] = [
                "factory": .string(grant.factory), "beneficiary": .string(grant.beneficiary), "category": .string(grant.category.rawValue),
                "gpu_hours": .integer(grant.gpuHours), "date": .string(grant.date.description), "pool": .string(grant.pool.rawValue),
                "commercial": .bool(grant.isCommercial), "charge_cents": .integer(grant.charge.value),
            ]
            if let country = grant.country { fields["country"] = .string(country) }
            if let partner = grant.partner { fields["partner"] = .string(partner) }
            if grant.allowsDuplicate { fields["allow_duplicate"] = .bool(true) }
            return fields
        case .countersign(let item):
            return ["entry": .integer(item.entry), "reason": .string(item.reason)]
        case .reportIssue(let issue):
            return [
                "period": .string(issue.period.description), "entry_count": .integer(issue.entryCount),
                "summary_sha256": .string(Encoding.hex(issue.summarySHA256)),
            ]
        case .correction(let correction):
            return ["entry": .integer(correction.entry), "reason": .string(correction.reason)]
        case .policy(let policy):
            return policy.encoded()
        case .importRecord(let record):
            return ["file_name": .string(record.fileName), "file_sha256": .string(Encoding.hex(record.fileSHA256)), "rows": .integer(record.rows)]
        }
    }

    private static func encode(_ enrolment: KeyEnrolment) -> [String: CanonicalJSON] {
        [
            "key_id": .string(enrolment.publicKey.id.description), "public_key": .string(Encoding.base64(enrolment.publicKey.bytes)),
            "name": .string(enrolment.name), "role": .string(enrolment.role.rawValue),
            "scopes": .array(enrolment.scopes.map { .string($0.description) }),
        ]
    }

    /// `version`: the body's format version; members and types of a later version are refused in
    /// an earlier one (as members of no type, or unknown types).
    static func decodeData(type: String, fields: inout Fields, version: Int) throws(EntryFormatError) -> EntryData {
        let v2 = version >= 2
        switch type {
        case "genesis":
            let origin = try fields.string("origin")
            try lift { () throws(InputError) in _ = try Codes.origin(origin, field: "origin") }
            return .genesis(Genesis(origin: origin, authority: try decodeEnrolment(&fields)))
        case "key-enroll":
            return .keyEnroll(try decodeEnrolment(&fields))
        case "key-revoke":
            let id = try fields.string("key_id"), reason = try fields.string("reason")
            return try lift { () throws(InputError) in
                .keyRevoke(
                    KeyRevocation(
                        keyID: try KeyID.parse(id, field: "key_id"),
                        reason: try Codes.text(reason, field: "reason", bytesMax: Codes.noteBytesMax)))
            }
        case "factory-amend", "partner-amend":
            let reason = try fields.string("reason")
            let from = v2 ? try fields.optionalString("effective_from") : nil
            // The registration's members, without a registration's own `allow_twin`.
            let registered = try decodeData(type: type == "factory-amend" ? "factory-register" : "partner-register", fields: &fields, version: 1)
            return try lift { () throws(InputError) in
                let effective = try from.map { (text) throws(InputError) in try CalendarDate.parse(text, field: "effective_from") }
                switch registered {
                case .factoryRegister(let factory): return .factoryAmend(try Amendment(factory, reason: reason, effectiveFrom: effective))
                case .partnerRegister(let partner): return .partnerAmend(try Amendment(partner, reason: reason, effectiveFrom: effective))
                default: preconditionFailure("decodeData: a registration decodes as one")
                }
            }
        case "factory-register":
            let id = try fields.string("id"), name = try fields.string("name"), kind = try fields.string("kind")
            let hosts = try fields.strings("hosts"), capex = try fields.integer("capex_cents"), opex = try fields.optionalInteger("opex_cents")
            let twin = v2 ? try fields.optionalTrue("allow_twin") : false
            return try lift { () throws(InputError) in
                .factoryRegister(
                    try Factory(
                        id: id, name: name, kind: try FactoryKind.parse(kind, field: "kind"), hosts: hosts,
                        capex: try cents(capex, field: "capex_cents", allowZero: false),
                        opex: try opex.map { (value) throws(InputError) in try cents(value, field: "opex_cents", allowZero: false) },
                        allowsTwin: twin))
            }
        case "partner-register":
            let id = try fields.string("id"), name = try fields.string("name"), country = try fields.string("country")
            let sme = try fields.bool("sme")
            let twin = v2 ? try fields.optionalTrue("allow_twin") : false
            return try lift { () throws(InputError) in
                .partnerRegister(try Partner(id: id, name: name, country: country, isSME: sme, allowsTwin: twin))
            }
        case "contribution":
            let duplicate = v2 ? try fields.optionalTrue("allow_duplicate") : false
            return try decodeContribution(&fields, allowsDuplicate: duplicate)
        case "access":
            let duplicate = v2 ? try fields.optionalTrue("allow_duplicate") : false
            let partner = v2 ? try fields.optionalString("partner") : nil
            return try decodeAccess(&fields, partner: partner, allowsDuplicate: duplicate)
        case "countersign" where v2:
            let entry = try fields.integer("entry"), reason = try fields.string("reason")
            return try lift { () throws(InputError) in .countersign(try Countersignature(entry: entry, reason: reason)) }
        case "report-issue" where v2:
            let period = try fields.string("period"), count = try fields.integer("entry_count"), digest = try fields.string("summary_sha256")
            guard let bytes = Encoding.unhex(digest) else { throw .field("body.data.summary_sha256", "is not lower-case hex") }
            return try lift { () throws(InputError) in
                .reportIssue(try ReportIssue(period: try ReportPeriod.parse(period, field: "period"), entryCount: count, summarySHA256: bytes))
            }
        case "correction":
            let entry = try fields.integer("entry"), reason = try fields.string("reason")
            return try lift { () throws(InputError) in .correction(try Correction(entry: entry, reason: reason)) }
        case "policy":
            return .policy(try Policy.decode(&fields))
        case "import":
            let name = try fields.string("file_name"), digest = try fields.string("file_sha256"), rows = try fields.integer("rows")
            guard let bytes = Encoding.unhex(digest) else { throw .field("body.data.file_sha256", "is not lower-case hex") }
            return try lift { () throws(InputError) in .importRecord(try ImportRecord(fileName: name, fileSHA256: bytes, rows: rows)) }
        default:
            throw .unknownType(type)
        }
    }

    private static func decodeEnrolment(_ fields: inout Fields) throws(EntryFormatError) -> KeyEnrolment {
        let id = try fields.string("key_id"), publicText = try fields.string("public_key"), name = try fields.string("name")
        let role = try fields.string("role"), scopes = try fields.strings("scopes")
        guard let bytes = Encoding.unbase64(publicText), bytes.count == Sodium.publicKeyBytes else {
            throw .field("body.data.public_key", "is not 32 bytes of base64")
        }
        let key = PublicKey(bytes: bytes)
        guard key.id.description == id else { throw .field("body.data.key_id", "does not match the public key") }
        return try lift { () throws(InputError) in
            try KeyEnrolment(
                checking: key, name: name, role: try Role.parse(role, field: "role"),
                scopes: try scopes.map { (text) throws(InputError) in try Scope.parse(text, field: "scopes") })
        }
    }

    private static func decodeContribution(_ fields: inout Fields, allowsDuplicate: Bool) throws(EntryFormatError) -> EntryData {
        let factory = try fields.string("factory"), source = try fields.string("source"), amount = try fields.integer("amount_cents")
        let date = try fields.string("date"), category = try fields.string("category"), kind = try fields.string("kind")
        let ref = try fields.string("ref")
        return try makeContribution(
            factory: factory, source: source, amount: amount, date: date, category: category, kind: kind, ref: ref,
            allowsDuplicate: allowsDuplicate)
    }

    /// A contribution from its stored fields, each checked as when it was recorded.
    static func makeContribution(
        factory: String, source: String, amount: Int64, date: String, category: String, kind: String,
        ref: String, allowsDuplicate: Bool = false
    ) throws(EntryFormatError) -> EntryData {
        try lift { () throws(InputError) in
            .contribution(
                try Contribution(
                    factory: factory, source: try Source.parse(source, field: "source"),
                    amount: try cents(amount, field: "amount_cents", allowZero: false),
                    date: try CalendarDate.parse(date, field: "date"), category: try CostCategory.parse(category, field: "category"),
                    kind: try ContributionKind.parse(kind, field: "kind"), ref: ref, allowsDuplicate: allowsDuplicate))
        }
    }

    private static func decodeAccess(_ fields: inout Fields, partner: String?, allowsDuplicate: Bool) throws(EntryFormatError) -> EntryData {
        let factory = try fields.string("factory"), beneficiary = try fields.string("beneficiary")
        let category = try fields.string("category"), hours = try fields.integer("gpu_hours"), date = try fields.string("date")
        let pool = try fields.string("pool"), commercial = try fields.bool("commercial"), charge = try fields.integer("charge_cents")
        let country = try fields.optionalString("country")
        return try makeAccess(
            factory: factory, beneficiary: beneficiary, category: category, hours: hours, date: date, pool: pool,
            commercial: commercial, charge: charge, country: country, partner: partner, allowsDuplicate: allowsDuplicate)
    }

    /// An access record from its stored fields, each checked as when it was recorded.
    static func makeAccess(
        factory: String, beneficiary: String, category: String, hours: Int64, date: String, pool: String,
        commercial: Bool, charge: Int64, country: String?, partner: String? = nil, allowsDuplicate: Bool = false
    ) throws(EntryFormatError) -> EntryData {
        try lift { () throws(InputError) in
            .access(
                try AccessGrant(
                    factory: factory, beneficiary: beneficiary, category: try AccessCategory.parse(category, field: "category"),
                    gpuHours: hours, date: try CalendarDate.parse(date, field: "date"), pool: try AccessPool.parse(pool, field: "pool"),
                    isCommercial: commercial, charge: try cents(charge, field: "charge_cents", allowZero: true), country: country,
                    partner: partner, allowsDuplicate: allowsDuplicate))
        }
    }

    private static func cents(_ value: Int64, field: String, allowZero: Bool) throws(InputError) -> Cents {
        guard value >= (allowZero ? 0 : 1), value <= Cents.amountCentsMax else {
            throw InputError(field: field, value: String(value), problem: "is outside 1 to \(Cents.amountCentsMax) cents")
        }
        return Cents(value)
    }
}

/// Turns an input error found while decoding a stored body into a format error.
func lift<T>(_ body: () throws(InputError) -> T) throws(EntryFormatError) -> T {
    do { return try body() } catch { throw .input(error) }
}

/// The members of one JSON object, taken one by one; `finish` insists that none is left over.
struct Fields {
    private var members: [String: CanonicalJSON]
    private var path: String

    init(_ value: CanonicalJSON, path: String) throws(EntryFormatError) {
        guard case .object(let members) = value else { throw .field(path, "is not an object") }
        self.members = members
        self.path = path
    }

    private mutating func take(_ key: String) throws(EntryFormatError) -> CanonicalJSON {
        guard let value = members.removeValue(forKey: key) else { throw .field("\(path).\(key)", "is missing") }
        return value
    }

    mutating func string(_ key: String) throws(EntryFormatError) -> String {
        guard case .string(let text) = try take(key) else { throw .field("\(path).\(key)", "is not a string") }
        return text
    }

    mutating func integer(_ key: String) throws(EntryFormatError) -> Int64 {
        guard case .integer(let value) = try take(key) else { throw .field("\(path).\(key)", "is not an integer") }
        return value
    }

    /// A member that may be absent (an optional field added after the format's first version).
    mutating func optionalInteger(_ key: String) throws(EntryFormatError) -> Int64? {
        members[key] == nil ? nil : try integer(key)
    }

    mutating func optionalString(_ key: String) throws(EntryFormatError) -> String? {
        members[key] == nil ? nil : try string(key)
    }

    /// A flag member of format v2: absent (false) or `true`; `false` is refused (it has one spelling: absent).
    mutating func optionalTrue(_ key: String) throws(EntryFormatError) -> Bool {
        guard members[key] != nil else { return false }
        guard try bool(key) else { throw .field("\(path).\(key)", "is false; it is written only as true, and left out otherwise") }
        return true
    }

    mutating func bool(_ key: String) throws(EntryFormatError) -> Bool {
        guard case .bool(let value) = try take(key) else { throw .field("\(path).\(key)", "is not true or false") }
        return value
    }

    mutating func strings(_ key: String) throws(EntryFormatError) -> [String] {
        guard case .array(let items) = try take(key) else { throw .field("\(path).\(key)", "is not an array") }
        var out = [String]()
        for item in items {
            guard case .string(let text) = item else { throw .field("\(path).\(key)", "holds a value that is not a string") }
            out.append(text)
        }
        return out
    }

    mutating func objects(_ key: String) throws(EntryFormatError) -> [Fields] {
        guard case .array(let items) = try take(key) else { throw .field("\(path).\(key)", "is not an array") }
        var out = [Fields]()
        for item in items { out.append(try Fields(item, path: "\(path).\(key)")) }
        return out
    }

    mutating func object(_ key: String) throws(EntryFormatError) -> Fields {
        try Fields(try take(key), path: "\(path).\(key)")
    }

    /// Names the object by `path` in messages from here on (a policy rule by its ID).
    mutating func rename(_ path: String) { self.path = path }

    func finish() throws(EntryFormatError) {
        if let extra = members.keys.sorted().first { throw .field("\(path).\(extra)", "is not a field of this entry type") }
    }
}
