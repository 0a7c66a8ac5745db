import Foundation

/// A key on a token, named by a PKCS#11 URI (RFC 7512): `pkcs11:token=Officer;object=ledger`,
/// with `manufacturer`, `model`, `serial`, `slot-id`, `id` (the object's CKA_ID, percent-encoded
/// bytes) and `type` (`private`) as well; and in the query, `pin-source` (a file holding the PIN:
/// `file:/path` or a path), `pin-value`, `module-path` (the PKCS#11 module to load). Attributes
/// named `x-...` (a vendor's) are ignored; any other unknown attribute is refused, so that a typing
/// mistake never selects another key.
public struct PKCS11URI: Equatable, Sendable, CustomStringConvertible {
    public var token: String?
    public var manufacturer: String?
    public var model: String?
    public var serial: String?
    public var slotID: UInt?
    public var object: String?
    public var id: [UInt8]?
    public var pinSource: String?
    public var pinValue: String?
    public var modulePath: String?
    /// The text given, for messages (its `pin-value` hidden).
    public let text: String

    public static let scheme = "pkcs11:"
    /// The longest URI read (RFC 7512 sets none; a token's fields are at most 64 bytes each).
    public static let textBytesMax = 2048

    /// Whether `text` is meant as a PKCS#11 URI rather than a key file's path.
    public static func isURI(_ text: String) -> Bool { text.lowercased().hasPrefix(scheme) }

    /// The URI as given, its `pin-value` hidden and any control character escaped: for messages.
    public var description: String { InputError.quoted(Self.hidingPIN(text)) }

    public static func parse(_ text: String) throws(TokenError) -> PKCS11URI {
        func refuse(_ why: String) -> TokenError { .badURI(InputError.quoted(Self.hidingPIN(text)), why) }
        guard text.utf8.count <= textBytesMax else { throw refuse("it is longer than \(textBytesMax) bytes") }
        guard isURI(text) else { throw refuse("it does not begin with pkcs11:") }
        var uri = PKCS11URI(text: text)
        let (path, query) = split(text)
        var seen = Set<String>()
        /// Each `name=value` of a part, the value still percent-encoded.
        func attributes(_ part: Substring, separator: Character) throws(TokenError) -> [(String, Substring)] {
            var result = [(String, Substring)]()
            for item in part.split(separator: separator, omittingEmptySubsequences: true) {
                guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                    throw refuse("\(InputError.quoted(String(item))) is not name=value")
                }
                let name = item[..<equals].lowercased()
                guard seen.insert(name).inserted else { throw refuse("\(name) is given twice") }
                result.append((name, item[item.index(after: equals)...]))
            }
            return result
        }
        func decoded(_ name: String, _ raw: Substring) throws(TokenError) -> String {
            guard let bytes = percentDecodedBytes(String(raw)), let value = String(validating: bytes, as: UTF8.self) else {
                throw refuse("the value of \(name) is not percent-encoded UTF-8 text")
            }
            return value
        }
        for (name, raw) in try attributes(path, separator: ";") {
            switch name {
            case "token": uri.token = try decoded(name, raw)
            case "manufacturer": uri.manufacturer = try decoded(name, raw)
            case "model": uri.model = try decoded(name, raw)
            case "serial": uri.serial = try decoded(name, raw)
            case "object": uri.object = try decoded(name, raw)
            case "slot-id":
                let value = try decoded(name, raw)
                guard let slot = UInt(value), String(slot) == value else { throw refuse("slot-id \(InputError.quoted(value)) is not a number") }
                uri.slotID = slot
            case "id":
                // Bytes, percent-encoded: any bytes, not text.
                guard let bytes = percentDecodedBytes(String(raw)), !bytes.isEmpty else { throw refuse("id is not percent-encoded bytes") }
                uri.id = bytes
            case "type":
                guard try decoded(name, raw) == "private" else { throw refuse("type=\(raw): a signing key is type=private") }
            case "library-manufacturer", "library-description", "library-version", "slot-description", "slot-manufacturer":
                continue  // describe the module or slot; the token's own attributes select it
            default:
                if name.hasPrefix("x-") { continue }
                throw refuse("\(name) is not an attribute of RFC 7512")
            }
        }
        if let query {
            for (name, raw) in try attributes(query, separator: "&") {
                switch name {
                case "pin-source":
                    let value = try decoded(name, raw)
                    uri.pinSource = value.hasPrefix("file:") ? String(value.dropFirst("file:".count)) : value
                case "pin-value": uri.pinValue = try decoded(name, raw)
                case "module-path": uri.modulePath = try decoded(name, raw)
                case "module-name": throw refuse("module-name is not supported: give module-path, --pkcs11-module or GIGALEDGER_PKCS11_MODULE")
                default:
                    if name.hasPrefix("x-") { continue }
                    throw refuse("\(name) is not a query attribute of RFC 7512")
                }
            }
        }
        guard uri.object != nil || uri.id != nil else {
            throw refuse("it names no key: give object=LABEL (or id=), and quote the URI: a shell ends a command at ;")
        }
        return uri
    }

    /// The path and the query (after the first `?`; a `#fragment` is part of neither).
    static func split(_ text: String) -> (path: Substring, query: Substring?) {
        let body = text.dropFirst(scheme.count).prefix { $0 != "#" }
        guard let mark = body.firstIndex(of: "?") else { return (body, nil) }
        return (body[..<mark], body[body.index(after: mark)...])
    }

    /// Bytes from percent-encoded text (`%` and two hex digits; other characters as their UTF-8).
    static func percentDecodedBytes(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](), utf8 = Array(text.utf8), index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%") {
                guard index + 2 < utf8.count, let byte = UInt8(String(decoding: utf8[index + 1...index + 2], as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return bytes
    }

    /// `text` with the value of every `pin-value` (in any case) of its query replaced.
    static func hidingPIN(_ text: String) -> String {
        guard let mark = text.firstIndex(of: "?") else { return text }
        let query = text[text.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false).map { item in
            item.lowercased().hasPrefix("pin-value=") ? "pin-value=(hidden)" : String(item)
        }
        return String(text[...mark]) + query.joined(separator: "&")
    }
}
