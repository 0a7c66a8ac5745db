import GigaLedgerTestSupport
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

    /// An object read with its arrays left unread (a server's submission, its entries then read on
    /// every core) is the object read whole: for a submission and every byte of it flipped, and
    /// for texts whose strings hold brackets, commas and escapes, either both read to the same
    /// value, or the whole is refused and so is the lazy read or one of its elements.
    @Test func anObjectReadWithItsArraysUnreadIsTheObjectReadWhole() throws {
        let entry = #"{"a": "x]y,\"z\\", "b": [1, {"c": "}"}], "d": -2}"#
        let texts = [
            #"{ "entries": [ \#(entry) , \#(entry),{"e":[]} ], "future": false, "x": "[" }"#,
            #"{"entries":[],"k":[[],[[1]],"]"],"t":true}"#, #"{"entries":[1,2,]}"#, #"{"entries":[,1]}"#, #"{"entries":[1 2]}"#,
            #"{"entries":["a\"]}"#, #"{"entries":[{]}"#, #"{"entries":[{"a":1}}]}"#, #"{"entries":[1],"entries":[2]}"#,
            #"{"entries":["\u00e9"]}"#, #"{"entries":[tru]}"#, #"{"entries":[1]} x"#, #"{"entries":[1"#, "{}", "[1]", #"{"a":1,}"#,
        ]
        var inputs = texts.map { Array($0.utf8) }
        let first = inputs[0]
        for position in first.indices {
            for flip: UInt8 in [0x01, 0x02, 0x08, 0x20, 0x40] {
                var changed = first
                changed[position] ^= flip
                inputs.append(changed)
            }
        }
        var agreed = (read: 0, refused: 0)
        for input in inputs {
            let whole = try? CanonicalJSON.decodeRelaxed(input)
            let lazy = try? CanonicalJSON.decodeRelaxedObject(input, bytesMax: CanonicalJSON.inputBytesMax, unread: ["entries", "k"])
            let elements = lazy.flatMap { lazy in
                try? lazy.arrays.mapValues { ranges in try ranges.map { try CanonicalJSON.decodeRelaxed(Array(input[$0])) } }
            }
            let text = String(decoding: input, as: UTF8.self)
            guard case .object(let members)? = whole else {
                #expect(elements == nil, "read lazily, refused whole: \(text)")
                agreed.refused += 1
                continue
            }
            let read = try #require(lazy, "read whole, refused lazily: \(text)")
            let arrays = try #require(elements, "an element refused of what reads whole: \(text)")
            var rebuilt = read.members
            for (key, values) in arrays { rebuilt[key] = .array(values) }
            #expect(rebuilt == members, "\(text)")
            agreed.read += 1
        }
        #expect(agreed.read > 100 && agreed.refused > 100, "\(agreed)")
    }

    /// An object encoded from members encoded apart is the object encoded whole.
    @Test func anObjectEncodedFromItsMembersIsTheObjectEncodedWhole() {
        let items: [CanonicalJSON] = [.string("x\"]"), .object(["b": .integer(1), "a": .array([])]), .bool(false)]
        let members: [String: CanonicalJSON] = ["é": .integer(-1), "entries": .array(items), "a": .string("{"), "B": .bool(true)]
        let parts = members.mapValues { value -> [UInt8] in
            guard case .array(let values) = value else { return value.encoded() }
            return CanonicalJSON.encodedArray(values.map { $0.encoded() })
        }
        #expect(CanonicalJSON.encodedObject(parts) == CanonicalJSON.object(members).encoded())
        #expect(CanonicalJSON.encodedArray([]) == Array("[]".utf8))
    }
}

/// The direct codec of contributions and access records spells their fields a second time; this
/// proves it equal to the general one (the definition) on every field, each through its edge
/// values, in every build (the codec's own checks are debug-build asserts).
@Suite struct DirectCodecTests {
    static let signer = SigningKey.generate().id
    static let texts = ["", "a", "Zürich – €", "quote \" and backslash \\", "<b> & 'q'", "a/b", "emoji 🇪🇺", "K\u{212A}"]
    static let dates = ["2021-01-01", "2024-02-29", "2099-12-31"]

    static func check(_ data: EntryData, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = EntryBody(seq: 123_456_789, signer: signer, recordedAt: "2026-11-29T13:00:00Z", data: data)
        let general = body.encodedGenerally()
        #expect(body.encodedDirectly() == general, "\(data)", sourceLocation: sourceLocation)
        #expect(try EntryBody.decodeGenerally(general) == body, sourceLocation: sourceLocation)
        // The direct reader steps aside (nil) for what it does not read, such as escapes; what it reads, it reads right.
        if let direct = EntryBody.decodeDirectly(general) { #expect(direct == body, "\(data)", sourceLocation: sourceLocation) }
        // The facts digest from the stored bytes (verify, import) equals the one from the values (append).
        #expect(Facts.digest(type: body.type, body: general) == Facts.digest(data), "\(data)", sourceLocation: sourceLocation)
        try checkKeys(data, sourceLocation: sourceLocation)
    }

    /// The keys the duplicate rule and the index tables find a record by, made the fast way, equal their definitions.
    static func checkKeys(_ data: EntryData, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let body = EntryBody(seq: 123_456_789, signer: signer, recordedAt: "2026-11-29T13:00:00Z", data: data)
        // The duplicate rule's digests without and with the flag: derived from either form's bytes,
        // they are the ones each form's encoding gives.
        let plain = try #require(Facts.digest(data.withDuplicateFlag(false))), flagged = try #require(Facts.digest(data.withDuplicateFlag(true)))
        #expect(plain != flagged, sourceLocation: sourceLocation)
        for form in [false, true] {
            let formBody = EntryBody(seq: body.seq, signer: signer, recordedAt: body.recordedAt, data: data.withDuplicateFlag(form))
            for digests in [Facts.digests(type: body.type, body: formBody.encodedGenerally()), Facts.digests(formBody.data)] {
                #expect(digests?.plain == plain && digests?.flagged == flagged, "\(formBody.data)", sourceLocation: sourceLocation)
            }
        }
        // The three weeks' amount keys, made from one shared prefix with the fields absorbed one by
        // one, are the definition's (FORMAT.md section 7): the first 8 bytes of SHA-256 of the tag,
        // the fields each followed by a newline, and the week, made here as one string.
        let around = try #require(NearKeys.around(data)), week = try #require(NearKeys.week(of: data))
        let fields: [String]
        switch data {
        case .contribution(let item):
            fields = ["contribution", item.factory, "\(item.source)", item.kind.rawValue, item.category.rawValue, "\(item.amount.value)"]
        case .access(let grant): fields = ["access", grant.factory, NearKeys.foldedName(grant.beneficiary), "\(grant.gpuHours)"]
        default: fields = []
        }
        // A key: the first 8 bytes of SHA-256 of the text, big-endian and signed, 0 taken as 1.
        func key(_ text: String) -> Int64 {
            let key = Int64(bitPattern: SHA256State.hash(Array(text.utf8)).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            return key == 0 ? 1 : key
        }
        let amountKeys = (week - 1...week + 1).map { key(NearKeys.amountTag + fields.map { $0 + "\n" }.joined() + "\($0)") }
        #expect(around.amountKeys == amountKeys, sourceLocation: sourceLocation)
        // The reference key likewise: the tag, the source, a newline and the reference with A-Z folded.
        if case .contribution(let item) = data, !item.ref.isEmpty {
            let folded = String(decoding: item.ref.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
            #expect(around.own.ref == key(NearKeys.refTag + "\(item.source)\n" + folded), sourceLocation: sourceLocation)
        }
        #expect(around.own == NearKeys(data), sourceLocation: sourceLocation)
    }

    static func contribution(
        factory: String = "de-jupiter", source: Source = .union, cents: Int64 = 100, date: String = "2026-02-15",
        category: CostCategory = .capex, kind: ContributionKind = .payment, ref: String = "R"
    ) throws -> EntryData {
        .contribution(
            try Contribution(
                factory: factory, source: source, amount: Cents(cents), date: CalendarDate.parse(date, field: "date"),
                category: category, kind: kind, ref: ref))
    }

    static func access(
        factory: String = "de-jupiter", beneficiary: String = "B", category: AccessCategory = .sme, hours: Int64 = 10,
        date: String = "2026-02-15", pool: AccessPool = .union, commercial: Bool = false, charge: Int64 = 0,
        country: String? = nil
    ) throws -> EntryData {
        .access(
            try AccessGrant(
                factory: factory, beneficiary: beneficiary, category: category, gpuHours: hours,
                date: CalendarDate.parse(date, field: "date"), pool: pool, isCommercial: commercial, charge: Cents(charge), country: country))
    }

    @Test func contributionsOnEveryField() throws {
        for factory in ["f", "de-jupiter", String(repeating: "a", count: Codes.idBytesMax)] { try Self.check(Self.contribution(factory: factory)) }
        for source in [Source.union, .memberState("DE"), .memberState("EL"), .partner("acme")] { try Self.check(Self.contribution(source: source)) }
        for cents in [Int64(1), 9, 10, 99_999, Cents.amountCentsMax] { try Self.check(Self.contribution(cents: cents)) }
        for date in Self.dates { try Self.check(Self.contribution(date: date)) }
        for category in CostCategory.allCases { try Self.check(Self.contribution(category: category)) }
        for kind in ContributionKind.allCases { try Self.check(Self.contribution(kind: kind)) }
        for ref in Self.texts + [String(repeating: "x", count: Codes.noteBytesMax)] { try Self.check(Self.contribution(ref: ref)) }
    }

    @Test func accessRecordsOnEveryField() throws {
        for factory in ["f", "de-jupiter", String(repeating: "a", count: Codes.idBytesMax)] { try Self.check(Self.access(factory: factory)) }
        for beneficiary in Self.texts.dropFirst() + [String(repeating: "x", count: Codes.nameBytesMax)] {
            try Self.check(Self.access(beneficiary: beneficiary))
        }
        for category in AccessCategory.allCases { try Self.check(Self.access(category: category)) }
        for hours in [Int64(1), 10, AccessGrant.gpuHoursMax] { try Self.check(Self.access(hours: hours)) }
        for date in Self.dates { try Self.check(Self.access(date: date)) }
        for pool in AccessPool.allCases { try Self.check(Self.access(pool: pool)) }
        for commercial in [false, true] { try Self.check(Self.access(commercial: commercial, charge: commercial ? 1 : 0)) }
        for charge in [Int64(0), 1, Cents.amountCentsMax] { try Self.check(Self.access(commercial: true, charge: charge)) }
        for country in [nil, "DE", "EL", "US"] { try Self.check(Self.access(country: country)) }
    }

    /// Records the direct codec leaves to the general one (a partner, the duplicate flag) have their keys made alike.
    @Test func keysOfRecordsTheDirectCodecLeavesAlone() throws {
        let date = try CalendarDate.parse("2026-02-15", field: "date")
        for partner in ["acme", "x"] {
            try Self.checkKeys(
                .access(
                    try AccessGrant(
                        factory: "f", beneficiary: "Müller GmbH", category: .industry, gpuHours: 5, date: date, pool: .union,
                        isCommercial: true, charge: Cents(1), country: "DE", partner: partner)))
        }
        try Self.checkKeys(Self.contribution(ref: "").withDuplicateFlag(true))
        try Self.checkKeys(Self.access(beneficiary: "Ｍｕｌｌｅｒ, GmbH").withDuplicateFlag(true))
    }

    /// Amendments carry every field of the registration and a reason, both ways.
    @Test func amendmentsRoundTrip() throws {
        let factory = try Factory(id: "f", name: "F", kind: .aiFactory, hosts: ["FR", "ES"], capex: Cents(100), opex: Cents(50))
        for data in [
            EntryData.factoryAmend(try Amendment(factory, reason: "CAPEX corrected")),
            .partnerAmend(try Amendment(try Partner(id: "p", name: "P", country: "EL", isSME: true), reason: "renamed")),
        ] {
            let body = EntryBody(seq: 3, signer: Self.signer, recordedAt: "2026-11-29T13:00:00Z", data: data)
            #expect(try EntryBody.decodeGenerally(body.encodedGenerally()) == body)
        }
        let body = EntryBody(
            seq: 3, signer: Self.signer, recordedAt: "2026-11-29T13:00:00Z", data: .factoryAmend(try Amendment(factory, reason: "r")))
        let text = String(decoding: body.encodedGenerally(), as: UTF8.self)
        #expect(text.contains(#""reason":"r""#) && text.contains(#""type":"factory-amend""#))
        let missing = Array(text.replacingOccurrences(of: #","reason":"r""#, with: "").utf8)
        #expect(throws: (any Error).self) { try EntryBody.decodeGenerally(missing) }
    }

    /// A stored access body with a country the general path refuses is not read directly either;
    /// a body without the optional member reads as one recorded before it existed.
    @Test func theOptionalCountryIsCheckedBothWays() throws {
        let body = EntryBody(seq: 9, signer: Self.signer, recordedAt: "2026-11-29T13:00:00Z", data: try Self.access(country: "DE"))
        let bytes = body.encodedGenerally()
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""commercial":false,"country":"DE","date""#))
        let bad = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: #""country":"DE""#, with: #""country":"GR""#).utf8)
        #expect(EntryBody.decodeDirectly(bad) == nil)
        #expect(throws: (any Error).self) { try EntryBody.decodeGenerally(bad) }
        let old = EntryBody(seq: 9, signer: Self.signer, recordedAt: "2026-11-29T13:00:00Z", data: try Self.access())
        #expect(!String(decoding: old.encodedGenerally(), as: UTF8.self).contains("country"))
        #expect(EntryBody.decodeDirectly(old.encodedGenerally()) == old)
    }
}
