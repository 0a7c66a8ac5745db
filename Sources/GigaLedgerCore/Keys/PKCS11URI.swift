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

    public var description: String { Self.hidingPIN(text) }

    public static func parse(_ text: String) throws(TokenError) -> PKCS11URI {
        func refuse(_ why: String) -> TokenError { .badURI(Self.hidingPIN(text), why) }
        guard text.utf8.count <= textBytesMax else { throw refuse("it is longer than \(textBytesMax) bytes") }
        guard isURI(text) else { throw refuse("it does not begin with pkcs11:") }
        var uri = PKCS11URI(text: text)
        let rest = text.dropFirst(scheme.count)
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var seen = Set<String>()
        func attributes(_ part: Substring, separator: Character) throws(TokenError) -> [(String, String)] {
            var result = [(String, String)]()
            for item in part.split(separator: separator, omittingEmptySubsequences: true) {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, !pair[0].isEmpty else { throw refuse("\(InputError.quoted(String(item))) is not name=value") }
                let name = pair[0].lowercased()
                guard let value = String(pair[1]).removingPercentEncoding else {
                    throw refuse("the value of \(name) is not percent-encoded text")
                }
                guard seen.insert(name).inserted else { throw refuse("\(name) is given twice") }
                result.append((name, value))
            }
            return result
        }
        for (name, value) in try attributes(parts[0], separator: ";") {
            switch name {
            case "token": uri.token = value
            case "manufacturer": uri.manufacturer = value
            case "model": uri.model = value
            case "serial": uri.serial = value
            case "object": uri.object = value
            case "slot-id":
                guard let slot = UInt(value), String(slot) == value else { throw refuse("slot-id \(InputError.quoted(value)) is not a number") }
                uri.slotID = slot
            case "id":
                // Bytes, percent-encoded: decoded from the raw text, not as UTF-8.
                guard let raw = rawValue(of: "id", in: String(parts[0])), let bytes = percentDecodedBytes(raw), !bytes.isEmpty else {
                    throw refuse("id is not percent-encoded bytes")
                }
                uri.id = bytes
            case "type":
                guard value == "private" else { throw refuse("type=\(value): a signing key is type=private") }
            case "library-manufacturer", "library-description", "library-version", "slot-description", "slot-manufacturer":
                continue  // describe the module or slot; the token's own attributes select it
            default:
                if name.hasPrefix("x-") { continue }
                throw refuse("\(name) is not an attribute of RFC 7512")
            }
        }
        if parts.count == 2 {
            for (name, value) in try attributes(parts[1], separator: "&") {
                switch name {
                case "pin-source": uri.pinSource = value.hasPrefix("file:") ? String(value.dropFirst("file:".count)) : value
                case "pin-value": uri.pinValue = value
                case "module-path": uri.modulePath = value
                case "module-name": throw refuse("module-name is not supported: give module-path, --pkcs11-module or GIGALEDGER_PKCS11_MODULE")
                default:
                    if name.hasPrefix("x-") { continue }
                    throw refuse("\(name) is not a query attribute of RFC 7512")
                }
            }
        }
        guard uri.object != nil || uri.id != nil else { throw refuse("it names no key: give object=LABEL (or id=)") }
        return uri
    }

    /// The text of attribute `name` as written (still percent-encoded).
    static func rawValue(of name: String, in text: String) -> String? {
        for item in text.split(whereSeparator: { $0 == ";" || $0 == "?" || $0 == "&" || $0 == ":" }) {
            let pair = item.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].lowercased() == name { return String(pair[1]) }
        }
        return nil
    }

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

    static func hidingPIN(_ text: String) -> String {
        guard let pin = rawValue(of: "pin-value", in: text) else { return text }
        return text.replacingOccurrences(of: "pin-value=" + pin, with: "pin-value=(hidden)")
    }
}
