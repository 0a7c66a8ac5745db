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

/// What a report covers: a calendar quarter (the officers' rhythm) or a financial year (the
/// law's: 1 January to 31 December, Statutes Art. 17; the hosting entity's annual report, Art. 12b).
public enum ReportPeriod: Equatable, Hashable, Sendable, CustomStringConvertible {
    case quarter(Quarter)
    case year(Int)

    /// Parses `2026-Q1` (a quarter) or `2026` (a year).
    public static func parse(_ text: String, field: String) throws(InputError) -> ReportPeriod {
        if text.count == 4, Codes.isASCII(text), let year = Int(text), String(year) == text {
            guard year >= CalendarDate.earliest.year, year <= CalendarDate.latest.year else {
                throw InputError(field: field, value: text, problem: "is outside \(CalendarDate.earliest.year) to \(CalendarDate.latest.year)")
            }
            return .year(year)
        }
        return .quarter(try Quarter.parse(text, field: field))
    }

    public var firstDay: CalendarDate {
        switch self {
        case .quarter(let quarter): return quarter.firstDay
        case .year(let year): return Quarter(year: year, number: 1).firstDay
        }
    }

    public var lastDay: CalendarDate {
        switch self {
        case .quarter(let quarter): return quarter.lastDay
        case .year(let year): return Quarter(year: year, number: 4).lastDay
        }
    }

    /// The quarters the period is made of.
    public var quarters: [Quarter] {
        switch self {
        case .quarter(let quarter): return [quarter]
        case .year(let year): return (1...4).map { Quarter(year: year, number: $0) }
        }
    }

    /// The period of the same kind just before this one.
    public var previous: ReportPeriod {
        switch self {
        case .quarter(let quarter): return .quarter(quarter.previous)
        case .year(let year): return .year(year - 1)
        }
    }

    public func contains(_ date: CalendarDate) -> Bool { date >= firstDay && date <= lastDay }

    /// "quarter" or "year", for sentences.
    public var kindName: String {
        if case .year = self { return "year" }
        return "quarter"
    }

    public var description: String {
        switch self {
        case .quarter(let quarter): return quarter.description
        case .year(let year): return String(year)
        }
    }
}
