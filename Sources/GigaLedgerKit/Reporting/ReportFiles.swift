import GigaLedgerCore

/// summary.json and the CSV files of a quarterly report.
extension ReportRenderer {
    static func fractionJSON(_ value: Fraction) -> CanonicalJSON {
        .object(["numerator": .total(value.numerator), "denominator": .total(value.denominator), "percent": .string(value.percentText)])
    }

    static func totalsJSON(_ totals: ContributionTotals) -> CanonicalJSON {
        .object(["committed_capex_cents": .total(totals.committedCapex), "committed_opex_cents": .total(totals.committedOpex),
                 "paid_capex_cents": .total(totals.paidCapex), "paid_opex_cents": .total(totals.paidOpex),
                 "committed_cents": .total(totals.committed), "paid_cents": .total(totals.paid)])
    }

    static func periodJSON(_ figures: PeriodFigures) -> CanonicalJSON {
        var categories = [String: CanonicalJSON]()
        for category in AccessCategory.allCases where figures.access.hours(category) > 0 {
            categories[category.rawValue] = .object(["union": .total(figures.access.hours(category, pool: .union)),
                                                     "host": .total(figures.access.hours(category, pool: .host))])
        }
        return .object([
            "sources": .object(figures.bySource.mapValues(totalsJSON)), "total": totalsJSON(figures.total),
            "access": .object(["by_category": .object(categories), "union_hours": .total(figures.access.hours(pool: .union)),
                               "host_hours": .total(figures.access.hours(pool: .host)), "total_hours": .total(figures.access.hours()),
                               "union_commercial_hours": .total(figures.access.unionCommercialHours)]),
        ])
    }

    static func verdictJSON(_ verdict: Verdict) -> CanonicalJSON {
        var members: [String: CanonicalJSON] = ["rule": .string(verdict.rule.id), "status": .string(verdict.status.rawValue),
                                                "explanation": .string(verdict.explanation), "confidence": .string(verdict.rule.confidence.rawValue),
                                                "source": .string(verdict.rule.source)]
        if let value = verdict.value { members["value"] = fractionJSON(value) }
        if let threshold = verdict.threshold { members["threshold"] = fractionJSON(threshold) }
        return .object(members)
    }

    /// Every figure and verdict, in canonical JSON (sorted keys), one line.
    static func summaryJSON(_ report: QuarterlyReport) -> String {
        let factories: [CanonicalJSON] = report.factories.map { item in
            .object(["id": .string(item.factory.id), "name": .string(item.factory.name), "kind": .string(item.factory.kind.rawValue),
                     "hosts": .array(item.factory.hosts.map { .string($0) }), "planned_capex_cents": .integer(item.factory.capex.value),
                     "quarter": periodJSON(item.quarter), "cumulative": periodJSON(item.cumulative), "verdicts": .array(item.verdicts.map(verdictJSON))])
        }
        let json = CanonicalJSON.object([
            "format": .string("gigaledger/report-summary/v1"), "quarter": .string(report.quarter.description),
            "first_day": .string(report.quarter.firstDay.description), "last_day": .string(report.quarter.lastDay.description),
            "origin": .string(report.origin), "rounding": .string(rounding),
            "ledger": .object(["entries": .integer(report.entryCount), "head": .string(Encoding.hex(report.headHash)),
                               "head_recorded_at": .string(report.headRecordedAt)]),
            "policy": .object(["id": .string(report.policy.id), "version": .integer(report.policy.version), "entry": .integer(report.policySeq)]),
            "factories": .array(factories),
            "all": .object(["quarter": periodJSON(report.allQuarter), "cumulative": periodJSON(report.allCumulative)]),
        ])
        return String(decoding: json.encoded(), as: UTF8.self) + "\n"
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

    /// Room for a typical row, so a file of a million rows grows its buffer a few times only.
    private static let csvRowBytesGuess = 128

    static func contributionsCSV(_ report: QuarterlyReport) -> String {
        var out = csvRecord(["seq", "date", "factory", "source", "kind", "category", "amount_eur", "amount_cents", "ref", "in_quarter", "corrected_by"])
        out.reserveCapacity(report.contributionRows.count * csvRowBytesGuess)
        for row in report.contributionRows {
            let item = row.item
            appendCSVRecord([String(row.seq), item.date.description, item.factory, item.source.description, item.kind.rawValue,
                             item.category.rawValue, item.amount.decimalText, String(item.amount.value), item.ref,
                             report.quarter.contains(item.date) ? "yes" : "no", row.correctedBy.map(String.init) ?? ""], to: &out)
        }
        return out
    }

    static func accessCSV(_ report: QuarterlyReport) -> String {
        var out = csvRecord(["seq", "date", "factory", "beneficiary", "category", "pool", "gpu_hours", "commercial", "charge_eur", "in_quarter", "corrected_by"])
        out.reserveCapacity(report.accessRows.count * csvRowBytesGuess)
        for row in report.accessRows {
            let grant = row.grant
            appendCSVRecord([String(row.seq), grant.date.description, grant.factory, grant.beneficiary, grant.category.rawValue,
                             grant.pool.rawValue, String(grant.gpuHours), grant.isCommercial ? "yes" : "no", grant.charge.decimalText,
                             report.quarter.contains(grant.date) ? "yes" : "no", row.correctedBy.map(String.init) ?? ""], to: &out)
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

    /// One stacked bar per row, with a red marker at `marker` (a share) and a legend.
    static func stacked(rows: [(label: String, segments: [Total], marker: Fraction?)], legend: [(String, String)]) -> String {
        let height = Int64(rows.count) * (barHeight + 14) + 40
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + width + 20)\" height=\"\(height)\" role=\"img\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n"
        for (index, row) in rows.enumerated() {
            let y = Int64(index) * (barHeight + 14) + 8
            svg += "<text x=\"0\" y=\"\(y + 17)\">\(escape(row.label))</text>\n"
            let whole = row.segments.reduce(0, +)
            var x = labelWidth
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(barHeight)\" fill=\"#eef1f5\"/>\n"
            for (segment, value) in row.segments.enumerated() where value > 0 {
                let w = pixels(value, of: whole)
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight)\" fill=\"\(legend[segment].1)\"/>\n"
                x += w
            }
            if let marker = row.marker {
                let mx = labelWidth + pixels(marker.numerator, of: marker.denominator)
                svg += "<line x1=\"\(mx)\" x2=\"\(mx)\" y1=\"\(y - 4)\" y2=\"\(y + barHeight + 4)\" stroke=\"#d0021b\" stroke-width=\"3\"/>\n"
                svg += "<text x=\"\(mx + 4)\" y=\"\(y + barHeight + 12)\" fill=\"#d0021b\">\(marker.percentText)</text>\n"
            }
        }
        var x = labelWidth
        let legendY = height - 12
        for (name, color) in legend {
            svg += "<rect x=\"\(x)\" y=\"\(legendY - 10)\" width=\"12\" height=\"12\" fill=\"\(color)\"/><text x=\"\(x + 16)\" y=\"\(legendY)\">\(escape(name))</text>\n"
            x += Int64(name.count) * 7 + 34
        }
        return svg + "</svg>"
    }

    static func funding(_ report: QuarterlyReport) -> String {
        let rows = report.factories.map { item -> (String, [Total], Fraction?) in
            let figures = item.cumulative
            let cap = item.verdicts.first { $0.rule.id.hasPrefix("union-capex-share-max") || $0.rule.id.hasPrefix("union-acquisition-share-max") }?.threshold
            return (item.factory.id, [figures.union.committed, figures.sum(prefix: "ms:").committed, figures.sum(prefix: "private:").committed], cap)
        }
        return stacked(rows: rows.map { (label: $0.0, segments: $0.1, marker: $0.2) },
                       legend: [("Union", "#003399"), ("member states", "#f2b600"), ("private partners", "#7a8ea8")])
    }

    static func access(_ report: QuarterlyReport) -> String {
        let order: [AccessCategory] = [.sme, .startup, .scaleup, .research, .public, .industry]
        let colors = ["#2f8f46", "#7cc36a", "#4a90d9", "#9b59b6", "#8d6e63", "#b0b7c3"]
        let minimum = report.policy.rule("sme-startup-access-share-min").basisPoints.map(Fraction.basisPoints)
        let rows = report.factories.map { item in
            (label: item.factory.id, segments: order.map { item.cumulative.access.hours($0) }, marker: minimum)
        }
        return stacked(rows: rows, legend: Array(zip(order.map(\.rawValue), colors)))
    }
}
