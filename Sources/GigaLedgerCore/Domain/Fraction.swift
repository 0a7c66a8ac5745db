/// The type of every sum of cents or GPU-hours: 128 bits, so no total a ledger can hold traps.
/// A ledger holds fewer than 2^56 entries (sequence numbers are SQLite integers, far below) of at
/// most 10^13 cents (2^44) or 10^10 GPU-hours each, so a total stays below `Fraction.termMax`, 2^100.
public typealias Total = Int128

/// An exact ratio of two non-negative totals (cents or hours): compared exactly, rounded only
/// when shown. Products are taken at full width (256 bits), so no comparison overflows.
public struct Fraction: Equatable, Sendable, CustomStringConvertible {
    public let numerator: Total
    public let denominator: Total

    /// The largest numerator or denominator: every product `within` makes then fits in 128 bits
    /// before it is compared at full width.
    public static let termMax: Total = 1 << 100

    /// Requires 0 <= numerator <= termMax and 0 < denominator <= termMax (callers check for a zero
    /// denominator first: that is a "not assessable" case, not a fraction).
    public init(_ numerator: Total, _ denominator: Total) {
        precondition(numerator >= 0 && denominator > 0, "Fraction.init: \(numerator)/\(denominator)")
        precondition(
            numerator <= Self.termMax && denominator <= Self.termMax, "Fraction.init: \(numerator)/\(denominator) is beyond any ledger's totals")
        self.numerator = numerator
        self.denominator = denominator
    }

    /// A threshold given in basis points (1/100 of a percent).
    public static func basisPoints(_ value: Int64) -> Fraction { Fraction(Total(value), 10_000) }

    /// Compares a/b with c/d as a·d with c·b, at full width.
    public static func compare(_ x: Fraction, _ y: Fraction) -> Int {
        compareProducts(x.numerator, y.denominator, y.numerator, x.denominator)
    }

    /// The sign of a·b − c·d, the products taken at full width (signed factors allowed).
    static func compareProducts(_ a: Total, _ b: Total, _ c: Total, _ d: Total) -> Int {
        let left = a.multipliedFullWidth(by: b), right = c.multipliedFullWidth(by: d)
        if left.high != right.high { return left.high < right.high ? -1 : 1 }
        if left.low != right.low { return left.low < right.low ? -1 : 1 }
        return 0
    }

    public static func <= (x: Fraction, y: Fraction) -> Bool { compare(x, y) <= 0 }
    public static func >= (x: Fraction, y: Fraction) -> Bool { compare(x, y) >= 0 }

    /// |x − y| <= tolerance, exactly: x − t <= y and y − t <= x. With a/b − p/q = (a·q − p·b)/(b·q),
    /// every term is below 2^100 (`termMax`), so a·q, p·b and b·q fit in 128 bits and the final
    /// cross products are compared at full width.
    public static func within(_ x: Fraction, _ y: Fraction, tolerance: Fraction) -> Bool {
        func atMost(_ x: Fraction, minus t: Fraction, _ y: Fraction) -> Bool {
            let numerator = x.numerator * t.denominator - t.numerator * x.denominator  // may be negative
            let denominator = x.denominator * t.denominator
            return compareProducts(numerator, y.denominator, y.numerator, denominator) <= 0
        }
        return atMost(x, minus: tolerance, y) && atMost(y, minus: tolerance, x)
    }

    /// The percentage with two decimals, rounded half up: `17.00%`. (Rounding for display only.)
    public var percentText: String {
        let hundredths = hundredthsOfPercent
        let rest = hundredths % 100
        return "\(hundredths / 100).\(rest < 10 ? "0" : "")\(rest)%"
    }

    /// The value in hundredths of a percent, rounded half up (for display only).
    public var hundredthsOfPercent: Total { (numerator * 20_000 / denominator + 1) / 2 }

    /// A share as percentage points, `5.00 points` (a tolerance between two shares).
    public var pointsText: String { Self.pointsText(hundredths: hundredthsOfPercent) }

    public static func pointsText(hundredths: Total) -> String {
        let rest = hundredths % 100
        return "\(hundredths / 100).\(rest < 10 ? "0" : "")\(rest) points"
    }

    public var description: String { "\(numerator)/\(denominator)" }

    /// The most decimals `distinguished` shows before it gives the exact fraction instead.
    public static let decimalsMax = 12

    /// n/d × `times` as decimal text with `decimals` decimals, rounded half up, and which way it
    /// was rounded (0 exact, 1 up, -1 down); nil when the arithmetic would leave 128 bits.
    public static func decimalText(_ n: Total, _ d: Total, times: Total = 1, decimals: Int) -> (text: String, rounded: Int)? {
        var scale: Total = 1
        for _ in 0..<decimals {
            let (next, over) = scale.multipliedReportingOverflow(by: 10)
            guard !over else { return nil }
            scale = next
        }
        let (scaled, over1) = n.multipliedReportingOverflow(by: times)
        guard !over1 else { return nil }
        let (product, over2) = scaled.multipliedReportingOverflow(by: scale)
        guard !over2, d > 0 else { return nil }
        let (quotient, remainder) = product.quotientAndRemainder(dividingBy: d)
        let up = remainder * 2 >= d
        let value = up ? quotient + 1 : quotient
        let whole = String(value / scale), fraction = String(value % scale)
        let text = decimals == 0 ? whole : whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        return (text, remainder == 0 ? 0 : (up ? 1 : -1))
    }

    /// The digits after the point of n/d, not a whole number, with the fewest decimals that make
    /// it exact, up to `decimalsMax` (then rounded half up, `rounded` true); nil when the
    /// arithmetic would leave 128 bits. The whole part is n / d.
    public static func fractionDigits(_ n: Total, _ d: Total) -> (digits: String, rounded: Bool)? {
        for decimals in 1...decimalsMax {
            guard let shown = decimalText(n, d, decimals: decimals) else { return nil }
            if shown.rounded == 0 || decimals == decimalsMax {
                return (shown.text.split(separator: ".").last.map(String.init) ?? "", shown.rounded != 0)
            }
        }
        return nil
    }

    /// `x` and `y` as percentages (`unit` "%", or " points" for a difference of shares) with the
    /// fewest decimals, two at least, that show them different when they are: a breach is never
    /// shown with figures that look equal. Beyond two decimals, an inexact figure says which way it
    /// was rounded; when even `decimalsMax` decimals do not tell them apart, the exact fractions.
    public static func distinguished(_ x: Fraction, _ y: Fraction, unit: String = "%") -> (String, String) {
        func shown(_ f: Fraction, _ decimals: Int) -> (text: String, rounded: Int)? {
            decimalText(f.numerator, f.denominator, times: 100, decimals: decimals)
        }
        func text(_ f: (text: String, rounded: Int), _ decimals: Int) -> String {
            f.text + unit + (decimals > 2 && f.rounded != 0 ? (f.rounded > 0 ? " (rounded up)" : " (rounded down)") : "")
        }
        for decimals in 2...decimalsMax {
            guard let a = shown(x, decimals), let b = shown(y, decimals) else { break }
            if a.text != b.text || compare(x, y) == 0 { return (text(a, decimals), text(b, decimals)) }
        }
        let a = shown(x, 2)?.text ?? "?", b = shown(y, 2)?.text ?? "?"
        return ("\(a)\(unit) (exactly \(x.numerator)/\(x.denominator))", "\(b)\(unit) (exactly \(y.numerator)/\(y.denominator))")
    }

    /// |x − y| exactly, when its terms fit (nil when they would not: shown rounded then).
    public static func difference(_ x: Fraction, _ y: Fraction) -> Fraction? {
        let (a, o1) = x.numerator.multipliedReportingOverflow(by: y.denominator)
        let (b, o2) = y.numerator.multipliedReportingOverflow(by: x.denominator)
        let (d, o3) = x.denominator.multipliedReportingOverflow(by: y.denominator)
        guard !o1, !o2, !o3 else { return nil }
        let n = a > b ? a - b : b - a
        guard n <= termMax, d <= termMax else { return nil }
        return Fraction(n, d)
    }
}
