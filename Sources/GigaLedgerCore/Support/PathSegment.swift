/// A name made safe as one path segment (a file in a state folder, a page's folder): ASCII
/// letters, digits, `.` and `-` kept, every other character as `replacement`.
public enum PathSegment {
    public static func safe(_ text: String, replacement: Character) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : replacement })
    }
}
