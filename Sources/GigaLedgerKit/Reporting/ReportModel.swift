import GigaLedgerCore

/// Net cents by kind and category for one source or a sum of sources.
public struct ContributionTotals: Equatable, Sendable {
    public var committedCapex: Total = 0
    public var committedOpex: Total = 0
    public var paidCapex: Total = 0
    public var paidOpex: Total = 0

    public init() {}

    init(committedCapex: Total, committedOpex: Total, paidCapex: Total, paidOpex: Total) {
        self.committedCapex = committedCapex
        self.committedOpex = committedOpex
        self.paidCapex = paidCapex
        self.paidOpex = paidOpex
    }

    public var committed: Total { committedCapex + committedOpex }
    public var paid: Total { paidCapex + paidOpex }

    /// Adds `item` once (`sign` 1) or takes it away (`sign` -1: a prior-period adjustment that
    /// cancels an entry the previous report counted).
    mutating func add(_ item: Contribution, sign: Total = 1) {
        let amount = sign * Total(item.amount.value)
        switch (item.kind, item.category) {
        case (.commitment, .capex): committedCapex += amount
        case (.commitment, .opex): committedOpex += amount
        case (.payment, .capex): paidCapex += amount
        case (.payment, .opex): paidOpex += amount
        }
    }

    public static func + (a: ContributionTotals, b: ContributionTotals) -> ContributionTotals {
        ContributionTotals(
            committedCapex: a.committedCapex + b.committedCapex, committedOpex: a.committedOpex + b.committedOpex,
            paidCapex: a.paidCapex + b.paidCapex, paidOpex: a.paidOpex + b.paidOpex)
    }
}

/// GPU-hours granted, by category and pool.
public struct AccessTotals: Equatable, Sendable {
    public var hours: [AccessCategory: [AccessPool: Total]] = [:]
    public var unionCommercialHours: Total = 0

    public func hours(_ category: AccessCategory? = nil, pool: AccessPool? = nil) -> Total {
        var total: Total = 0
        for (itemCategory, pools) in hours where category == nil || itemCategory == category {
            for (itemPool, value) in pools where pool == nil || itemPool == pool { total += value }
        }
        return total
    }

    mutating func add(_ grant: AccessGrant, sign: Total = 1) {
        let amount = sign * Total(grant.gpuHours)
        hours[grant.category, default: [:]][grant.pool, default: 0] += amount
        if grant.pool == .union && grant.isCommercial { unionCommercialHours += amount }
    }

    static func + (a: AccessTotals, b: AccessTotals) -> AccessTotals {
        var total = a
        for (category, pools) in b.hours {
            for (pool, value) in pools { total.hours[category, default: [:]][pool, default: 0] += value }
        }
        total.unionCommercialHours += b.unionCommercialHours
        return total
    }
}

/// Figures for one scope (one factory, or all together) over one period.
public struct PeriodFigures: Equatable, Sendable {
    /// By source, keyed `eu`, `ms:CC`, `private:ID`.
    public var bySource: [String: ContributionTotals] = [:]
    public var access = AccessTotals()

    public init() {}

    public var total: ContributionTotals { bySource.values.reduce(ContributionTotals(), +) }
    public var union: ContributionTotals { bySource["eu"] ?? ContributionTotals() }
    /// The participating states' money: what matches the Union's (private partners are not members of the JU).
    public var memberStates: ContributionTotals { sum(prefix: "ms:") }
    /// The sum over sources whose key starts with `prefix`: `ms:` for member states, `private:` for partners.
    public func sum(prefix: String) -> ContributionTotals {
        bySource.filter { $0.key.hasPrefix(prefix) }.values.reduce(ContributionTotals(), +)
    }

    /// Whether nothing at all is recorded (no money and no access).
    public var isEmpty: Bool { bySource.isEmpty && access.hours.isEmpty }

    /// Sources in report order: the Union, member states, private partners, each alphabetically.
    public var sourceKeys: [String] { PeriodFigures.ordered(Array(bySource.keys)) }

    static func ordered(_ keys: [String]) -> [String] {
        keys.sorted { a, b in
            func rank(_ key: String) -> Int { key == "eu" ? 0 : key.hasPrefix("ms:") ? 1 : 2 }
            return (rank(a), a) < (rank(b), b)
        }
    }

    mutating func add(_ item: Contribution, sign: Total = 1) {
        bySource[item.source.description, default: ContributionTotals()].add(item, sign: sign)
    }

    static func + (a: PeriodFigures, b: PeriodFigures) -> PeriodFigures {
        var total = a
        for (key, value) in b.bySource { total.bySource[key] = (total.bySource[key] ?? ContributionTotals()) + value }
        total.access = a.access + b.access
        return total
    }
}

public enum VerdictStatus: String, Sendable, CaseIterable {
    case pass = "PASS"
    case breach = "BREACH"
    case notAssessable = "NOT ASSESSABLE"

    /// The HTML report's class for the status: its first word.
    var cssClass: String { rawValue.split(separator: " ").first.map(String.init) ?? "" }
}

/// One safeguard checked for one factory (or the programme): the decision and its evidence.
public struct Verdict: Equatable, Sendable {
    public let rule: PolicyRule
    public let status: VerdictStatus
    /// The measured value and the threshold, exact; nil when not assessable or not a ratio.
    public let value: Fraction?
    public let threshold: Fraction?
    /// What was compared, in words and figures, or why it could not be assessed.
    public let explanation: String
    /// The headroom left or the excess, in EUR or GPU-hours, when the rule has one.
    public let margin: String?
    /// The entries behind the figures that decided it, in sequence order, when there are at most
    /// `entriesListedMax`; else empty, and `entryCount` says how many (they are the factory's rows
    /// in contributions.csv and access.csv that count).
    public let entries: [Int64]
    public let entryCount: Int

    /// The most entries a verdict lists by number.
    public static let entriesListedMax = 500

    init(
        rule: PolicyRule, status: VerdictStatus, value: Fraction? = nil, threshold: Fraction? = nil, explanation: String,
        margin: String? = nil, entries: [Int64] = []
    ) {
        self.rule = rule
        self.status = status
        self.value = value
        self.threshold = threshold
        self.explanation = explanation
        self.margin = margin
        self.entryCount = entries.count
        self.entries = entries.count <= Self.entriesListedMax ? entries : []
    }
}

/// Where an entry came from: its sequence number, when it was recorded and by which key.
/// A factory amendment as a report reads it: the new values, who recorded them and when, why,
/// and from which day they apply (nil: from the start).
public struct RecordedAmendment: Equatable, Sendable {
    public let factory: Factory
    public let origin: RowOrigin
    public let reason: String
    public let effectiveFrom: CalendarDate?
    /// The entry's format version (format v1 amendments keep their meaning: from the start, at once).
    public let version: Int

    public var seq: Int64 { origin.seq }
}

/// An entry around a report's period: recorded after its state but dated in it, dated after it but
/// recorded by its state, or an in-period entry corrected and recorded again dated outside it.
public struct SubsequentEvent: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case recordedAfter = "recorded after", datedAfter = "dated after", redated = "re-dated", allowedDuplicate = "recorded as a duplicate"
        case splitAmount = "parts of an earlier amount"
    }
    public let seq: Int64
    public let factoryID: String
    public let date: CalendarDate
    public let what: String
    public let kind: Kind
}

/// The previous report rolled forward from is a re-issue of its period, not the first issue.
public struct Reissue: Equatable, Sendable {
    public static func == (a: Reissue, b: Reissue) -> Bool {
        a.firstIssueSeq == b.firstIssueSeq && a.firstEntryCount == b.firstEntryCount && a.issueSeq == b.issueSeq && a.changes == b.changes
    }
    /// The first issue's entry and state.
    public let firstIssueSeq: Int64
    public let firstEntryCount: Int64
    /// The issue entry of the report given, nil when it matches no issue on the ledger.
    public let issueSeq: Int64?
    /// Its verdicts, findings and figures that differ from the first issue's.
    public let changes: [Change]
}

/// An enrolled key as reports name a signer.
public struct ReportSigner: Equatable, Sendable {
    public let keyID: KeyID
    public let name: String
    public let role: Role
    public let scopes: [String]
    /// The entry that revoked it, when that is within the report's state.
    public let revokedAt: Int64?
}

/// Money one key signed for a source whose own officer was enrolled (per factory and source).
public struct SignedForOther: Equatable, Sendable {
    public let factoryID: String
    public let source: String
    public let signer: KeyID
    public let signerName: String
    /// An officer key enrolled for the source before the first such entry.
    public let officer: KeyID
    public let officerName: String
    public var committed: Total = 0
    public var paid: Total = 0
    public var entries = [Int64]()

    mutating func add(_ item: Contribution, seq: Int64) {
        if item.kind == .commitment { committed += Total(item.amount.value) } else { paid += Total(item.amount.value) }
        entries.append(seq)
    }
}

/// Factories with the same name and a host in common (registered with `--allow-twin`, or
/// before twins were refused): read together, the Union's share is of the whole site.
public struct TwinSite: Equatable, Sendable {
    public let factoryIDs: [String]
    public let name: String
    public let hosts: [String]
    /// The site's registered CAPEX and the Union's committed CAPEX over every twin.
    public let capex: Total
    public let unionCommittedCapex: Total
}

/// An amendment waiting for a second authority's countersignature, and what it would change.
public struct PendingAmendment: Equatable, Sendable {
    public let factoryID: String
    public let amendment: RecordedAmendment
    public let changes: [String]
}

public struct RowOrigin: Equatable, Sendable {
    public let seq: Int64
    public let recordedAt: String
    public let signer: KeyID
}

public struct ContributionRow: Equatable, Sendable {
    public let origin: RowOrigin
    public let item: Contribution
    /// The correction that cancels it, if any (at the report's ledger state).
    public let correctedBy: Int64?
    public var seq: Int64 { origin.seq }
}

public struct AccessRow: Equatable, Sendable {
    public let origin: RowOrigin
    public let grant: AccessGrant
    public let correctedBy: Int64?
    public var seq: Int64 { origin.seq }
}

/// A correction entry: which entry it cancels and why.
public struct CorrectionRecord: Equatable, Sendable {
    public let origin: RowOrigin
    public let entry: Int64
    public let reason: String
}

/// A payment above the commitments of the same factory, source and cost category.
public struct PaymentFinding: Equatable, Sendable {
    public let source: String
    public let category: CostCategory
    public let committed: Total
    public let paid: Total
    /// The entries behind the figures, when at most `Verdict.entriesListedMax`; `entryCount` says how many.
    public let entries: [Int64]
    public let entryCount: Int
}

public struct FactoryReport: Equatable, Sendable {
    public let factory: Factory
    /// Movements dated within the period.
    public let period: PeriodFigures
    /// Everything dated up to the period's last day, corrections netted.
    public let cumulative: PeriodFigures
    public let verdicts: [Verdict]
    public let findings: [PaymentFinding]
}

/// One quarter's verdicts within an annual report.
public struct QuarterVerdicts: Equatable, Sendable {
    public let quarter: Quarter
    public let factories: [(factoryID: String, verdicts: [Verdict])]
    public let programme: [Verdict]
    public let findings: [(factoryID: String, finding: PaymentFinding)]
    /// The quarter had not ended at the report's last entry.
    public let isProvisional: Bool
    /// The quarter's issued report compared (`report --year Y --quarter-reports DIR...`): every
    /// verdict and finding that now differs from it, with the entries that changed it; nil when
    /// none was given for this quarter.
    public var issued: IssuedQuarter? = nil

    public static func == (a: QuarterVerdicts, b: QuarterVerdicts) -> Bool {
        a.quarter == b.quarter && a.factories.map(\.factoryID) == b.factories.map(\.factoryID)
            && a.factories.map(\.verdicts) == b.factories.map(\.verdicts) && a.issued == b.issued
    }
}

/// A quarter's issued report as the annual report compares it.
public struct IssuedQuarter: Equatable, Sendable {
    /// The issued report's ledger state.
    public let entryCount: Int64
    /// Its summary's signature was checked (by a key the ledger enrols).
    public let isSigned: Bool
    /// The verdicts and findings that differ now, each with the entries recorded since that feed it.
    public let changes: [Change]
    /// When the report given is not the quarter's first issue on the ledger (as `--previous` is told).
    public var reissue: Reissue? = nil
}

/// One member state's money across factories, to the period's last day.
public struct MemberStateView: Equatable, Sendable {
    public let code: String
    public let name: String
    public let factories: [(factoryID: String, isHost: Bool, totals: ContributionTotals)]

    public var total: ContributionTotals { factories.map(\.totals).reduce(ContributionTotals(), +) }

    public static func == (a: MemberStateView, b: MemberStateView) -> Bool {
        a.code == b.code && a.factories.map(\.factoryID) == b.factories.map(\.factoryID) && a.factories.map(\.totals) == b.factories.map(\.totals)
    }
}

/// Everything a quarterly or annual report says, computed from a verified ledger state.
public struct PeriodReport: Equatable, Sendable {
    public let period: ReportPeriod
    public let origin: String
    /// The ledger state the report was computed at: entries 1 to `entryCount`, the last one's
    /// hash and time, and the RFC 9162 Merkle root of those entries (derived, not a checkpoint).
    public let entryCount: Int64
    public let headHash: [UInt8]
    public let headRecordedAt: String
    public let merkleRoot: [UInt8]
    /// Made before the period ended (by the state's last recorded_at): figures may still change.
    public let isProvisional: Bool
    public let policy: Policy
    public let policySeq: Int64
    /// Why no verdict could be decided under the policy, when it is not in force for the period.
    public let policyNotInForce: String?
    public let factories: [FactoryReport]
    /// The programme-wide checks (all factories together), where the policy has them.
    public let programme: [Verdict]
    public let allPeriod: PeriodFigures
    public let allCumulative: PeriodFigures
    /// Display names of sources: `eu`, `ms:CC` and `private:ID` to "European Union", the state, the partner.
    public let sourceNames: [String: String]
    /// Every contribution and access entry dated up to the period's last day, corrected ones included and marked.
    public let contributionRows: [ContributionRow]
    public let accessRows: [AccessRow]
    public let corrections: [Int64: CorrectionRecord]
    /// With a previous report: opening, movements, adjustments, closing, and what changed.
    public let rollForward: RollForward?
    /// An annual report's verdicts at the end of each quarter (empty for a quarterly report).
    public let quarterVerdicts: [QuarterVerdicts]
    public let memberStates: [MemberStateView]
    /// GPU-hours within the period by beneficiary country (`unknown` for records without one) and category.
    public let accessByCountry: [String: [AccessCategory: Total]]
    /// GPU-hours within the period per factory: the Union pool by the beneficiary's country and
    /// type of participant, the host pool apart (the Joint Undertaking's annual report).
    public let accessBreakdown: [String: AccessBreakdown]
    /// Amendments recorded by this state that wait for a second authority's countersignature (the
    /// report uses the registration before each).
    public var pendingAmendments: [PendingAmendment] = []
    /// When the policy applied has the name of one this binary carries but other rules: what differs.
    public var policyDiffersFromBuiltin: String?
    /// Factories registered as twins (the same name and a host in common), with the site's totals.
    public var twins: [TwinSite] = []
    /// Partners registered as twins (the same name and country), each group by ID.
    public var partnerTwins: [[String]] = []
    /// Every key enrolled at the report's state, by key ID: the signers of its entries by name and role.
    public var signers: [KeyID: ReportSigner] = [:]
    /// Money signed for a source by a key that is not that source's officer while one is enrolled.
    public var signedForOthers: [SignedForOther] = []
    /// Entries around the period a reader must know of (`SubsequentEvent`).
    public var subsequentEvents: [SubsequentEvent] = []
    /// Entries recorded after the report's state dated in its period (computed at an earlier state
    /// with `--at`): not in the report's files, which depend on entries 1 to its state only; the
    /// command prints them.
    public var recordedAfterState: [SubsequentEvent] = []
    /// The reports of this period issued on the ledger by its state (`report --issue`), in order.
    public var issues: [(issue: ReportIssue, origin: RowOrigin)] = []
    /// Rows recorded with `--allow-duplicate` (their `allow_duplicate` member), up to the period's end.
    public var allowedDuplicates: [SubsequentEvent] = []
    /// Earlier contributions whose amount later ones of the same day add up to (`ReportBuilder.splitAmounts`).
    public var splitAmounts: [SubsequentEvent] = []
    /// When the previous report is not its period's first issue on the ledger: which it is, and
    /// what differs from the first issue.
    public var reissue: Reissue?

    /// "DE officer (officer, 110C5C2A4E17FA51)": a signer as reports name it.
    public func signerText(_ key: KeyID) -> String {
        guard let signer = signers[key] else { return key.description }
        return "\(signer.name) (\(signer.role.rawValue), \(key))"
    }

    /// The breakdown of all factories together.
    public var accessBreakdownTotal: AccessBreakdown { accessBreakdown.values.reduce(AccessBreakdown(), +) }

    /// How many verdicts of each status the report holds, over every factory and the programme.
    public var verdictCounts: [VerdictStatus: Int] {
        Dictionary(grouping: factories.flatMap(\.verdicts) + programme, by: \.status).mapValues(\.count)
    }

    /// How many payment findings the report holds, over every factory.
    public var findingCount: Int { factories.reduce(0) { $0 + $1.findings.count } }

    /// Every breach: (factory ID, or nil for the programme; the verdict).
    public var breaches: [(factoryID: String?, verdict: Verdict)] {
        factories.flatMap { item in item.verdicts.filter { $0.status == .breach }.map { (Optional(item.factory.id), $0) } }
            + programme.filter { $0.status == .breach }.map { (nil, $0) }
    }

    public func name(ofSource key: String) -> String { sourceNames[key] ?? key }

    public static func == (a: PeriodReport, b: PeriodReport) -> Bool {
        a.period == b.period && a.entryCount == b.entryCount && a.headHash == b.headHash && a.factories == b.factories
            && a.programme == b.programme && a.rollForward == b.rollForward && a.quarterVerdicts == b.quarterVerdicts
            && a.memberStates == b.memberStates && a.contributionRows == b.contributionRows && a.accessRows == b.accessRows
    }
}

/// The bridge from the previous report to this one (all figures per factory, corrections netted):
/// closing = opening + movements + adjustments, to the cent and the GPU-hour.
public struct RollForward: Equatable, Sendable {
    public let previousPeriod: ReportPeriod
    /// The previous report's ledger state.
    public let previousEntryCount: Int64
    /// What the previous state was taken from: a report (signed or not) or a checkpoint.
    public let basis: String
    public let factories: [FactoryRollForward]
    /// Entries recorded after the previous report that change an earlier period: back-dated
    /// entries, and corrections of entries the previous report counted.
    public let adjustments: [Adjustment]
    /// Amendments recorded after the previous report that change the registration in force at
    /// the previous period's end (an amendment effective in a closed period): the base of its caps.
    public let baseAdjustments: [BaseAdjustment]
    /// Every figure and verdict that moved since the previous report, new breaches first.
    public let changes: [Change]
    /// The previous period's verdicts and findings, recomputed at this state, that differ from its
    /// report: what was recorded since changed a closed period's verdict.
    public let previousPeriodChanges: [Change]
}

public struct FactoryRollForward: Equatable, Sendable {
    public let factoryID: String
    /// Cumulative to the previous period's end, as the ledger stood at the previous report.
    public let opening: PeriodFigures
    /// Dated after the previous period, up to this period's end.
    public let movements: PeriodFigures
    /// Recorded after the previous report, dated in an earlier period (corrections included).
    public let adjustments: PeriodFigures
    /// Cumulative to this period's end, now.
    public let closing: PeriodFigures
}

/// A prior-period adjustment of a registration: the amendment, and each registered fact it
/// changed for the previous period (opening → closing).
public struct BaseAdjustment: Equatable, Sendable {
    public static func == (a: BaseAdjustment, b: BaseAdjustment) -> Bool {
        a.factoryID == b.factoryID && a.amendment == b.amendment && a.countersignedAt == b.countersignedAt
            && a.fields.map(\.label) == b.fields.map(\.label)
            && a.fields.map(\.before) == b.fields.map(\.before) && a.fields.map(\.after) == b.fields.map(\.after)
    }

    public let factoryID: String
    public let amendment: RecordedAmendment
    public let fields: [(label: String, before: String, after: String)]
    /// The countersignature, recorded after the previous report, that put it in force (four eyes).
    public let countersignedAt: Int64?
}

/// One prior-period adjustment: the entry recorded late (or the correction) and its effect.
public struct Adjustment: Equatable, Sendable {
    /// The entry that made the adjustment: the back-dated entry itself, or the correction.
    public let origin: RowOrigin
    public let factoryID: String
    /// What changed: "contribution …" or "access …", and +/-.
    public let description: String
    /// The back-dated entry's value date, or the corrected entry's.
    public let valueDate: CalendarDate
    /// The entry's reference (for a correction, the corrected entry's), or "".
    public let ref: String
    /// The correction's reason, or "" for an entry recorded late.
    public let reason: String
    /// +1: counts now and did not before; -1: counted before, cancelled now.
    public let sign: Int
}

/// A figure or verdict that differs from the previous report.
public struct Change: Equatable, Sendable {
    public static func == (a: Change, b: Change) -> Bool {
        a.factoryID == b.factoryID && a.what == b.what && a.before == b.before && a.after == b.after && a.rank == b.rank
            && a.causes.map(\.seq) == b.causes.map(\.seq)
    }

    public let factoryID: String?
    public let what: String
    public let before: String
    public let after: String
    /// The entries recorded since the previous report behind the change, each with how it
    /// counts ("movement", "adjustment", "correction").
    public let causes: [(seq: Int64, how: String)]
    /// 0: a new breach (PASS or NOT ASSESSABLE to BREACH); 1: another verdict change; 2: a figure.
    public let rank: Int
}

/// Access time within a period: the Union pool by the beneficiary's country (`unknown` when the
/// record names none) and type of participant, and the host pool by type of participant.
public struct AccessBreakdown: Equatable, Sendable {
    public var union = [String: [AccessCategory: Total]]()
    public var host = [AccessCategory: Total]()

    public init() {}

    public static func + (a: AccessBreakdown, b: AccessBreakdown) -> AccessBreakdown {
        var out = a
        for (country, categories) in b.union {
            for (category, hours) in categories { out.union[country, default: [:]][category, default: 0] += hours }
        }
        for (category, hours) in b.host { out.host[category, default: 0] += hours }
        return out
    }
}
