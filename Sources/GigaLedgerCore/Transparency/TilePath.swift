/// Paths of the C2SP tlog-tiles read API: `tile/<L>/<N>[.p/<W>]` (hashes) and
/// `tile/entries/<N>[.p/<W>]` (entry bundles), where N is written in groups of three digits, each
/// group but the last prefixed with `x` (`x001/x234/067` is 1234067).
public struct TilePath: Equatable, Sendable {
    /// Tiles are 2^8 = 256 hashes wide, and a tile level spans 8 tree levels.
    public static let height = 8
    public static let width = 256

    /// nil for an entry bundle, else the tile level.
    public let level: Int?
    public let index: Int64
    /// 256 for a full tile, 1 to 255 for a partial one.
    public let width: Int

    public init(level: Int?, index: Int64, width: Int) {
        self.level = level
        self.index = index
        self.width = width
    }

    /// The path after `tile/`, in the spec's one spelling.
    public var path: String {
        var groups = [String]()
        var rest = index
        repeat {
            groups.insert(String(rest % 1000).leftPadded(to: 3), at: 0)
            rest /= 1000
        } while rest > 0
        let number = groups.enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
        return "\(level.map(String.init) ?? "entries")/\(number)" + (width < Self.width ? ".p/\(width)" : "")
    }

    /// Parses the path components after `tile/`; nil unless it is exactly the spelling `path` writes.
    public static func parse(_ components: [String]) -> TilePath? {
        guard components.count >= 2, components.count <= 12 else { return nil }
        var parts = components[...]
        let first = parts.removeFirst()
        let level: Int?
        if first == "entries" {
            level = nil
        } else {
            guard first.count <= 2, first.allSatisfy(\.isASCIIDigit), let value = Int(first), value < 8, String(value) == first else { return nil }
            level = value
        }
        var width = Self.width
        if parts.count >= 2, parts[parts.endIndex - 2].hasSuffix(".p") {
            let w = parts.removeLast()
            guard w.allSatisfy(\.isASCIIDigit), let value = Int(w), value >= 1, value < Self.width, String(value) == w else { return nil }
            width = value
            let last = parts.removeLast()
            parts.append(String(last.dropLast(2)))
        }
        var index: Int64 = 0
        for (position, group) in parts.enumerated() {
            let isLast = position == parts.count - 1
            let digits = isLast ? Substring(group) : (group.hasPrefix("x") ? group.dropFirst() : "")
            guard digits.count == 3, digits.allSatisfy(\.isASCIIDigit), let value = Int64(digits) else { return nil }
            guard index <= (Int64.max - 999) / 1000 else { return nil }
            index = index * 1000 + value
        }
        let parsed = TilePath(level: level, index: index, width: width)
        return parsed.path == components.joined(separator: "/") ? parsed : nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
