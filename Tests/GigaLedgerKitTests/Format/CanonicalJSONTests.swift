import Testing
@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct CanonicalJSONTests {
    @Test func encodesSortedCompactAndEscaped() {
        let value = CanonicalJSON.object(["b": .integer(-3), "a": .array([.bool(true), .string("x\"\\\n\u{1}é")]), "é": .object([:])])
        #expect(String(decoding: value.encoded(), as: UTF8.self) == #"{"a":[true,"x\"\\\u000a\u0001é"],"b":-3,"é":{}}"#)
    }

    @Test func decodesWhatItEncodes() throws {
        let value = CanonicalJSON.object(["k": .array([.integer(0), .integer(Int64.max), .integer(Int64.min), .string("")]), "t": .bool(false)])
        #expect(try CanonicalJSON.decode(value.encoded()) == value)
    }

    @Test(arguments: [
        #"{"b":1,"a":2}"#, #"{"a":1,"a":1}"#, #"{ "a":1}"#, #"{"a":01}"#, #"{"a":-0}"#, #"{"a":1.0}"#, #"{"a":1e2}"#,
        #"{"a":"\n"}"#, #"{"a":"\u00e9"}"#, #"{"a":"\/"}"#, #"{"a":null}"#, #"{"a":1}x"#, #"{"a":1"#, "", #"{"a":"\u000A"}"#,
        #"[[[[[[[[[[1]]]]]]]]]]"#, #"{"a":99999999999999999999}"#, "{\"a\":\"\n\"}",
        #"{"ab":1,"a":2}"#, #"{"a":-}"#, #"{"a":-01}"#, #"{"a":00}"#, #"{"a":9223372036854775808}"#, #"{"a":-9223372036854775809}"#,
        #"{"a":"\u001F"}"#, #"{"a":+1}"#,
    ])
    func rejectsEveryOtherSpelling(text: String) {
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.decode(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.decode([0x22, 0xff, 0x22]) }
    }

    /// Contributions and access records are read and written directly; the general path decides.
    @Test func theDirectPathAgreesWithTheGeneralOneOnEveryFlippedByte() throws {
        let fixture = try Fixture()
        for seq: Int64 in [6, 9] {  // a contribution, an access record
            let body = try #require(try fixture.ledger.entry(seq)).body
            let decoded = try #require(EntryBody.decodeDirectly(body))
            #expect(decoded == (try EntryBody.decodeGenerally(body)))
            #expect(decoded.encodedDirectly() == decoded.encodedGenerally())
            for position in body.indices {
                for flip: UInt8 in [0x01, 0x20, 0x80] {
                    var changed = body
                    changed[position] ^= flip
                    if let direct = EntryBody.decodeDirectly(changed) {
                        #expect(direct == (try? EntryBody.decodeGenerally(changed)), "entry \(seq), byte \(position) ^ \(flip)")
                    }
                }
            }
        }
    }

    /// Values that read as a valid value but are not its one spelling: the direct path steps aside
    /// and the general one refuses them.
    @Test func theDirectPathRefusesOtherSpellingsOfAValue() throws {
        let fixture = try Fixture()
        let body = String(decoding: try #require(try fixture.ledger.entry(6)).body, as: UTF8.self)
        for (from, to) in [("\"ms:DE\"", "\"ms:GR\""), (":125000050,", ":0125000050,"), ("\"seq\":6", "\"seq\":06")] {
            #expect(body.contains(from))
            let changed = Array(body.replacingOccurrences(of: from, with: to).utf8)
            #expect(EntryBody.decodeDirectly(changed) == nil, "\(to)")
            #expect(throws: EntryFormatError.self) { try EntryBody.decodeGenerally(changed) }
        }
    }

    @Test func everyTruncationOfABodyIsRejected() throws {
        let fixture = try Fixture()
        let body = try #require(try fixture.ledger.entry(5)).body
        for length in 0..<body.count {
            #expect(throws: EntryFormatError.self) { try EntryBody.decode(Array(body[0..<length])) }
        }
        #expect(try EntryBody.decode(body).seq == 5)
    }
}
