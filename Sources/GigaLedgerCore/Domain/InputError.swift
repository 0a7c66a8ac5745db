/// Input that is wrong: names the field, the value as given, and what is wrong with it.
///
/// Thrown before anything is written; the executable prints `description` on one line.
public struct InputError: GigaLedgerError, Equatable, Sendable {
    public var kind: FailureKind { .refused }
    public let field: String
    public let value: String
    public let problem: String

    public init(field: String, value: String, problem: String) {
        self.field = field
        self.value = value
        self.problem = problem
    }

    public var description: String {
        "\(field): \(Self.quoted(value)) \(problem)"
    }

    /// The value in double quotes with control characters escaped, so the message stays on one line.
    package static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars.prefix(Self.valueEchoScalarsMax) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Controls, format characters (U+202E turns the rest of a line around) and line
                // separators are shown as escapes: an error stays one line and shows what it says.
                let category = scalar.properties.generalCategory
                if scalar.value < 0x20 || scalar.value == 0x7f || category == .control || category == .format
                    || category == .lineSeparator || category == .paragraphSeparator
                {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        if value.unicodeScalars.count > Self.valueEchoScalarsMax { out += "…" }
        return out + "\""
    }

    /// How much of a bad value an error message repeats.
    static let valueEchoScalarsMax = 80
}
