/// An exact ratio of two non-negative integers (cents or hours): compared exactly, rounded only
/// when shown. Products are taken in 128 bits, so sums up to Int64's range compare without overflow.
public struct Fraction: Equatable, Sendable, CustomStringConvertible {
    public let numerator: Int64
    public let denominator: Int64

    /// Requires numerator >= 0 and denominator > 0 (callers check for a zero denominator first:
    /// that is a "not assessable" case, not a fraction).
    public init(_ numerator: Int64, _ denominator: Int64) {
        precondition(numerator >= 0 && denominator > 0, "Fraction.init: \(numerator)/\(denominator)")
        self.numerator = numerator
        self.denominator = denominator
    }

    /// A threshold given in basis points (1/100 of a percent).
    public static func basisPoints(_ value: Int64) -> Fraction { Fraction(value, 10_000) }

    /// Compares a/b with c/d as a·d with c·b, in 128 bits.
    public static func compare(_ x: Fraction, _ y: Fraction) -> Int {
        let left = x.numerator.multipliedFullWidth(by: y.denominator)
        let right = y.numerator.multipliedFullWidth(by: x.denominator)
        if left.high != right.high { return left.high < right.high ? -1 : 1 }
        if left.low != right.low { return left.low < right.low ? -1 : 1 }
        return 0
    }

    public static func <= (x: Fraction, y: Fraction) -> Bool { compare(x, y) <= 0 }
    public static func >= (x: Fraction, y: Fraction) -> Bool { compare(x, y) >= 0 }

    /// |x − y| <= tolerance, exactly: |a·d − c·b|·t_d <= t_n·b·d, all in 128 bits or more
    /// (by comparing x − y and y − x against the tolerance as fractions over b·d).
    public static func within(_ x: Fraction, _ y: Fraction, tolerance: Fraction) -> Bool {
        // x <= y + t  and  y <= x + t, with y + t = (c·t_d + t_n·d) / (d·t_d); numbers here are
        // shares (at most 1) and basis points, so the sums fit in Int64.
        func plus(_ a: Fraction, _ t: Fraction) -> Fraction {
            let (n1, o1) = a.numerator.multipliedReportingOverflow(by: t.denominator)
            let (n2, o2) = t.numerator.multipliedReportingOverflow(by: a.denominator)
            let (d, o3) = a.denominator.multipliedReportingOverflow(by: t.denominator)
            let (n, o4) = n1.addingReportingOverflow(n2)
            precondition(!(o1 || o2 || o3 || o4), "Fraction.within: overflow")
            return Fraction(n, d)
        }
        return x <= plus(y, tolerance) && y <= plus(x, tolerance)
    }

    /// The percentage with two decimals, rounded half up: `17.00%`. (Rounding for display only.)
    public var percentText: String {
        let scaled = numerator.multipliedFullWidth(by: 20_000)  // 2 × 10,000: percent with 2 decimals, doubled for rounding
        let (quotient, _) = denominator.dividingFullWidth((high: scaled.high, low: scaled.low))
        let hundredths = (quotient + 1) / 2
        let rest = hundredths % 100
        return "\(hundredths / 100).\(rest < 10 ? "0" : "")\(rest)%"
    }

    public var description: String { "\(numerator)/\(denominator)" }
}
