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

    mutating func add(_ item: Contribution) {
        switch (item.kind, item.category) {
        case (.commitment, .capex): committedCapex += Total(item.amount.value)
        case (.commitment, .opex): committedOpex += Total(item.amount.value)
        case (.payment, .capex): paidCapex += Total(item.amount.value)
        case (.payment, .opex): paidOpex += Total(item.amount.value)
        }
    }

    public static func + (a: ContributionTotals, b: ContributionTotals) -> ContributionTotals {
        ContributionTotals(committedCapex: a.committedCapex + b.committedCapex, committedOpex: a.committedOpex + b.committedOpex,
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

    mutating func add(_ grant: AccessGrant) {
        hours[grant.category, default: [:]][grant.pool, default: 0] += Total(grant.gpuHours)
        if grant.pool == .union && grant.isCommercial { unionCommercialHours += Total(grant.gpuHours) }
    }
}

/// Figures for one scope (one factory, or all together) over one period.
public struct PeriodFigures: Equatable, Sendable {
    /// By source, keyed `eu`, `ms:CC`, `private:ID`.
    public var bySource: [String: ContributionTotals] = [:]
    public var access = AccessTotals()

    public var total: ContributionTotals { bySource.values.reduce(ContributionTotals(), +) }
    public var union: ContributionTotals { bySource["eu"] ?? ContributionTotals() }
    public var nonUnion: ContributionTotals { bySource.filter { $0.key != "eu" }.values.reduce(ContributionTotals(), +) }
    /// The sum over sources whose key starts with `prefix`: `ms:` for member states, `private:` for partners.
    public func sum(prefix: String) -> ContributionTotals {
        bySource.filter { $0.key.hasPrefix(prefix) }.values.reduce(ContributionTotals(), +)
    }

    /// Sources in report order: the Union, member states, private partners, each alphabetically.
    public var sourceKeys: [String] {
        bySource.keys.sorted { a, b in
            func rank(_ key: String) -> Int { key == "eu" ? 0 : key.hasPrefix("ms:") ? 1 : 2 }
            return (rank(a), a) < (rank(b), b)
        }
    }
}

public enum VerdictStatus: String, Sendable {
    case pass = "PASS"
    case breach = "BREACH"
    case notAssessable = "NOT ASSESSABLE"
}

/// One safeguard checked for one factory: the decision and the figures that decided it.
public struct Verdict: Equatable, Sendable {
    public let rule: PolicyRule
    public let status: VerdictStatus
    /// The measured value and the threshold, exact; nil when not assessable or not a ratio.
    public let value: Fraction?
    public let threshold: Fraction?
    /// What was compared, in words and figures, or why it could not be assessed.
    public let explanation: String
}

public struct ContributionRow: Equatable, Sendable {
    public let seq: Int64
    public let item: Contribution
    public let correctedBy: Int64?
}

public struct AccessRow: Equatable, Sendable {
    public let seq: Int64
    public let grant: AccessGrant
    public let correctedBy: Int64?
}

public struct FactoryReport: Equatable, Sendable {
    public let factory: Factory
    public let quarter: PeriodFigures
    public let cumulative: PeriodFigures
    public let verdicts: [Verdict]
}

/// Everything a quarterly report says, computed from a verified ledger state.
public struct QuarterlyReport: Equatable, Sendable {
    /// How many verdicts of each status the report holds, over every factory.
    public var verdictCounts: [VerdictStatus: Int] {
        Dictionary(grouping: factories.flatMap(\.verdicts), by: \.status).mapValues(\.count)
    }

    public let quarter: Quarter
    public let origin: String
    /// The ledger state the report was computed at: entries 1 to `entryCount`, the last one's hash.
    public let entryCount: Int64
    public let headHash: [UInt8]
    public let headRecordedAt: String
    public let policy: Policy
    public let policySeq: Int64
    public let factories: [FactoryReport]
    public let allQuarter: PeriodFigures
    public let allCumulative: PeriodFigures
    /// Every contribution and access entry dated up to the quarter's last day, corrected ones included and marked.
    public let contributionRows: [ContributionRow]
    public let accessRows: [AccessRow]
}
