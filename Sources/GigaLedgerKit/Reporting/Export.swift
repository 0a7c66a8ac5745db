import GigaLedgerCore

/// Contributions as an hledger journal (hledger's journal format, hledger.org/journal.html):
/// one balanced transaction per uncorrected contribution, so that `hledger balance` gives the
/// report's totals. Accounts:
///   factories:<factory>:committed:<capex|opex> and factories:<factory>:paid:<capex|opex> (debited),
///   sources:eu, sources:member-states:<CC>, sources:private:<partner>, each :committed or :paid (credited).
public enum Export {
    public static func hledger(_ rows: [ContributionRow]) -> String {
        var out = "; GigaLedger export: contributions, corrections netted (a corrected entry and its correction are both left out).\n"
        out += "; Amounts in euros, exact to the cent.\n\n"
        for row in rows where row.correctedBy == nil {
            let item = row.item
            let state = item.kind == .commitment ? "committed" : "paid"
            let ref = item.ref.isEmpty ? "" : "  ; ref: \(item.ref)"
            out += "\(item.date) (#\(row.seq)) \(item.kind.rawValue) from \(item.source) to \(item.factory)\(ref)\n"
            out += "    factories:\(item.factory):\(state):\(item.category.rawValue)    EUR \(item.amount.decimalText)\n"
            out += "    \(account(item.source)):\(state)    EUR -\(item.amount.decimalText)\n\n"
        }
        return out
    }

    static func account(_ source: Source) -> String {
        switch source {
        case .union: return "sources:eu"
        case .memberState(let code): return "sources:member-states:\(code)"
        case .partner(let id): return "sources:private:\(id)"
        }
    }

    /// The rows as RFC 4180 CSV (the report's contributions.csv columns, without the quarter flag).
    public static func csv(_ rows: [ContributionRow]) -> String {
        ReportRenderer.csvRecord(["seq", "date", "factory", "source", "kind", "category", "amount_eur", "amount_cents", "ref", "corrected_by"])
            + rows.map { row in
                ReportRenderer.csvRecord([String(row.seq), row.item.date.description, row.item.factory, row.item.source.description, row.item.kind.rawValue,
                                          row.item.category.rawValue, row.item.amount.decimalText, String(row.item.amount.value), row.item.ref,
                                          row.correctedBy.map(String.init) ?? ""])
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
    public func render(_ rows: [ContributionRow]) -> String {
        switch self {
        case .hledger: return Export.hledger(rows)
        case .csv: return Export.csv(rows)
        case .json: return Export.json(rows)
        }
    }
}

extension Ledger {
    /// The verified ledger's contributions dated up to the end of `quarter` (all of them without),
    /// in `format`.
    public func export(_ format: ExportFormat, through quarter: Quarter?) throws -> String {
        format.render(try exportRows(through: quarter).contributions)
    }
}
