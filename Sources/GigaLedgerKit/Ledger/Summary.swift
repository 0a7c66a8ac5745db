/// Totals per factory, corrections netted: what `gigaledger status` and the demo print.
/// (Quarterly reports with ratios and safeguards are a separate, fuller module.)
public struct LedgerSummary: Equatable {
    public struct FactoryTotals: Equatable {
        public let factory: Factory
        /// Net cents by source group ("eu", "member states", "private") and contribution kind.
        public var committed: [String: Int64] = [:]
        public var paid: [String: Int64] = [:]
        public var gpuHours: [AccessCategory: Int64] = [:]
    }

    public var entryCount: Int64 = 0
    public var countsByType: [String: Int64] = [:]
    public var factories: [FactoryTotals] = []

    static func group(_ source: Source) -> String {
        switch source {
        case .union: return "eu"
        case .memberState: return "member states"
        case .partner: return "private"
        }
    }
}

extension Ledger {
    /// Adds up every contribution and access record per factory. A corrected entry and its
    /// correction cancel out, so both are left out; that needs one pass to find the corrected
    /// entries and a second to add, streaming both times.
    public func summary() throws -> LedgerSummary {
        var corrected = Set<Int64>()
        try forEachEntry { entry in
            guard entry.type == "correction", case .correction(let item) = try EntryBody.decode(entry.body).data else { return }
            corrected.insert(item.entry)
        }
        var summary = LedgerSummary()
        var index = [String: Int]()
        try forEachEntry { entry in
            summary.entryCount = entry.seq
            summary.countsByType[entry.type, default: 0] += 1
            guard !corrected.contains(entry.seq) else { return }
            switch try EntryBody.decode(entry.body).data {
            case .factoryRegister(let factory):
                index[factory.id] = summary.factories.count
                summary.factories.append(.init(factory: factory))
            case .contribution(let item):
                guard let at = index[item.factory] else { return }
                let group = LedgerSummary.group(item.source)
                switch item.kind {
                case .commitment: summary.factories[at].committed[group, default: 0] += item.amount.value
                case .payment: summary.factories[at].paid[group, default: 0] += item.amount.value
                }
            case .access(let grant):
                guard let at = index[grant.factory] else { return }
                summary.factories[at].gpuHours[grant.category, default: 0] += grant.gpuHours
            default:
                break
            }
        }
        return summary
    }
}
