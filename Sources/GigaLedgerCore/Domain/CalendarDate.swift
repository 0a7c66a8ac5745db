/// A calendar date `YYYY-MM-DD` (proleptic Gregorian), for value dates: when money was
/// committed or paid, when compute access was granted. Not a time zone in sight.
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// The earliest value date accepted: the EuroHPC JU under Regulation (EU) 2021/1173 starts in 2021.
    public static let earliest = CalendarDate(unchecked: 2021, 1, 1)
    /// The latest value date accepted, a guard against typos such as 2206.
    public static let latest = CalendarDate(unchecked: 2099, 12, 31)

    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// Days since 1970-01-01 (negative before): for counting days between dates (H. Hinnant's
    /// days_from_civil, proleptic Gregorian).
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses exactly `YYYY-MM-DD` with a real day of a real month.
    public static func parse(_ text: String, field: String) throws(InputError) -> CalendarDate {
        func fail(_ problem: String) -> InputError { InputError(field: field, value: text, problem: problem) }
        let bytes = Array(text.utf8)
        let digitPositions = [0, 1, 2, 3, 5, 6, 8, 9]
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            digitPositions.allSatisfy({ bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") })
        else { throw fail("is not a date; write YYYY-MM-DD") }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(bytes[$1] - UInt8(ascii: "0")) } }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        guard (1...12).contains(month) else { throw fail("is not a date: there is no month \(month)") }
        guard day >= 1, day <= daysIn(month: month, year: year) else { throw fail("is not a date: that month has no day \(day)") }
        let date = CalendarDate(unchecked: year, month, day)
        guard date >= earliest, date <= latest else { throw fail("is outside \(earliest) to \(latest)") }
        return date
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}
