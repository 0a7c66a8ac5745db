/// The one JSON spelling GigaLedger writes and accepts for entry bodies (schema/FORMAT.md, "Canonical JSON").
///
/// Objects have their keys sorted by their UTF-8 bytes, no white space anywhere, integers
/// only (no fractions, exponents, leading zeros or minus zero), strings escaped with `\"`, `\\`
/// and `\u00xx` (lower-case hex) for the control characters U+0000 to U+001F and nothing else.
/// Because there is exactly one spelling, `decode` insists on it while it reads: keys in strictly
/// increasing byte order (so no duplicates), no white space, no other number or escape form.
public indirect enum CanonicalJSON: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    /// An integer beyond Int64, which only a report's totals reach (entry bodies never hold one,
    /// and the decoder never makes one).
    case wideInteger(Int128)
    case bool(Bool)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// A total as JSON: an ordinary integer while it fits in 64 bits, a wide one beyond.
    public static func total(_ value: Int128) -> CanonicalJSON {
        Int64(exactly: value).map(CanonicalJSON.integer) ?? .wideInteger(value)
    }

    /// The canonical bytes of this value.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text): Self.writeString(text, into: &out)
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .wideInteger(let value): out.append(contentsOf: String(value).utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in Self.canonicalOrder(members.keys).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x00...0x1f:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses canonical JSON; throws unless `bytes` is exactly the canonical encoding of one value.
    /// Requires `bytes.count <= CanonicalJSON.inputBytesMax`.
    public static func decode(_ bytes: [UInt8]) throws(CanonicalJSONError) -> CanonicalJSON {
        guard bytes.count <= inputBytesMax else { throw .tooLarge(bytes.count) }
        var parser = Parser(bytes: bytes)
        let value = try parser.parseValue(depth: 0)
        guard parser.index == bytes.count else { throw .malformed(at: parser.index, "trailing bytes") }
        assert(value.encoded() == bytes, "CanonicalJSON.decode accepted a non-canonical spelling")
        return value
    }

    /// Parses ordinary JSON written by people (white space, any key order, the usual escapes) into
    /// a value, for files such as policies that are stored canonically once read. Integers only;
    /// duplicate keys and `null` are still refused. Requires `bytes.count <= bytesMax`.
    public static func decodeRelaxed(_ bytes: [UInt8], bytesMax: Int = inputBytesMax) throws(CanonicalJSONError) -> CanonicalJSON {
        guard bytes.count <= bytesMax else { throw .tooLarge(bytes.count) }
        var parser = Parser(bytes: bytes, relaxed: true)
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw .malformed(at: parser.index, "trailing bytes") }
        return value
    }

    /// A relaxed JSON object (as `decodeRelaxed` reads one) whose array members named in `unread`
    /// are left unread: each is given as the byte ranges of its elements in `bytes`, for the caller
    /// to read with `decodeRelaxed` one by one (a server's submission of thousands of entries, read
    /// on every core). Every other member is read as `decodeRelaxed` reads it. An element's range
    /// is found by its brackets and quotes alone, so only reading it says whether it is JSON; once
    /// every element reads, the whole is JSON that `decodeRelaxed` reads to the same value (its
    /// depth then counted from each element). Requires `bytes.count <= bytesMax`.
    public static func decodeRelaxedObject(
        _ bytes: [UInt8], bytesMax: Int, unread: Set<String>
    ) throws(CanonicalJSONError) -> (members: [String: CanonicalJSON], arrays: [String: [Range<Int>]]) {
        guard bytes.count <= bytesMax else { throw .tooLarge(bytes.count) }
        var parser = Parser(bytes: bytes, relaxed: true)
        parser.skipSpace()
        let object = try parser.parseObjectLeavingArrays(unread)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw .malformed(at: parser.index, "trailing bytes") }
        return object
    }

    /// The keys of an object in canonical order (by their UTF-8 bytes).
    static func canonicalOrder(_ keys: some Sequence<String>) -> [String] {
        keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The canonical bytes of an object whose member values are canonical bytes already (made
    /// apart, e.g. on several cores): the same bytes as `encoded()` of the object they spell.
    public static func encodedObject(_ members: [String: [UInt8]]) -> [UInt8] {
        var out = [UInt8(ascii: "{")]
        for (index, key) in canonicalOrder(members.keys).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            out += members[key]!
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The canonical bytes of an array whose elements are canonical bytes already.
    public static func encodedArray(_ elements: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(elements.reduce(2) { $0 + $1.count + 1 })
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += element
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The largest entry body accepted, in bytes.
    public static let inputBytesMax = 64 * 1024
    /// How deeply arrays and objects may nest.
    public static let depthMax = 8
}

public enum CanonicalJSONError: GigaLedgerError, Equatable {
    public var kind: FailureKind { .notVerified }
    case tooLarge(Int)
    case malformed(at: Int, String)
    case notCanonical

    public var description: String {
        switch self {
        case .tooLarge(let count): return "body is \(count) bytes, more than \(CanonicalJSON.inputBytesMax)"
        case .malformed(let offset, let why): return "body is not JSON at byte \(offset): \(why)"
        case .notCanonical: return "body is not in canonical form"
        }
    }
}

/// A strict recursive-descent reader for the subset `CanonicalJSON` writes.
private struct Parser {
    let bytes: [UInt8]
    /// Relaxed: white space between tokens and all of JSON's string escapes are allowed.
    let relaxed: Bool
    var index = 0

    init(bytes: [UInt8], relaxed: Bool = false) {
        self.bytes = bytes
        self.relaxed = relaxed
    }

    mutating func skipSpace() {
        guard relaxed else { return }
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0a || bytes[index] == 0x0d { index += 1 }
    }

    mutating func parseValue(depth: Int) throws(CanonicalJSONError) -> CanonicalJSON {
        guard depth <= CanonicalJSON.depthMax else { throw .malformed(at: index, "nested too deeply") }
        guard index < bytes.count else { throw .malformed(at: index, "unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try parseInteger())
        default: throw .malformed(at: index, "unexpected byte")
        }
    }

    /// The bytes of `word` (ASCII) next, compared in place: a colon is expected for every member.
    mutating func expect(_ word: StaticString) throws(CanonicalJSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
            word.withUTF8Buffer({ expected in expected.indices.allSatisfy { bytes[index + $0] == expected[$0] } })
        else { throw .malformed(at: index, "expected \(word)") }
        index += count
    }

    mutating func parseInteger() throws(CanonicalJSONError) -> Int64 {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        guard index > digitsStart else { throw .malformed(at: start, "bad integer") }
        // Accumulated towards the sign, so Int64.min reads too; overflow is an error, not a wrap.
        var value: Int64 = 0
        for byte in bytes[digitsStart..<index] {
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflowA, !overflowB else { throw .malformed(at: start, "bad integer") }
            value = next
        }
        // One spelling: no leading zero, no minus zero.
        if bytes[digitsStart] == UInt8(ascii: "0"), index - digitsStart > 1 {  // not JSON at all (RFC 8259, section 6)
            throw relaxed ? .malformed(at: start, "a number with a leading zero") : .notCanonical
        }
        if !relaxed, bytes[digitsStart] == UInt8(ascii: "0"), negative { throw .notCanonical }
        return value
    }

    mutating func parseString() throws(CanonicalJSONError) -> String {
        index += 1  // opening quote
        // Most strings have no escape: validate them in place.
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            guard let text = String(validating: bytes[index..<end], as: UTF8.self) else { throw .malformed(at: end + 1, "invalid UTF-8") }
            index = end + 1
            return text
        }
        var out = [UInt8]()
        while true {
            guard index < bytes.count else { throw .malformed(at: index, "unterminated string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw .malformed(at: index, "invalid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                out.append(contentsOf: try parseEscape())
            case 0x00...0x1f:
                throw .malformed(at: index - 1, "raw control character in string")
            default:
                out.append(byte)
            }
        }
    }

    mutating func parseEscape() throws(CanonicalJSONError) -> [UInt8] {
        guard index < bytes.count else { throw .malformed(at: index, "unterminated escape") }
        let kind = bytes[index]
        index += 1
        if relaxed,
            let simple = [
                UInt8(ascii: "/"): UInt8(ascii: "/"), UInt8(ascii: "n"): 0x0a, UInt8(ascii: "t"): 0x09,
                UInt8(ascii: "r"): 0x0d, UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0c,
            ][kind]
        {
            return [simple]
        }
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): return [kind]
        case UInt8(ascii: "u") where relaxed:
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw .malformed(at: index, "a high surrogate without its low surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw .malformed(at: index, "a high surrogate without its low surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let character = Unicode.Scalar(scalar) else { throw .malformed(at: index, "a lone surrogate") }
            return Array(String(character).utf8)
        case UInt8(ascii: "u"):
            guard index + 4 <= bytes.count, let value = Encoding.unhex(String(decoding: bytes[index..<index + 4], as: UTF8.self)),
                value[0] == 0, value[1] < 0x20
            else { throw .malformed(at: index, "only \\u0000 to \\u001f may be escaped") }
            guard !bytes[index..<index + 4].contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) else { throw .notCanonical }
            index += 4
            return [value[1]]
        default: throw .malformed(at: index - 1, "unknown escape")
        }
    }

    /// Four hex digits, either case (relaxed JSON only).
    mutating func hex4() throws(CanonicalJSONError) -> UInt32 {
        guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
            bytes[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
        else { throw .malformed(at: index, "\\u needs four hex digits") }
        index += 4
        return value
    }

    mutating func parseArray(depth: Int) throws(CanonicalJSONError) -> CanonicalJSON {
        index += 1
        var items = [CanonicalJSON]()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try parseValue(depth: depth + 1))
            skipSpace()
            guard index < bytes.count else { throw .malformed(at: index, "unterminated array") }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "]") { return .array(items) }
            guard separator == UInt8(ascii: ",") else { throw .malformed(at: index - 1, "expected , or ]") }
        }
    }

    mutating func parseObject(depth: Int) throws(CanonicalJSONError) -> CanonicalJSON {
        index += 1
        var members = [String: CanonicalJSON]()
        var previousKey: String?
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed(at: index, "expected a key") }
            let key = try parseString()
            guard members[key] == nil else { throw .malformed(at: index, "duplicate key \(key)") }
            if !relaxed, let previousKey, !previousKey.utf8.lexicographicallyPrecedes(key.utf8) { throw .notCanonical }
            previousKey = key
            skipSpace()
            try expect(":")
            skipSpace()
            members[key] = try parseValue(depth: depth + 1)
            skipSpace()
            guard index < bytes.count else { throw .malformed(at: index, "unterminated object") }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "}") { return .object(members) }
            guard separator == UInt8(ascii: ",") else { throw .malformed(at: index - 1, "expected , or }") }
        }
    }

    /// `CanonicalJSON.decodeRelaxedObject`: an object read as `parseObject` reads it (relaxed),
    /// but for the array members named in `unread`, whose elements' ranges are found instead
    /// (`elementRanges`).
    mutating func parseObjectLeavingArrays(
        _ unread: Set<String>
    ) throws(CanonicalJSONError) -> (members: [String: CanonicalJSON], arrays: [String: [Range<Int>]]) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw .malformed(at: index, "expected an object") }
        index += 1
        var members = [String: CanonicalJSON](), arrays = [String: [Range<Int>]]()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return (members, arrays)
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed(at: index, "expected a key") }
            let key = try parseString()
            guard members[key] == nil, arrays[key] == nil else { throw .malformed(at: index, "duplicate key \(key)") }
            skipSpace()
            try expect(":")
            skipSpace()
            if unread.contains(key), index < bytes.count, bytes[index] == UInt8(ascii: "[") {
                arrays[key] = try elementRanges()
            } else {
                members[key] = try parseValue(depth: 1)
            }
            skipSpace()
            guard index < bytes.count else { throw .malformed(at: index, "unterminated object") }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "}") { return (members, arrays) }
            guard separator == UInt8(ascii: ",") else { throw .malformed(at: index - 1, "expected , or }") }
        }
    }

    /// The byte ranges of the elements of the array at `index`, found by brackets and quotes
    /// alone (an element is read, and so checked, by whoever reads its range).
    mutating func elementRanges() throws(CanonicalJSONError) -> [Range<Int>] {
        index += 1  // [
        var ranges = [Range<Int>]()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return ranges
        }
        while true {
            skipSpace()
            let start = index
            try skipElement()
            ranges.append(start..<index)
            skipSpace()
            guard index < bytes.count else { throw .malformed(at: index, "unterminated array") }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "]") { return ranges }
            guard separator == UInt8(ascii: ",") else { throw .malformed(at: index - 1, "expected , or ]") }
        }
    }

    /// Moves past one element: a string to its closing quote, an object or array to the bracket
    /// that closes it (outside strings), anything else to the next `,`, `]`, `}` or white space.
    mutating func skipElement() throws(CanonicalJSONError) {
        let start = index
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                try skipString()
                if depth == 0 { return }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), 0x20, 0x09, 0x0a, 0x0d:
                if depth == 0 {
                    guard index > start else { throw .malformed(at: index, "expected a value") }
                    return
                }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return
                    }
                }
            default: break
            }
            index += 1
        }
        throw .malformed(at: index, depth > 0 ? "unterminated array or object" : "unexpected end")
    }

    /// Moves past a string, from its opening quote to its closing one (an escape's next byte skipped).
    mutating func skipString() throws(CanonicalJSONError) {
        let start = index
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        throw .malformed(at: start, "unterminated string")
    }
}
