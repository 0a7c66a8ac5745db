/// Country codes and identifiers, each checked the same way wherever they come in.
public enum Codes {
    /// The 27 EU member states in EU usage: ISO 3166-1 alpha-2, except Greece, written EL.
    public static let memberStates: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ]

    /// ISO 3166-1 alpha-2 officially assigned codes (2024), for private partners, who may be outside the EU.
    public static let isoCountries: Set<String> = Set("""
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO \
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
    MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV \
    TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split(separator: " ").map(String.init))

    /// A member-state code in EU usage; "GR" is read as "EL", the code EU documents use for Greece.
    public static func memberState(_ text: String, field: String) throws(InputError) -> String {
        let code = text == "GR" ? "EL" : text
        guard memberStates.contains(code) else {
            throw InputError(field: field, value: text, problem: "is not an EU member-state code (two capital letters, e.g. DE, FR, EL)")
        }
        return code
    }

    /// Any ISO 3166-1 alpha-2 country code, with EL accepted for Greece.
    public static func country(_ text: String, field: String) throws(InputError) -> String {
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
            throw InputError(field: field, value: text, problem: "is not an ID: use 1 to \(idBytesMax) lower-case letters, digits and dashes, e.g. de-jupiter-ai")
        }
        return text
    }

    /// Free text stored in an entry (a name, a reason, a reference): not empty, at most
    /// `bytesMax` UTF-8 bytes, no control characters, no leading or trailing spaces.
    public static func text(_ text: String, field: String, bytesMax: Int, allowEmpty: Bool = false) throws(InputError) -> String {
        if text.isEmpty {
            if allowEmpty { return text }
            throw InputError(field: field, value: text, problem: "is empty")
        }
        guard text.utf8.count <= bytesMax else {
            throw InputError(field: field, value: text, problem: "is \(text.utf8.count) bytes, more than the \(bytesMax) allowed")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || ($0.value >= 0x7f && $0.value < 0xa0) }) else {
            throw InputError(field: field, value: text, problem: "contains a control character")
        }
        guard text.first?.isWhitespace == false, text.last?.isWhitespace == false else {
            throw InputError(field: field, value: text, problem: "starts or ends with white space")
        }
        return text
    }

    /// The longest name (of a key, factory, partner or beneficiary), in bytes.
    public static let nameBytesMax = 200
    /// The longest reason or reference, in bytes.
    public static let noteBytesMax = 500
}
