/// How sure we are of a rule's number: each rule of a policy says where its number comes from
/// (schema/FORMAT.md, "Policy").
public enum Confidence: String, CaseIterable, Sendable {
    /// Read in an article of the legal text.
    case law
    /// Read in a recital: explains the law's intent, not binding on its own.
    case recital
    /// From secondary sources only (press, summaries).
    case reported
    /// Not in the law: chosen by whoever set the policy.
    case policy
    /// Searched for in the law and not found: recorded so a reader knows it was looked for.
    case absent
}

/// What a rule's value is: a share in basis points, a list of access categories, an amount in
/// cents, or nothing (a rule that is a condition, such as "every host state has committed").
public enum RuleShape: Sendable {
    case basisPoints, categories, cents, condition
}

/// One safeguard of a policy: its threshold (in basis points, 1/100 of a percent, so every
/// threshold is an exact fraction) or its categories, where it comes from, and how sure we are.
public struct PolicyRule: Equatable, Sendable {
    public let id: String
    public let basisPoints: Int64?
    public let categories: [AccessCategory]?
    public let cents: Int64?
    public let source: String
    public let confidence: Confidence
    public let note: String

    package init(id: String, basisPoints: Int64?, categories: [AccessCategory]?, cents: Int64?, source: String, confidence: Confidence, note: String)
    {
        self.id = id
        self.basisPoints = basisPoints
        self.categories = categories
        self.cents = cents
        self.source = source
        self.confidence = confidence
        self.note = note
    }
}

/// The safeguards reports check, as a versioned document recorded in the ledger by an authority
/// (entry type `policy`), so every report names the policy it was checked against.
public struct Policy: Equatable, Sendable {
    public let id: String
    public let version: Int64
    public let title: String
    /// The first day the rules apply; nil in policies recorded before policies had one (then they
    /// apply to every quarter). A period that ends before it is not judged under this policy.
    public let effectiveFrom: CalendarDate?
    public let rules: [PolicyRule]

    /// The rules gigaledger knows, each with its shape; the `required` ones every policy defines
    /// (the first version's nine), the others a policy may define (each at most once). A rule a
    /// policy leaves out is reported as not assessable, with the reason.
    public static let ruleIDs: [(id: String, shape: RuleShape, required: Bool)] = [
        ("union-capex-share-max-gigafactory", .basisPoints, true), ("union-acquisition-share-max-ai-factory", .basisPoints, true),
        ("union-opex-share-max-ai-factory", .basisPoints, true), ("matching-min-gigafactory", .basisPoints, true),
        ("union-access-share-max", .basisPoints, true), ("union-access-proportionality-tolerance", .basisPoints, true),
        ("commercial-share-of-union-access-max", .basisPoints, true), ("union-access-free-for", .categories, true),
        ("sme-startup-access-share-min", .basisPoints, true),
        ("host-states-commit-gigafactory", .condition, false), ("union-access-free-for-startups", .categories, false),
        ("commercial-union-access-charged", .condition, false), ("union-contribution-max-programme", .cents, false),
        ("matching-min-programme", .basisPoints, false),
        // Policy version 3 (issue 31): flags for what the law sets no number for; a report lists their
        // verdicts only when the policy it applies defines them (`listedOnlyWhenDefined`).
        ("union-opex-at-gigafactory", .condition, false), ("host-commitment-min-share", .basisPoints, false),
        ("commercial-charge-min", .cents, false), ("access-participant-consistent", .condition, false),
    ]
    /// Optional rules that a report leaves out, rather than calling NOT ASSESSABLE, when the policy
    /// lacks them: reports on policies recorded before these rules existed stay as they were.
    public static let listedOnlyWhenDefined: Set<String> = [
        "union-opex-at-gigafactory", "host-commitment-min-share", "commercial-charge-min", "access-participant-consistent",
    ]
    /// The largest threshold accepted: 100 times (a matching ratio may exceed 100%).
    public static let basisPointsMax: Int64 = 1_000_000

    public func rule(_ id: String) -> PolicyRule {
        guard let rule = rules.first(where: { $0.id == id }) else { preconditionFailure("Policy.rule: \(id) is required by decode") }
        return rule
    }

    /// A rule the policy may leave out; nil when it does.
    public func optionalRule(_ id: String) -> PolicyRule? { rules.first { $0.id == id } }

    /// Whether the policy applies to a period ending on `lastDay`.
    public func isInForce(on lastDay: CalendarDate) -> Bool { effectiveFrom.map { $0 <= lastDay } ?? true }

    /// Reads a policy file: ordinary JSON, checked field by field.
    /// Refuses, as a `FileRefusal` naming `path`, anything that is not one policy in the entry's form.
    public static func parseFile(_ bytes: [UInt8], path: String) throws(FileRefusal) -> Policy {
        let json: CanonicalJSON
        do { json = try CanonicalJSON.decodeRelaxed(bytes) } catch {
            switch error {
            case .malformed(let offset, let why):
                throw FileRefusal(
                    "policy file \(path)",
                    "is not JSON gigaledger reads, at byte \(offset) (\(why)): numbers are whole integers (basis points, cents), and null is not a value"
                )
            default: throw FileRefusal("policy file \(path)", "is not JSON gigaledger reads: \(error)")
            }
        }
        do {
            var fields = try Fields(json, path: "policy")
            let policy = try decode(&fields)
            try fields.finish()
            return policy
        } catch { throw FileRefusal("policy file \(path)", error.description) }
    }

    package func encoded() -> [String: CanonicalJSON] {
        var members: [String: CanonicalJSON] = [
            "policy": .string(id), "version": .integer(version), "title": .string(title),
            "rules": .array(
                rules.map { rule in
                    var members: [String: CanonicalJSON] = [
                        "id": .string(rule.id), "source": .string(rule.source),
                        "confidence": .string(rule.confidence.rawValue), "note": .string(rule.note),
                    ]
                    if let basisPoints = rule.basisPoints { members["basis_points"] = .integer(basisPoints) }
                    if let categories = rule.categories { members["categories"] = .array(categories.map { .string($0.rawValue) }) }
                    if let cents = rule.cents { members["cents"] = .integer(cents) }
                    return .object(members)
                }),
        ]
        if let effectiveFrom { members["effective_from"] = .string(effectiveFrom.description) }
        return members
    }

    static func decode(_ fields: inout Fields) throws(EntryFormatError) -> Policy {
        let id = try fields.string("policy"), version = try fields.integer("version"), title = try fields.string("title")
        let effective = try fields.optionalString("effective_from")
        var rules = [PolicyRule]()
        for var item in try fields.objects("rules") {
            rules.append(try decodeRule(&item))
            try item.finish()
        }
        try lift { () throws(InputError) in
            _ = try Codes.identifier(id, field: "policy")
            _ = try Codes.text(title, field: "title", bytesMax: Codes.noteBytesMax)
            guard version >= 1 else { throw InputError(field: "version", value: String(version), problem: "must be at least 1") }
        }
        let ids = rules.map(\.id)
        for (known, _, required) in ruleIDs {
            let count = ids.filter { $0 == known }.count
            if required && count != 1 { throw .field("policy.rules", "must define \(known) exactly once") }
            if count > 1 { throw .field("policy.rules", "defines \(known) more than once") }
        }
        let effectiveFrom = try lift { () throws(InputError) in
            try effective.map { (text) throws(InputError) in try CalendarDate.parse(text, field: "effective_from") }
        }
        return Policy(id: id, version: version, title: title, effectiveFrom: effectiveFrom, rules: rules)
    }

    private static func decodeRule(_ item: inout Fields) throws(EntryFormatError) -> PolicyRule {
        let id = try item.string("id")
        guard let known = ruleIDs.first(where: { $0.id == id }) else { throw .field("policy.rules", "has an unknown rule \(InputError.quoted(id))") }
        item.rename("policy.rules.\(id)")
        let source = try item.string("source"), confidence = try item.string("confidence"), note = try item.string("note")
        var basisPoints: Int64?, categories: [AccessCategory]?, cents: Int64?
        switch known.shape {
        case .categories:
            let names = try item.strings("categories")
            categories = try lift { () throws(InputError) in
                try names.map { (name) throws(InputError) in try AccessCategory.parse(name, field: "categories") }
            }
            guard !names.isEmpty, Set(names).count == names.count else {
                throw .field("policy.rules.\(id).categories", "must list at least one category, each once (\(names.joined(separator: ",")))")
            }
        case .basisPoints:
            let value = try item.integer("basis_points")
            guard value >= 0, value <= basisPointsMax else { throw .field("policy.rules.\(id).basis_points", "is outside 0 to \(basisPointsMax)") }
            basisPoints = value
        case .cents:
            let value = try item.integer("cents")
            guard value >= 1, value <= Cents.amountCentsMax else {
                throw .field("policy.rules.\(id).cents", "is outside 1 to \(Cents.amountCentsMax)")
            }
            cents = value
        case .condition:
            break
        }
        return try lift { () throws(InputError) in
            PolicyRule(
                id: id, basisPoints: basisPoints, categories: categories, cents: cents,
                source: try Codes.text(source, field: "source", bytesMax: Codes.noteBytesMax),
                confidence: try Confidence.parse(confidence, field: "confidence"),
                note: try Codes.text(note, field: "note", bytesMax: Codes.noteBytesMax))
        }
    }
}
