/// How sure we are of a rule's number: each rule of a policy says where its number comes from
/// (schema/FORMAT.md, "Policy").
public enum Confidence: String, CaseIterable, Sendable {
    /// Read in the legal text.
    case law
    /// From secondary sources only (press, summaries).
    case reported
    /// Not in the law: chosen by whoever set the policy.
    case policy
}

/// One safeguard of a policy: its threshold (in basis points, 1/100 of a percent, so every
/// threshold is an exact fraction) or its categories, where it comes from, and how sure we are.
public struct PolicyRule: Equatable, Sendable {
    public let id: String
    public let basisPoints: Int64?
    public let categories: [AccessCategory]?
    public let source: String
    public let confidence: Confidence
    public let note: String
}

/// The safeguards reports check, as a versioned document recorded in the ledger by an authority
/// (entry type `policy`), so every report names the policy it was checked against.
public struct Policy: Equatable, Sendable {
    public let id: String
    public let version: Int64
    public let title: String
    public let rules: [PolicyRule]

    /// The rules a policy must define, each exactly once; `categories` marks the one that lists categories.
    public static let ruleIDs: [(id: String, categories: Bool)] = [
        ("union-capex-share-max-gigafactory", false), ("union-acquisition-share-max-ai-factory", false),
        ("union-opex-share-max-ai-factory", false), ("matching-min-gigafactory", false), ("union-access-share-max", false),
        ("union-access-proportionality-tolerance", false), ("commercial-share-of-union-access-max", false),
        ("union-access-free-for", true), ("sme-startup-access-share-min", false),
    ]
    /// The largest threshold accepted: 100 times (a matching ratio may exceed 100%).
    public static let basisPointsMax: Int64 = 1_000_000

    public func rule(_ id: String) -> PolicyRule {
        guard let rule = rules.first(where: { $0.id == id }) else { preconditionFailure("Policy.rule: \(id) is required by decode") }
        return rule
    }

    /// Reads a policy file: ordinary JSON, checked field by field.
    /// Refuses, as a `FileRefusal` naming `path`, anything that is not one policy in the entry's form.
    public static func parseFile(_ bytes: [UInt8], path: String) throws(FileRefusal) -> Policy {
        let json: CanonicalJSON
        do { json = try CanonicalJSON.decodeRelaxed(bytes) } catch { throw FileRefusal("policy file \(path)", "is not JSON: \(error)") }
        do {
            var fields = try Fields(json, path: "policy")
            let policy = try decode(&fields)
            try fields.finish()
            return policy
        } catch { throw FileRefusal("policy file \(path)", error.description) }
    }

    func encoded() -> [String: CanonicalJSON] {
        ["policy": .string(id), "version": .integer(version), "title": .string(title), "rules": .array(rules.map { rule in
            var members: [String: CanonicalJSON] = ["id": .string(rule.id), "source": .string(rule.source),
                                                    "confidence": .string(rule.confidence.rawValue), "note": .string(rule.note)]
            if let basisPoints = rule.basisPoints { members["basis_points"] = .integer(basisPoints) }
            if let categories = rule.categories { members["categories"] = .array(categories.map { .string($0.rawValue) }) }
            return .object(members)
        })]
    }

    static func decode(_ fields: inout Fields) throws(EntryFormatError) -> Policy {
        let id = try fields.string("policy"), version = try fields.integer("version"), title = try fields.string("title")
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
        for (required, _) in ruleIDs where ids.filter({ $0 == required }).count != 1 {
            throw .field("policy.rules", "must define \(required) exactly once")
        }
        guard ids.count == ruleIDs.count else { throw .field("policy.rules", "has rules gigaledger does not know") }
        return Policy(id: id, version: version, title: title, rules: rules)
    }

    private static func decodeRule(_ item: inout Fields) throws(EntryFormatError) -> PolicyRule {
        let id = try item.string("id")
        guard let known = ruleIDs.first(where: { $0.id == id }) else { throw .field("policy.rules", "has an unknown rule \(InputError.quoted(id))") }
        let source = try item.string("source"), confidence = try item.string("confidence"), note = try item.string("note")
        var basisPoints: Int64?, categories: [AccessCategory]?
        if known.categories {
            let names = try item.strings("categories")
            categories = try lift { () throws(InputError) in try names.map { (name) throws(InputError) in try AccessCategory.parse(name, field: "categories") } }
        } else {
            let value = try item.integer("basis_points")
            guard value >= 0, value <= basisPointsMax else { throw .field("policy.rules.\(id).basis_points", "is outside 0 to \(basisPointsMax)") }
            basisPoints = value
        }
        return try lift { () throws(InputError) in
            PolicyRule(id: id, basisPoints: basisPoints, categories: categories,
                       source: try Codes.text(source, field: "source", bytesMax: Codes.noteBytesMax),
                       confidence: try Confidence.parse(confidence, field: "confidence"),
                       note: try Codes.text(note, field: "note", bytesMax: Codes.noteBytesMax))
        }
    }
}
