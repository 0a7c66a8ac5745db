/// A calendar quarter, `2026-Q1`: the working rhythm of finance officers (the law's year is the
/// financial year, 1 January to 31 December; quarters add up to it).
public struct Quarter: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let number: Int

    /// Requires 1 <= number <= 4.
    public init(year: Int, number: Int) {
        precondition((1...4).contains(number), "Quarter.init: no quarter \(number)")
        self.year = year
        self.number = number
    }

    public static func parse(_ text: String, field: String) throws(InputError) -> Quarter {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, let year = Int(parts[0]), parts[1].count == 2, parts[1].first == "Q",
            let number = Int(parts[1].dropFirst()), (1...4).contains(number)
        else { throw InputError(field: field, value: text, problem: "is not a quarter; write YYYY-Qn, e.g. 2026-Q1") }
        let quarter = Quarter(year: year, number: number)
        guard quarter.lastDay >= CalendarDate.earliest, quarter.firstDay <= CalendarDate.latest else {
            throw InputError(field: field, value: text, problem: "is outside \(CalendarDate.earliest) to \(CalendarDate.latest)")
        }
        return quarter
    }

    public var firstDay: CalendarDate { CalendarDate(unchecked: year, (number - 1) * 3 + 1, 1) }
    public var lastDay: CalendarDate {
        let month = number * 3
        return CalendarDate(unchecked: year, month, CalendarDate.daysIn(month: month, year: year))
    }

    /// The quarter before this one.
    public var previous: Quarter { number == 1 ? Quarter(year: year - 1, number: 4) : Quarter(year: year, number: number - 1) }

    /// The quarter after this one.
    public var next: Quarter { number == 4 ? Quarter(year: year + 1, number: 1) : Quarter(year: year, number: number + 1) }

    public func contains(_ date: CalendarDate) -> Bool { date >= firstDay && date <= lastDay }

    public var description: String { "\(year)-Q\(number)" }
}
