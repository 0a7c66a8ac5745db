import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

@Suite struct PolicyTests {

    /// The shipped policy with `edit` applied to its JSON object.
    static func shipped(editing edit: (inout [String: Any]) -> Void) throws -> Policy {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repository.shippedPolicyPath))) as! [String: Any]
        edit(&json)
        return try Policy.parseFile([UInt8](try JSONSerialization.data(withJSONObject: json)), path: "edited policy")
    }

    @Test func shippedPolicyHasEveryRuleWithASource() throws {
        let policy = try Repository.shippedPolicy()
        #expect(policy.id == "eurohpc-2026")
        #expect(policy.rule("union-capex-share-max-gigafactory").basisPoints == 1700)
        #expect(policy.rule("union-capex-share-max-gigafactory").confidence == .reported)
        #expect(policy.rule("commercial-share-of-union-access-max").confidence == .law)
        #expect(policy.rule("sme-startup-access-share-min").confidence == .policy)
        #expect(policy.rule("union-access-free-for").categories == [.sme, .scaleup, .research, .public])
        #expect(policy.rule("union-access-free-for-startups").categories == [.startup])
        #expect(policy.rule("union-access-free-for-startups").confidence == .policy)
        #expect(policy.rule("matching-min-gigafactory").confidence == .recital)
        #expect(policy.rule("union-contribution-max-programme").cents == 412_230_000_000)
        #expect(policy.effectiveFrom?.description == "2026-01-20")
        #expect(policy.rules.allSatisfy { !$0.source.isEmpty })
    }

    @Test func policyEntryRoundTripsCanonically() throws {
        let body = EntryBody(
            seq: 2, signer: SigningKey.generate().id, recordedAt: "2026-01-01T00:00:00Z", data: .policy(try Repository.shippedPolicy()))
        #expect(try EntryBody.decode(body.encoded()) == body)
    }

    /// Each bad policy is refused as a file (exit 65), naming the file and what is wrong with it.
    static func expectRefused(_ text: String, saying problem: String) {
        #expect {
            try Policy.parseFile(Array(text.utf8), path: "p.json")
        } throws: { error in
            guard let refusal = error as? FileRefusal else { return false }
            return refusal.kind == .refused && refusal.what == "policy file p.json" && refusal.problem.contains(problem)
        }
    }

    @Test(arguments: [
        (#"{"policy":"p","version":1,"title":"t","rules":[]}"#, "rule"),
        (#"{"policy":"p","version":0,"title":"t","rules":[]}"#, "version"),
        (#"{"policy":"p","version":1.5,"title":"t","rules":[]}"#, "is not JSON"),
        ("not json", "is not JSON"),
    ])
    func badPoliciesAreRefused(text: String, problem: String) {
        Self.expectRefused(text, saying: problem)
    }

    /// The hostile pass on issue 11: a leading zero is not JSON, categories are distinct and not
    /// empty, a value of the wrong type names its rule, null and fractions say what is allowed.
    @Test func valuesAreNamedByTheirRule() throws {
        let text = try String(contentsOfFile: Repository.shippedPolicyPath, encoding: .utf8)
        Self.expectRefused(
            text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": 01700"#), saying: "a number with a leading zero")
        Self.expectRefused(
            text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": "1700""#),
            saying: "policy.rules.union-capex-share-max-gigafactory.basis_points is not an integer")
        Self.expectRefused(text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": null"#), saying: "null is not a value")
        let free = "\"sme\",\n        \"scaleup\""
        #expect(text.contains(free))
        Self.expectRefused(
            text.replacingOccurrences(of: free, with: #""sme", "sme", "scaleup""#), saying: "must list at least one category, each once")
        var json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        json["rules"] = (json["rules"] as! [[String: Any]]).map { rule in
            var rule = rule
            if rule["id"] as? String == "union-access-free-for-startups" { rule["categories"] = [String]() }
            return rule
        }
        Self.expectRefused(
            String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self),
            saying: "union-access-free-for-startups.categories must list at least one category")
    }

    /// A policy without the optional rules still reports them, as NOT ASSESSABLE with the reason.
    @Test func optionalRulesLeftOutAreNotAssessable() throws {
        let optional = Set(Policy.ruleIDs.filter { !$0.required }.map(\.id))
        let policy = try Self.shipped(editing: { json in
            json["rules"] = (json["rules"] as! [[String: Any]]).filter { !optional.contains($0["id"] as! String) }
            json["version"] = 4  // other rules: another version (issue 30)
        })
        let small = try ReportTests.Small()
        try small.ledger.append(.policy(policy), key: small.key)
        try small.give(.union, 100)
        let report = try small.ledger.quarterlyReport(quarter: Quarter.parse("2026-Q1", field: "q"))
        #expect(report.programme.map(\.rule.id) == ["union-contribution-max-programme", "matching-min-programme"])
        #expect(report.programme.allSatisfy { $0.status == .notAssessable && $0.explanation.contains("has no rule") })
        let giga = report.factories[0].verdicts
        #expect(giga.first { $0.rule.id == "host-states-commit-gigafactory" }?.status == .notAssessable)
    }

    @Test func missingOrRepeatedRulesAreRefused() throws {
        let text = try String(contentsOfFile: Repository.shippedPolicyPath, encoding: .utf8)
        let withoutFirst = text.replacingOccurrences(
            of: #""id": "union-capex-share-max-gigafactory""#, with: #""id": "union-opex-share-max-ai-factory""#)
        Self.expectRefused(withoutFirst, saying: "union-")
        let negative = text.replacingOccurrences(of: #""basis_points": 1700"#, with: #""basis_points": -1"#)
        Self.expectRefused(negative, saying: "basis_points")
        let extra = text.replacingOccurrences(of: #""version""#, with: #""extra": 1, "version""#)
        Self.expectRefused(extra, saying: "extra")
    }

    @Test func onlyAnAuthorityRecordsAPolicy() throws {
        let fixture = try Fixture()
        #expect(throws: Refusal.self) { try fixture.ledger.append(.policy(try Repository.shippedPolicy()), key: fixture.officer) }
        try fixture.ledger.append(.policy(try Repository.shippedPolicy()), key: fixture.authority)
        #expect(try fixture.verify().isVerified)
        let independent = shell("python3 '\(Repository.independentVerifier)' ledger.sqlite", in: fixture.dir)
        #expect(independent.status == 0, "\(independent.stdout)")
    }
}
