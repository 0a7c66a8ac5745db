#if canImport(Glibc)
import Glibc
#endif

/// Country codes and identifiers, each checked the same way wherever they come in.
public enum Codes {
    /// The 27 EU member states in EU usage: ISO 3166-1 alpha-2, except Greece, written EL.
    public static let memberStates: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ]

    /// The member states' names in English, for reports.
    public static let memberStateNames: [String: String] = [
        "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus", "CZ": "Czechia", "DK": "Denmark",
        "EE": "Estonia", "FI": "Finland", "FR": "France", "DE": "Germany", "EL": "Greece", "HU": "Hungary", "IE": "Ireland",
        "IT": "Italy", "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta", "NL": "Netherlands", "PL": "Poland",
        "PT": "Portugal", "RO": "Romania", "SK": "Slovakia", "SI": "Slovenia", "ES": "Spain", "SE": "Sweden",
    ]

    /// ISO 3166-1 alpha-2 officially assigned codes (2024), for private partners, who may be outside the EU.
    public static let isoCountries: Set<String> = Set(
        """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
        CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
        GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO \
        JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
        MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
        RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV \
        TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
        """.split(separator: " ").map(String.init))

    /// Whether every byte of `text` is ASCII. Codes are compared as bytes, after this: Swift's `==`
    /// takes canonically equivalent spellings as equal (U+212A KELVIN SIGN as K), which would let
    /// `ms:SK` with a Kelvin sign pass for Slovakia while every other reader sees another code.
    public static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    /// A member-state code in EU usage; "GR" is read as "EL", the code EU documents use for Greece.
    public static func memberState(_ text: String, field: String) throws(InputError) -> String {
        let code = text == "GR" ? "EL" : text
        guard isASCII(text), memberStates.contains(code) else {
            throw InputError(field: field, value: text, problem: "is not an EU member-state code (two capital letters, e.g. DE, FR, EL)")
        }
        return code
    }

    /// Any ISO 3166-1 alpha-2 country code, with EL accepted for Greece.
    public static func country(_ text: String, field: String) throws(InputError) -> String {
        guard isASCII(text) else {
            throw InputError(field: field, value: text, problem: "is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. DE, US)")
        }
        if text == "EL" { return "EL" }
        guard isoCountries.contains(text) else {
            throw InputError(field: field, value: text, problem: "is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. DE, US)")
        }
        return text == "GR" ? "EL" : text
    }

    /// The longest factory or partner ID, in bytes.
    public static let idBytesMax = 64

    /// A factory or partner ID: 1 to 64 of `a-z 0-9 -`, starting with a letter or digit.
    public static func identifier(_ text: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        let allowed: (UInt8) -> Bool = { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
        guard !bytes.isEmpty, bytes.count <= idBytesMax, bytes.allSatisfy(allowed), bytes[0] != 0x2d else {
            throw InputError(
                field: field, value: text, problem: "is not an ID: use 1 to \(idBytesMax) lower-case letters, digits and dashes, e.g. de-jupiter-ai")
        }
        return text
    }

    /// Free text stored in an entry (a name, a reason, a reference): not empty, at most
    /// `bytesMax` UTF-8 bytes, none of the characters `isRefusedInText` names, and no white space
    /// (`whiteSpace`) at either end (schema/FORMAT.md, "Text").
    public static func text(_ text: String, field: String, bytesMax: Int, allowEmpty: Bool = false) throws(InputError) -> String {
        if text.isEmpty {
            if allowEmpty { return text }
            throw InputError(field: field, value: text, problem: "is empty")
        }
        guard text.utf8.count <= bytesMax else {
            throw InputError(field: field, value: text, problem: "is \(text.utf8.count) bytes, more than the \(bytesMax) allowed")
        }
        if let refused = text.unicodeScalars.first(where: isRefusedInText) {
            throw InputError(field: field, value: text, problem: "contains \(describe(refused)), which no text may hold")
        }
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
            !whiteSpace.contains(first.value), !whiteSpace.contains(last.value)
        else {
            throw InputError(field: field, value: text, problem: "starts or ends with white space")
        }
        return text
    }

    /// Characters no text may hold: controls (Unicode general category Cc), format characters
    /// (Cf: bidirectional overrides such as U+202E, zero-width characters such as U+200B) and
    /// line and paragraph separators (Zl, Zp). They make look-alike names and break lines.
    /// Read from `refusedInText`, never from a library's Unicode tables (issue 36).
    public static func isRefusedInText(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII, nearly every character of a ledger, without a search: Cc is U+0000-U+001F and U+007F.
        if scalar.value < 0x80 { return scalar.value < 0x20 || scalar.value == 0x7F }
        var (low, high) = (0, refusedInText.count)
        while low < high {
            let middle = (low + high) / 2
            if refusedInText[middle].upperBound < scalar.value { low = middle + 1 } else { high = middle }
        }
        return low < refusedInText.count && refusedInText[low].contains(scalar.value)
    }

    /// The code points of general categories Cc, Cf, Zl and Zp in Unicode 16.0, in order
    /// (schema/FORMAT.md section 5 lists the same ranges, and schema/tools/verify_ledger.py holds
    /// them too; a test compares the three). Fixed, so that what verifies never changes with a
    /// library's Unicode version: a code point unassigned in Unicode 16.0 is allowed, whatever a
    /// later version makes it.
    public static let refusedInText: [ClosedRange<UInt32>] = [
        0x0000...0x001F, 0x007F...0x009F, 0x00AD...0x00AD, 0x0600...0x0605, 0x061C...0x061C, 0x06DD...0x06DD, 0x070F...0x070F, 0x0890...0x0891,
        0x08E2...0x08E2, 0x180E...0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x2066...0x206F, 0xFEFF...0xFEFF, 0xFFF9...0xFFFB,
        0x110BD...0x110BD, 0x110CD...0x110CD, 0x13430...0x1343F, 0x1BCA0...0x1BCA3, 0x1D173...0x1D17A, 0xE0001...0xE0001, 0xE0020...0xE007F,
    ]

    /// The white space a text may not start or end with: Unicode's White_Space code points, listed
    /// here so that every reader uses the same ones (schema/FORMAT.md, "Text").
    public static let whiteSpace: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
        0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]

    /// A code point as a message names it: `U+202E RIGHT-TO-LEFT OVERRIDE`.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
        return "U+\(hex)" + (scalar.properties.name.map { " \($0)" } ?? " (a control character)")
    }

    /// A ledger's origin: text, and a C2SP signed-note key name, since checkpoints are signed under
    /// it: no white space anywhere and no `+` (C2SP signed-note, "Signatures").
    public static func origin(_ text: String, field: String) throws(InputError) -> String {
        let origin = try Codes.text(text, field: field, bytesMax: Genesis.originBytesMax)
        guard isNoteKeyName(origin) else {
            throw InputError(field: field, value: text, problem: "is not a C2SP key name (no spaces, no +), e.g. eurohpc-ju.example/gigaledger")
        }
        return origin
    }

    /// A C2SP signed-note key name: not empty, no White_Space code point, no `+`.
    public static func isNoteKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { whiteSpace.contains($0.value) || $0 == "+" }
    }

    /// The longest name (of a key, factory, partner or beneficiary), in bytes.
    public static let nameBytesMax = 200
    /// The longest reason or reference, in bytes.
    public static let noteBytesMax = 500
}

extension String {
    /// Whether both strings have the same UTF-8 bytes: not Swift's `==`, which takes canonically
    /// equivalent spellings (NFC and NFD, K and U+212A) as equal. Compared as contiguous bytes.
    public func sameBytes(as other: String) -> Bool {
        var left = self, right = other
        return left.withUTF8 { a in right.withUTF8 { b in a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) }
        }
    }
}
