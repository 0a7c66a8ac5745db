import GigaLedgerCore

/// The safeguards of a policy checked against one factory's cumulative figures.
/// Co-financing rules are decided on commitments (what has been promised so far, corrections
/// netted); a rule on the boundary is decided on the exact fraction.
public enum Safeguards {
    public static func verdicts(for factory: Factory, figures: PeriodFigures, accessRows: [AccessRow], policy: Policy) -> [Verdict] {
        var verdicts = [Verdict]()
        switch factory.kind {
        case .gigafactory:
            verdicts.append(unionCapexShare(factory, figures, policy.rule("union-capex-share-max-gigafactory")))
            verdicts.append(matching(figures, policy.rule("matching-min-gigafactory")))
        case .aiFactory:
            verdicts.append(shareAtMost(figures.union.committedCapex, of: figures.total.committedCapex, what: "Union share of committed acquisition cost (CAPEX)",
                                        rule: policy.rule("union-acquisition-share-max-ai-factory")))
            verdicts.append(shareAtMost(figures.union.committedOpex, of: figures.total.committedOpex, what: "Union share of committed operating cost (OPEX)",
                                        rule: policy.rule("union-opex-share-max-ai-factory")))
        }
        let access = figures.access
        verdicts.append(shareAtMost(access.hours(pool: .union), of: access.hours(), what: "Union access time as a share of all access time",
                                    rule: policy.rule("union-access-share-max")))
        verdicts.append(proportionality(figures, policy.rule("union-access-proportionality-tolerance")))
        verdicts.append(shareAtMost(access.unionCommercialHours, of: access.hours(pool: .union), what: "commercial use as a share of Union access time",
                                    rule: policy.rule("commercial-share-of-union-access-max")))
        verdicts.append(freeOfCharge(factory, accessRows, policy.rule("union-access-free-for")))
        verdicts.append(shareAtLeast(access.hours(.sme) + access.hours(.startup), of: access.hours(), what: "SME and start-up share of all access time",
                                     rule: policy.rule("sme-startup-access-share-min")))
        return verdicts
    }

    static func threshold(_ rule: PolicyRule) -> Fraction { .basisPoints(rule.basisPoints ?? 0) }

    static func unionCapexShare(_ factory: Factory, _ figures: PeriodFigures, _ rule: PolicyRule) -> Verdict {
        let union = figures.union.committedCapex, planned = Total(factory.capex.value)
        let value = Fraction(union, planned)
        let limit = threshold(rule)
        return Verdict(rule: rule, status: value <= limit ? .pass : .breach, value: value, threshold: limit,
                       explanation: "Union CAPEX committed \(Cents.formatted(union)) of planned eligible CAPEX \(Cents.formatted(planned)) = \(value.percentText); at most \(limit.percentText)")
    }

    static func matching(_ figures: PeriodFigures, _ rule: PolicyRule) -> Verdict {
        let union = figures.union.committed, others = figures.nonUnion.committed
        guard union > 0 else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: threshold(rule), explanation: "no Union commitment yet: nothing to match")
        }
        let value = Fraction(others, union)
        let minimum = threshold(rule)
        return Verdict(rule: rule, status: value >= minimum ? .pass : .breach, value: value, threshold: minimum,
                       explanation: "non-Union commitments \(Cents.formatted(others)) against Union commitments \(Cents.formatted(union)) = \(value.percentText); at least \(minimum.percentText)")
    }

    static func shareAtMost(_ part: Total, of whole: Total, what: String, rule: PolicyRule) -> Verdict {
        guard whole > 0 else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: threshold(rule), explanation: "\(what): nothing recorded yet (the whole is zero)")
        }
        let value = Fraction(part, whole), limit = threshold(rule)
        return Verdict(rule: rule, status: value <= limit ? .pass : .breach, value: value, threshold: limit,
                       explanation: "\(what): \(part) of \(whole) = \(value.percentText); at most \(limit.percentText)")
    }

    static func shareAtLeast(_ part: Total, of whole: Total, what: String, rule: PolicyRule) -> Verdict {
        guard whole > 0 else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: threshold(rule), explanation: "\(what): no access recorded yet")
        }
        let value = Fraction(part, whole), minimum = threshold(rule)
        return Verdict(rule: rule, status: value >= minimum ? .pass : .breach, value: value, threshold: minimum,
                       explanation: "\(what): \(part) of \(whole) GPU-hours = \(value.percentText); at least \(minimum.percentText)")
    }

    /// Union access share within the tolerance of the Union's share of all commitments (Art. 17(1)).
    static func proportionality(_ figures: PeriodFigures, _ rule: PolicyRule) -> Verdict {
        let hours = figures.access.hours(), unionHours = figures.access.hours(pool: .union)
        let money = figures.total.committed, unionMoney = figures.union.committed
        guard hours > 0 else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: threshold(rule), explanation: "no access recorded yet")
        }
        guard money > 0 else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: threshold(rule), explanation: "no commitments recorded yet")
        }
        let accessShare = Fraction(unionHours, hours), financialShare = Fraction(unionMoney, money), tolerance = threshold(rule)
        let within = Fraction.within(accessShare, financialShare, tolerance: tolerance)
        return Verdict(rule: rule, status: within ? .pass : .breach, value: accessShare, threshold: tolerance,
                       explanation: "Union access share \(accessShare.percentText) against the Union's share of commitments \(financialShare.percentText); within ±\(tolerance.percentText)")
    }

    static func freeOfCharge(_ factory: Factory, _ rows: [AccessRow], _ rule: PolicyRule) -> Verdict {
        let free = Set(rule.categories ?? [])
        let relevant = rows.filter { $0.grant.factory == factory.id && $0.correctedBy == nil && $0.grant.pool == .union && free.contains($0.grant.category) }
        let charged = relevant.filter { $0.grant.charge.value > 0 }
        guard !relevant.isEmpty else {
            return Verdict(rule: rule, status: .notAssessable, value: nil, threshold: nil, explanation: "no Union access for \(free.map(\.rawValue).sorted().joined(separator: ", ")) recorded yet")
        }
        if charged.isEmpty {
            return Verdict(rule: rule, status: .pass, value: nil, threshold: nil, explanation: "\(relevant.count) Union access grants to free categories, none charged")
        }
        let list = charged.map { "entry \($0.seq) (\($0.grant.beneficiary), \($0.grant.charge))" }.joined(separator: "; ")
        return Verdict(rule: rule, status: .breach, value: nil, threshold: nil, explanation: "charged although free of charge: \(list)")
    }
}
