import Foundation

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
        var sha = SHA256State()
        sha.update(tag)
        sha.update(dataBytes)
        return sha.firstInt64()
    }

    /// The same digest from a stored canonical body: over the bytes of its `data` object. Nil for
    /// other types or a body of another shape.
    public static func digest(type: String, body: [UInt8]) -> Int64? {
        dataBytes(type: type, body: body).map { digest(dataBytes: $0) }
    }

    /// The digests of the same facts without and with the duplicate flag (what the duplicate rule
    /// looks a record up by), from the canonical bytes of its `data` object in either form.
    /// `allow_duplicate` sorts before every other member of a contribution's or an access record's
    /// data (keys sort by their bytes: "al" before "am", "be", "ca" and the rest), so the flagged
    /// object is `{"allow_duplicate":true,` followed by the unflagged one after its `{`: one form's
    /// bytes give the other's without encoding the data again. Nil when the bytes are not an object
    /// with a member.
    static func digests(dataBytes bytes: ArraySlice<UInt8>) -> (plain: Int64, flagged: Int64)? {
        guard bytes.count > 2, bytes.first == UInt8(ascii: "{") else { return nil }
        var other = SHA256State()
        other.update(tag)
        if bytes.starts(with: flaggedStart) {
            other.update(openBrace)
            other.update(bytes.dropFirst(flaggedStart.count))
            return (other.firstInt64(), digest(dataBytes: bytes))
        }
        other.update(flaggedStart)
        other.update(bytes.dropFirst())
        return (digest(dataBytes: bytes), other.firstInt64())
    }

    /// How a data object with the duplicate flag begins, and how any object does.
    static let flaggedStart = Array(#"{"allow_duplicate":true,"#.utf8), openBrace = Array("{".utf8)

    /// `digests(dataBytes:)` of a contribution or access record; nil for the other types.
    package static func digests(_ data: EntryData) -> (plain: Int64, flagged: Int64)? {
        switch data {
        case .contribution, .access: return digests(dataBytes: CanonicalJSON.object(EntryBody.encode(data)).encoded()[...])
        default: return nil
        }
    }

    /// `digests(dataBytes:)` from a canonical body (one that reads back, `Entry.readBody`, or one
    /// just encoded): a body of another spelling (say `"allow_duplicate":false`, which no reader
    /// accepts) gives digests of nothing. Nil for other types or another shape.
    package static func digests(type: String, body: [UInt8]) -> (plain: Int64, flagged: Int64)? {
        dataBytes(type: type, body: body).flatMap { digests(dataBytes: $0) }
    }

    /// The bytes of a contribution's or access record's `data` object within its canonical body:
    /// from byte 8 to just before `,"format":"` (a string holds no unescaped quote, so that
    /// sequence first appears after the object). Nil for other types or a body of another shape.
    static func dataBytes(type: String, body: [UInt8]) -> ArraySlice<UInt8>? {
        guard type == "contribution" || type == "access" else { return nil }
        guard body.count > dataStart, body.starts(with: #"{"data":{"#.utf8) else { return nil }
        let marker = Array(#","format":""#.utf8)
        var end = dataStart
        while end + marker.count <= body.count {
            if body[end] == marker[0] && body[end..<end + marker.count].elementsEqual(marker) { return body[dataStart..<end] }
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

/// The keys of the `near_facts` index (schema/FORMAT.md, "Index tables", `near_facts`): what finds
/// the earlier entries a new one may repeat although its facts differ (another reference, a day's
/// shift, a reference in other case). Keys only name candidates; the duplicate rule compares them.
public struct NearKeys: Equatable, Sendable {
    /// Contributions: factory, source, kind, category, amount and the week of the value date;
    /// access: factory, GPU-hours and the week.
    public let amount: Int64
    /// Contributions with a reference: the source and the reference, ASCII letters folded to
    /// lower case; 0 for no reference and for access records.
    public let ref: Int64

    static let amountTag = "gigaledger/near/v1\n", refTag = "gigaledger/ref/v1\n"

    /// How many days apart two value dates are that one week's keys and its neighbours' cover.
    public static let windowDays = 7

    /// The keys of a contribution or access record; nil for the other types.
    public init?(_ data: EntryData) {
        guard let week = Self.week(of: data), let amount = Self.amountKeys(data, weeks: week...week)?.first else { return nil }
        self.init(data, amount: amount)
    }

    /// The keys of `data` whose amount key (of its own week) is known already.
    init(_ data: EntryData, amount: Int64) {
        self.amount = amount
        if case .contribution(let item) = data, !item.ref.isEmpty { ref = Self.refKey(source: item.source, ref: item.ref) } else { ref = 0 }
    }

    /// The amount keys of the weeks whose entries may be within `windowDays` of this one's date:
    /// its own week and the two beside it, and this record's own keys (its amount key is the
    /// second of those). Nil for the other types. The fields are hashed once for the three weeks.
    public static func around(_ data: EntryData) -> (amountKeys: [Int64], own: NearKeys)? {
        guard let week = week(of: data), let keys = amountKeys(data, weeks: week - 1...week + 1) else { return nil }
        return (keys, NearKeys(data, amount: keys[1]))
    }

    /// The amount keys of the weeks whose entries may be within `windowDays` of this one's date:
    /// its own week and the two beside it.
    public static func amountKeysAround(_ data: EntryData) -> [Int64] { around(data)?.amountKeys ?? [] }

    /// The week of a value date: days since 1970-01-01 divided by 7, rounded down.
    static func week(of data: EntryData) -> Int? {
        let date: CalendarDate
        switch data {
        case .contribution(let item): date = item.date
        case .access(let grant): date = grant.date
        default: return nil
        }
        let days = date.dayNumber
        return days >= 0 ? days / 7 : -((-days + 6) / 7)
    }

    /// The amount keys of `data` for each of `weeks`: the first 8 bytes of SHA-256 of the tag, the
    /// fields and the week (FORMAT.md section 7), the tag and the fields hashed once and each week
    /// finishing a copy. Nil for the other types.
    static func amountKeys(_ data: EntryData, weeks: ClosedRange<Int>) -> [Int64]? {
        var shared = SHA256State()
        shared.update(amountTag.utf8)
        guard absorbAmountFields(data, into: &shared) else { return nil }
        return weeks.map { week in
            var sha = shared
            sha.update(String(week).utf8)
            return nonZero(sha.firstInt64())
        }
    }

    /// Absorbs the fields of an amount key before its week, each followed by a newline (FORMAT.md
    /// section 7), into `sha` as they are, with no string made of them (that string's building was
    /// a third of the near keys' time in a verify). False, with nothing absorbed, for the other types.
    static func absorbAmountFields(_ data: EntryData, into sha: inout SHA256State) -> Bool {
        func field(_ text: String) {
            sha.update(text.utf8)
            sha.update(newline)
        }
        switch data {
        case .contribution(let item):
            field("contribution")
            field(item.factory)
            field(item.source.description)
            field(item.kind.rawValue)
            field(item.category.rawValue)
            field(String(item.amount.value))
        case .access(let grant):
            field("access")
            field(grant.factory)
            field(foldedName(grant.beneficiary))
            field(String(grant.gpuHours))
        default: return false
        }
        return true
    }

    private static let newline: [UInt8] = [0x0A]

    /// The reference key: the source, a newline, the reference with A-Z folded to a-z (other
    /// bytes as they are).
    public static func refKey(source: Source, ref: String) -> Int64 {
        var sha = SHA256State()
        sha.update(refTag.utf8)
        sha.update(source.description.utf8)
        sha.update(newline)
        sha.update(ref.utf8.map(lowerCaseASCII))
        return nonZero(sha.firstInt64())
    }

    /// A beneficiary's name as the duplicate rule compares it: compatibility-decomposed (NFKD:
    /// full-width and ligature forms, accents apart), in lower case (Unicode's default full
    /// mapping; the final sigma ς as σ), only the letters and digits kept (general categories L and
    /// N: accents, spaces, punctuation dropped); a name with none is kept as it is. "Müller GmbH",
    /// "MULLER GMBH" and "Ｍｕｌｌｅｒ, GmbH" fold alike.
    ///
    /// Character by character, with Unicode `foldingUnicodeVersion`'s tables: a code point assigned
    /// later is dropped as an unassigned one is, so a binary built with a later Swift (whose tables
    /// know more characters) computes the keys older ledgers hold (FORMAT.md section 7). Folding each
    /// character alone is folding the name: NFKD only reorders combining marks, which are dropped,
    /// and Swift's lower-case mapping takes no context.
    public static func foldedName(_ name: String) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0x30...0x39, 0x61...0x7A: kept.append(scalar)
            case 0x41...0x5A: kept.append(Unicode.Scalar(UInt8(scalar.value) + 0x20))
            case 0..<0x80: continue
            default:
                guard let age = scalar.properties.age, age.major < foldingUnicodeVersion || (age.major == foldingUnicodeVersion && age.minor == 0)
                else { continue }
                for folded in String(Character(scalar)).decomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
                    switch folded.properties.generalCategory {
                    // The final sigma as the sigma: lower-casing maps Σ to either, depending on what follows.
                    case .lowercaseLetter where folded.value == 0x3C2: kept.append("\u{3C3}")
                    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber, .letterNumber,
                        .otherNumber:
                        kept.append(folded)
                    default: continue
                    }
                }
            }
        }
        return kept.isEmpty ? name : String(kept)
    }

    /// The Unicode version (major, minor 0) whose decomposition, lower-case mapping and categories
    /// `foldedName` uses: Swift 6.3's, with which every ledger so far was made.
    public static let foldingUnicodeVersion = 17

    /// `text` with ASCII capitals in lower case: what "differs only in case" means for a reference.
    public static func foldedASCII(_ text: String) -> String {
        String(decoding: text.utf8.map(lowerCaseASCII), as: UTF8.self)
    }

    private static func lowerCaseASCII(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }

    /// A key of 0 taken as 1.
    static func nonZero(_ value: Int64) -> Int64 { value == 0 ? 1 : value }
}
