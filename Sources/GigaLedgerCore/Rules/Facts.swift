/// The facts of a contribution or access record, reduced to a digest: two entries with the same
/// facts (factory, source, kind, category, amount, value date, reference; or factory, beneficiary,
/// category, hours, date, pool, commercial, charge, country) have the same digest, whoever recorded
/// them and whenever (schema/FORMAT.md, "Index tables", `facts`).
public enum Facts {
    static let tag = Array("gigaledger/facts/v1\n".utf8)

    /// The first 8 bytes, as a big-endian signed integer, of SHA-256 of the tag and the canonical
    /// JSON of the entry's `data` object (the bytes of that object within the stored body); nil for
    /// the other entry types. Eight bytes keep the index small; equal digests only name candidates,
    /// whose data is compared before anything is refused.
    public static func digest(_ data: EntryData) -> Int64? {
        switch data {
        case .contribution, .access: return digest(dataBytes: CanonicalJSON.object(EntryBody.encode(data)).encoded()[...])
        default: return nil
        }
    }

    /// The one definition: 8 bytes of SHA-256 of the tag and the `data` object's canonical bytes.
    static func digest(dataBytes: ArraySlice<UInt8>) -> Int64 {
        let sha = Sodium.sha256(tag, Array(dataBytes))
        return Int64(bitPattern: sha.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// The same digest from a stored canonical body: over the bytes of its `data` object, which
    /// in a canonical body run from byte 8 to just before `,"format":"` (a string holds no
    /// unescaped quote, so that sequence first appears after the object). Nil for other types or a
    /// body of another shape.
    public static func digest(type: String, body: [UInt8]) -> Int64? {
        guard type == "contribution" || type == "access" else { return nil }
        guard body.count > dataStart, body.starts(with: #"{"data":{"#.utf8) else { return nil }
        let marker = Array(#","format":""#.utf8)
        var end = dataStart
        while end + marker.count <= body.count {
            if body[end] == marker[0] && body[end..<end + marker.count].elementsEqual(marker) { return digest(dataBytes: body[dataStart..<end]) }
            end += 1
        }
        return nil
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
