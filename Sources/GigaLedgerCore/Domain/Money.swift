import Foundation

/// An amount of euros as a whole number of cents; never a floating-point number.
///
/// Parsed from decimal text with at most two decimals ("1234", "1234.5", "1234.56"), no sign,
/// no thousands separators, no currency sign, no leading zeros, no exponent.
public struct Cents: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: Int64

    /// The largest amount one entry may carry: EUR 100,000,000,000.00, far above any single
    /// gigafactory's CAPEX (EUR 3-5 billion reported), and small enough that sums of a
    /// million such entries fit in Int64 and JSON readers with 53-bit integers read it exactly.
    public static let amountCentsMax: Int64 = 100_000_000_000_00

    public init(_ value: Int64) {
        precondition(value >= 0 && value <= Self.amountCentsMax, "Cents.init: \(value) out of range")
        self.value = value
    }

    public static func < (a: Cents, b: Cents) -> Bool { a.value < b.value }

    /// Parses euro text into cents; `field` names the flag in errors.
    /// Zero is refused unless `allowZero` (a charge may be zero, a contribution may not).
    public static func parse(_ text: String, field: String, allowZero: Bool = false) throws(InputError) -> Cents {
        func fail(_ problem: String) -> InputError { InputError(field: field, value: text, problem: problem) }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw fail("is empty; write euros like 1234.56") }
        // Only digits and points (every good amount): no currency mark to look for (an import reads many).
        let digitsAndPoints = bytes.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }
        if !digitsAndPoints, let currency = currencyMarked(text) {
            throw fail(
                "has a currency \(currency.allSatisfy(\.isLetter) ? "code" : "sign") (\(currency)): write the number alone (every amount is in euros), e.g. 1234.56"
            )
        }
        if bytes[0] == UInt8(ascii: "-") { throw fail("is negative; amounts are positive, record a correction to reverse one") }
        if bytes.first == UInt8(ascii: " ") || bytes.last == UInt8(ascii: " ") {
            throw fail(
                "has spaces around it (a spreadsheet's padding?); write the number alone, \(InputError.quoted(text.trimmingCharacters(in: .whitespaces)))"
            )
        }
        // A decimal comma, as German and French spreadsheets write euros: 250000,00 or 1.500.000,5.
        if let comma = bytes.lastIndex(of: UInt8(ascii: ",")), (1...2).contains(bytes.count - comma - 1),
            !bytes[(comma + 1)...].contains(UInt8(ascii: ".")), bytes.filter({ $0 == UInt8(ascii: ",") }).count == 1
        {
            let (whole, fraction) = (String(decoding: bytes[..<comma], as: UTF8.self), String(decoding: bytes[(comma + 1)...], as: UTF8.self))
            guard whole.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E }), fraction.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                !whole.isEmpty, !fraction.isEmpty
            else { throw fail("has a decimal comma; write a decimal point and no thousands separator, e.g. 250000.00") }
            let groups = whole.split(separator: ".", omittingEmptySubsequences: false)
            // Dots between groups of three: thousands separators, dropped in the advice; elsewhere, said.
            guard groups.count == 1 || (groups[0].count <= 3 && groups.dropFirst().allSatisfy { $0.count == 3 }) else {
                throw fail("has a decimal comma and dots that do not separate groups of three digits (1.234.567,89); write 1234567.89")
            }
            throw fail("has a decimal comma; write a decimal point and no thousands separator: \(Self.pointed(whole, fraction))")
        }
        if bytes.contains(UInt8(ascii: ",")) || bytes.contains(UInt8(ascii: " ")) || bytes.contains(UInt8(ascii: "_"))
            || bytes.contains(UInt8(ascii: "'"))
        {
            throw fail("has a thousands separator; write 1234567.89, not 1,234,567.89")
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw fail("is not a decimal number of euros") }
        let whole = Array(parts[0])
        let fraction = parts.count == 2 ? Array(parts[1]) : []
        let isDigit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !whole.isEmpty, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else {
            if bytes.contains(where: { !isDigit($0) && $0 != UInt8(ascii: ".") }) {
                throw fail("is not a plain number of euros (no currency sign, letters or exponent); write 1234.56")
            }
            throw fail("is not a decimal number of euros; write 1234.56")
        }
        guard parts.count == 1 || !fraction.isEmpty else { throw fail("ends with a decimal point") }
        guard fraction.count <= 2 else { throw fail("has more than two decimals; amounts are whole cents") }
        guard whole.count == 1 || whole[0] != UInt8(ascii: "0") else { throw fail("has a leading zero") }
        guard whole.count <= 12 else { throw fail("is over the maximum of \(Cents.formatted(amountCentsMax)) per entry") }
        var cents: Int64 = 0
        for digit in whole { cents = cents * 10 + Int64(digit - UInt8(ascii: "0")) }
        var fractionCents: Int64 = 0
        for (position, digit) in fraction.enumerated() { fractionCents += Int64(digit - UInt8(ascii: "0")) * (position == 0 ? 10 : 1) }
        cents = cents * 100 + fractionCents
        guard cents <= amountCentsMax else { throw fail("is over the maximum of \(Cents.formatted(amountCentsMax)) per entry") }
        guard cents > 0 || allowZero else { throw fail("is zero; an amount must be at least 0.01") }
        return Cents(cents)
    }

    /// A decimal-comma amount's parts (`1.234`, `5`) written as this type reads them (`1234.50`):
    /// the thousands dots dropped, the cents given two digits.
    package static func pointed(_ whole: some StringProtocol, _ fraction: some StringProtocol) -> String {
        whole.replacingOccurrences(of: ".", with: "") + "." + (fraction.count == 1 ? fraction + "0" : String(fraction))
    }

    /// The currency sign or code an amount is written with (`5000.00 €`, `EUR 5000`, `$12`), when
    /// the rest is a number: named as such, not as a stray character or a thousands separator.
    static func currencyMarked(_ text: String) -> String? {
        let spaces: Set<Character> = [" ", "\u{00A0}", "\u{202F}"]
        for currency in ["€", "EUR", "Eur", "eur", "EURO", "Euro", "euro", "$", "£", "¥", "USD", "GBP", "CHF", "PLN", "SEK", "DKK", "CZK", "HUF"] {
            var rest = Substring(text)
            if rest.hasPrefix(currency) {
                rest = rest.dropFirst(currency.count)
            } else if rest.hasSuffix(currency) {
                rest = rest.dropLast(currency.count)
            } else {
                continue
            }
            while let first = rest.first, spaces.contains(first) { rest = rest.dropFirst() }
            while let last = rest.last, spaces.contains(last) { rest = rest.dropLast() }
            if !rest.isEmpty, rest.first?.isNumber == true || rest.first == "-",
                rest.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "." || $0 == "," || $0 == "-" || spaces.contains($0) })
            {
                return currency
            }
        }
        return nil
    }

    /// `EUR 1,234.56`: the readable form for people.
    public var description: String { Self.formatted(value) }

    /// `EUR 0.0017`: n/d cents exactly, with as many decimals as it needs beyond the cents (up to
    /// `Fraction.decimalsMax` more; then rounded, said so): an excess that is not a whole cent.
    public static func formattedExact(_ n: Total, _ d: Total) -> String {
        guard n % d != 0 else { return formatted(n / d) }
        // The cents part grouped, then the digits beyond the cent.
        guard let (digits, rounded) = Fraction.fractionDigits(n, d) else { return formatted(n / d) + " and a fraction of a cent" }
        return formatted(n / d) + digits + (rounded ? " (rounded)" : "")
    }

    /// `EUR 1,234.56` for any signed number of cents (used for net sums, which may be negative).
    public static func formatted<Amount: BinaryInteger>(_ cents: Amount) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let euros = String(magnitude / 100)
        var grouped = ""
        for (index, char) in euros.enumerated() {
            if index > 0 && (euros.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(char)
        }
        let rest = magnitude % 100
        return "EUR \(sign)\(grouped).\(rest < 10 ? "0" : "")\(rest)"
    }

    /// `1234.56`: the plain decimal form, as `parse` reads it and as CSV and JSON show it.
    public var decimalText: String {
        let rest = value % 100
        return "\(value / 100).\(rest < 10 ? "0" : "")\(rest)"
    }
}
