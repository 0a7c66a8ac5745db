import GigaLedgerCore
import Mustache

/// Turns a `QuarterlyReport` into its files: report.md, report.html, summary.json,
/// contributions.csv, access.csv. The same report gives the same bytes: nothing here reads the
/// clock, and every order is fixed.
public enum ReportRenderer {
    public static let rounding = "Amounts are exact to the cent. Percentages are rounded half up to two decimals for display only; every verdict is decided on the exact fraction of integer cents or GPU-hours, so a value shown as 17.00% may still exceed a 17% cap."

    /// (file name, contents) in a fixed order.
    /// `checkpoint` is the ledger's signed checkpoint at the report's state and `consistency` the
    /// proof from the previous quarter's checkpoint, when there are such; both are written beside
    /// the report and named in it.
    public static func files(_ report: QuarterlyReport, checkpoint: String? = nil, consistency: String? = nil) throws -> [(String, String)] {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all { try library.register(text + "\n", named: name) }
        func render(_ template: String, cell: (String) -> String) -> String {
            var values = context(report, cell: cell)
            if let checkpoint { values["checkpoint"] = ["note": checkpoint] }
            if let consistency { values["consistency"] = ["text": consistency] }
            return library.render(values, withTemplate: template) ?? ""
        }
        var files = [("report.md", render("report.md", cell: { $0.replacingOccurrences(of: "|", with: "\\|") })),
                     ("report.html", render("report.html", cell: { $0 })), ("summary.json", summaryJSON(report)),
                     ("contributions.csv", contributionsCSV(report)), ("access.csv", accessCSV(report))]
        if let checkpoint { files.append(("checkpoint.txt", checkpoint)) }
        if let consistency { files.append(("consistency.txt", consistency)) }
        return files
    }

    // MARK: - Context for the templates

    static func context(_ report: QuarterlyReport, cell: (String) -> String) -> [String: Any] {
        [
            "quarter": report.quarter.description, "origin": cell(report.origin), "entryCount": String(report.entryCount),
            "headHash": Encoding.hex(report.headHash), "headRecordedAt": report.headRecordedAt, "rounding": rounding,
            "policyID": report.policy.id, "policyVersion": String(report.policy.version), "policySeq": String(report.policySeq),
            "policyTitle": cell(report.policy.title),
            "factories": report.factories.map { factoryContext($0, report: report, cell: cell) },
            "all": [periodContext(report.allQuarter, label: "within \(report.quarter)", factory: nil, cell: cell),
                    periodContext(report.allCumulative, label: "cumulative to \(report.quarter.lastDay)", factory: nil, cell: cell)],
            "rules": report.policy.rules.map { rule in
                ["id": rule.id, "value": ruleValue(rule), "confidence": rule.confidence.rawValue, "source": cell(rule.source)]
            },
            "fundingChart": Charts.funding(report), "accessChart": Charts.access(report),
        ]
    }

    static func ruleValue(_ rule: PolicyRule) -> String {
        if let categories = rule.categories { return categories.map(\.rawValue).joined(separator: ", ") }
        return Fraction.basisPoints(rule.basisPoints ?? 0).percentText
    }

    static func factoryContext(_ item: FactoryReport, report: QuarterlyReport, cell: (String) -> String) -> [String: Any] {
        let factory = item.factory
        return [
            "id": factory.id, "name": cell(factory.name), "kind": factory.kind.rawValue, "hosts": factory.hosts.joined(separator: ", "),
            "capex": factory.capex.description,
            "periods": [periodContext(item.quarter, label: "within \(report.quarter)", factory: factory, cell: cell),
                        periodContext(item.cumulative, label: "cumulative to \(report.quarter.lastDay)", factory: factory, cell: cell)],
            "verdicts": item.verdicts.map { verdict in
                ["factoryID": factory.id, "ruleID": verdict.rule.id, "status": verdict.status.rawValue,
                 "statusClass": verdict.status.rawValue.split(separator: " ").first.map(String.init) ?? "", "explanation": cell(verdict.explanation),
                 "note": cell(verdict.rule.note), "source": cell(verdict.rule.source), "confidence": verdict.rule.confidence.rawValue]
            },
        ]
    }

    static func periodContext(_ figures: PeriodFigures, label: String, factory: Factory?, cell: (String) -> String) -> [String: Any] {
        let total = figures.total
        func money(_ totals: ContributionTotals) -> [String: String] {
            ["committedCapex": Cents.formatted(totals.committedCapex), "committedOpex": Cents.formatted(totals.committedOpex),
             "paidCapex": Cents.formatted(totals.paidCapex), "paidOpex": Cents.formatted(totals.paidOpex)]
        }
        let sources: [[String: String]] = figures.sourceKeys.map { key in
            let totals = figures.bySource[key]!
            var row = money(totals)
            row["source"] = key
            row["share"] = total.committed > 0 ? Fraction(totals.committed, total.committed).percentText : "n/a"
            return row
        }
        let access: [[String: String]] = AccessCategory.allCases.compactMap { category in
            let all = figures.access.hours(category)
            guard all > 0 else { return nil }
            return ["category": category.rawValue, "union": String(figures.access.hours(category, pool: .union)),
                    "host": String(figures.access.hours(category, pool: .host)), "total": String(all)]
        } + [["category": "total", "union": String(figures.access.hours(pool: .union)), "host": String(figures.access.hours(pool: .host)),
              "total": String(figures.access.hours())]]
        return ["label": label, "sources": sources, "total": money(total), "access": access,
                "ratios": ratios(figures, factory: factory).map { ["text": cell($0)] }]
    }

    /// The ratios in words, each as an exact fraction shown rounded.
    static func ratios(_ figures: PeriodFigures, factory: Factory?) -> [String] {
        func share(_ part: Total, _ whole: Total) -> String { whole > 0 ? Fraction(part, whole).percentText : "n/a (nothing recorded)" }
        let union = figures.union, total = figures.total, access = figures.access
        var lines = [String]()
        if let factory {
            lines.append("Union share of planned eligible CAPEX (commitments): \(share(union.committedCapex, Total(factory.capex.value)))")
        }
        lines.append("Union share of all commitments: \(share(union.committed, total.committed)); of all payments: \(share(union.paid, total.paid))")
        lines.append("Matching ratio (non-Union commitments to Union commitments): \(share(figures.nonUnion.committed, union.committed))")
        lines.append("SME and start-up share of all access: \(share(access.hours(.sme) + access.hours(.startup), access.hours())); of Union access: \(share(access.hours(.sme, pool: .union) + access.hours(.startup, pool: .union), access.hours(pool: .union)))")
        lines.append("Commercial share of Union access: \(share(access.unionCommercialHours, access.hours(pool: .union)))")
        lines.append("Union access share: \(share(access.hours(pool: .union), access.hours())), against the Union's share of commitments \(share(union.committed, total.committed))")
        return lines
    }
}
