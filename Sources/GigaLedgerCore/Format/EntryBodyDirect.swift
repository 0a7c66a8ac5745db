/// Contributions and access records are almost every entry of a ledger, so their bodies are
/// written and read directly, byte by byte in canonical key order, without building a
/// `CanonicalJSON` tree. The general path stays the definition: `encodedDirectly` must give its
/// bytes, and `decodeDirectly` only accepts a body whose values would be written back to exactly
/// the same bytes (anything else falls back to the general path, which names the problem). Debug
/// builds check both against the general path on every call; in every build, `DirectCodecTests`
/// proves the two equal on each field's edge values and a test flips every byte.
extension EntryBody {
    /// The canonical bytes of a contribution or access body; nil for the other types.
    func encodedDirectly() -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(Self.directBytesGuess)
        out.append(contentsOf: #"{"data":{"#.utf8)
        switch data {
        case .contribution(let item) where !item.allowsDuplicate:
            Self.member("amount_cents", integer: item.amount.value, first: true, into: &out)
            Self.member("category", string: item.category.rawValue, into: &out)
            Self.member("date", string: item.date.description, into: &out)
            Self.member("factory", string: item.factory, into: &out)
            Self.member("kind", string: item.kind.rawValue, into: &out)
            Self.member("ref", string: item.ref, into: &out)
            Self.member("source", string: item.source.description, into: &out)
        case .access(let grant) where !grant.allowsDuplicate && grant.partner == nil:
            Self.member("beneficiary", string: grant.beneficiary, first: true, into: &out)
            Self.member("category", string: grant.category.rawValue, into: &out)
            Self.member("charge_cents", integer: grant.charge.value, into: &out)
            out.append(contentsOf: #","commercial":"#.utf8)
            out.append(contentsOf: (grant.isCommercial ? "true" : "false").utf8)
            if let country = grant.country { Self.member("country", string: country, into: &out) }
            Self.member("date", string: grant.date.description, into: &out)
            Self.member("factory", string: grant.factory, into: &out)
            Self.member("gpu_hours", integer: grant.gpuHours, into: &out)
            Self.member("pool", string: grant.pool.rawValue, into: &out)
        default:
            return nil
        }
        out.append(UInt8(ascii: "}"))
        Self.member("format", string: formatText, into: &out)
        Self.member("recorded_at", string: recordedAt, into: &out)
        Self.member("seq", integer: seq, into: &out)
        Self.member("signer", string: signer.description, into: &out)
        Self.member("type", string: type, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Room for a typical body, so writing one allocates once.
    private static let directBytesGuess = 384

    private static func member(_ key: StaticString, string: String, first: Bool = false, into out: inout [UInt8]) {
        writeKey(key, first: first, into: &out)
        CanonicalJSON.writeString(string, into: &out)
    }

    private static func member(_ key: StaticString, integer: Int64, first: Bool = false, into out: inout [UInt8]) {
        writeKey(key, first: first, into: &out)
        out.append(contentsOf: String(integer).utf8)
    }

    private static func writeKey(_ key: StaticString, first: Bool, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: #"":"#.utf8)
    }

    /// A contribution or access body read directly; nil when it is another type or not exactly
    /// canonical (the general path then reads it or says what is wrong).
    static func decodeDirectly(_ bytes: [UInt8]) -> EntryBody? {
        var reader = DirectReader(bytes: bytes)
        guard reader.skip(#"{"data":{"#) else { return nil }
        let data: EntryData
        if reader.peek(#""amount_cents":"#) {
            guard reader.skip(#""amount_cents":"#), let amount = reader.integer(),
                reader.skip(#","category":"#), let category = reader.string(),
                reader.skip(#","date":"#), let date = reader.string(),
                reader.skip(#","factory":"#), let factory = reader.string(),
                reader.skip(#","kind":"#), let kind = reader.string(),
                reader.skip(#","ref":"#), let ref = reader.string(),
                reader.skip(#","source":"#), let source = reader.string(),
                let made = try? makeContribution(
                    factory: factory, source: source, amount: amount, date: date, category: category, kind: kind, ref: ref),
                case .contribution(let item) = made,
                item.factory == factory, item.ref == ref, item.source.description == source
            else { return nil }
            data = made
        } else {
            guard reader.skip(#""beneficiary":"#), let beneficiary = reader.string(),
                reader.skip(#","category":"#), let category = reader.string(),
                reader.skip(#","charge_cents":"#), let charge = reader.integer(),
                reader.skip(#","commercial":"#), let commercial = reader.bool(),
                let country = reader.optionalMember(#","country":"#),
                reader.skip(#","date":"#), let date = reader.string(),
                reader.skip(#","factory":"#), let factory = reader.string(),
                reader.skip(#","gpu_hours":"#), let hours = reader.integer(),
                reader.skip(#","pool":"#), let pool = reader.string(),
                let made = try? makeAccess(
                    factory: factory, beneficiary: beneficiary, category: category, hours: hours, date: date, pool: pool,
                    commercial: commercial, charge: charge, country: country.value),
                case .access(let grant) = made, grant.factory == factory, grant.beneficiary == beneficiary, grant.country == country.value
            else { return nil }
            data = made
        }
        guard reader.skip(#"},"format":"#), let stated = reader.string(), let version = try? formatVersion(stated),
            reader.skip(#","recorded_at":"#), let recordedAt = reader.string(), Timestamp.isValid(recordedAt),
            reader.skip(#","seq":"#), let seq = reader.integer(), seq >= 1,
            reader.skip(#","signer":"#), let signerText = reader.string(), let signer = try? KeyID.parse(signerText, field: "signer"),
            reader.skip(#","type":"#), reader.string() == data.type, reader.skip("}"), reader.atEnd
        else { return nil }
        // Exactly canonical without writing the body again: the keys and their order were matched
        // above, strings have no escapes (so their bytes are their text), integers have one
        // spelling (`integer`), and every value is what its text says: free text and IDs are kept
        // verbatim (compared above), a source is compared with its text (ms:GR reads as ms:EL),
        // dates, key IDs and the enumerations parse only their one spelling, numbers are kept.
        return EntryBody(seq: seq, signer: signer, recordedAt: recordedAt, data: data, version: version)
    }
}

/// An optional member as read: absent (`value` nil) or its text.
private struct OptionalMember {
    let value: String?
}

/// Reads the few JSON forms a direct body holds; says nil at anything else.
private struct DirectReader {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index == bytes.count }

    func peek(_ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { literal in
            index + literal.count <= bytes.count && bytes[index..<index + literal.count].elementsEqual(literal)
        }
    }

    mutating func skip(_ literal: StaticString) -> Bool {
        guard peek(literal) else { return false }
        index += literal.utf8CodeUnitCount
        return true
    }

    /// An optional string member: `.some(nil)` when the next bytes are not `key`, `.some(text)`
    /// when they are followed by a plain string, nil (not canonical) otherwise.
    mutating func optionalMember(_ key: StaticString) -> OptionalMember? {
        guard peek(key) else { return OptionalMember(value: nil) }
        _ = skip(key)
        guard let text = string() else { return nil }
        return OptionalMember(value: text)
    }

    /// A string without escapes (one with escapes goes the general way).
    mutating func string() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        var end = index + 1, ascii = true
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
            ascii = ascii && bytes[end] < 0x80
            end += 1
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let range = index + 1..<end
        // ASCII is UTF-8 as it is, read without the general validation (unspecialised, a few
        // percent of a verify); anything else is validated, and read the general way if invalid.
        let text =
            ascii
            ? bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
            : String(validating: bytes[range], as: UTF8.self)
        guard let text else { return nil }
        index = end + 1
        return text
    }

    /// An integer in its one spelling (no leading zero, no minus zero), of at most 18 digits
    /// (larger ones go the general way).
    mutating func integer() -> Int64? {
        var value: Int64 = 0, digits = 0
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let first = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), digits < 18 {
            value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
            digits += 1
        }
        guard digits > 0, bytes[first] != UInt8(ascii: "0") || (digits == 1 && !negative) else { return nil }
        return negative ? -value : value
    }

    mutating func bool() -> Bool? {
        if skip("true") { return true }
        if skip("false") { return false }
        return nil
    }
}
