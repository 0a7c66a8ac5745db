import GigaLedgerCore
import Mustache

/// Turns a `PeriodReport` into its files: report.md, report.html, summary.json,
/// contributions.csv, access.csv. The same report gives the same bytes: nothing here reads the
/// clock, and every order is fixed. A checkpoint or consistency proof is attached as its own file
/// and changes none of the others.
public enum ReportRenderer {
    public static let rounding =
        "Amounts are exact to the cent; an excess or a shortfall that is not a whole cent is shown exactly. Percentages are rounded half up to two decimals for display only, or to as many as it takes to show a breach as different from its limit (saying which way they were rounded); every verdict is decided on the exact fraction of integer cents or GPU-hours."

    /// The most entries the HTML report lists in its appendix (each verdict links its entries there);
    /// beyond it, entries are named by sequence number and the CSV files hold the rows.
    static let appendixEntriesMax = 5_000

    /// (file name, contents) in a fixed order.
    public static func files(_ report: PeriodReport, checkpoint: String? = nil, consistency: String? = nil) throws -> [(String, String)] {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedTemplates.all { try library.register(text + "\n", named: name) }
        func render(_ template: String, html: Bool) -> String {
            let cell: (String) -> String = html ? { $0 } : { $0.replacingOccurrences(of: "|", with: "\\|") }
            return library.render(context(report, cell: cell, html: html), withTemplate: template) ?? ""
        }
        var files = [
            ("report.md", render("report.md", html: false)), ("report.html", render("report.html", html: true)),
            ("summary.json", summaryJSON(report)), ("contributions.csv", contributionsCSV(report)), ("access.csv", accessCSV(report)),
            ("access-breakdown.csv", accessBreakdownCSV(report)),
        ]
        if let checkpoint { files.append(("checkpoint.txt", checkpoint)) }
        if let consistency { files.append(("consistency.txt", consistency)) }
        return files
    }

    // MARK: - Context for the templates

    static func context(_ report: PeriodReport, cell: (String) -> String, html: Bool) -> [String: Any] {
        let period = report.period
        let title = period.kindName == "year" ? "Annual report \(period)" : "Quarterly report \(period)"
        let option = period.kindName == "year" ? "--year \(period)" : "--quarter \(period)"
        let linked = linkedEntries(report)
        var values: [String: Any] = [
            "title": title, "period": period.description, "recompute": "gigaledger report \(option) --at \(report.entryCount)",
            "origin": cell(report.origin), "entryCount": String(report.entryCount),
            "headHash": Encoding.hex(report.headHash), "headRecordedAt": report.headRecordedAt, "merkleRoot": Encoding.hex(report.merkleRoot),
            "rounding": rounding, "firstDay": period.firstDay.description, "lastDay": period.lastDay.description,
            "attachments": report.rollForward == nil
                ? "When the ledger signed a checkpoint at this state, it is attached as checkpoint.txt (check it with `gigaledger verify --since checkpoint.txt`)."
                : "When the ledger signed a checkpoint at this state, it is attached as checkpoint.txt (check it with `gigaledger verify --since checkpoint.txt`), and consistency.txt proves it extends the previous report's checkpoint.",
            "legend": legend,
            "policyID": report.policy.id, "policyVersion": String(report.policy.version), "policySeq": String(report.policySeq),
            "policyTitle": cell(report.policy.title),
            "policyEffective": report.policy.effectiveFrom?.description ?? "not stated (applies to every period)",
            "factories": report.factories.map { factoryContext($0, report: report, cell: cell, linked: linked) },
            "programme": report.programme.map { verdictContext($0, factoryID: "all factories", cell: cell, linked: linked) },
            "all": [
                periodContext(report.allPeriod, label: "within \(period)", factory: nil, report: report, cell: cell),
                periodContext(report.allCumulative, label: "cumulative to \(period.lastDay)", factory: nil, report: report, cell: cell),
            ],
            "rules": report.policy.rules.map { rule in
                ["id": rule.id, "value": ruleValue(rule), "confidence": rule.confidence.rawValue, "source": cell(rule.source)]
            },
            "fundingChart": Charts.funding(report), "accessChart": Charts.access(report),
            "summary": summaryContext(report, cell: cell),
            "memberStates": memberStatesContext(report),
            "accessByCountry": accessByCountryContext(report),
            "accessBreakdown": accessBreakdownContext(report),
            "appendix": appendixContext(report, linked: linked, cell: cell),
        ]
        if report.isProvisional {
            values["provisional"] = ["lastRecorded": report.headRecordedAt, "lastDay": period.lastDay.description]
        }
        if let why = report.policyNotInForce { values["notInForce"] = ["text": cell(why)] }
        if let differs = report.policyDiffersFromBuiltin { values["builtinDiffers"] = ["text": cell(differs)] }
        if !report.pendingAmendments.isEmpty {
            values["hasPending"] = true
            values["pending"] = report.pendingAmendments.map { item in
                [
                    "seq": String(item.amendment.seq), "factoryID": item.factoryID, "signer": item.amendment.origin.signer.description,
                    "recordedAt": item.amendment.origin.recordedAt, "changes": cell(item.changes.joined(separator: "; ")),
                    "reason": cell(item.amendment.reason),
                ]
            }
        }
        if !report.allowedDuplicates.isEmpty {
            values["allowedDuplicates"] = report.allowedDuplicates.map { event in
                ["seq": String(event.seq), "factoryID": event.factoryID, "date": event.date.description, "what": cell(event.what)]
            }
        }
        if !report.splitAmounts.isEmpty {
            values["splitAmounts"] = report.splitAmounts.map { event in
                ["seq": String(event.seq), "factoryID": event.factoryID, "date": event.date.description, "what": cell(event.what)]
            }
        }
        if !report.subsequentEvents.isEmpty {
            values["hasSubsequentEvents"] = true
            values["subsequentEvents"] = report.subsequentEvents.map { event in
                [
                    "seq": String(event.seq), "factoryID": event.factoryID, "date": event.date.description, "what": cell(event.what),
                    "kind": event.kind.rawValue,
                ]
            }
        }
        if !report.issues.isEmpty {
            values["issues"] = report.issues.map { item in
                [
                    "seq": String(item.origin.seq), "entryCount": String(item.issue.entryCount), "digest": Encoding.hex(item.issue.summarySHA256),
                    "signer": cell(report.signerText(item.origin.signer)), "recordedAt": item.origin.recordedAt,
                ]
            }
        }
        if let reissue = report.reissue, let roll = report.rollForward {
            values["reissue"] = [
                "previousPeriod": roll.previousPeriod.description, "firstSeq": String(reissue.firstIssueSeq),
                "firstState": String(reissue.firstEntryCount),
                "which": reissue.issueSeq.map { "the re-issue recorded at entry \($0)" } ?? "a version never issued on the ledger",
                "changes": reissue.changes.map(changeContext), "noChanges": reissue.changes.isEmpty,
            ]
        }
        if !report.signedForOthers.isEmpty {
            values["hasSignedForOthers"] = true
            values["signedForOthers"] = report.signedForOthers.map { item in
                [
                    "factoryID": item.factoryID, "source": item.source, "signer": cell(report.signerText(item.signer)),
                    "officer": cell(report.signerText(item.officer)), "committed": Cents.formatted(item.committed),
                    "paid": Cents.formatted(item.paid), "entries": item.entries.map(String.init).joined(separator: ", "),
                ]
            }
        }
        // Rows signed per key, in one pass over the rows.
        var signed = [KeyID: Int]()
        for row in report.contributionRows { signed[row.origin.signer, default: 0] += 1 }
        for row in report.accessRows { signed[row.origin.signer, default: 0] += 1 }
        values["signers"] = report.signers.values.sorted { $0.keyID.description < $1.keyID.description }.map { signer in
            [
                "keyID": signer.keyID.description, "name": cell(signer.name), "role": signer.role.rawValue,
                "scopes": (signer.scopes.isEmpty ? "—" : signer.scopes.joined(separator: ", "))
                    + (signer.revokedAt.map { " (revoked at entry \($0))" } ?? ""),
                "entries": String(signed[signer.keyID] ?? 0),
            ]
        }
        if !report.partnerTwins.isEmpty {
            values["partnerTwins"] = ["groups": report.partnerTwins.map { $0.joined(separator: ", ") }.joined(separator: "; ")]
        }
        if !report.twins.isEmpty {
            values["hasTwins"] = true
            values["twins"] = report.twins.map { site in
                [
                    "ids": site.factoryIDs.joined(separator: ", "), "name": cell(site.name), "hosts": site.hosts.joined(separator: ", "),
                    "capex": Cents.formatted(site.capex), "union": Cents.formatted(site.unionCommittedCapex),
                    "share": site.capex == 0 ? "n/a" : Fraction(site.unionCommittedCapex, site.capex).percentText,
                ]
            }
        }
        if let roll = report.rollForward { values["rollForward"] = rollForwardContext(roll, report: report, cell: cell) }
        if !report.quarterVerdicts.isEmpty { values["quarters"] = quartersContext(report) }
        return values
    }

    static func ruleValue(_ rule: PolicyRule) -> String {
        if let categories = rule.categories { return categories.map(\.rawValue).joined(separator: ", ") }
        if let cents = rule.cents { return Cents.formatted(cents) }
        if let points = rule.basisPoints { return Fraction.basisPoints(points).percentText }
        return "condition"
    }

    /// The entries the HTML appendix lists, so verdicts link to them: every entry a verdict or a
    /// finding names, unless there are too many.
    static func linkedEntries(_ report: PeriodReport) -> Set<Int64> {
        var all = Set<Int64>()
        for item in report.factories {
            for verdict in item.verdicts { all.formUnion(verdict.entries) }
            for finding in item.findings { all.formUnion(finding.entries) }
        }
        for verdict in report.programme { all.formUnion(verdict.entries) }
        return all.count <= appendixEntriesMax ? all : []
    }

    /// What the verdict columns mean, said once in every report.
    static let legend =
        "Verdicts are decided on cumulative figures to the period's last day (corrections netted); the period's own figures below are for information. Headroom: how much more the capped figure could grow before the cap (for a share of a whole, with the whole growing alike); excess: exactly how much is over the cap (in fractions of a cent or of a GPU-hour when it is not a whole one); to remove to comply: the whole cents or GPU-hours that must go for the rule to pass (for a share of a whole, the whole shrinking alike); shortfall: exactly how much is missing to reach a minimum, and to add to comply what must come; surplus: how much room is left above it. Shares are shown to two decimals, or to as many as it takes to show a breach as different from its limit (then saying which way they were rounded). Entries: the sequence numbers of the entries behind the figures, registrations and amendments of a cap's base included."

    /// `entry 9` or `entries 3–7, 12`.
    static func entriesText(_ seqs: [Int64]) -> String {
        seqs.isEmpty ? "" : Set(seqs).count == 1 ? "entry \(seqs[0])" : "entries \(ranges(seqs))"
    }

    /// Sequence numbers as ranges: `3–7, 12`.
    static func ranges(_ seqs: [Int64]) -> String {
        var parts = [String]()
        var index = 0
        let sorted = Array(Set(seqs)).sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? String(sorted[index]) : "\(sorted[index])–\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ", ")
    }

    static func verdictContext(_ verdict: Verdict, factoryID: String, cell: (String) -> String, linked: Set<Int64>) -> [String: Any] {
        var values: [String: Any] = [
            "factoryID": factoryID, "ruleID": verdict.rule.id, "status": verdict.status.rawValue,
            "statusClass": verdict.status.cssClass, "explanation": cell(verdict.explanation),
            "note": cell(verdict.rule.note), "source": cell(verdict.rule.source), "confidence": verdict.rule.confidence.rawValue,
            "margin": verdict.margin ?? "",
            "entriesText": verdict.entries.isEmpty && verdict.entryCount > 0
                ? "\(verdict.entryCount) entries (this factory's rows in contributions.csv and access.csv)" : entriesText(verdict.entries),
            "marginText": verdict.margin.map { " — \($0)" } ?? "",
        ]
        if !verdict.entries.isEmpty && verdict.entries.allSatisfy(linked.contains) {
            values["links"] = verdict.entries.map { ["seq": String($0)] }
        }
        return values
    }

    static func factoryContext(_ item: FactoryReport, report: PeriodReport, cell: (String) -> String, linked: Set<Int64>) -> [String: Any] {
        let factory = item.factory
        let listed = beneficiaries(of: factory.id, report: report)
        return [
            "id": factory.id, "name": cell(factory.name), "kind": factory.kind.rawValue,
            "hosts": factory.hosts.map { "\(Codes.memberStateNames[$0] ?? $0) (\($0))" }.joined(separator: ", "),
            "capex": factory.capex.description, "opex": factory.opex.map { "registered operating budget \($0)" } ?? "no operating budget registered",
            "periods": [
                periodContext(item.period, label: "within \(report.period)", factory: factory, report: report, cell: cell),
                periodContext(item.cumulative, label: "cumulative to \(report.period.lastDay)", factory: factory, report: report, cell: cell),
            ],
            "verdicts": item.verdicts.map { verdictContext($0, factoryID: factory.id, cell: cell, linked: linked) },
            "hasBeneficiaries": !listed.isEmpty,
            "beneficiaries": listed.map { item in
                [
                    "name": cell(item.name), "union": Hours.grouped(item.union), "host": Hours.grouped(item.host),
                    "categories": item.categories, "entries": String(item.entries),
                ]
            },
            "findings": item.findings.map { finding in
                [
                    "source": finding.source, "sourceName": cell(report.name(ofSource: finding.source)), "category": finding.category.rawValue,
                    "committed": Cents.formatted(finding.committed), "paid": Cents.formatted(finding.paid),
                    "excess": Cents.formatted(finding.paid - finding.committed),
                    "entriesText": finding.entries.isEmpty ? "\(finding.entryCount) entries in contributions.csv" : entriesText(finding.entries),
                ]
            },
        ]
    }

    /// The most beneficiaries report.md lists per factory (access.csv has every grant).
    static let beneficiariesListedMax = 20

    /// A factory's beneficiaries within the period by GPU-hours, most first (names compared as
    /// twins are), each with its hours per pool and the types of participant it was recorded as.
    static func beneficiaries(
        of factory: String, report: PeriodReport
    ) -> [(name: String, union: Total, host: Total, categories: String, entries: Int)] {
        var byName = [String: (name: String, union: Total, host: Total, categories: Set<String>, entries: Int)]()
        for row in report.accessRows
        where row.grant.factory == factory && report.period.contains(row.grant.date) && row.seq <= report.entryCount
            && (row.correctedBy.map { $0 > report.entryCount } ?? true)
        {
            let key = Twins.key(row.grant.beneficiary)
            var item = byName[key] ?? (row.grant.beneficiary, 0, 0, [], 0)
            if row.grant.pool == .union { item.union += Total(row.grant.gpuHours) } else { item.host += Total(row.grant.gpuHours) }
            item.categories.insert(row.grant.category.rawValue)
            item.entries += 1
            byName[key] = item
        }
        return byName.values.sorted { ($0.union + $0.host, $1.name) > ($1.union + $1.host, $0.name) }.prefix(beneficiariesListedMax).map {
            ($0.name, $0.union, $0.host, $0.categories.sorted().joined(separator: ", "), $0.entries)
        }
    }

    static func money(_ totals: ContributionTotals) -> [String: String] {
        [
            "committedCapex": Cents.formatted(totals.committedCapex), "committedOpex": Cents.formatted(totals.committedOpex),
            "paidCapex": Cents.formatted(totals.paidCapex), "paidOpex": Cents.formatted(totals.paidOpex),
            "committed": Cents.formatted(totals.committed), "paid": Cents.formatted(totals.paid),
        ]
    }

    static func periodContext(
        _ figures: PeriodFigures, label: String, factory: Factory?, report: PeriodReport, cell: (String) -> String
    ) -> [String: Any] {
        let total = figures.total
        let sources: [[String: String]] = figures.sourceKeys.map { key in
            var row = money(figures.bySource[key]!)
            row["source"] = key
            row["name"] = cell(report.name(ofSource: key))
            row["share"] = total.committed > 0 ? Fraction(figures.bySource[key]!.committed, total.committed).percentText : "n/a"
            return row
        }
        let access: [[String: String]] =
            AccessCategory.allCases.compactMap { category in
                let all = figures.access.hours(category)
                guard all > 0 else { return nil }
                return [
                    "category": category.rawValue, "union": Hours.grouped(figures.access.hours(category, pool: .union)),
                    "host": Hours.grouped(figures.access.hours(category, pool: .host)), "total": Hours.grouped(all),
                ]
            } + [
                [
                    "category": "total", "union": Hours.grouped(figures.access.hours(pool: .union)),
                    "host": Hours.grouped(figures.access.hours(pool: .host)),
                    "total": Hours.grouped(figures.access.hours()),
                ]
            ]
        var values: [String: Any] = [
            "label": label, "sources": sources, "total": money(total), "access": access,
            "ratios": ratios(figures, factory: factory).map { ["text": cell($0)] },
        ]
        if sources.isEmpty { values["noMoney"] = true }
        return values
    }

    /// The ratios in words, each as an exact fraction shown rounded.
    static func ratios(_ figures: PeriodFigures, factory: Factory?) -> [String] {
        func share(_ part: Total, _ whole: Total) -> String { whole > 0 ? Fraction(part, whole).percentText : "n/a (nothing recorded)" }
        let union = figures.union, total = figures.total, access = figures.access
        var lines = [String]()
        if let factory {
            lines.append("Union share of the registered eligible CAPEX (commitments): \(share(union.committedCapex, Total(factory.capex.value)))")
            if let opex = factory.opex {
                lines.append("Union share of the registered operating budget (commitments): \(share(union.committedOpex, Total(opex.value)))")
            }
        }
        lines.append("Union share of all commitments: \(share(union.committed, total.committed)); of all payments: \(share(union.paid, total.paid))")
        if factory?.kind != .aiFactory {  // matching is a gigafactory rule (and a programme-wide one)
            lines.append(
                "Matching ratio (participating states' commitments to the Union's): \(share(figures.memberStates.committed, union.committed))")
        }
        lines.append(
            "SME and start-up share of all access: \(share(access.hours(.sme) + access.hours(.startup), access.hours())); of Union access: \(share(access.hours(.sme, pool: .union) + access.hours(.startup, pool: .union), access.hours(pool: .union)))"
        )
        lines.append("Commercial share of Union access: \(share(access.unionCommercialHours, access.hours(pool: .union)))")
        lines.append(
            "Union access share: \(share(access.hours(pool: .union), access.hours())), against the Union's share of commitments \(share(union.committed, total.committed))"
        )
        return lines
    }

    /// The breach summary at the top: how many, which factories, which rules; and the findings.
    static func summaryContext(_ report: PeriodReport, cell: (String) -> String) -> [String: Any] {
        let breaches = report.breaches
        let counts = report.verdictCounts
        let findings = report.factories.flatMap { item in item.findings.map { (item.factory.id, $0) } }
        func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        var values: [String: Any] = [
            "countsText":
                "\(count(breaches.count, "breach", "breaches")), \(counts[.pass] ?? 0) pass, \(counts[.notAssessable] ?? 0) not assessable; \(count(findings.count, "payment finding", "payment findings"))",
            "none": breaches.isEmpty && findings.isEmpty,
            "breaches": breaches.map { item in
                [
                    "factoryID": item.factoryID ?? "all factories", "ruleID": item.verdict.rule.id, "explanation": cell(item.verdict.explanation),
                    "marginText": item.verdict.margin.map { " — \($0)" } ?? "",
                ]
            },
            "findings": findings.map { factory, finding in
                [
                    "factoryID": factory, "source": finding.source, "category": finding.category.rawValue,
                    "text":
                        "paid \(Cents.formatted(finding.paid)) against \(Cents.formatted(finding.committed)) committed (excess \(Cents.formatted(finding.paid - finding.committed)))",
                ]
            },
        ]
        if !breaches.isEmpty {  // a section, present only when there is something to list
            // The factories by name; the programme's own (all factories together) said apart.
            let factories = Array(Set(breaches.compactMap(\.factoryID))).sorted()
            let programme = breaches.filter { $0.factoryID == nil }.count
            values["withBreaches"] = [
                "factories": (factories.isEmpty ? "none" : factories.joined(separator: ", "))
                    + (programme == 0 ? "" : "; programme level (all factories together): \(programme) breach\(programme == 1 ? "" : "es")")
            ]
        }
        return values
    }

    /// A changed figure or verdict as the templates show it, with the entries behind it
    /// (` (entries recorded since: 52 correction, 56 amendment)`, or "" when none).
    static func changeContext(_ change: Change) -> [String: Any] {
        [
            "factoryID": change.factoryID ?? "all factories", "what": change.what, "before": change.before, "after": change.after,
            "newBreach": change.rank == 0,
            "causesText": change.causes.isEmpty
                ? "" : " (entries recorded since: " + change.causes.map { "\($0.seq) \($0.how)" }.joined(separator: ", ") + ")",
        ]
    }

    static func rollForwardContext(_ roll: RollForward, report: PeriodReport, cell: (String) -> String) -> [String: Any] {
        [
            "previousPeriod": roll.previousPeriod.description, "previousEntries": String(roll.previousEntryCount), "basis": roll.basis,
            "changes": roll.changes.map(changeContext),
            "noChanges": roll.changes.isEmpty,
            "factories": roll.factories.map { item in
                let keys = PeriodFigures.ordered(
                    Array(
                        Set(item.opening.bySource.keys).union(item.movements.bySource.keys)
                            .union(item.adjustments.bySource.keys).union(item.closing.bySource.keys)))
                func line(_ name: String, _ pick: (ContributionTotals) -> Total, _ figures: (PeriodFigures) -> ContributionTotals) -> [String: String]
                {
                    [
                        "name": name, "opening": Cents.formatted(pick(figures(item.opening))),
                        "movements": Cents.formatted(pick(figures(item.movements))),
                        "adjustments": Cents.formatted(pick(figures(item.adjustments))), "closing": Cents.formatted(pick(figures(item.closing))),
                    ]
                }
                var rows = [[String: String]]()
                let all = [item.opening, item.movements, item.adjustments, item.closing]
                for key in keys {
                    let name = cell("\(report.name(ofSource: key)) (\(key))")
                    let parts: [(String, KeyPath<ContributionTotals, Total>)] = [
                        ("committed CAPEX", \.committedCapex), ("committed OPEX", \.committedOpex),
                        ("paid CAPEX", \.paidCapex), ("paid OPEX", \.paidOpex),
                    ]
                    for (label, path) in parts where all.contains(where: { ($0.bySource[key] ?? ContributionTotals())[keyPath: path] != 0 }) {
                        rows.append(line("\(name) \(label)", { $0[keyPath: path] }) { $0.bySource[key] ?? ContributionTotals() })
                    }
                }
                rows.append(line("total committed", \.committed) { $0.total })
                rows.append(line("total paid", \.paid) { $0.total })
                let hours: [String: String] = [
                    "name": "access granted (GPU-hours)", "opening": Hours.grouped(item.opening.access.hours()),
                    "movements": Hours.grouped(item.movements.access.hours()),
                    "adjustments": Hours.grouped(item.adjustments.access.hours()), "closing": Hours.grouped(item.closing.access.hours()),
                ]
                return ["id": item.factoryID, "rows": rows + [hours]]
            },
            "adjustments": roll.adjustments.map { item in
                [
                    "seq": String(item.origin.seq), "recordedAt": item.origin.recordedAt, "signer": item.origin.signer.description,
                    "factoryID": item.factoryID, "what": cell(item.description), "valueDate": item.valueDate.description,
                    "reasonText": cell((item.ref.isEmpty ? "" : "; ref: \(item.ref)") + (item.reason.isEmpty ? "" : "; reason: \(item.reason)")),
                ]
            },
            "noAdjustments": roll.adjustments.isEmpty,
            "baseAdjustments": roll.baseAdjustments.map { item in
                [
                    "seq": String(item.amendment.seq), "recordedAt": item.amendment.origin.recordedAt,
                    "signer": item.amendment.origin.signer.description, "factoryID": item.factoryID,
                    "effective": (item.amendment.effectiveFrom.map { "effective \($0)" } ?? "effective from the start")
                        + (item.countersignedAt.map { ", countersigned at entry \($0)" } ?? ""),
                    "fields": cell(item.fields.map { "\($0.label) \($0.before) → \($0.after)" }.joined(separator: "; ")),
                    "reason": cell(item.amendment.reason),
                ]
            },
            "noBaseAdjustments": roll.baseAdjustments.isEmpty,
            "previousPeriodChanges": roll.previousPeriodChanges.map(changeContext),
            "noPreviousPeriodChanges": roll.previousPeriodChanges.isEmpty,
        ]
    }

    static func quartersContext(_ report: PeriodReport) -> [[String: Any]] {
        report.quarterVerdicts.map { quarter in
            func row(_ scope: String, _ verdict: Verdict) -> [String: String] {
                [
                    "factoryID": scope, "ruleID": verdict.rule.id, "status": verdict.status.rawValue,
                    "statusClass": verdict.status.cssClass,
                ]
            }
            var issued: [String: Any]?
            if let report = quarter.issued {
                issued = [
                    "entries": String(report.entryCount),
                    "signedText": (report.isSigned ? ", its signature checked" : " (unsigned)")
                        + (report.reissue.map { reissue in
                            "; NOT THE FIRST ISSUE: it is \(reissue.issueSeq.map { "the re-issue recorded at entry \($0)" } ?? "a version never issued on the ledger"), the quarter was first issued at entry \(reissue.firstIssueSeq) (state \(reissue.firstEntryCount))"
                        } ?? ""),
                    "none": report.changes.isEmpty,
                    "changes": report.changes.map(changeContext),
                ]
            }
            var values: [String: Any] = [
                "notIssued": issued == nil,
                "quarter": quarter.quarter.description, "provisionalText": quarter.isProvisional ? " (PROVISIONAL: the quarter had not ended)" : "",
                "rows": quarter.factories.flatMap { item in item.verdicts.map { row(item.factoryID, $0) } }
                    + quarter.programme.map { row("all factories", $0) },
                "findings": quarter.findings.map { item in
                    [
                        "factoryID": item.factoryID, "source": item.finding.source, "category": item.finding.category.rawValue,
                        "excess": Cents.formatted(item.finding.paid - item.finding.committed),
                    ]
                },
            ]
            if let issued { values["issued"] = issued }
            return values
        }
    }

    static func memberStatesContext(_ report: PeriodReport) -> [[String: Any]] {
        report.memberStates.map { state in
            let total = state.total
            return [
                "code": state.code, "name": state.name, "committed": Cents.formatted(total.committed), "paid": Cents.formatted(total.paid),
                "outstanding": Cents.formatted(total.committed - total.paid),
                "factories": state.factories.map { item in
                    [
                        "factoryID": item.factoryID, "role": item.isHost ? "host" : "participating",
                        "committed": Cents.formatted(item.totals.committed),
                        "paid": Cents.formatted(item.totals.paid), "outstanding": Cents.formatted(item.totals.committed - item.totals.paid),
                    ]
                },
            ]
        }
    }

    /// Rows of the access breakdown: all factories together first, then each factory; in each,
    /// the Union pool by beneficiary country (not recorded last), then the host pool.
    static func accessBreakdownContext(_ report: PeriodReport) -> [[String: String]] {
        func rows(_ scope: String, _ breakdown: AccessBreakdown) -> [[String: String]] {
            func row(_ pool: String, _ country: String, _ hours: [AccessCategory: Total]) -> [String: String] {
                var row = ["scope": scope, "pool": pool, "country": country, "total": Hours.grouped(hours.values.reduce(0, +))]
                for category in AccessCategory.allCases { row[category.rawValue] = Hours.grouped(hours[category] ?? 0) }
                return row
            }
            let countries = breakdown.union.keys.sorted { ($0 == "unknown" ? 1 : 0, $0) < ($1 == "unknown" ? 1 : 0, $1) }
            var out = countries.map { code in
                row("Union", code == "unknown" ? "not recorded" : "\(Codes.memberStateNames[code] ?? code) (\(code))", breakdown.union[code]!)
            }
            if !breakdown.host.isEmpty { out.append(row("host", "all", breakdown.host)) }
            return out
        }
        return rows("all factories", report.accessBreakdownTotal)
            + report.factories.flatMap { rows($0.factory.id, report.accessBreakdown[$0.factory.id] ?? AccessBreakdown()) }
    }

    static func accessByCountryContext(_ report: PeriodReport) -> [[String: String]] {
        report.accessByCountry.keys.sorted().map { country in
            let hours = report.accessByCountry[country]!
            var row = [
                "country": country, "name": Codes.memberStateNames[country] ?? (country == "unknown" ? "not recorded" : country),
                "total": Hours.grouped(hours.values.reduce(0, +)),
            ]
            for category in AccessCategory.allCases { row[category.rawValue] = Hours.grouped(hours[category] ?? 0) }
            return row
        }
    }

    /// The HTML appendix: every linked entry, one row each, in sequence order.
    static func appendixContext(_ report: PeriodReport, linked: Set<Int64>, cell: (String) -> String) -> [[String: String]] {
        guard !linked.isEmpty else { return [] }
        var rows = [(Int64, [String: String])]()
        for row in report.contributionRows where linked.contains(row.seq) {
            let item = row.item
            rows.append(
                (
                    row.seq,
                    [
                        "seq": String(row.seq), "date": item.date.description, "factoryID": item.factory,
                        "text": cell(
                            "\(item.kind.rawValue) \(item.category.rawValue) by \(report.name(ofSource: item.source.description)) (\(item.source)) \(item.amount)\(item.ref.isEmpty ? "" : ", ref \(item.ref)")"
                        ),
                        "recordedAt": row.origin.recordedAt, "signer": cell(report.signerText(row.origin.signer)),
                    ]
                ))
        }
        for row in report.accessRows where linked.contains(row.seq) {
            let grant = row.grant
            rows.append(
                (
                    row.seq,
                    [
                        "seq": String(row.seq), "date": grant.date.description, "factoryID": grant.factory,
                        "text": cell(
                            "\(grant.pool.rawValue) access, \(grant.category.rawValue), \(grant.beneficiary): \(Hours.formatted(Total(grant.gpuHours)))\(grant.isCommercial ? ", commercial" : ""), charged \(grant.charge)"
                        ),
                        "recordedAt": row.origin.recordedAt, "signer": cell(report.signerText(row.origin.signer)),
                    ]
                ))
        }
        return rows.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
