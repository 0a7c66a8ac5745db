import GigaLedgerCore

/// Contributions as an hledger journal (hledger's journal format, hledger.org/journal.html), in
/// date order (`hledger check ordereddates` passes): one balanced transaction per contribution,
/// and for a corrected one a reversing transaction on the same date, right after it, naming the
/// correction, so `hledger balance` gives the report's totals (corrections netted). Accounts:
///   factories:<factory>:committed:<capex|opex> and factories:<factory>:paid:<capex|opex> (debited),
///   sources:eu:<factory>, sources:member-states:<CC>:<factory>, sources:private:<partner>:<factory>,
///   each :committed or :paid (credited): the split of each source by factory.
public enum Export {
    public static func hledger(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> String {
        var out = "; GigaLedger export: contributions in date order; a corrected entry is followed by its reversal.\n"
        out += "; Amounts in euros, exact to the cent.\n\n"
        for row in rows.sorted(by: { ($0.item.date, $0.seq) < ($1.item.date, $1.seq) }) {
            let item = row.item
            let state = item.kind == .commitment ? "committed" : "paid"
            let ref = item.ref.isEmpty ? "" : "  ; ref: \(oneLine(item.ref))"
            let factoryAccount = "factories:\(item.factory):\(state):\(item.category.rawValue)"
            let sourceAccount = "\(account(item.source)):\(item.factory):\(state)"
            out += "\(item.date) (#\(row.seq)) \(item.kind.rawValue) from \(item.source) to \(item.factory)\(ref)\n"
            out += "    \(factoryAccount)    EUR \(item.amount.decimalText)\n"
            out += "    \(sourceAccount)    EUR -\(item.amount.decimalText)\n\n"
            if let correctedBy = row.correctedBy, let correction = corrections[row.seq] {
                out += "\(item.date) (#\(correctedBy)) reversal of entry \(row.seq)  ; correction recorded \(correction.origin.recordedAt): \(oneLine(correction.reason))\n"
                out += "    \(factoryAccount)    EUR -\(item.amount.decimalText)\n"
                out += "    \(sourceAccount)    EUR \(item.amount.decimalText)\n\n"
            }
        }
        return out
    }

    /// A text on one journal line (hledger comments end at the line's end).
    static func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .lineSeparator || $0.value < 0x20 ? " " : Character($0) })
    }

    static func account(_ source: Source) -> String {
        switch source {
        case .union: return "sources:eu"
        case .memberState(let code): return "sources:member-states:\(code)"
        case .partner(let id): return "sources:private:\(id)"
        }
    }

    /// The rows as RFC 4180 CSV (the report's contributions.csv columns, without the period flag).
    public static func csv(_ rows: [ContributionRow]) -> String {
        ReportRenderer.csvRecord(["seq", "recorded_at", "signer", "date", "factory", "source", "kind", "category", "amount_eur", "amount_cents", "ref", "corrected_by"])
            + rows.map { row in
                ReportRenderer.csvRecord([String(row.seq), row.origin.recordedAt, row.origin.signer.description, row.item.date.description, row.item.factory,
                                          row.item.source.description, row.item.kind.rawValue, row.item.category.rawValue, row.item.amount.decimalText,
                                          String(row.item.amount.value), ReportRenderer.neutralised(row.item.ref), row.correctedBy.map(String.init) ?? ""])
            }.joined()
    }

    /// The rows as a canonical JSON array, one object per contribution.
    public static func json(_ rows: [ContributionRow]) -> String {
        let items: [CanonicalJSON] = rows.map { row in
            var members = EntryBody.encode(.contribution(row.item))
            members["seq"] = .integer(row.seq)
            if let correctedBy = row.correctedBy { members["corrected_by"] = .integer(correctedBy) }
            return .object(members)
        }
        return String(decoding: CanonicalJSON.array(items).encoded(), as: UTF8.self) + "\n"
    }
}

/// The formats `export` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    case hledger, csv, json

    /// The rows in this format.
    public func render(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> String {
        switch self {
        case .hledger: return Export.hledger(rows, corrections: corrections)
        case .csv: return Export.csv(rows)
        case .json: return Export.json(rows)
        }
    }
}

extension Ledger {
    /// The verified ledger's contributions dated up to `through` (all of them without), at ledger
    /// state `at` (default: the whole ledger), in `format`.
    public func export(_ format: ExportFormat, through: CalendarDate?, at: Int64? = nil) throws -> String {
        let rows = try exportRows(through: through, at: at)
        return format.render(rows.contributions, corrections: rows.corrections)
    }
}
