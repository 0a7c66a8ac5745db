import GigaLedgerCore

/// Contributions as an hledger journal (hledger's journal format, hledger.org/journal.html), in
/// date order (`hledger check ordereddates` passes): one balanced transaction per contribution,
/// and for a corrected one a reversing transaction on the same date, right after it, naming the
/// correction, so `hledger balance` gives the report's totals (corrections netted). Accounts:
///   factories:<factory>:committed:<capex|opex> and factories:<factory>:paid:<capex|opex> (debited),
///   sources:eu:<factory>, sources:member-states:<CC>:<factory>, sources:private:<partner>:<factory>,
///   each :committed or :paid (credited): the split of each source by factory.
public enum Export {
    ///
    /// The commodity and every account are declared first (`commodity`, `account` directives), so
    /// `hledger check --strict` passes.
    public static func hledger(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> String {
        var out = ""
        var accounts = Set<String>()
        for line in lines(rows, corrections: corrections) {
            let item = line.row.item
            let state = item.kind == .commitment ? "committed" : "paid"
            let factoryAccount = "factories:\(item.factory):\(state):\(item.category.rawValue)"
            let sourceAccount = "\(account(item.source)):\(item.factory):\(state)"
            if let correction = line.reversal {
                out +=
                    "\(item.date) (#\(line.seq)) reversal of entry \(line.row.seq)  ; correction recorded \(correction.origin.recordedAt): \(oneLine(correction.reason))\n"
            } else {
                let ref = item.ref.isEmpty ? "" : "  ; ref: \(oneLine(item.ref))"
                out += "\(item.date) (#\(line.seq)) \(item.kind.rawValue) from \(item.source) to \(item.factory)\(ref)\n"
            }
            let negated = line.amountText.hasPrefix("-") ? String(line.amountText.dropFirst()) : "-" + line.amountText
            out += "    \(factoryAccount)    EUR \(line.amountText)\n"
            out += "    \(sourceAccount)    EUR \(negated)\n\n"
            accounts.insert(factoryAccount)
            accounts.insert(sourceAccount)
        }
        var head = "; GigaLedger export: contributions in date order; a corrected entry is followed by its reversal.\n"
        head += "; Amounts in euros, exact to the cent.\n\n"
        head += "commodity EUR 1000.00\n\n"
        head += accounts.sorted().map { "account \($0)\n" }.joined()
        return head + (accounts.isEmpty ? "" : "\n") + out
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

    /// One exported line: an entry, or the reversal of a corrected one (`reverses` its seq).
    struct Line {
        let row: ContributionRow
        let reversal: CorrectionRecord?

        var seq: Int64 { reversal?.origin.seq ?? row.seq }
        var origin: RowOrigin { reversal?.origin ?? row.origin }
        /// Signed cents: negative for a reversal.
        var cents: Int64 { reversal == nil ? row.item.amount.value : -row.item.amount.value }
        var amountText: String { (reversal == nil ? "" : "-") + row.item.amount.decimalText }
    }

    /// Entries in date order (then sequence order), each corrected one followed by its reversal.
    static func lines(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> [Line] {
        rows.sorted { ($0.item.date, $0.seq) < ($1.item.date, $1.seq) }.flatMap { row in
            [Line(row: row, reversal: nil)] + (row.correctedBy != nil ? corrections[row.seq].map { [Line(row: row, reversal: $0)] } ?? [] : [])
        }
    }

    /// The rows as RFC 4180 CSV, in date order; a correction is a reversal row (negative amount,
    /// `reverses` naming the entry, `ref` its reason), so the amounts sum to the report's totals.
    public static func csv(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> String {
        ReportRenderer.csvRecord([
            "seq", "recorded_at", "signer", "date", "factory", "source", "kind", "category", "amount_eur", "amount_cents", "ref",
            "corrected_by", "reverses",
        ])
            + lines(rows, corrections: corrections).map { line in
                let item = line.row.item
                return ReportRenderer.csvRecord([
                    String(line.seq), line.origin.recordedAt, line.origin.signer.description, item.date.description, item.factory,
                    item.source.description, item.kind.rawValue, item.category.rawValue, line.amountText, String(line.cents),
                    ReportRenderer.neutralised(line.reversal?.reason ?? item.ref),
                    line.reversal == nil ? line.row.correctedBy.map(String.init) ?? "" : "",
                    line.reversal == nil ? "" : String(line.row.seq),
                ])
            }.joined()
    }

    /// The rows as a canonical JSON array in date order, one object per contribution and one per
    /// reversal (`reverses`, `reason`, a negative `amount_cents`).
    public static func json(_ rows: [ContributionRow], corrections: [Int64: CorrectionRecord]) -> String {
        let items: [CanonicalJSON] = lines(rows, corrections: corrections).map { line in
            var members = EntryBody.encode(.contribution(line.row.item))
            members["seq"] = .integer(line.seq)
            members["recorded_at"] = .string(line.origin.recordedAt)
            members["signer"] = .string(line.origin.signer.description)
            if let reversal = line.reversal {
                members["amount_cents"] = .integer(line.cents)
                members["reverses"] = .integer(line.row.seq)
                members["reason"] = .string(reversal.reason)
            } else if let correctedBy = line.row.correctedBy {
                members["corrected_by"] = .integer(correctedBy)
            }
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
        case .csv: return Export.csv(rows, corrections: corrections)
        case .json: return Export.json(rows, corrections: corrections)
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
