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

    /// The same digest from a stored canonical body: over the bytes of its `data` object, which
    /// in a canonical body run from byte 8 to just before `,"format":"` (a string holds no
    /// unescaped quote, so that sequence first appears after the object). Nil for other types or a
    /// body of another shape.
    public static func digest(type: String, body: [UInt8]) -> [UInt8]? {
        guard type == "contribution" || type == "access" else { return nil }
        return body.withUnsafeBufferPointer { bytes -> [UInt8]? in
            guard bytes.count > dataStart, bytes.starts(with: #"{"data":{"#.utf8) else { return nil }
            var end = dataStart
            let marker = Array(#","format":""#.utf8)
            while end + marker.count <= bytes.count {
                if bytes[end] == marker[0] && bytes[end..<end + marker.count].elementsEqual(marker) {
                    return Sodium.sha256(tag, Array(bytes[dataStart..<end]))
                }
                end += 1
            }
            return nil
        }
    }

    /// Where a body's `data` object begins: after `{"data":`.
    static let dataStart = 8

    /// The facts in words, for the message that names an earlier entry with the same ones.
    public static func words(_ data: EntryData) -> String {
        switch data {
        case .contribution: return "same factory, source, kind, category, amount, date and ref"
        case .access: return "same factory, beneficiary, category, GPU-hours, date, pool, commercial flag, charge and country"
        default: return "same facts"
        }
    }
}
