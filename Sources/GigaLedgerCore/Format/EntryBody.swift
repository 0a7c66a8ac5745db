import Foundation

/// The canonical body of one ledger entry: everything the entry says, including its own
/// sequence number, type, signer and recording time, so that the entry hash covers every
/// stored column but the hash and the signature themselves (schema/FORMAT.md, "Entry body").
public struct EntryBody: Equatable, Sendable {
    /// The format this version writes: every entry it records is of it.
    public static let format = "gigaledger/entry/v2"
    /// The latest format version this binary reads and the one it writes.
    public static let formatVersion = 2
    /// The format versions this binary reads: v1 (before the registrations' effective dates and the
    /// report issues' members) and v2 (schema/FORMAT.md section 4).
    public static let formatVersions = 1...formatVersion

    public let seq: Int64
    public let signer: KeyID
    public let recordedAt: String
    public let data: EntryData
    /// The body's format version (`gigaledger/entry/vN`): what members its types may have.
    public let version: Int

    public init(seq: Int64, signer: KeyID, recordedAt: String, data: EntryData, version: Int = EntryBody.formatVersion) {
        precondition(Self.formatVersions.contains(version), "EntryBody: format version \(version) is not one this binary writes")
        self.seq = seq
        self.signer = signer
        self.recordedAt = recordedAt
        self.data = data
        self.version = version
    }

    public var type: String { data.type }

    /// `gigaledger/entry/vN` of this body.
    public var formatText: String { Self.formatText(version) }

    static func formatText(_ version: Int) -> String { version == formatVersion ? format : "gigaledger/entry/v\(version)" }

    /// The canonical JSON bytes stored in the `body` column.
    public func encoded() -> [UInt8] {
        guard let bytes = encodedDirectly() else { return encodedGenerally() }
        assert(bytes == encodedGenerally(), "EntryBody.encodedDirectly differs from the canonical encoding")
        return bytes
    }

    /// Through `CanonicalJSON`: every type.
    func encodedGenerally() -> [UInt8] {
        CanonicalJSON.object([
            "format": .string(formatText),
            "seq": .integer(seq),
            "type": .string(type),
            "signer": .string(signer.description),
            "recorded_at": .string(recordedAt),
            "data": .object(Self.encode(data)),
        ]).encoded()
    }

    /// Reads a stored body. Throws unless it is canonical JSON with exactly the fields of
    /// its type, every value valid, and it re-encodes to exactly the same bytes.
    public static func decode(_ bytes: [UInt8]) throws(EntryFormatError) -> EntryBody {
        if let body = decodeDirectly(bytes) {
            assert(body == (try? decodeGenerally(bytes)), "EntryBody.decodeDirectly accepted what decodeGenerally does not")
            return body
        }
        return try decodeGenerally(bytes)
    }

    /// Through `CanonicalJSON`: every type, and the error that says what is wrong.
    static func decodeGenerally(_ bytes: [UInt8]) throws(EntryFormatError) -> EntryBody {
        let json: CanonicalJSON
        do { json = try CanonicalJSON.decode(bytes) } catch { throw .json(error) }
        var top = try Fields(json, path: "body")
        let stated = try top.string("format")
        let version = try formatVersion(stated)
        let seq = try top.integer("seq")
        guard seq >= 1 else { throw .field("body.seq", "is not a positive sequence number") }
        let type = try top.string("type")
        let signerText = try top.string("signer")
        let signer = try lift { () throws(InputError) in try KeyID.parse(signerText, field: "signer") }
        let recordedAt = try top.string("recorded_at")
        guard Timestamp.isValid(recordedAt) else { throw .field("body.recorded_at", "is not a UTC time YYYY-MM-DDTHH:MM:SSZ") }
        var dataFields = try top.object("data")
        try top.finish()
        let data = try decodeData(type: type, fields: &dataFields, version: version)
        try dataFields.finish()
        let body = EntryBody(seq: seq, signer: signer, recordedAt: recordedAt, data: data, version: version)
        guard body.encodedGenerally() == bytes else { throw .notCanonical }
        return body
    }
}

extension EntryBody {
    /// The version a body's `format` states: one this binary reads, or "written by a newer
    /// GigaLedger" for a later one (not a damaged entry: one this version cannot judge).
    /// The format version a stored canonical body states, read without decoding the body (an
    /// append asks it of the entry before, every time): after the last `,"format":"gigaledger/entry/v`,
    /// which is the top-level member's, since the members after it (`recorded_at`, `seq`,
    /// `signer`, `type`) never hold that sequence. Nil when the bytes are not of that shape or
    /// state no known version: the caller then decodes them and is told why.
    public static func statedVersion(_ body: [UInt8]) -> Int? {
        let marker = Array(#","format":"gigaledger/entry/v"#.utf8)
        guard body.count > marker.count else { return nil }
        var start = body.count - marker.count
        while start > 0 && !body[start..<start + marker.count].elementsEqual(marker) { start -= 1 }
        guard start > 0 else { return nil }
        var index = start + marker.count, version = 0, digits = 0
        while index < body.count, digits < 3, (0x30...0x39).contains(body[index]) {
            version = version * 10 + Int(body[index] - 0x30)
            index += 1
            digits += 1
        }
        guard digits > 0, index < body.count, body[index] == 0x22, formatVersions.contains(version) else { return nil }
        return version
    }

    static func formatVersion(_ stated: String) throws(EntryFormatError) -> Int {
        let prefix = "gigaledger/entry/v"
        // Decimal digits without a leading zero, of any length (FORMAT.md section 4): a number
        // beyond Int is a later revision too, not a malformed one.
        let digits = stated.dropFirst(prefix.count)
        if stated.hasPrefix(prefix), !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), digits.first != "0" {
            if let version = Int(digits), formatVersions.contains(version) { return version }
            if Int(digits).map({ $0 > formatVersion }) ?? true { throw .newerFormat(stated) }
        }
        throw .field("body.format", "is not one of \(formatVersions.map { formatText($0) }.joined(separator: ", "))")
    }
}

/// Why a stored body could not be read.
/// A stored body that cannot be read is a ledger that does not verify; a parser of outside input
/// (a policy file, a receipt) turns this into its own refusal.
public enum EntryFormatError: GigaLedgerError, Equatable {
    public var kind: FailureKind {
        if case .newerFormat = self { return .unusable }
        return .notVerified
    }
    case json(CanonicalJSONError)
    /// `gigaledger/entry/vN` with N above the version this binary reads: written by a newer
    /// GigaLedger; this one can judge nothing of it (exit 2, never "not verified").
    case newerFormat(String)
    case field(String, String)
    case input(InputError)
    case unknownType(String)
    case notCanonical

    public var description: String {
        switch self {
        case .json(let error): return error.description
        case .field(let path, let problem): return "\(path) \(problem)"
        case .input(let error): return "body.data.\(error.description)"
        case .unknownType(let type): return "unknown entry type \(InputError.quoted(type))"
        case .notCanonical: return "body is not in canonical form (its values re-encode differently)"
        case .newerFormat(let stated):
            return
                "written by a newer GigaLedger (body format \(stated); this version reads \(EntryBody.format)): upgrade gigaledger to read this ledger"
        }
    }
}

/// UTC recording times in RFC 3339 form with whole seconds and `Z`: `2026-01-31T09:30:00Z`.
public enum Timestamp {
    /// The time now, refused when the system clock is outside the dates a ledger holds (2021 to
    /// 2099): an entry recorded then would never verify.
    public static func now() throws(ClockError) -> String {
        let text = format(Date())
        guard isValid(text) else { throw ClockError(time: text) }
        return text
    }

    public static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String { String(value).leftPadded(to: width) }
        return
            "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    /// The instant a valid timestamp names; nil when it is not one.
    public static func date(_ text: String) -> Date? {
        guard isValid(text), let day = try? CalendarDate.parse(String(text.prefix(10)), field: "") else { return nil }
        let bytes = Array(text.utf8)
        func number(_ at: Int) -> Int { Int(bytes[at] - 0x30) * 10 + Int(bytes[at + 1] - 0x30) }
        let seconds = day.dayNumber * 86_400 + number(11) * 3600 + number(14) * 60 + number(17)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[10] == UInt8(ascii: "T"), bytes[19] == UInt8(ascii: "Z"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return false }
        guard (try? CalendarDate.parse(String(decoding: bytes[0..<10], as: UTF8.self), field: "")) != nil else { return false }
        func number(_ at: Int) -> Int? {
            let pair = bytes[at..<at + 2]
            guard pair.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(pair.first! - 0x30) * 10 + Int(pair.last! - 0x30)
        }
        guard let hour = number(11), let minute = number(14), let second = number(17) else { return false }
        return hour < 24 && minute < 60 && second < 60
    }
}
