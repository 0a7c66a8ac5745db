import GigaLedgerCore

/// The rows of one factory that count at a report's state, dated up to the day judged: positions
/// in the report's row arrays (shared, not copied: a ledger may hold a million rows).
struct FactoryRows {
    let allContributions: [ContributionRow]
    let allAccess: [AccessRow]
    var contributionIndices = [Int]()
    var accessIndices = [Int]()

    var access: [AccessRow] { accessIndices.map { allAccess[$0] } }

    func seqs(_ include: (Contribution) -> Bool) -> [Int64] {
        contributionIndices.compactMap { include(allContributions[$0].item) ? allContributions[$0].seq : nil }
    }

    func accessSeqs(_ include: (AccessGrant) -> Bool) -> [Int64] {
        accessIndices.compactMap { include(allAccess[$0].grant) ? allAccess[$0].seq : nil }
    }
}

/// The safeguards of a policy checked against one factory's cumulative figures to a day.
/// Co-financing caps are measured against the factory's registered eligible cost (the law caps a
/// share of the cost, not of what has been committed so far); matching counts participating
/// states' money only; a rule on the boundary is decided on the exact fraction.
enum Safeguards {
    /// `registration`: the factory's registration entry and the amendment in force, if any
    /// (cited by the rules whose base or hosts they give).
    static func verdicts(
        for factory: Factory, registration: [Int64] = [], figures: PeriodFigures, rows: FactoryRows, policy: Policy, through day: CalendarDate,
        partners: [String: Partner] = [:]
    ) -> [Verdict] {
        var checks = [(id: String, check: (PolicyRule) -> Verdict)]()
        switch factory.kind {
        case .gigafactory:
            checks.append(
                (
                    "union-capex-share-max-gigafactory",
                    {
                        capAgainstRegistered(
                            figures.union.committedCapex, registered: factory.capex, what: "CAPEX",
                            figures: figures,
                            entries: (registration + rows.seqs { $0.source == .union && $0.kind == .commitment && $0.category == .capex }).sorted(),
                            rule: $0)
                    }
                ))
            checks.append(("matching-min-gigafactory", { matching(figures, rows: rows, rule: $0) }))
            checks.append(("host-states-commit-gigafactory", { hostsCommitted(factory, figures, rows: rows, registration: registration, rule: $0) }))
        case .aiFactory:
            checks.append(
                (
                    "union-acquisition-share-max-ai-factory",
                    {
                        capAgainstRegistered(
                            figures.union.committedCapex, registered: factory.capex, what: "acquisition cost (CAPEX)",
                            figures: figures,
                            entries: (registration + rows.seqs { $0.source == .union && $0.kind == .commitment && $0.category == .capex }).sorted(),
                            rule: $0)
                    }
                ))
            checks.append(
                (
                    "union-opex-share-max-ai-factory",
                    { rule in
                        guard let opex = factory.opex else {
                            return Verdict(
                                rule: rule, status: .notAssessable,
                                explanation:
                                    "no operating budget is registered for \(factory.id) (factory-register --opex): the operating-cost cap cannot be assessed"
                            )
                        }
                        return capAgainstRegistered(
                            figures.union.committedOpex, registered: opex, what: "operating cost (OPEX)", figures: figures,
                            entries: (registration + rows.seqs { $0.source == .union && $0.kind == .commitment && $0.category == .opex }).sorted(),
                            rule: rule)
                    }
                ))
        }
        let access = figures.access
        let unionAccess = rows.accessSeqs { $0.pool == .union }
        checks.append(
            (
                "union-access-share-max",
                {
                    shareAtMost(
                        access.hours(pool: .union), of: access.hours(), what: "Union access time as a share of all access time",
                        unit: .hours, entries: rows.accessSeqs { _ in true }, rule: $0)
                }
            ))
        checks.append(("union-access-proportionality-tolerance", { proportionality(figures, rows: rows, rule: $0) }))
        checks.append(
            (
                "commercial-share-of-union-access-max",
                {
                    shareAtMost(
                        access.unionCommercialHours, of: access.hours(pool: .union), what: "commercial use as a share of Union access time",
                        unit: .hours, entries: unionAccess, rule: $0)
                }
            ))
        checks.append(("commercial-union-access-charged", { commercialCharged(rows, rule: $0) }))
        checks.append(("union-access-free-for", { freeOfCharge(rows, rule: $0) }))
        checks.append(("union-access-free-for-startups", { freeOfCharge(rows, rule: $0) }))
        checks.append(
            (
                "sme-startup-access-share-min",
                {
                    shareAtLeast(
                        access.hours(.sme) + access.hours(.startup), of: access.hours(),
                        what: "SME and start-up share of all access time",
                        entries: rows.accessSeqs { _ in true }, rule: $0)
                }
            ))
        if factory.kind == .gigafactory {
            checks.append(("union-opex-at-gigafactory", { opexAtGigafactory(factory, figures, rows: rows, registration: registration, rule: $0) }))
            checks.append(("host-commitment-min-share", { hostCommitmentShare(factory, figures, rows: rows, rule: $0) }))
        }
        checks.append(("commercial-charge-min", { commercialChargeFloor(rows, rule: $0) }))
        checks.append(("access-participant-consistent", { participantsConsistent(rows, partners: partners, rule: $0) }))
        return checks.compactMap { id, check in
            if Policy.listedOnlyWhenDefined.contains(id) && policy.optionalRule(id) == nil { return nil }
            guard let rule = policy.optionalRule(id) else { return missing(id, policy) }
            guard !figures.isEmpty else {
                return Verdict(
                    rule: rule, status: .notAssessable, explanation: "nothing is recorded for \(factory.id) by \(day): no contribution and no access")
            }
            return check(rule)
        }
    }

    /// The checks on all factories together, where the policy has them (Art. 5).
    static func programme(_ all: PeriodFigures, entries: [Int64], policy: Policy, through day: CalendarDate) -> [Verdict] {
        var verdicts = [Verdict]()
        let union = all.union.committed, states = all.memberStates.committed
        if policy.optionalRule("union-contribution-max-programme") == nil { verdicts.append(missing("union-contribution-max-programme", policy)) }
        if let rule = policy.optionalRule("union-contribution-max-programme"), let ceiling = rule.cents {
            guard union > 0 else {
                verdicts.append(Verdict(rule: rule, status: .notAssessable, explanation: "no Union commitment by \(day)"))
                return verdicts + programme(matching: policy, union: union, states: states, entries: entries, day: day)
            }
            let margin = Total(ceiling) - union
            verdicts.append(
                Verdict(
                    rule: rule, status: union <= Total(ceiling) ? .pass : .breach, value: nil, threshold: nil,
                    explanation:
                        "Union commitments, all factories, \(Cents.formatted(union)) against the ceiling \(Cents.formatted(ceiling)) (to \(day))",
                    margin: moneyMargin(margin), entries: entries))
        }
        return verdicts + programme(matching: policy, union: union, states: states, entries: entries, day: day)
    }

    private static func programme(matching policy: Policy, union: Total, states: Total, entries: [Int64], day: CalendarDate) -> [Verdict] {
        guard let rule = policy.optionalRule("matching-min-programme") else { return [missing("matching-min-programme", policy)] }
        guard union > 0 else { return [Verdict(rule: rule, status: .notAssessable, explanation: "no Union commitment by \(day): nothing to match")] }
        return [matchingVerdict(union: union, states: states, scope: "all factories", entries: entries, rule: rule)]
    }

    /// Payments above commitments, per source and cost category.
    static func findings(_ figures: PeriodFigures, rows: FactoryRows) -> [PaymentFinding] {
        var out = [PaymentFinding]()
        for key in figures.sourceKeys {
            let totals = figures.bySource[key]!
            guard let source = try? Source.parse(key, field: "source") else { continue }  // keys are written from sources
            for (category, committed, paid) in [
                (CostCategory.capex, totals.committedCapex, totals.paidCapex), (.opex, totals.committedOpex, totals.paidOpex),
            ] where paid > committed {
                let entries = rows.seqs { $0.source == source && $0.category == category }
                out.append(
                    PaymentFinding(
                        source: key, category: category, committed: committed, paid: paid,
                        entries: entries.count <= Verdict.entriesListedMax ? entries : [], entryCount: entries.count))
            }
        }
        return out
    }

    /// A rule the policy does not have: not assessable, saying so.
    static func missing(_ id: String, _ policy: Policy) -> Verdict {
        let rule = PolicyRule(
            id: id, basisPoints: nil, categories: nil, cents: nil, source: "not in policy \(policy.id) version \(policy.version)",
            confidence: .absent, note: "a rule gigaledger checks when the policy defines it")
        return Verdict(
            rule: rule, status: .notAssessable,
            explanation:
                "policy \(policy.id) version \(policy.version) has no rule \(id): record a policy that has it (schema/policy/eurohpc-2026.json)")
    }

    static func threshold(_ rule: PolicyRule) -> Fraction { .basisPoints(rule.basisPoints ?? 0) }

    enum Unit {
        case cents, hours
        func text(_ amount: Total) -> String { self == .cents ? Cents.formatted(amount) : Hours.formatted(amount) }
        /// n/d of the unit, exactly.
        func exact(_ n: Total, _ d: Total) -> String { self == .cents ? Cents.formattedExact(n, d) : Hours.formattedExact(n, d) }
    }

    /// Room left under a cap (`margin` >= 0) or the amount over it.
    static func moneyMargin(_ margin: Total) -> String {
        margin >= 0 ? "headroom \(Cents.formatted(margin)) before the cap" : "excess \(Cents.formatted(-margin)) over the cap"
    }

    /// The Union's commitment against a cap on its share of a registered cost (Art. 12a(2), Art. 12b):
    /// headroom = floor(registered × cap) − Union, in cents.
    static func capAgainstRegistered(
        _ union: Total, registered: Cents, what: String, figures: PeriodFigures, entries: [Int64], rule: PolicyRule
    ) -> Verdict {
        let whole = Total(registered.value), limit = threshold(rule), value = Fraction(union, whole)
        let points = Total(rule.basisPoints ?? 0)
        let allowed = whole * points / 10_000
        let committed = figures.total.committed
        let info =
            committed > 0
            ? "; for information, the Union's share of all commitments is \(Fraction(figures.union.committed, committed).percentText)" : ""
        let (valueText, limitText) = Fraction.distinguished(value, limit)
        // Over the cap: the exact excess (union − cap × base, in fractions of a cent when it is
        // one), and apart from it the whole cents to remove to comply.
        let over = union * 10_000 - whole * points
        let margin =
            over > 0
            ? "excess \(Cents.formattedExact(over, 10_000)) over the cap; \(Cents.formatted(union - allowed)) to remove to comply"
            : moneyMargin(allowed - union)
        return Verdict(
            rule: rule, status: value <= limit ? .pass : .breach, value: value, threshold: limit,
            explanation:
                "Union commitments \(Cents.formatted(union)) of the registered eligible \(what) \(Cents.formatted(whole)) = \(valueText); at most \(limitText)\(info)",
            margin: margin, entries: entries)
    }

    static func matching(_ figures: PeriodFigures, rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let union = figures.union.committed, states = figures.memberStates.committed
        let entries = rows.seqs { item in item.kind == .commitment && (item.source == .union || item.source.isMemberState) }
        guard union > 0 else {
            return Verdict(rule: rule, status: .notAssessable, threshold: threshold(rule), explanation: "no Union commitment yet: nothing to match")
        }
        let privateMoney = figures.sum(prefix: "private:").committed
        var verdict = matchingVerdict(union: union, states: states, scope: "this factory", entries: entries, rule: rule)
        if privateMoney > 0 {
            verdict = Verdict(
                rule: rule, status: verdict.status, value: verdict.value, threshold: verdict.threshold,
                explanation: verdict.explanation
                    + "; private partners' \(Cents.formatted(privateMoney)) does not count (they are not members of the Joint Undertaking)",
                margin: verdict.margin, entries: verdict.entries)
        }
        return verdict
    }

    /// Participating states' commitments at least `threshold` of the Union's.
    static func matchingVerdict(union: Total, states: Total, scope: String, entries: [Int64], rule: PolicyRule) -> Verdict {
        let value = Fraction(states, union), minimum = threshold(rule)
        let points = Total(rule.basisPoints ?? 0)
        let needed = (union * points + 9_999) / 10_000  // the least whole cents that match
        let short = union * points - states * 10_000  // the exact shortfall, in 1/10,000 cents
        let margin =
            short <= 0
            ? "surplus \(Cents.formattedExact(-short, 10_000)) above the minimum"
            : "shortfall \(Cents.formattedExact(short, 10_000)) of participating states' commitments; \(Cents.formatted(needed - states)) to add to comply"
        let (valueText, minimumText) = Fraction.distinguished(value, minimum)
        return Verdict(
            rule: rule, status: value >= minimum ? .pass : .breach, value: value, threshold: minimum,
            explanation:
                "participating states' commitments \(Cents.formatted(states)) against Union commitments \(Cents.formatted(union)) (\(scope)) = \(valueText); at least \(minimumText)",
            margin: margin, entries: entries)
    }

    /// Every host state of a gigafactory has committed money (Art. 12b(4)).
    static func hostsCommitted(_ factory: Factory, _ figures: PeriodFigures, rows: FactoryRows, registration: [Int64], rule: PolicyRule) -> Verdict {
        guard figures.total.committed > 0 else {
            return Verdict(rule: rule, status: .notAssessable, explanation: "no commitment is recorded for \(factory.id) yet")
        }
        let missing = factory.hosts.filter { (figures.bySource["ms:\($0)"]?.committed ?? 0) <= 0 }
        let entries = (registration + rows.seqs { item in item.kind == .commitment && factory.hosts.contains { item.source == .memberState($0) } })
            .sorted()
        let each = factory.hosts.map { "\($0) \(Cents.formatted(figures.bySource["ms:\($0)"]?.committed ?? 0))" }.joined(separator: ", ")
        if missing.isEmpty {
            return Verdict(rule: rule, status: .pass, explanation: "every host state has committed: \(each)", entries: entries)
        }
        return Verdict(
            rule: rule, status: .breach,
            explanation: "host state\(missing.count == 1 ? "" : "s") without a commitment: \(missing.joined(separator: ", ")) (\(each))",
            entries: entries)
    }

    /// `part` at most `threshold` of `whole`, where `part` is within `whole`: the headroom is how
    /// much more `part` may grow (growing `whole` with it), the excess how much must go.
    static func shareAtMost(_ part: Total, of whole: Total, what: String, unit: Unit, entries: [Int64], rule: PolicyRule) -> Verdict {
        guard whole > 0 else {
            return Verdict(
                rule: rule, status: .notAssessable, threshold: threshold(rule), explanation: "\(what): nothing recorded yet (the whole is zero)")
        }
        let value = Fraction(part, whole), limit = threshold(rule), points = Total(rule.basisPoints ?? 0)
        var margin: String?
        if points < 10_000 {
            let numerator = points * whole - 10_000 * part, denominator = 10_000 - points
            // The part grows the whole with it: x more fits while (part + x) / (whole + x) <= cap.
            // Over it: the exact excess (part − cap × whole), and apart from it what must go to
            // comply (removing x from the part takes it from the whole too: (part − x) / (whole − x)).
            margin =
                numerator >= 0
                ? "headroom \(unit.text(numerator / denominator)) before the cap"
                : "excess \(unit.exact(-numerator, 10_000)) over the cap; \(unit.text((-numerator + denominator - 1) / denominator)) to remove to comply"
        }
        let (valueText, limitText) = Fraction.distinguished(value, limit)
        return Verdict(
            rule: rule, status: value <= limit ? .pass : .breach, value: value, threshold: limit,
            explanation: "\(what): \(unit.text(part)) of \(unit.text(whole)) = \(valueText); at most \(limitText)",
            margin: margin, entries: entries)
    }

    /// `part` at least `threshold` of `whole` (part within whole): the shortfall is how many more
    /// hours `part` needs, the surplus how many other hours may come before it falls short.
    static func shareAtLeast(_ part: Total, of whole: Total, what: String, entries: [Int64], rule: PolicyRule) -> Verdict {
        guard whole > 0 else {
            return Verdict(rule: rule, status: .notAssessable, threshold: threshold(rule), explanation: "\(what): no access recorded yet")
        }
        let value = Fraction(part, whole), minimum = threshold(rule), points = Total(rule.basisPoints ?? 0)
        var margin: String?
        let short = points * whole - 10_000 * part
        if short > 0, points < 10_000 {
            margin =
                "shortfall \(Hours.formattedExact(short, 10_000)) under the minimum; \(Hours.formatted((short + 10_000 - points - 1) / (10_000 - points))) more to add to comply"
        } else if short <= 0, points > 0 {
            margin = "surplus: \(Hours.formatted(-short / points)) of other access could be added before the minimum is missed"
        }
        let (valueText, minimumText) = Fraction.distinguished(value, minimum)
        return Verdict(
            rule: rule, status: value >= minimum ? .pass : .breach, value: value, threshold: minimum,
            explanation: "\(what): \(Hours.formatted(part)) of \(Hours.formatted(whole)) = \(valueText); at least \(minimumText)",
            margin: margin, entries: entries)
    }

    /// Union access share within the tolerance of the Union's share of all commitments (Art. 17(1)).
    static func proportionality(_ figures: PeriodFigures, rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let hours = figures.access.hours(), unionHours = figures.access.hours(pool: .union)
        let money = figures.total.committed, unionMoney = figures.union.committed
        guard hours > 0 else {
            return Verdict(rule: rule, status: .notAssessable, threshold: threshold(rule), explanation: "no access recorded yet")
        }
        // A Union contribution of zero entitles the Union pool to no hours, whatever else is committed.
        if unionMoney == 0, unionHours > 0 {
            return Verdict(
                rule: rule, status: .breach, value: Fraction(unionHours, hours), threshold: threshold(rule),
                explanation:
                    "Union access of \(Hours.formatted(unionHours)) (of \(Hours.formatted(hours))) with no Union commitment recorded (\(Cents.formatted(unionMoney)) of \(Cents.formatted(money)) committed): a Union share of zero entitles the Union pool to no access time",
                margin: "Union access \(Hours.formatted(unionHours)) over the none its share allows",
                entries: (rows.accessSeqs { $0.pool == .union } + rows.seqs { $0.kind == .commitment }).sorted())
        }
        guard money > 0 else {
            return Verdict(rule: rule, status: .notAssessable, threshold: threshold(rule), explanation: "no commitments recorded yet")
        }
        let accessShare = Fraction(unionHours, hours), financialShare = Fraction(unionMoney, money), tolerance = threshold(rule)
        let within = Fraction.within(accessShare, financialShare, tolerance: tolerance)
        let entries = (rows.accessSeqs { _ in true } + rows.seqs { $0.kind == .commitment }).sorted()
        // The gap shown exactly enough to tell it from the tolerance when they differ.
        let gapText: String
        if let gap = Fraction.difference(accessShare, financialShare) {
            let (gapShown, toleranceShown) = Fraction.distinguished(gap, tolerance, unit: " points")
            gapText = "gap \(gapShown), tolerance \(toleranceShown)"
        } else {
            let gap = abs(accessShare.hundredthsOfPercent - financialShare.hundredthsOfPercent)
            gapText =
                "gap \(Fraction.pointsText(hundredths: gap)) (shares rounded to 0.01 point; decided exactly: \(within ? "within" : "beyond") the tolerance), tolerance \(tolerance.pointsText)"
        }
        return Verdict(
            rule: rule, status: within ? .pass : .breach, value: accessShare, threshold: tolerance,
            explanation:
                "Union access share \(accessShare.percentText) (\(Hours.formatted(unionHours)) of \(Hours.formatted(hours))) against the Union's share of all commitments, CAPEX and OPEX together, \(financialShare.percentText) (\(Cents.formatted(unionMoney)) of \(Cents.formatted(money))); at most \(tolerance.pointsText) apart",
            margin: gapText, entries: entries)
    }

    /// Non-commercial Union access for the rule's categories is free of charge (Art. 12b);
    /// commercial use is charged (Art. 18(3)) and is not judged here.
    static func freeOfCharge(_ rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let free = Set(rule.categories ?? [])
        let names = free.map(\.rawValue).sorted().joined(separator: ", ")
        let relevant = rows.access.filter { $0.grant.pool == .union && !$0.grant.isCommercial && free.contains($0.grant.category) }
        guard !relevant.isEmpty else {
            return Verdict(rule: rule, status: .notAssessable, explanation: "no non-commercial Union access for \(names) recorded yet")
        }
        let charged = relevant.filter { $0.grant.charge.value > 0 }
        if charged.isEmpty {
            let granted = Set(relevant.map(\.grant.category.rawValue)).sorted().joined(separator: ", ")
            return Verdict(
                rule: rule, status: .pass,
                explanation: "\(relevant.count) non-commercial Union access grant\(relevant.count == 1 ? "" : "s") (\(granted)), none charged",
                entries: relevant.map(\.seq))
        }
        let list = charged.map { "entry \($0.seq) (\($0.grant.beneficiary), \($0.grant.category.rawValue), \($0.grant.charge))" }.joined(
            separator: "; ")
        return Verdict(
            rule: rule, status: .breach, explanation: "non-commercial Union access charged although free of charge: \(list)",
            margin: "excess \(Cents.formatted(charged.reduce(Total(0)) { $0 + Total($1.grant.charge.value) }))", entries: charged.map(\.seq))
    }

    /// Commercial use of Union access carries a charge (Art. 18(3): at market price).
    static func commercialCharged(_ rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let commercial = rows.access.filter { $0.grant.pool == .union && $0.grant.isCommercial }
        guard !commercial.isEmpty else {
            return Verdict(rule: rule, status: .notAssessable, explanation: "no commercial Union access recorded yet")
        }
        let free = commercial.filter { $0.grant.charge.value == 0 }
        if free.isEmpty {
            return Verdict(
                rule: rule, status: .pass,
                explanation:
                    "\(commercial.count) commercial Union access grant\(commercial.count == 1 ? "" : "s"), each charged (whether at market price the ledger cannot tell)",
                entries: commercial.map(\.seq))
        }
        let list = free.map { "entry \($0.seq) (\($0.grant.beneficiary), \(Hours.formatted(Total($0.grant.gpuHours))))" }.joined(separator: "; ")
        return Verdict(rule: rule, status: .breach, explanation: "commercial Union access charged EUR 0.00: \(list)", entries: free.map(\.seq))
    }
}

extension Safeguards {
    /// Union money recorded as OPEX at a gigafactory: the law sets no Union OPEX share there, so it
    /// is flagged, with the CAPEX share the Union's money would make if it were CAPEX.
    static func opexAtGigafactory(
        _ factory: Factory, _ figures: PeriodFigures, rows: FactoryRows, registration: [Int64], rule: PolicyRule
    )
        -> Verdict
    {
        let opex = figures.union.committedOpex + figures.union.paidOpex
        let entries = rows.seqs { $0.source == .union && $0.category == .opex }
        guard opex > 0 else {
            return Verdict(rule: rule, status: .pass, explanation: "no Union money recorded as OPEX at this gigafactory")
        }
        let asCapex = Fraction(figures.union.committedCapex + figures.union.committedOpex, Total(factory.capex.value))
        return Verdict(
            rule: rule, status: .breach,
            explanation:
                "Union money recorded as OPEX at a gigafactory: committed \(Cents.formatted(figures.union.committedOpex)), paid \(Cents.formatted(figures.union.paidOpex)); the law sets no Union OPEX share for gigafactories; counted as CAPEX, the Union's commitments would be \(asCapex.percentText) of the registered eligible CAPEX \(Cents.formatted(Total(factory.capex.value)))",
            entries: (registration + entries).sorted())
    }

    /// Each host state's commitments at least the policy's share of the Union's (a token
    /// commitment of one cent does not make a host committed).
    static func hostCommitmentShare(_ factory: Factory, _ figures: PeriodFigures, rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let union = figures.union.committed, points = Total(rule.basisPoints ?? 0)
        let entries = rows.seqs { item in
            item.kind == .commitment && (item.source == .union || factory.hosts.contains { item.source == .memberState($0) })
        }
        guard union > 0 else {
            return Verdict(rule: rule, status: .notAssessable, explanation: "no Union commitment is recorded yet: there is nothing to match")
        }
        let short = factory.hosts.filter { Total(10_000) * (figures.bySource["ms:\($0)"]?.committed ?? 0) < points * union }
        let each = factory.hosts.map { "\($0) \(Cents.formatted(figures.bySource["ms:\($0)"]?.committed ?? 0))" }.joined(separator: ", ")
        let text =
            "each host state's commitments at least \(Fraction.basisPoints(Int64(points)).percentText) of the Union's \(Cents.formatted(union)), i.e. \(Cents.formattedExact(points * union, 10_000)): \(each)"
        return Verdict(
            rule: rule, status: short.isEmpty ? .pass : .breach,
            explanation: short.isEmpty ? text : "below the share: \(short.joined(separator: ", ")); \(text)", entries: entries)
    }

    /// Commercial Union access charged at least the policy's floor per GPU-hour.
    static func commercialChargeFloor(_ rows: FactoryRows, rule: PolicyRule) -> Verdict {
        let commercial = rows.access.filter { $0.grant.pool == .union && $0.grant.isCommercial }
        guard !commercial.isEmpty else { return Verdict(rule: rule, status: .notAssessable, explanation: "no commercial Union access recorded yet") }
        let floor = Total(rule.cents ?? 0)
        let low = commercial.filter { Total($0.grant.charge.value) < floor * Total($0.grant.gpuHours) }
        if low.isEmpty {
            return Verdict(
                rule: rule, status: .pass,
                explanation:
                    "\(commercial.count) commercial Union access grant\(commercial.count == 1 ? "" : "s"), each charged at least \(Cents.formatted(floor)) per GPU-hour",
                entries: commercial.map(\.seq))
        }
        let list = low.map {
            "entry \($0.seq) (\($0.grant.beneficiary), \(Hours.formatted(Total($0.grant.gpuHours))) charged \($0.grant.charge), at least \(Cents.formatted(floor * Total($0.grant.gpuHours))))"
        }.joined(separator: "; ")
        return Verdict(
            rule: rule, status: .breach, explanation: "commercial Union access charged below \(Cents.formatted(floor)) per GPU-hour: \(list)",
            entries: low.map(\.seq))
    }

    /// Who had access, as recorded: one beneficiary under several types of participant, non-commercial
    /// industry access in the Union pool, an SME or start-up grant naming a partner registered as no SME.
    static func participantsConsistent(_ rows: FactoryRows, partners: [String: Partner], rule: PolicyRule) -> Verdict {
        let access = rows.access
        guard !access.isEmpty else { return Verdict(rule: rule, status: .notAssessable, explanation: "no access recorded yet") }
        var problems = [String](), entries = [Int64]()
        // One beneficiary: the same name (compared as twins are), or the same registered partner.
        let byName = Dictionary(grouping: access) { Twins.key($0.grant.beneficiary) }
        let byPartner = Dictionary(grouping: access.filter { $0.grant.partner != nil }) { "partner:" + ($0.grant.partner ?? "") }
        var reported = Set<Set<Int64>>()
        for (_, grants) in byName.sorted(by: { $0.key < $1.key }) + byPartner.sorted(by: { $0.key < $1.key }) {
            guard reported.insert(Set(grants.map(\.seq))).inserted else { continue }
            let categories = Set(grants.map(\.grant.category))
            guard categories.count > 1 else { continue }
            problems.append(
                "\(grants[0].grant.beneficiary) recorded as \(categories.map(\.rawValue).sorted().joined(separator: " and ")) (entries \(grants.map { String($0.seq) }.joined(separator: ", ")))"
            )
            entries += grants.map(\.seq)
        }
        let industry = access.filter { $0.grant.pool == .union && $0.grant.category == .industry && !$0.grant.isCommercial }
        if !industry.isEmpty {
            problems.append("non-commercial industry access in the Union pool (entries \(industry.map { String($0.seq) }.joined(separator: ", ")))")
            entries += industry.map(\.seq)
        }
        let notSME = access.filter { row in
            guard let id = row.grant.partner, let partner = partners[id] else { return false }
            return !partner.isSME && (row.grant.category == .sme || row.grant.category == .startup)
        }
        if !notSME.isEmpty {
            problems.append(
                "SME or start-up access for a partner registered as no SME (entries \(notSME.map { "\($0.seq) \($0.grant.partner ?? "")" }.joined(separator: ", ")))"
            )
            entries += notSME.map(\.seq)
        }
        if problems.isEmpty {
            return Verdict(
                rule: rule, status: .pass, explanation: "\(access.count) access grants, each beneficiary under one type of participant", entries: [])
        }
        return Verdict(rule: rule, status: .breach, explanation: problems.joined(separator: "; "), entries: Array(Set(entries)).sorted())
    }
}

/// A registered fact of a factory that a rule reads (its base, its hosts, the rules that apply).
enum RegisteredFact: String, CaseIterable, Sendable {
    case kind, capex, opex, hosts, name

    /// How a report names it ("registered CAPEX").
    var label: String {
        switch self {
        case .kind: return "registered kind"
        case .capex: return "registered CAPEX"
        case .opex: return "registered OPEX"
        case .hosts: return "registered host states"
        case .name: return "registered name"
        }
    }

    /// The fact's value in `factory`, for display.
    func value(_ factory: Factory) -> String {
        switch self {
        case .kind: return factory.kind.rawValue
        case .capex: return Cents.formatted(Total(factory.capex.value))
        case .opex: return factory.opex.map { Cents.formatted(Total($0.value)) } ?? "none"
        case .hosts: return factory.hosts.joined(separator: ", ")
        case .name: return factory.name
        }
    }
}

/// What feeds a rule: the rows whose counting moves it, and the registered facts it reads. A
/// change of its verdict names only entries of these (what changed, cause not coincidence).
struct RuleInputs {
    let contribution: (Contribution) -> Bool
    let access: (AccessGrant) -> Bool
    let registered: Set<RegisteredFact>

    /// The inputs of rule `id` at a factory with these host states (or, for the programme's
    /// rules, every factory). The factory's kind decides which rules apply and their caps, so
    /// every factory rule reads it.
    static func of(_ id: String, hosts: Set<String>) -> RuleInputs {
        let none: (AccessGrant) -> Bool = { _ in false }
        let noMoney: (Contribution) -> Bool = { _ in false }
        let commitment: (Contribution) -> Bool = { $0.kind == .commitment }
        switch id {
        case "union-capex-share-max-gigafactory", "union-acquisition-share-max-ai-factory":
            return RuleInputs(
                contribution: { $0.source == .union && $0.kind == .commitment && $0.category == .capex }, access: none, registered: [.kind, .capex])
        case "union-opex-share-max-ai-factory":
            return RuleInputs(
                contribution: { $0.source == .union && $0.kind == .commitment && $0.category == .opex }, access: none, registered: [.kind, .opex])
        case "matching-min-gigafactory", "matching-min-programme":
            return RuleInputs(
                contribution: { $0.kind == .commitment && ($0.source == .union || $0.source.isMemberState) }, access: none, registered: [.kind])
        case "host-states-commit-gigafactory":
            return RuleInputs(
                contribution: { item in item.kind == .commitment && hosts.contains { item.source == .memberState($0) } }, access: none,
                registered: [.kind, .hosts])
        case "union-contribution-max-programme":
            return RuleInputs(contribution: { $0.source == .union && $0.kind == .commitment }, access: none, registered: [])
        case "union-access-proportionality-tolerance":
            return RuleInputs(contribution: commitment, access: { _ in true }, registered: [.kind])
        case "commercial-share-of-union-access-max":
            return RuleInputs(contribution: noMoney, access: { $0.pool == .union }, registered: [.kind])
        case "commercial-union-access-charged":
            return RuleInputs(contribution: noMoney, access: { $0.pool == .union && $0.isCommercial }, registered: [.kind])
        case "union-access-free-for", "union-access-free-for-startups":
            return RuleInputs(contribution: noMoney, access: { $0.pool == .union && !$0.isCommercial }, registered: [.kind])
        case "union-opex-at-gigafactory":
            return RuleInputs(contribution: { $0.source == .union && $0.category == .opex }, access: none, registered: [.kind, .capex])
        case "host-commitment-min-share":
            return RuleInputs(
                contribution: { item in item.kind == .commitment && (item.source == .union || hosts.contains { item.source == .memberState($0) }) },
                access: none, registered: [.kind, .hosts])
        case "commercial-charge-min":
            return RuleInputs(contribution: noMoney, access: { $0.pool == .union && $0.isCommercial }, registered: [.kind])
        default:  // the access shares, and a rule gigaledger does not know: every access record
            return RuleInputs(contribution: noMoney, access: { _ in true }, registered: [.kind])
        }
    }
}

extension Source {
    /// Whether the money is a participating state's (what matches the Union's).
    var isMemberState: Bool {
        if case .memberState = self { return true }
        return false
    }
}

/// GPU-hours for people: `12,345 GPU-hours`.
public enum Hours {
    public static func formatted(_ hours: Total) -> String { "\(grouped(hours)) GPU-hour\(hours == 1 ? "" : "s")" }

    /// n/d GPU-hours exactly, with the decimals it needs: `1.5 GPU-hours`.
    public static func formattedExact(_ n: Total, _ d: Total) -> String {
        guard n % d != 0 else { return formatted(n / d) }
        guard let (digits, rounded) = Fraction.fractionDigits(n, d) else { return formatted(n / d) + " and a fraction" }
        return "\(grouped(n / d)).\(digits) GPU-hours" + (rounded ? " (rounded)" : "")
    }

    /// Thousands separated by commas, sign kept.
    public static func grouped(_ value: Total) -> String {
        let digits = String(value.magnitude)
        var out = value < 0 ? "-" : ""
        for (index, char) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(char)
        }
        return out
    }
}
