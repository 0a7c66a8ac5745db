import GigaLedgerCore

/// summary.json and the CSV files of a quarterly report.
extension ReportRenderer {
    static func fractionJSON(_ value: Fraction) -> CanonicalJSON {
        .object(["numerator": .total(value.numerator), "denominator": .total(value.denominator), "percent": .string(value.percentText)])
    }

    static func totalsJSON(_ totals: ContributionTotals) -> CanonicalJSON {
        .object([
            "committed_capex_cents": .total(totals.committedCapex), "committed_opex_cents": .total(totals.committedOpex),
            "paid_capex_cents": .total(totals.paidCapex), "paid_opex_cents": .total(totals.paidOpex),
            "committed_cents": .total(totals.committed), "paid_cents": .total(totals.paid),
        ])
    }

    static func periodJSON(_ figures: PeriodFigures) -> CanonicalJSON {
        var categories = [String: CanonicalJSON]()
        for category in AccessCategory.allCases where figures.access.hours(category) > 0 {
            categories[category.rawValue] = .object([
                "union": .total(figures.access.hours(category, pool: .union)),
                "host": .total(figures.access.hours(category, pool: .host)),
            ])
        }
        return .object([
            "sources": .object(figures.bySource.mapValues(totalsJSON)), "total": totalsJSON(figures.total),
            "access": .object([
                "by_category": .object(categories), "union_hours": .total(figures.access.hours(pool: .union)),
                "host_hours": .total(figures.access.hours(pool: .host)), "total_hours": .total(figures.access.hours()),
                "union_commercial_hours": .total(figures.access.unionCommercialHours),
            ]),
        ])
    }

    /// `union_by_country` (country → category → hours) and `host_by_category`.
    static func breakdownJSON(_ breakdown: AccessBreakdown) -> [String: CanonicalJSON] {
        func categories(_ hours: [AccessCategory: Total]) -> CanonicalJSON {
            .object(Dictionary(uniqueKeysWithValues: hours.map { ($0.key.rawValue, CanonicalJSON.total($0.value)) }))
        }
        return ["union_by_country": .object(breakdown.union.mapValues(categories)), "host_by_category": categories(breakdown.host)]
    }

    static func verdictJSON(_ verdict: Verdict) -> CanonicalJSON {
        var members: [String: CanonicalJSON] = [
            "rule": .string(verdict.rule.id), "status": .string(verdict.status.rawValue),
            "explanation": .string(verdict.explanation), "confidence": .string(verdict.rule.confidence.rawValue),
            "source": .string(verdict.rule.source), "entries": .array(verdict.entries.map { .integer($0) }),
            "entry_count": .integer(Int64(verdict.entryCount)),
        ]
        if let value = verdict.value { members["value"] = fractionJSON(value) }
        if let threshold = verdict.threshold { members["threshold"] = fractionJSON(threshold) }
        if let margin = verdict.margin { members["margin"] = .string(margin) }
        return .object(members)
    }

    static func findingJSON(_ finding: PaymentFinding) -> CanonicalJSON {
        .object([
            "source": .string(finding.source), "category": .string(finding.category.rawValue), "committed_cents": .total(finding.committed),
            "paid_cents": .total(finding.paid), "excess_cents": .total(finding.paid - finding.committed),
            "entries": .array(finding.entries.map { .integer($0) }), "entry_count": .integer(Int64(finding.entryCount)),
        ])
    }

    /// A change of a figure or verdict, with the entries behind it.
    static func changeJSON(_ item: Change) -> CanonicalJSON {
        .object([
            "factory": item.factoryID.map { .string($0) } ?? .string(""), "scope": .string(item.factoryID == nil ? "programme" : "factory"),
            "what": .string(item.what), "before": .string(item.before), "after": .string(item.after),
            "causes": .array(item.causes.map { .object(["entry": .integer($0.seq), "how": .string($0.how)]) }),
        ])
    }

    static func rollForwardJSON(_ roll: RollForward) -> CanonicalJSON {
        .object([
            "previous_period": .string(roll.previousPeriod.description), "previous_entries": .integer(roll.previousEntryCount),
            "factories": .array(
                roll.factories.map { item in
                    .object([
                        "id": .string(item.factoryID), "opening": periodJSON(item.opening), "movements": periodJSON(item.movements),
                        "adjustments": periodJSON(item.adjustments), "closing": periodJSON(item.closing),
                    ])
                }),
            "adjustments": .array(
                roll.adjustments.map { item in
                    .object([
                        "entry": .integer(item.origin.seq), "recorded_at": .string(item.origin.recordedAt),
                        "signer": .string(item.origin.signer.description),
                        "factory": .string(item.factoryID), "what": .string(item.description), "value_date": .string(item.valueDate.description),
                        "ref": .string(item.ref), "reason": .string(item.reason), "sign": .integer(Int64(item.sign)),
                    ])
                }),
            "base_adjustments": .array(
                roll.baseAdjustments.map { item in
                    .object([
                        "entry": .integer(item.amendment.seq), "recorded_at": .string(item.amendment.origin.recordedAt),
                        "signer": .string(item.amendment.origin.signer.description), "factory": .string(item.factoryID),
                        "effective_from": .string(item.amendment.effectiveFrom?.description ?? ""), "reason": .string(item.amendment.reason),
                        "countersigned_at": .integer(item.countersignedAt ?? 0),
                        "fields": .array(
                            item.fields.map { .object(["what": .string($0.label), "before": .string($0.before), "after": .string($0.after)]) }),
                    ])
                }),
            "changes": .array(roll.changes.map(changeJSON)),
            "previous_period_changes": .array(roll.previousPeriodChanges.map(changeJSON)),
        ])
    }

    /// The summary's format: v3 added `access_breakdown`, `ref` beside `reason` in the
    /// roll-forward's adjustments, and `scope` and `causes` in its changes; v4 the roll-forward's
    /// `base_adjustments`, `pending_amendments`, `twins` and the policy's `differs_from_builtin`
    /// (FORMAT.md section 16).
    public static let summaryFormat = "gigaledger/report-summary/v4"

    /// Every figure and verdict, in canonical JSON (sorted keys), one line.
    static func summaryJSON(_ report: PeriodReport) -> String {
        let factories: [CanonicalJSON] = report.factories.map { item in
            var members: [String: CanonicalJSON] = [
                "id": .string(item.factory.id), "name": .string(item.factory.name), "kind": .string(item.factory.kind.rawValue),
                "hosts": .array(item.factory.hosts.map { .string($0) }), "planned_capex_cents": .integer(item.factory.capex.value),
                "period": periodJSON(item.period), "cumulative": periodJSON(item.cumulative), "verdicts": .array(item.verdicts.map(verdictJSON)),
                "findings": .array(item.findings.map(findingJSON)),
            ]
            if let opex = item.factory.opex { members["planned_opex_cents"] = .integer(opex.value) }
            return .object(members)
        }
        var policy: [String: CanonicalJSON] = [
            "id": .string(report.policy.id), "version": .integer(report.policy.version), "entry": .integer(report.policySeq),
        ]
        if let from = report.policy.effectiveFrom { policy["effective_from"] = .string(from.description) }
        if let why = report.policyNotInForce { policy["not_in_force"] = .string(why) }
        var json: [String: CanonicalJSON] = [
            "format": .string(summaryFormat), "period": .string(report.period.description), "kind": .string(report.period.kindName),
            "first_day": .string(report.period.firstDay.description), "last_day": .string(report.period.lastDay.description),
            "provisional": .bool(report.isProvisional), "origin": .string(report.origin), "rounding": .string(rounding),
            "ledger": .object([
                "entries": .integer(report.entryCount), "head": .string(Encoding.hex(report.headHash)),
                "head_recorded_at": .string(report.headRecordedAt), "merkle_root": .string(Encoding.hex(report.merkleRoot)),
            ]),
            "policy": .object(policy), "factories": .array(factories), "programme": .array(report.programme.map(verdictJSON)),
            "all": .object(["period": periodJSON(report.allPeriod), "cumulative": periodJSON(report.allCumulative)]),
            "breaches": .integer(Int64(report.breaches.count)),
            "findings": .integer(Int64(report.findingCount)),
            "member_states": .array(
                report.memberStates.map { state in
                    .object([
                        "code": .string(state.code), "name": .string(state.name),
                        "factories": .array(
                            state.factories.map { item in
                                .object([
                                    "factory": .string(item.factoryID), "host": .bool(item.isHost), "totals": totalsJSON(item.totals),
                                    "outstanding_cents": .total(item.totals.committed - item.totals.paid),
                                ])
                            }),
                    ])
                }),
            "access_breakdown": .object([
                "factories": .array(
                    report.factories.map { item in
                        var members = breakdownJSON(report.accessBreakdown[item.factory.id] ?? AccessBreakdown())
                        members["id"] = .string(item.factory.id)
                        return .object(members)
                    }),
                "total": .object(breakdownJSON(report.accessBreakdownTotal)),
            ]),
            "access_by_country": .object(
                report.accessByCountry.mapValues { categories in
                    .object(Dictionary(uniqueKeysWithValues: categories.map { ($0.key.rawValue, CanonicalJSON.total($0.value)) }))
                }),
        ]
        if let roll = report.rollForward { json["roll_forward"] = rollForwardJSON(roll) }
        if let differs = report.policyDiffersFromBuiltin { policy["differs_from_builtin"] = .string(differs) }
        json["policy"] = .object(policy)
        json["pending_amendments"] = .array(
            report.pendingAmendments.map { item in
                .object([
                    "entry": .integer(item.amendment.seq), "factory": .string(item.factoryID),
                    "signer": .string(item.amendment.origin.signer.description), "reason": .string(item.amendment.reason),
                    "changes": .array(item.changes.map { .string($0) }),
                ])
            })
        json["signed_for_others"] = .array(
            report.signedForOthers.map { item in
                .object([
                    "factory": .string(item.factoryID), "source": .string(item.source), "signer": .string(item.signer.description),
                    "signer_name": .string(item.signerName), "officer": .string(item.officer.description),
                    "committed_cents": .total(item.committed), "paid_cents": .total(item.paid),
                    "entries": .array(item.entries.map { .integer($0) }),
                ])
            })
        json["subsequent_events"] = .array(
            report.subsequentEvents.map { event in
                .object([
                    "entry": .integer(event.seq), "factory": .string(event.factoryID), "date": .string(event.date.description),
                    "what": .string(event.what), "kind": .string(event.kind.rawValue),
                ])
            })
        json["allowed_duplicates"] = .array(
            report.allowedDuplicates.map { event in
                .object([
                    "entry": .integer(event.seq), "factory": .string(event.factoryID), "date": .string(event.date.description),
                    "what": .string(event.what),
                ])
            })
        json["split_amounts"] = .array(
            report.splitAmounts.map { event in
                .object([
                    "entry": .integer(event.seq), "factory": .string(event.factoryID), "date": .string(event.date.description),
                    "what": .string(event.what),
                ])
            })
        json["issues"] = .array(
            report.issues.map { item in
                .object([
                    "entry": .integer(item.origin.seq), "entry_count": .integer(item.issue.entryCount),
                    "summary_sha256": .string(Encoding.hex(item.issue.summarySHA256)), "signer": .string(item.origin.signer.description),
                ])
            })
        if let reissue = report.reissue, case .object(var roll)? = json["roll_forward"] {
            roll["reissue"] = .object([
                "first_issue": .integer(reissue.firstIssueSeq), "first_entry_count": .integer(reissue.firstEntryCount),
                "issue": .integer(reissue.issueSeq ?? 0), "changes": .array(reissue.changes.map(changeJSON)),
            ])
            json["roll_forward"] = .object(roll)
        }
        json["partner_twins"] = .array(report.partnerTwins.map { group in .array(group.map { .string($0) }) })
        json["twins"] = .array(
            report.twins.map { site in
                .object([
                    "factories": .array(site.factoryIDs.map { .string($0) }), "name": .string(site.name),
                    "hosts": .array(site.hosts.map { .string($0) }), "capex_cents": .total(site.capex),
                    "union_committed_capex_cents": .total(site.unionCommittedCapex),
                ])
            })
        if !report.quarterVerdicts.isEmpty {
            json["quarters"] = .array(
                report.quarterVerdicts.map { quarter in
                    var members: [String: CanonicalJSON] = [
                        "quarter": .string(quarter.quarter.description),
                        "factories": .array(
                            quarter.factories.map { item in
                                .object(["id": .string(item.factoryID), "verdicts": .array(item.verdicts.map(verdictJSON))])
                            }),
                    ]
                    if let issued = quarter.issued {
                        members["issued_report"] = .object([
                            "entries": .integer(issued.entryCount), "signed": .bool(issued.isSigned),
                            "changes": .array(issued.changes.map(changeJSON)),
                        ])
                    }
                    return .object(members)
                })
        }
        return String(decoding: CanonicalJSON.object(json).encoded(), as: UTF8.self) + "\n"
    }

    /// One RFC 4180 record: fields with a comma, quote or line break are quoted, quotes doubled; CRLF ends it.
    static func csvRecord(_ fields: [String]) -> String {
        var out = ""
        appendCSVRecord(fields, to: &out)
        return out
    }

    /// One RFC 4180 record: a field with a comma, a quote or a line break is quoted, its quotes
    /// doubled. Bytes are looked at, not characters (a CR LF pair is one Swift character).
    static func appendCSVRecord(_ fields: [String], to out: inout String) {
        for (index, field) in fields.enumerated() {
            if index > 0 { out += "," }
            if field.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                out += "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            } else {
                out += field
            }
        }
        out += "\r\n"
    }

    /// A free-text cell a spreadsheet would take for a formula (it begins with `=`, `+`, `-`, `@`,
    /// a tab or a carriage return) gets a leading apostrophe, so the spreadsheet shows it as text
    /// (OWASP, "CSV Injection"). Only text columns go through this; numbers are written as they are.
    static func neutralised(_ text: String) -> String {
        guard let first = text.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first)
        else { return text }
        return "'" + text
    }

    /// Room for a typical row, so a file of a million rows grows its buffer a few times only.
    private static let csvRowBytesGuess = 192

    static func contributionsCSV(_ report: PeriodReport) -> String {
        var out = csvRecord([
            "seq", "recorded_at", "signer", "date", "factory", "source", "source_name", "kind", "category", "amount_eur",
            "amount_cents", "ref", "in_period", "corrected_by",
        ])
        out.reserveCapacity(report.contributionRows.count * csvRowBytesGuess)
        for row in report.contributionRows {
            let item = row.item, source = item.source.description
            appendCSVRecord(
                [
                    String(row.seq), row.origin.recordedAt, row.origin.signer.description, item.date.description, item.factory, source,
                    neutralised(report.name(ofSource: source)), item.kind.rawValue, item.category.rawValue, item.amount.decimalText,
                    String(item.amount.value), neutralised(item.ref), report.period.contains(item.date) ? "yes" : "no",
                    row.correctedBy.map(String.init) ?? "",
                ], to: &out)
        }
        return out
    }

    /// The access breakdown as summary.json's `access_breakdown` has it: one row per factory
    /// (`*` for all factories together), pool, beneficiary country (Union pool; `unknown` when
    /// not recorded; empty for the host pool) and category with hours.
    static func accessBreakdownCSV(_ report: PeriodReport) -> String {
        var out = csvRecord(["factory", "pool", "country", "category", "gpu_hours"])
        func rows(_ scope: String, _ breakdown: AccessBreakdown) {
            for country in breakdown.union.keys.sorted() {
                for category in AccessCategory.allCases {
                    guard let hours = breakdown.union[country]?[category], hours != 0 else { continue }
                    appendCSVRecord([scope, "union", country, category.rawValue, String(hours)], to: &out)
                }
            }
            for category in AccessCategory.allCases {
                guard let hours = breakdown.host[category], hours != 0 else { continue }
                appendCSVRecord([scope, "host", "", category.rawValue, String(hours)], to: &out)
            }
        }
        rows("*", report.accessBreakdownTotal)
        for item in report.factories { rows(item.factory.id, report.accessBreakdown[item.factory.id] ?? AccessBreakdown()) }
        return out
    }

    static func accessCSV(_ report: PeriodReport) -> String {
        var out = csvRecord([
            "seq", "recorded_at", "signer", "date", "factory", "beneficiary", "country", "category", "pool", "gpu_hours",
            "commercial", "charge_eur", "in_period", "corrected_by",
        ])
        out.reserveCapacity(report.accessRows.count * csvRowBytesGuess)
        for row in report.accessRows {
            let grant = row.grant
            appendCSVRecord(
                [
                    String(row.seq), row.origin.recordedAt, row.origin.signer.description, grant.date.description, grant.factory,
                    neutralised(grant.beneficiary), grant.country ?? "", grant.category.rawValue, grant.pool.rawValue, String(grant.gpuHours),
                    grant.isCommercial ? "yes" : "no", grant.charge.decimalText, report.period.contains(grant.date) ? "yes" : "no",
                    row.correctedBy.map(String.init) ?? "",
                ], to: &out)
        }
        return out
    }
}

/// Inline SVG charts for report.html: no scripts, no external assets.
enum Charts {
    static let width: Int64 = 640, barHeight: Int64 = 26, labelWidth: Int64 = 190

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// `part` of `whole` as a pixel width of `width`, rounded down (for drawing only).
    static func pixels(_ part: Total, of whole: Total) -> Int64 {
        whole > 0 ? Int64(part * Total(width) / whole) : 0  // part <= whole < 2^100: no overflow
    }

    /// One stacked bar per row, scaled to `whole` (default: the row's sum), with a red marker at
    /// `marker` (a share of the bar) and a legend; a row with nothing in it says "no data".
    /// `title`: the chart's accessible name (its `<title>`), for the public page.
    /// A marker's label is its own share of the bar, unless `markerLabels` gives the row's (a cap
    /// drawn on a bar longer than what it is a share of).
    static func stacked(
        rows: [(label: String, segments: [Total], whole: Total?, marker: Fraction?)], legend: [(String, String)], title: String? = nil,
        markerLabels: [String?] = []
    ) -> String {
        let height = Int64(rows.count) * (barHeight + 14) + 40
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(labelWidth + width + 20) \(height)\" width=\"100%\" role=\"img\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n"
        if let title { svg += "<title>\(escape(title))</title>\n" }
        for (index, row) in rows.enumerated() {
            let y = Int64(index) * (barHeight + 14) + 8
            svg += "<text x=\"0\" y=\"\(y + 17)\">\(escape(row.label))</text>\n"
            let whole = max(row.whole ?? 0, row.segments.reduce(0, +))
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(barHeight)\" fill=\"#eef1f5\"/>\n"
            guard row.segments.contains(where: { $0 > 0 }) else {
                svg += "<text x=\"\(labelWidth + 8)\" y=\"\(y + 17)\" fill=\"#555\">no data</text>\n"
                continue
            }
            var x = labelWidth
            for (segment, value) in row.segments.enumerated() where value > 0 {
                let w = pixels(value, of: whole)
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight)\" fill=\"\(legend[segment].1)\"/>\n"
                x += w
            }
            if let marker = row.marker {
                let mx = labelWidth + pixels(marker.numerator, of: marker.denominator)
                svg += "<line x1=\"\(mx)\" x2=\"\(mx)\" y1=\"\(y - 4)\" y2=\"\(y + barHeight + 4)\" stroke=\"#d0021b\" stroke-width=\"3\"/>\n"
                let label = index < markerLabels.count ? markerLabels[index] ?? marker.percentText : marker.percentText
                svg += "<text x=\"\(mx + 4)\" y=\"\(y + barHeight + 12)\" fill=\"#d0021b\">\(label)</text>\n"
            }
        }
        var x = labelWidth
        let legendY = height - 12
        for (name, color) in legend {
            svg +=
                "<rect x=\"\(x)\" y=\"\(legendY - 10)\" width=\"12\" height=\"12\" fill=\"\(color)\"/><text x=\"\(x + 16)\" y=\"\(legendY)\">\(escape(name))</text>\n"
            x += Int64(name.count) * 7 + 34
        }
        return svg + "</svg>"
    }

    /// Committed CAPEX by source against each factory's registered eligible CAPEX; the red mark
    /// is the cap on the Union's share of it (the grey rest is CAPEX not yet committed).
    /// `capLabels`: the mark labelled with the cap itself ("cap 17.00%", the public page), not its
    /// place on the bar (the same unless more than the registered CAPEX is committed).
    static func funding(_ report: PeriodReport, title: String? = nil, capLabels: Bool = false) -> String {
        let rows = report.factories.map { item -> (label: String, segments: [Total], whole: Total?, marker: Fraction?) in
            let figures = item.cumulative
            let cap = capexCap(item)
            let registered = Total(item.factory.capex.value)
            let segments = [figures.union.committedCapex, figures.memberStates.committedCapex, figures.sum(prefix: "private:").committedCapex]
            let whole = max(registered, segments.reduce(0, +))
            // The cap is a share of the registered CAPEX; drawn on a bar that may be longer when more is committed.
            let marker = cap.map { Fraction(registered * Total($0) / 10_000, whole) }
            return (item.factory.id, segments, whole, marker)
        }
        let labels =
            !capLabels
            ? []
            : report.factories.map { capexCap($0).map { "cap " + Fraction.basisPoints($0).percentText } }
        return stacked(
            rows: rows, legend: [("Union", "#003399"), ("member states", "#f2b600"), ("private partners", "#7a8ea8")], title: title,
            markerLabels: labels)
    }

    /// The cap on the Union's share of a factory's registered CAPEX, in basis points, when its
    /// policy has one (gigafactory or AI factory).
    static func capexCap(_ item: FactoryReport) -> Int64? {
        item.verdicts.first { $0.rule.id == "union-capex-share-max-gigafactory" || $0.rule.id == "union-acquisition-share-max-ai-factory" }?.rule
            .basisPoints
    }

    static func access(_ report: PeriodReport) -> String {
        let order: [AccessCategory] = [.sme, .startup, .scaleup, .research, .public, .industry]
        let colors = ["#2f8f46", "#7cc36a", "#4a90d9", "#9b59b6", "#8d6e63", "#b0b7c3"]
        let minimum = report.policy.rule("sme-startup-access-share-min").basisPoints.map(Fraction.basisPoints)
        let rows = report.factories.map { item in
            (label: item.factory.id, segments: order.map { item.cumulative.access.hours($0) }, whole: Total?.none, marker: minimum)
        }
        return stacked(rows: rows, legend: Array(zip(order.map(\.rawValue), colors)))
    }
}
