import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct MoneyTests {
    @Test(
        arguments: [
            ("1", 100), ("1.5", 150), ("1.50", 150), ("0.01", 1), ("1234567.89", 123_456_789), ("0.10", 10),
            ("100000000000", 10_000_000_000_000), ("100000000000.00", 10_000_000_000_000),
        ] as [(String, Int64)])
    func parsesExactCents(text: String, cents: Int64) throws {
        #expect(try Cents.parse(text, field: "amount").value == cents)
    }

    @Test(arguments: [
        ("-5", "negative"), ("0", "zero"), ("0.00", "zero"), ("1.234", "more than two decimals"), ("1,234.56", "thousands separator"),
        ("1 234", "thousands separator"), ("€5", "currency sign"), ("EUR5", "currency code"), ("5€", "currency sign"), ("1e3", "exponent"),
        ("", "empty"), (".5", "decimal number"), ("5.", "decimal point"), ("05", "leading zero"), ("100000000000.01", "maximum"),
        ("999999999999999999999", "maximum"), ("+5", "currency sign"), ("1.2.3", "decimal number"), ("NaN", "letters"),
    ])
    func rejectsWithFieldAndValue(text: String, problem: String) {
        #expect {
            try Cents.parse(text, field: "amount")
        } throws: { error in
            let message = String(describing: error)
            return message.hasPrefix("amount: \"\(text)\"") && message.contains(problem) && !message.contains("\n")
        }
    }

    @Test func zeroIsAllowedForCharges() throws {
        #expect(try Cents.parse("0", field: "charge", allowZero: true).value == 0)
    }

    @Test func formatsForPeople() {
        #expect(Cents(123_456).description == "EUR 1,234.56")
        #expect(Cents(5).description == "EUR 0.05")
        #expect(Cents(100_000_000_000_00).description == "EUR 100,000,000,000.00")
        #expect(Cents.formatted(-1_000_000) == "EUR -10,000.00")
        #expect(Cents(123_405).decimalText == "1234.05")
    }

    @Test func decimalTextRoundTrips() throws {
        for cents: Int64 in [1, 9, 10, 99, 100, 101, 123_456_789, Cents.amountCentsMax] {
            #expect(try Cents.parse(Cents(cents).decimalText, field: "amount").value == cents)
        }
    }
}

@Suite struct CalendarDateTests {
    @Test(arguments: ["2026-02-28", "2024-02-29", "2028-02-29", "2021-01-01", "2099-12-31", "2026-12-31"])
    func acceptsRealDates(text: String) throws {
        #expect(try CalendarDate.parse(text, field: "date").description == text)
    }

    @Test(arguments: [
        "2026-02-29", "2100-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-5", "26-01-05", "2026/01/05",
        "2026-01-05T00:00", "", "2020-12-31", "2100-01-01", "２０２６-01-01",
    ])
    func rejectsImpossibleDates(text: String) {
        #expect(throws: InputError.self) { try CalendarDate.parse(text, field: "date") }
    }
}

@Suite struct CodeTests {
    @Test func memberStatesUseEL() throws {
        #expect(Codes.memberStates.count == 27)
        #expect(try Codes.memberState("GR", field: "host") == "EL")
        #expect(try Codes.memberState("EL", field: "host") == "EL")
        #expect(throws: InputError.self) { try Codes.memberState("UK", field: "host") }
        #expect(throws: InputError.self) { try Codes.memberState("de", field: "host") }
        #expect(throws: InputError.self) { try Codes.memberState("CH", field: "host") }
    }

    @Test func identifiersAreSlugs() throws {
        #expect(try Codes.identifier("de-jupiter-2", field: "id") == "de-jupiter-2")
        for bad in ["", "-x", "De", "a b", "a_b", String(repeating: "a", count: 65), "é"] {
            #expect(throws: InputError.self) { try Codes.identifier(bad, field: "id") }
        }
    }

    @Test func textRefusesControlCharacters() {
        #expect(throws: InputError.self) { try Codes.text("a\nb", field: "name", bytesMax: 10) }
        #expect(throws: InputError.self) { try Codes.text(" a", field: "name", bytesMax: 10) }
        #expect(throws: InputError.self) { try Codes.text("abcdefghijk", field: "name", bytesMax: 10) }
    }
}
