/// A signer's role: what kinds of entry its key may sign (schema/FORMAT.md, "Who may sign what").
/// A `log` key signs checkpoints only: the server holds it, so the authority key can stay offline.
public enum Role: String, CaseIterable, Sendable {
    case authority, officer, auditor, log

    /// Whose checkpoint signatures the ledger accepts (schema/FORMAT.md section 12).
    public var signsCheckpoints: Bool { self == .authority || self == .log }
}

/// Who a contribution's money comes from: the Union, a member state, or a registered private partner.
public enum Source: Hashable, Sendable, CustomStringConvertible {
    case union
    case memberState(String)
    case partner(String)

    public var description: String {
        switch self {
        case .union: return "eu"
        case .memberState(let code): return "ms:\(code)"
        case .partner(let id): return "private:\(id)"
        }
    }

    /// Parses `eu`, `ms:CC` or `private:ID`.
    public static func parse(_ text: String, field: String) throws(InputError) -> Source {
        if text == "eu" { return .union }
        do {
            if text.hasPrefix("ms:") { return .memberState(try Codes.memberState(String(text.dropFirst(3)), field: field)) }
            if text.hasPrefix("private:") { return .partner(try Codes.identifier(String(text.dropFirst(8)), field: field)) }
        } catch {
            throw InputError(field: field, value: text, problem: error.problem)
        }
        throw InputError(field: field, value: text, problem: "is not a source: use eu, ms:CC (a member state) or private:ID (a registered partner)")
    }
}

/// What a key may record: a contribution source (`eu`, `ms:CC`, `private:ID`) or a factory's access (`factory:ID`).
public enum Scope: Hashable, Sendable, CustomStringConvertible {
    case source(Source)
    case factory(String)

    public var description: String {
        switch self {
        case .source(let source): return source.description
        case .factory(let id): return "factory:\(id)"
        }
    }

    public static func parse(_ text: String, field: String) throws(InputError) -> Scope {
        if text.hasPrefix("factory:") { return .factory(try Codes.identifier(String(text.dropFirst(8)), field: field)) }
        do { return .source(try Source.parse(text, field: field)) } catch {
            throw InputError(field: field, value: text, problem: "is not a scope: use eu, ms:CC, private:ID or factory:ID")
        }
    }
}

public enum FactoryKind: String, CaseIterable, Sendable {
    case gigafactory
    case aiFactory = "ai-factory"
}

public enum CostCategory: String, CaseIterable, Sendable {
    case capex, opex
}

public enum ContributionKind: String, CaseIterable, Sendable {
    case commitment, payment
}

public enum AccessCategory: String, CaseIterable, Sendable {
    case sme, startup, scaleup, research, `public`, industry
}

public enum AccessPool: String, CaseIterable, Sendable {
    case union, host
}

extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// Parses one of the enumeration's spellings; the error lists them.
    public static func parse(_ text: String, field: String) throws(InputError) -> Self {
        // ASCII first: `rawValue:` compares with Swift's `==`, which takes canonically equivalent spellings as equal.
        guard Codes.isASCII(text), let value = Self(rawValue: text) else {
            let choices = allCases.map(\.rawValue).joined(separator: ", ")
            throw InputError(field: field, value: text, problem: "is not one of: \(choices)")
        }
        return value
    }
}
