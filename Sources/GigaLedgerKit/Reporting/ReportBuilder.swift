import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// Why a report cannot be made.
public struct ReportError: GigaLedgerError, Equatable {
    public let message: String
    public let kind: FailureKind
    public var description: String { message }
}

extension Ledger {
    /// Computes the report for `quarter` at ledger state `at` (default: the whole ledger).
    /// Verifies the whole ledger and refuses one that does not verify; the figures are added up in
    /// the same pass. `fullVerify: false` takes the signatures under the latest checkpoint the
    /// ledger signed as checked (`verify(trustingLatestCheckpoint:)`); `verification` says which.
    public func quarterlyReport(quarter: Quarter, at: Int64? = nil, fullVerify: Bool = true) throws -> QuarterlyReport {
        try quarterlyReportVerified(quarter: quarter, at: at, fullVerify: fullVerify).report
    }

    /// The report and the verification it was computed from.
    public func quarterlyReportVerified(quarter: Quarter, at: Int64? = nil, fullVerify: Bool = true) throws -> (report: QuarterlyReport, verification: VerificationReport) {
        let (builder, head, origin, verification) = try collect(quarter: quarter, at: at, fullVerify: fullVerify)
        guard let (policy, policySeq) = builder.policy else {
            throw ReportError(message: "no policy is recorded at entry \(head.seq): record one with `gigaledger policy set --file schema/policy/eurohpc-2026.json`", kind: .refused)
        }
        return (builder.report(origin: origin, head: head, policy: policy, policySeq: policySeq), verification)
    }

    /// The contribution and access rows dated up to the end of `quarter` (every one without a
    /// quarter), corrected ones marked, from the verified ledger: what `export` writes.
    public func exportRows(through quarter: Quarter?) throws -> (contributions: [ContributionRow], access: [AccessRow]) {
        let (builder, _, _, _) = try collect(quarter: quarter, at: nil)
        return (builder.contributionRows, builder.accessRows)
    }

    /// The ledger verified, and when it verifies, its entries by type and each factory's figures
    /// to date (corrections netted), all from the same verifying pass.
    public func status() throws -> LedgerStatus {
        var builder = Builder(quarter: nil, countingTypes: true)
        let verification = try verify(visit: { builder.add(seq: $0.seq, body: $0) })
        guard verification.isVerified else { return LedgerStatus(verification: verification, countsByType: [:], factories: []) }
        builder.finish()
        return LedgerStatus(verification: verification, countsByType: builder.countsByType ?? [:],
                            factories: builder.factories.map { ($0, builder.cumulativeFigures[$0.id] ?? PeriodFigures()) })
    }

    /// One verifying pass that hands every verified body up to `at` to a builder.
    /// `quarter` nil: every row, whatever its date (figures to date, a whole export).
    private func collect(quarter: Quarter?, at: Int64?, fullVerify: Bool = true) throws -> (Builder, Entry, String, VerificationReport) {
        if let at, at < 1 { throw InputError(field: "at", value: String(at), problem: "is not an entry of this ledger") }
        var builder = Builder(quarter: quarter)
        let verification = try verify(trustingLatestCheckpoint: !fullVerify, visit: { body in
            if at.map({ body.seq <= $0 }) ?? true { builder.add(seq: body.seq, body: body) }
        })
        if let failure = verification.failure {
            throw ReportError(message: "the ledger does not verify (\(failure)); refusing to report on it", kind: .notVerified)
        }
        let state = at ?? verification.verifiedCount
        guard state <= verification.verifiedCount else {
            throw InputError(field: "at", value: String(state), problem: "is not an entry of this ledger (1 to \(verification.verifiedCount))")
        }
        guard let head = try entry(state) else { preconditionFailure("Ledger.collect: verified entry \(state) is missing") }
        builder.finish()
        return (builder, head, verification.origin, verification)
    }
}

/// Adds entries up, in sequence order, into per-factory and overall figures. Rows are kept as they
/// come; a correction may come after the row it cancels, so figures are summed in `finish`.
private struct Builder {
    /// The quarter reported on; nil for all rows and no quarter's figures.
    let quarter: Quarter?
    var correctedBy = [Int64: Int64]()
    var policy: (Policy, Int64)?
    var factories = [Factory]()
    var quarterFigures = [String: PeriodFigures]()
    var cumulativeFigures = [String: PeriodFigures]()
    var contributionRows = [ContributionRow]()
    var accessRows = [AccessRow]()
    /// Entries by type, counted only when asked for (`status`): a report does not need them.
    var countsByType: [String: Int64]?

    init(quarter: Quarter?, countingTypes: Bool = false) {
        self.quarter = quarter
        countsByType = countingTypes ? [:] : nil
    }

    /// Whether a row dated `date` counts: dated up to the quarter's end (any date without a quarter).
    func counts(_ date: CalendarDate) -> Bool { quarter.map { date <= $0.lastDay } ?? true }

    /// Whether a row dated `date` is in the quarter reported on.
    func inQuarter(_ date: CalendarDate) -> Bool { quarter?.contains(date) ?? false }

    mutating func add(seq: Int64, body: EntryBody) {
        countsByType?[body.type, default: 0] += 1
        switch body.data {
        case .policy(let item): policy = (item, seq)
        case .factoryRegister(let factory): factories.append(factory)
        case .correction(let item): correctedBy[item.entry] = seq
        case .contribution(let item) where counts(item.date):
            contributionRows.append(ContributionRow(seq: seq, item: item, correctedBy: nil))
        case .access(let grant) where counts(grant.date):
            accessRows.append(AccessRow(seq: seq, grant: grant, correctedBy: nil))
        default: break
        }
    }

    /// Marks the corrected rows and adds up the rows no correction cancels.
    mutating func finish() {
        contributionRows = contributionRows.map { ContributionRow(seq: $0.seq, item: $0.item, correctedBy: correctedBy[$0.seq]) }
        accessRows = accessRows.map { AccessRow(seq: $0.seq, grant: $0.grant, correctedBy: correctedBy[$0.seq]) }
        for row in contributionRows where row.correctedBy == nil {
            let item = row.item
            cumulativeFigures[item.factory, default: PeriodFigures()].bySource[item.source.description, default: ContributionTotals()].add(item)
            if inQuarter(item.date) {
                quarterFigures[item.factory, default: PeriodFigures()].bySource[item.source.description, default: ContributionTotals()].add(item)
            }
        }
        for row in accessRows where row.correctedBy == nil {
            let grant = row.grant
            cumulativeFigures[grant.factory, default: PeriodFigures()].access.add(grant)
            if inQuarter(grant.date) { quarterFigures[grant.factory, default: PeriodFigures()].access.add(grant) }
        }
    }

    func report(origin: String, head: Entry, policy: Policy, policySeq: Int64) -> QuarterlyReport {
        guard let quarter else { preconditionFailure("Builder.report: a report is for a quarter") }
        let reports = factories.map { factory in
            let cumulative = cumulativeFigures[factory.id] ?? PeriodFigures()
            return FactoryReport(factory: factory, quarter: quarterFigures[factory.id] ?? PeriodFigures(), cumulative: cumulative,
                                 verdicts: Safeguards.verdicts(for: factory, figures: cumulative, accessRows: accessRows, policy: policy))
        }
        return QuarterlyReport(quarter: quarter, origin: origin, entryCount: head.seq, headHash: head.hash, headRecordedAt: head.recordedAt,
                               policy: policy, policySeq: policySeq, factories: reports,
                               allQuarter: Self.sum(reports.map(\.quarter)), allCumulative: Self.sum(reports.map(\.cumulative)),
                               contributionRows: contributionRows, accessRows: accessRows)
    }

    static func sum(_ figures: [PeriodFigures]) -> PeriodFigures {
        var total = PeriodFigures()
        for item in figures {
            for (key, value) in item.bySource { total.bySource[key] = (total.bySource[key] ?? ContributionTotals()) + value }
            for (category, pools) in item.access.hours {
                for (pool, hours) in pools { total.access.hours[category, default: [:]][pool, default: 0] += hours }
            }
            total.access.unionCommercialHours += item.access.unionCommercialHours
        }
        return total
    }
}

/// What `status` shows: the verification, and when the ledger verifies, what it holds.
public struct LedgerStatus: Sendable {
    public let verification: VerificationReport
    /// Entries by type; empty when the ledger does not verify.
    public let countsByType: [String: Int64]
    /// Every factory with its figures to date; empty when the ledger does not verify.
    public let factories: [(factory: Factory, figures: PeriodFigures)]
}
