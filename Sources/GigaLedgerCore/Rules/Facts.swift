/// The facts of a contribution or access record, reduced to a digest: two entries with the same
/// facts (factory, source, kind, category, amount, value date, reference; or factory, beneficiary,
/// category, hours, date, pool, commercial, charge, country) have the same digest, whoever recorded
/// them and whenever (schema/FORMAT.md, "Index tables", `facts`).
public enum Facts {
    static let tag = Array("gigaledger/facts/v1\n".utf8)

    /// SHA-256 of the tag and the canonical JSON of the entry's `data` object (the bytes of that
    /// object within the stored body); nil for the other entry types.
    public static func digest(_ data: EntryData) -> [UInt8]? {
        switch data {
        case .contribution, .access: return Sodium.sha256(tag, CanonicalJSON.object(EntryBody.encode(data)).encoded())
        default: return nil
        }
    }

    /// The facts in words, for the message that names an earlier entry with the same ones.
    public static func words(_ data: EntryData) -> String {
        switch data {
        case .contribution: return "same factory, source, kind, category, amount, date and ref"
        case .access: return "same factory, beneficiary, category, GPU-hours, date, pool, commercial flag, charge and country"
        default: return "same facts"
        }
    }
}
