import Foundation
import Testing
@testable import GigaLedgerKit

@Suite struct PolicyTests {
    static let shippedPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("schema/policy/eurohpc-2026.json").path

    static func shipped() throws -> Policy {
        try Policy.parseFile([UInt8](try Data(contentsOf: URL(fileURLWithPath: shippedPath))))
    }

    @Test func shippedPolicyHasEveryRuleWithASource() throws {
        let policy = try Self.shipped()
        #expect(policy.id == "eurohpc-2026")
        #expect(policy.rule("union-capex-share-max-gigafactory").basisPoints == 1700)
        #expect(policy.rule("union-capex-share-max-gigafactory").confidence == .reported)
        #expect(policy.rule("commercial-share-of-union-access-max").confidence == .law)
        #expect(policy.rule("sme-startup-access-share-min").confidence == .policy)
        #expect(policy.rule("union-access-free-for").categories == [.sme, .scaleup, .research, .public])
        #expect(policy.rules.allSatisfy { !$0.source.isEmpty })
    }

    @Test func policyEntryRoundTripsCanonically() throws {
        let body = EntryBody(seq: 2, signer: SigningKey.generate().id, recordedAt: "2026-01-01T00:00:00Z", data: .policy(try Self.shipped()))
        #expect(try EntryBody.decode(body.encoded()) == body)
    }

    @Test(arguments: [
        #"{"policy":"p","version":1,"title":"t","rules":[]}"#,
        #"{"policy":"p","version":0,"title":"t","rules":[]}"#,
        #"{"policy":"p","version":1,"title":"t","rules":[],"extra":1}"#,
        #"{"policy":"p","version":1.5,"title":"t","rules":[]}"#,
        "not json",
    ])
    func badPoliciesAreRefused(text: String) {
        #expect(throws: (any Error).self) { try Policy.parseFile(Array(text.utf8)) }
    }

    @Test func missingOrRepeatedRulesAreRefused() throws {
        let text = try String(contentsOfFile: Self.shippedPath, encoding: .utf8)
        let withoutFirst = text.replacingOccurrences(of: #""id": "union-capex-share-max-gigafactory""#, with: #""id": "union-opex-share-max-ai-factory""#)
        #expect(throws: (any Error).self) { try Policy.parseFile(Array(withoutFirst.utf8)) }
        let negative = text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": -1"#)
        #expect(throws: (any Error).self) { try Policy.parseFile(Array(negative.utf8)) }
    }

    @Test func onlyAnAuthorityRecordsAPolicy() throws {
        let fixture = try Fixture()
        #expect(throws: Refusal.self) { try fixture.ledger.append(.policy(try Self.shipped()), key: fixture.officer) }
        try fixture.ledger.append(.policy(try Self.shipped()), key: fixture.authority)
        #expect(try fixture.verify().isVerified)
        let independent = shell("python3 '\(IndependentVerifierTests.script)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout)")
    }
}
