import GigaLedgerCore

/// The policies shipped inside the binary (schema/policy/*.json, embedded by `make schema`), so a
/// user of the binary alone can record one: `policy set --builtin eurohpc-2026`.
public enum BuiltinPolicies {
    public static var names: [String] { EmbeddedPolicies.all.map(\.0) }

    /// The policy named `name`, read as a policy file is read.
    public static func policy(named name: String) throws -> Policy {
        guard let text = EmbeddedPolicies.all.first(where: { $0.0 == name })?.1 else {
            throw InputError(field: "builtin", value: name, problem: "is not a policy this gigaledger carries: \(names.joined(separator: ", "))")
        }
        return try Policy.parseFile(Array(text.utf8), path: "builtin \(name)")
    }
}
