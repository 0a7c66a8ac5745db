import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// Why a report cannot be made.
public struct ReportError: GigaLedgerError, Equatable {
    public let message: String
    public let kind: FailureKind
    public var description: String { message }
}

/// The state of the previous report a report rolls forward from: its period and ledger state,
/// and, when it is a report folder, its summary and that summary's signature, which are checked
/// against this ledger before anything is taken from them.
public struct PreviousReport: Sendable {
    public let period: ReportPeriod?
    public let entryCount: Int64
    /// The head hash the previous report names, checked against this ledger's entry.
    public let headHash: [UInt8]?
    /// The previous report's summary.json: it must be what this ledger gives for its period at its state.
    public let summaryText: String?
    /// summary.json.minisig, when the previous report was signed: it must verify by a key the ledger enrolled.
    public let summarySignature: String?

    public init(period: ReportPeriod?, entryCount: Int64, headHash: [UInt8]?, summaryText: String? = nil, summarySignature: String? = nil) {
        self.period = period
        self.entryCount = entryCount
        self.headHash = headHash
        self.summaryText = summaryText
        self.summarySignature = summarySignature
    }
}

extension Ledger {
    /// Computes the report for a quarter at ledger state `at` (default: the whole ledger).
    public func quarterlyReport(quarter: Quarter, at: Int64? = nil, fullVerify: Bool = true) throws -> PeriodReport {
        try periodReport(period: .quarter(quarter), at: at, fullVerify: fullVerify).report
    }

    /// Computes the report for `period` at ledger state `at` (default: the whole ledger), rolled
    /// forward from `previous` when given. Verifies the whole ledger and refuses one that does
    /// not verify; the figures are added up in the same pass. `fullVerify: false` takes the
    /// signatures under the latest checkpoint the ledger signed as checked.
    /// `quarterReports`: for an annual report, the quarters' issued reports, each checked as a
    /// previous report is (this ledger's, its signature, its summary what the ledger gives at its
    /// state); every verdict that now differs from one is listed with the entries that changed it.
    public func periodReport(
        period: ReportPeriod, at: Int64? = nil, fullVerify: Bool = true,
        previous: PreviousReport? = nil, quarterReports: [PreviousReport] = []
    ) throws -> (report: PeriodReport, verification: VerificationReport) {
        let (data, head, origin, verification) = try collect(through: period.lastDay, at: at, fullVerify: fullVerify)
        if let previous { try check(previous, against: period, head: head, data: data, origin: origin) }
        var issued = [Quarter: PreviousReport]()
        for report in quarterReports {
            guard case .year(let year) = period, case .quarter(let quarter)? = report.period, quarter.year == year else {
                throw InputError(
                    field: "quarter-reports", value: report.period?.description ?? "a checkpoint",
                    problem: "is not a quarterly report of \(period) (give the folders of that year's quarterly reports, with --year)")
            }
            guard issued[quarter] == nil else {
                throw InputError(
                    field: "quarter-reports", value: quarter.description, problem: "is given twice; give each quarter's issued report once")
            }
            try checkIssued(report, period: .quarter(quarter), head: head, data: data, origin: origin, field: "quarter-reports")
            issued[quarter] = report
        }
        let root = try self.root(size: head.seq)
        var report = try data.report(period: period, origin: origin, head: head, root: root, previous: previous, issued: issued)
        if let previous { report.reissue = try data.reissue(previous, of: previous.period ?? period.previous, before: head.seq) }
        report.recordedAfterState = data.recordedAfter(period, at: head.seq)
        return (report, verification)
    }

    /// The contribution and access rows dated up to `through` (every one when nil) at state `at`
    /// (default: the whole ledger), corrected ones marked, from the verified ledger: what `export` writes.
    public func exportRows(
        through: CalendarDate?, at: Int64? = nil
    ) throws -> (contributions: [ContributionRow], access: [AccessRow], corrections: [Int64: CorrectionRecord]) {
        let (data, _, _, _) = try collect(through: through, at: at)
        return (data.contributions, data.access, data.corrections)
    }

    /// The ledger verified, and when it verifies, its entries by type and each factory's figures
    /// to date (corrections netted), all from the same verifying pass.
    public func status() throws -> LedgerStatus {
        var data = ReportData(through: nil, countingTypes: true)
        let verification = try verify(visit: { data.add($0) })
        guard verification.isVerified else { return LedgerStatus(verification: verification, countsByType: [:], factories: []) }
        data.finish()
        let figures = data.figures(at: verification.verifiedCount) { _ in true }
        // The registrations in force today (UTC), as `factory list` shows them.
        let today = (try? Timestamp.now()).flatMap { try? CalendarDate.parse(String($0.prefix(10)), field: "today") } ?? CalendarDate.latest
        return LedgerStatus(
            verification: verification, countsByType: data.countsByType ?? [:],
            factories: data.factories(at: verification.verifiedCount, on: today).map { ($0.factory, figures[$0.factory.id] ?? PeriodFigures()) })
    }

    /// Checks that the previous report is of this ledger, comes before this one, and says what
    /// this ledger gives for its period at its state (an edited summary, or one moved to another
    /// state, would hide adjustments); a signed one must carry a valid signature of an enrolled key.
    private func check(_ previous: PreviousReport, against period: ReportPeriod, head: Entry, data: ReportData, origin: String) throws {
        let prior = previous.period ?? period.previous
        guard prior.lastDay < period.firstDay else {
            let hint = period.kindName == "year" ? ": for an annual report, give the previous year's annual report (or its checkpoint)" : ""
            throw InputError(field: "previous", value: prior.description, problem: "is not a period before \(period)\(hint)")
        }
        try checkIssued(previous, period: prior, head: head, data: data, origin: origin)
    }

    /// An issued report (a previous one, or a quarter's) is of this ledger at its state (its head
    /// hash), signed by a key the ledger enrols when signed, and says what the ledger gives for
    /// `prior` at that state.
    /// `field`: the option that gave it, named in a refusal.
    private func checkIssued(
        _ previous: PreviousReport, period prior: ReportPeriod, head: Entry, data: ReportData, origin: String, field: String = "previous"
    ) throws {
        guard previous.entryCount >= 1, previous.entryCount <= head.seq else {
            throw InputError(
                field: field, value: String(previous.entryCount),
                problem: "is a report at entry \(previous.entryCount), after this report's state (entry \(head.seq))")
        }
        guard let priorHead = try entry(previous.entryCount) else { preconditionFailure("Ledger.check: entry \(previous.entryCount) is missing") }
        if let hash = previous.headHash, priorHead.hash != hash {
            throw InputError(
                field: field, value: Encoding.hex(hash),
                problem: "is not the hash of entry \(previous.entryCount) of this ledger: the report is of another ledger")
        }
        if let signature = previous.summarySignature, let text = previous.summaryText {
            try checkSignature(signature, of: text)
        }
        if let text = previous.summaryText {
            let again = try data.report(period: prior, origin: origin, head: priorHead, root: try root(size: previous.entryCount), previous: nil)
            guard Self.sameSummary(text, ReportRenderer.summaryJSON(again)) else {
                throw InputError(
                    field: field, value: "\(prior) summary.json",
                    problem:
                        "is not what this ledger gives for \(prior) at entry \(previous.entryCount): it was edited, or made by another version of gigaledger (remake it with `gigaledger report \(prior.kindName == "year" ? "--year" : "--quarter") \(prior) --at \(previous.entryCount)`)"
                )
            }
        }
    }

    /// The previous report's summary says what this ledger gives (`recomputed`, in this version's
    /// format), leaving out the roll-forward (which depends on the report before). A summary of
    /// this version's format must be the same; one of an older format is compared under its own
    /// version: every member it has must hold the same figure or verdict, the words of its
    /// explanations and margins and its lists of entries aside (later versions word and cite them
    /// differently), and members it does not have are not asked for.
    static func sameSummary(_ previous: String, _ recomputed: String) -> Bool {
        func parsed(_ text: String) -> [String: Any]? {
            guard var object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
            object["roll_forward"] = nil
            return object
        }
        guard let old = parsed(previous), let new = parsed(recomputed) else { return false }
        if old["format"] as? String == ReportRenderer.summaryFormat { return NSDictionary(dictionary: old).isEqual(NSDictionary(dictionary: new)) }
        guard let format = old["format"] as? String, Self.olderSummaryFormats.contains(format) else { return false }
        let worded: Set<String> = ["format", "rounding", "explanation", "margin", "entries", "entry_count"]
        func holds(_ old: Any, _ new: Any) -> Bool {
            if let old = old as? [String: Any] {
                guard let new = new as? [String: Any] else { return false }
                return old.allSatisfy { key, value in worded.contains(key) || new[key].map { holds(value, $0) } ?? false }
            }
            if let old = old as? [Any] {
                guard let new = new as? [Any], old.count == new.count else { return false }
                return zip(old, new).allSatisfy { holds($0, $1) }
            }
            // Leaves: NSNumber (numbers, booleans), NSString, NSNull: compared as Foundation compares them.
            guard let old = old as? NSObject, let new = new as? NSObject else { return false }
            return old.isEqual(new)
        }
        return holds(old, new)
    }

    /// The summary formats before this version's, still read as previous reports.
    static let olderSummaryFormats: Set<String> = ["gigaledger/report-summary/v2", "gigaledger/report-summary/v3"]

    /// A previous report's signature must be valid and by a key this ledger enrolled.
    /// A report folder (`gigaledger report --out`) as the public page lists it, when it is this
    /// ledger's: its summary names a state within the first `size` entries whose head hash this
    /// ledger has there, and a signed summary is signed by a key this ledger enrols. Returns the
    /// period, the state and whether it is signed; throws (naming why) when it is not this ledger's.
    public func publishableReport(_ folder: String, size: Int64) throws -> (period: ReportPeriod, entryCount: Int64, signed: Bool) {
        let input = try PreviousInput.read(folder)
        let report = input.report
        guard let period = report.period, report.entryCount >= 1, report.entryCount <= size,
            let head = try entry(report.entryCount), report.headHash == head.hash
        else {
            throw FileRefusal("report \(folder)", "is not a report of this ledger within its first \(size) entries")
        }
        if let signature = report.summarySignature, let text = report.summaryText { try checkSignature(signature, of: text) }
        return (period, report.entryCount, report.summarySignature != nil)
    }

    private func checkSignature(_ text: String, of file: String) throws {
        guard let parsed = Minisign.parse(text) else {
            throw InputError(field: "previous", value: "summary.json.minisig", problem: "is not a minisign signature")
        }
        guard let key = try keys().first(where: { $0.enrolment.publicKey.id == parsed.keyID }) else {
            throw InputError(
                field: "previous", value: "summary.json.minisig", problem: "is signed by key \(parsed.keyID), which this ledger does not enroll")
        }
        guard Minisign.isValid(parsed, of: Array(file.utf8), by: key.enrolment.publicKey) else {
            throw InputError(
                field: "previous", value: "summary.json.minisig",
                problem: "does not verify: summary.json was changed after it was signed by key \(parsed.keyID)")
        }
    }

    /// One verifying pass that hands every verified body up to `at` to the report's data.
    /// Each factory's figures to date at state `at` (corrections netted), from a verifying pass
    /// (signatures under the latest checkpoint taken as checked): what the public page shows when
    /// no policy is recorded to judge them.
    func factoryFigures(at: Int64) throws -> [(factory: Factory, figures: PeriodFigures)] {
        let (data, _, _, _) = try collect(through: nil, at: at, fullVerify: false)
        let figures = data.figures(at: at) { _ in true }
        return data.factories(at: at).map { ($0.factory, figures[$0.factory.id] ?? PeriodFigures()) }
    }

    private func collect(through: CalendarDate?, at: Int64?, fullVerify: Bool = true) throws -> (ReportData, Entry, String, VerificationReport) {
        if let at, at < 1 { throw InputError(field: "at", value: String(at), problem: "is not an entry of this ledger") }
        var data = ReportData(through: through)
        let verification = try verify(
            trustingLatestCheckpoint: !fullVerify,
            visit: { body in
                if at.map({ body.seq <= $0 }) ?? true { data.add(body) } else { data.noteAfterState(body) }
            })
        if let failure = verification.failure {
            if failure.isNewerFormat { throw ReportError(message: "\(failure); nothing was reported", kind: .unusable) }
            throw ReportError(message: "the ledger does not verify (\(failure)); refusing to report on it", kind: .notVerified)
        }
        let state = at ?? verification.verifiedCount
        guard state <= verification.verifiedCount else {
            throw InputError(field: "at", value: String(state), problem: "is not an entry of this ledger (1 to \(verification.verifiedCount))")
        }
        guard let head = try entry(state) else { preconditionFailure("Ledger.collect: verified entry \(state) is missing") }
        data.finish()
        return (data, head, verification.origin, verification)
    }
}

/// What a report needs from the ledger, collected in sequence order in one pass: registrations,
/// policies, and the contribution and access rows dated up to the report's last day, each with
/// where it came from. Figures for any ledger state up to the collected one follow from it (a row
/// counts at state S when it was recorded by S and no correction recorded by S cancels it).
struct ReportData {
    /// Rows dated after this day are not kept; nil keeps every row.
    let through: CalendarDate?
    var factories = [(factory: Factory, seq: Int64)]()
    /// Each factory's amendments in recording order (`inForce` picks the one a period uses).
    var factoryAmendments = [String: [RecordedAmendment]]()
    var partners = [String: Partner]()
    /// The entry that revoked each revoked key.
    var revocations = [KeyID: Int64]()
    /// Every report issued on the ledger (`report-issue`), in order, with its entry.
    var issues = [(issue: ReportIssue, origin: RowOrigin)]()
    /// Every enrolled key, in enrolment order, with its entry (signers are named by them in reports).
    var keys = [(enrolment: KeyEnrolment, seq: Int64)]()
    /// The countersignatures of each amendment, by the amendment's entry.
    var countersignatures = [Int64: [RowOrigin]]()
    var policies = [(policy: Policy, seq: Int64)]()
    var contributions = [ContributionRow]()
    /// Contributions and access records recorded after the state collected (a report `--at` an
    /// earlier state): never counted, only named as recorded after it.
    var afterState = [(seq: Int64, data: EntryData)]()
    /// Contributions dated after `through`: not counted, only listed around the period (dated after it, re-dated).
    var laterContributions = [ContributionRow]()
    var access = [AccessRow]()
    var corrections = [Int64: CorrectionRecord]()
    /// Entries by type, counted only when asked for (`status`).
    var countsByType: [String: Int64]?
    /// One copy of each recorded_at and signer: an import's rows share them, and a million rows
    /// would otherwise keep a million copies alive.
    private var times = [String: String](), signers = [KeyID: KeyID]()

    init(through: CalendarDate?, countingTypes: Bool = false) {
        self.through = through
        countsByType = countingTypes ? [:] : nil
    }

    func keeps(_ date: CalendarDate) -> Bool { through.map { date <= $0 } ?? true }

    mutating func add(_ body: EntryBody) {
        countsByType?[body.type, default: 0] += 1
        let origin = RowOrigin(seq: body.seq, recordedAt: interned(body.recordedAt), signer: interned(body.signer))
        switch body.data {
        case .policy(let item): policies.append((item, body.seq))
        case .factoryRegister(let factory): factories.append((factory, body.seq))
        case .partnerRegister(let partner): partners[partner.id] = partner
        case .factoryAmend(let amendment):
            factoryAmendments[amendment.value.id, default: []].append(
                RecordedAmendment(
                    factory: amendment.value, origin: origin, reason: amendment.reason, effectiveFrom: amendment.effectiveFrom,
                    version: body.version))
        case .partnerAmend(let amendment): partners[amendment.value.id] = amendment.value
        case .countersign(let item): countersignatures[item.entry, default: []].append(origin)
        case .reportIssue(let issue): issues.append((issue, origin))
        case .keyRevoke(let revocation): revocations[revocation.keyID] = body.seq
        case .genesis(let genesis): keys.append((genesis.authority, body.seq))
        case .keyEnroll(let enrolment): keys.append((enrolment, body.seq))
        case .correction(let item): corrections[item.entry] = CorrectionRecord(origin: origin, entry: item.entry, reason: item.reason)
        case .contribution(let item) where keeps(item.date):
            contributions.append(ContributionRow(origin: origin, item: item, correctedBy: nil))
        case .contribution(let item):
            laterContributions.append(ContributionRow(origin: origin, item: item, correctedBy: nil))
        case .access(let grant) where keeps(grant.date):
            access.append(AccessRow(origin: origin, grant: grant, correctedBy: nil))
        default: break
        }
    }

    mutating func noteAfterState(_ body: EntryBody) {
        switch body.data {
        case .contribution, .access: afterState.append((body.seq, body.data))
        default: break
        }
    }

    private mutating func interned(_ time: String) -> String {
        if let known = times[time] { return known }
        times[time] = time
        return time
    }

    private mutating func interned(_ key: KeyID) -> KeyID {
        if let known = signers[key] { return known }
        signers[key] = key
        return key
    }

    /// The factories registered by `state`, each as the registration in force on `day` (nil: the
    /// latest date a ledger holds) at that state has it (`inForce`).
    func factories(at state: Int64, on day: CalendarDate? = nil) -> [(factory: Factory, seq: Int64)] {
        factories.filter { $0.seq <= state }.map { registered in
            (inForce(registered.factory, at: state, on: day ?? CalendarDate.latest).factory, registered.seq)
        }
    }

    /// The registration of `registered` in force on `day` at `state`: of the amendments recorded by
    /// `state` that take effect by `day` (one without a date takes effect from the start), the one
    /// taking effect latest, and of those the latest recorded; the registration itself when none.
    /// An amendment that needs four eyes and is not countersigned by `state` takes no effect (`pending`).
    func inForce(_ registered: Factory, at state: Int64, on day: CalendarDate) -> (factory: Factory, amendment: RecordedAmendment?) {
        var best: RecordedAmendment?
        for amendment in factoryAmendments[registered.id] ?? [] where amendment.seq <= state {
            let from = amendment.effectiveFrom ?? CalendarDate.earliest
            guard from <= day, !isPending(amendment, of: registered, at: state) else { continue }
            if let chosen = best, (chosen.effectiveFrom ?? CalendarDate.earliest) > from { continue }
            best = amendment
        }
        return (best?.factory ?? registered, best)
    }

    /// What an amendment changes that needs a second authority's countersignature: the kind (it
    /// moves the caps), a host removed (it removes a host's duty). Amendments of format v1 keep
    /// their meaning (in force at once). Empty when nothing of it needs four eyes.
    func fourEyesChanges(_ amendment: RecordedAmendment, of registered: Factory) -> [String] {
        guard amendment.version >= 2 else { return [] }
        let previous = inForce(registered, at: amendment.seq - 1, on: amendment.effectiveFrom ?? CalendarDate.earliest).factory
        var out = [String]()
        if previous.kind != amendment.factory.kind { out.append("kind \(previous.kind.rawValue) → \(amendment.factory.kind.rawValue)") }
        let removed = previous.hosts.filter { !amendment.factory.hosts.contains($0) }
        if !removed.isEmpty { out.append("host\(removed.count == 1 ? "" : "s") \(removed.joined(separator: ", ")) removed") }
        return out
    }

    /// Needs four eyes and has no countersignature recorded by `state`.
    func isPending(_ amendment: RecordedAmendment, of registered: Factory, at state: Int64) -> Bool {
        guard !(countersignatures[amendment.seq] ?? []).contains(where: { $0.seq <= state }) else { return false }
        return !fourEyesChanges(amendment, of: registered).isEmpty
    }

    /// The amendments recorded by `state` that wait for a countersignature, with what they would change.
    func pendingAmendments(at state: Int64) -> [PendingAmendment] {
        var out = [PendingAmendment]()
        for (registered, registeredAt) in factories where registeredAt <= state {
            for amendment in factoryAmendments[registered.id] ?? [] where amendment.seq <= state && isPending(amendment, of: registered, at: state) {
                out.append(PendingAmendment(factoryID: registered.id, amendment: amendment, changes: fourEyesChanges(amendment, of: registered)))
            }
        }
        return out
    }

    /// Marks the corrected rows (a correction may come after the row it cancels).
    mutating func finish() {
        contributions = contributions.map { ContributionRow(origin: $0.origin, item: $0.item, correctedBy: corrections[$0.seq]?.origin.seq) }
        laterContributions = laterContributions.map {
            ContributionRow(origin: $0.origin, item: $0.item, correctedBy: corrections[$0.seq]?.origin.seq)
        }
        access = access.map { AccessRow(origin: $0.origin, grant: $0.grant, correctedBy: corrections[$0.seq]?.origin.seq) }
    }

    /// Whether a row counts at ledger state `state`: recorded by then, and not cancelled by a
    /// correction recorded by then.
    static func counts(_ seq: Int64, correctedBy: Int64?, at state: Int64) -> Bool {
        seq <= state && (correctedBy.map { $0 > state } ?? true)
    }

    /// Each factory's figures at `state`, over the rows whose date `dated` accepts.
    func figures(at state: Int64, dated: (CalendarDate) -> Bool) -> [String: PeriodFigures] {
        var out = [String: PeriodFigures]()
        for row in contributions where Self.counts(row.seq, correctedBy: row.correctedBy, at: state) && dated(row.item.date) {
            out[row.item.factory, default: PeriodFigures()].add(row.item)
        }
        for row in access where Self.counts(row.seq, correctedBy: row.correctedBy, at: state) && dated(row.grant.date) {
            out[row.grant.factory, default: PeriodFigures()].access.add(row.grant)
        }
        return out
    }

    /// Each factory's figures and rows that count at `state`, dated up to `day`: one pass.
    func grouped(at state: Int64, through day: CalendarDate) -> [String: (figures: PeriodFigures, rows: FactoryRows)] {
        var out = [String: (figures: PeriodFigures, rows: FactoryRows)]()
        func slot(_ factory: String) -> (figures: PeriodFigures, rows: FactoryRows) {
            out[factory] ?? (PeriodFigures(), FactoryRows(allContributions: contributions, allAccess: access))
        }
        for (index, row) in contributions.enumerated() where row.item.date <= day && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            var entry = slot(row.item.factory)
            out[row.item.factory] = nil  // held uniquely while it grows (no copy per row)
            entry.figures.add(row.item)
            entry.rows.contributionIndices.append(index)
            out[row.item.factory] = entry
        }
        for (index, row) in access.enumerated() where row.grant.date <= day && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            var entry = slot(row.grant.factory)
            out[row.grant.factory] = nil
            entry.figures.access.add(row.grant)
            entry.rows.accessIndices.append(index)
            out[row.grant.factory] = entry
        }
        return out
    }

    /// The policy that judges a period ending on `day` at `state`: the latest recorded by then
    /// that is in force on that day; else the reason there is none.
    func policy(at state: Int64, for day: CalendarDate) throws -> (policy: Policy, seq: Int64, notInForce: String?) {
        let recorded = policies.filter { $0.seq <= state }
        if let inForce = recorded.last(where: { $0.policy.isInForce(on: day) }) { return (inForce.policy, inForce.seq, nil) }
        guard !recorded.isEmpty else {
            throw ReportError(
                message: "no policy is recorded at entry \(state): record one with `gigaledger policy set --builtin eurohpc-2026`", kind: .refused)
        }
        let earliest = recorded.min { ($0.policy.effectiveFrom ?? CalendarDate.earliest) < ($1.policy.effectiveFrom ?? CalendarDate.earliest) }!
        let from = earliest.policy.effectiveFrom.map(\.description) ?? "?"
        return (
            earliest.policy, earliest.seq,
            "no policy recorded by entry \(state) is in force on \(day): the earliest, \(earliest.policy.id) version \(earliest.policy.version) (entry \(earliest.seq)), takes effect on \(from); no rule in force judges this period"
        )
    }

    /// Every factory's verdicts and payment findings at `state` for the period ending on `day`.
    func judge(
        at state: Int64, through day: CalendarDate
    ) throws -> (
        policy: Policy, seq: Int64, notInForce: String?,
        factories: [(Factory, PeriodFigures, [Verdict], [PaymentFinding])], programme: [Verdict]
    ) {
        let (policy, seq, notInForce) = try self.policy(at: state, for: day)
        let groups = grouped(at: state, through: day)
        var out = [(Factory, PeriodFigures, [Verdict], [PaymentFinding])]()
        for (registered, registeredAt) in factories where registeredAt <= state {
            let (factory, amendment) = inForce(registered, at: state, on: day)
            let figures = groups[factory.id]?.figures ?? PeriodFigures()
            let rows = groups[factory.id]?.rows ?? FactoryRows(allContributions: contributions, allAccess: access)
            let amendedAt = amendment?.seq
            var verdicts = Safeguards.verdicts(
                for: factory, registration: [registeredAt] + (amendedAt.map { [$0] } ?? []), figures: figures, rows: rows, policy: policy,
                through: day, partners: partners)
            if let notInForce { verdicts = verdicts.map { Verdict(rule: $0.rule, status: .notAssessable, explanation: notInForce) } }
            out.append((factory, figures, verdicts, Safeguards.findings(figures, rows: rows)))
        }
        let all = out.map(\.1).reduce(PeriodFigures(), +)
        let programmeEntries = contributions.filter {
            $0.item.date <= day && $0.item.kind == .commitment && Self.counts($0.seq, correctedBy: $0.correctedBy, at: state)
        }
        .filter { $0.item.source == .union || $0.item.source.isMemberState }.map(\.seq)
        var programme = Safeguards.programme(all, entries: programmeEntries, policy: policy, through: day)
        if let notInForce { programme = programme.map { Verdict(rule: $0.rule, status: .notAssessable, explanation: notInForce) } }
        return (policy, seq, notInForce, out, programme)
    }

    func report(
        period: ReportPeriod, origin: String, head: Entry, root: [UInt8], previous: PreviousReport?, issued: [Quarter: PreviousReport] = [:]
    ) throws -> PeriodReport {
        let state = head.seq
        let judged = try judge(at: state, through: period.lastDay)
        let movements = figures(at: state) { period.contains($0) }
        let factories = judged.factories.map { factory, cumulative, verdicts, findings in
            FactoryReport(
                factory: factory, period: movements[factory.id] ?? PeriodFigures(), cumulative: cumulative, verdicts: verdicts, findings: findings)
        }
        var quarterVerdicts = [QuarterVerdicts]()
        if case .year = period {
            for quarter in period.quarters {
                let atQuarter = try judge(at: state, through: quarter.lastDay)
                var verdicts = QuarterVerdicts(
                    quarter: quarter, factories: atQuarter.factories.map { ($0.0.id, $0.2) }, programme: atQuarter.programme,
                    findings: atQuarter.factories.flatMap { item in item.3.map { (item.0.id, $0) } },
                    isProvisional: String(head.recordedAt.prefix(10)) <= quarter.lastDay.description)
                if let report = issued[quarter] {
                    // What differs from the issued quarterly report: its verdicts and findings, recomputed
                    // at its state, against the same quarter at this state, each with its causes.
                    let current = atQuarter.factories.map { factory, cumulative, verdicts, findings in
                        FactoryReport(factory: factory, period: PeriodFigures(), cumulative: cumulative, verdicts: verdicts, findings: findings)
                    }
                    let opening = figures(at: report.entryCount) { $0 <= quarter.lastDay }
                    let changes = try self.changes(
                        prior: .quarter(quarter), priorState: report.entryCount, state: state, period: .quarter(quarter), current: current,
                        programme: atQuarter.programme, opening: opening)
                    verdicts.issued = IssuedQuarter(
                        entryCount: report.entryCount, isSigned: report.summarySignature != nil, changes: changes.filter { $0.rank <= 1 },
                        reissue: try reissue(report, of: .quarter(quarter), before: state))
                }
                quarterVerdicts.append(verdicts)
            }
        }
        let allCumulative = factories.map(\.cumulative).reduce(PeriodFigures(), +)
        return PeriodReport(
            period: period, origin: origin, entryCount: state, headHash: head.hash, headRecordedAt: head.recordedAt, merkleRoot: root,
            isProvisional: String(head.recordedAt.prefix(10)) <= period.lastDay.description,
            policy: judged.policy, policySeq: judged.seq, policyNotInForce: judged.notInForce, factories: factories, programme: judged.programme,
            allPeriod: factories.map(\.period).reduce(PeriodFigures(), +), allCumulative: allCumulative, sourceNames: sourceNames(),
            // The rows as collected (up to the report's state), unless this is an earlier state (a previous report recomputed).
            contributionRows: contributions.last.map { $0.seq <= state } ?? true ? contributions : contributions.filter { $0.seq <= state },
            accessRows: access.last.map { $0.seq <= state } ?? true ? access : access.filter { $0.seq <= state },
            corrections: corrections.filter { $0.value.origin.seq <= state },
            rollForward: try previous.map {
                try rollForward(from: $0, period: period, state: state, current: factories, programme: judged.programme)
            },
            quarterVerdicts: quarterVerdicts, memberStates: memberStates(factories), accessByCountry: accessByCountry(period, at: state),
            accessBreakdown: accessBreakdown(period, at: state), pendingAmendments: pendingAmendments(at: state),
            policyDiffersFromBuiltin: Self.builtinDifference(judged.policy), twins: twins(factories), partnerTwins: partnerTwins(),
            signers: signers(at: state), signedForOthers: signedForOthers(at: state, through: period.lastDay),
            subsequentEvents: subsequentEvents(period, at: state), issues: issues.filter { $0.origin.seq <= state && $0.issue.period == period },
            allowedDuplicates: allowedDuplicates(through: period.lastDay, at: state), splitAmounts: splitAmounts(through: period.lastDay, at: state))
    }

    /// What a reader of a report at `state` must know happened around its period, from entries 1
    /// to `state` only (a report is a function of them): entries dated after the period (a payment
    /// or commitment dated ahead, absent from it), and in-period entries corrected and recorded
    /// again dated outside it (a re-dating). Entries recorded after the state are the roll-forward's
    /// (and `recordedAfter`'s, which the command prints).
    func subsequentEvents(_ period: ReportPeriod, at state: Int64) -> [SubsequentEvent] {
        var out = [SubsequentEvent]()
        func what(_ item: Contribution) -> String { "\(item.kind.rawValue) \(item.category.rawValue) \(item.source) \(item.amount)" }
        let all = contributions + laterContributions
        for row in all where row.seq <= state && row.item.date > period.lastDay && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            out.append(SubsequentEvent(seq: row.seq, factoryID: row.item.factory, date: row.item.date, what: what(row.item), kind: .datedAfter))
        }
        // Re-dated: an in-period contribution corrected by `state`, paired with a contribution of the
        // same factory, source, kind and amount dated outside the period that counts at `state`
        // (whoever recorded it, whatever its category or reference, before or after the
        // correction: the one recorded nearest the correction), each used once.
        var used = Set<Int64>()
        for row in contributions where period.contains(row.item.date) {
            guard let by = row.correctedBy, by <= state else { continue }
            let item = row.item
            let candidates = all.filter {
                $0.seq != row.seq && $0.seq <= state && !period.contains($0.item.date) && !used.contains($0.seq)
                    && Self.counts($0.seq, correctedBy: $0.correctedBy, at: state) && $0.item.factory == item.factory
                    && $0.item.source == item.source && $0.item.kind == item.kind && $0.item.amount == item.amount
            }
            guard let again = candidates.min(by: { abs($0.seq - by) < abs($1.seq - by) }) else { continue }
            used.insert(again.seq)
            out.removeAll { $0.seq == again.seq }
            out.append(
                SubsequentEvent(
                    seq: again.seq, factoryID: item.factory, date: again.item.date,
                    what: "\(what(again.item)): entry \(row.seq) of the same amount, dated \(item.date), was corrected by entry \(by)",
                    kind: .redated))
        }
        return out.sorted { $0.seq < $1.seq }
    }

    /// Rows recorded with `allow_duplicate` that count at `state`, dated up to `day`, each with
    /// the earlier entry it repeats under the duplicate rule (or that none does: the flag then
    /// says more than the ledger shows).
    func allowedDuplicates(through day: CalendarDate, at state: Int64) -> [SubsequentEvent] {
        var out = [SubsequentEvent]()
        /// The first of `candidates` (earlier than `seq`, in sequence order) that `data` repeats.
        func repeats(_ data: EntryData, seq: Int64, among candidates: [(seq: Int64, data: EntryData)]) -> String {
            for candidate in candidates.sorted(by: { $0.seq < $1.seq }) where candidate.seq < seq {
                if DuplicateRule.conflict(data, among: [DuplicateRule.Earlier(name: "entry \(candidate.seq)", data: candidate.data)]) != nil {
                    return "; it repeats entry \(candidate.seq)"
                }
            }
            return "; no earlier entry matches it"
        }
        // The earlier rows that count, by what the duplicate rule compares (the same factory,
        // source, kind, category and amount; the same factory, source and reference up to ASCII
        // case; for access, the same factory, folded beneficiary and GPU-hours): each flagged row
        // is compared with its own kind only, so the work stays linear in the rows.
        let flagged = contributions.filter {
            $0.item.allowsDuplicate && $0.item.date <= day && Self.counts($0.seq, correctedBy: $0.correctedBy, at: state)
        }
        var byFacts = [String: [(seq: Int64, data: EntryData)]](), byRef = [String: [(seq: Int64, data: EntryData)]]()
        func factsKey(_ item: Contribution) -> String {
            "\(item.factory)\u{0}\(item.source)\u{0}\(item.kind.rawValue)\u{0}\(item.category.rawValue)\u{0}\(item.amount.value)"
        }
        func refKey(_ item: Contribution) -> String { "\(item.factory)\u{0}\(item.source)\u{0}\(NearKeys.foldedASCII(item.ref))" }
        if !flagged.isEmpty {
            for row in contributions + laterContributions where Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
                byFacts[factsKey(row.item), default: []].append((row.seq, .contribution(row.item)))
                if !row.item.ref.isEmpty { byRef[refKey(row.item), default: []].append((row.seq, .contribution(row.item))) }
            }
        }
        for row in flagged {
            let item = row.item
            var candidates = byFacts[factsKey(item)] ?? []
            if !item.ref.isEmpty {
                let known = Set(candidates.map(\.seq))
                candidates += (byRef[refKey(item)] ?? []).filter { !known.contains($0.seq) }
            }
            out.append(
                SubsequentEvent(
                    seq: row.seq, factoryID: item.factory, date: item.date,
                    what:
                        "\(item.kind.rawValue) \(item.category.rawValue) \(item.source) \(item.amount)\(item.ref.isEmpty ? "" : " ref \(item.ref)")"
                        + repeats(.contribution(item), seq: row.seq, among: candidates),
                    kind: .allowedDuplicate))
        }
        let flaggedAccess = access.filter {
            $0.grant.allowsDuplicate && $0.grant.date <= day && Self.counts($0.seq, correctedBy: $0.correctedBy, at: state)
        }
        func accessKey(_ grant: AccessGrant) -> String { "\(grant.factory)\u{0}\(NearKeys.foldedName(grant.beneficiary))\u{0}\(grant.gpuHours)" }
        var byGrant = [String: [(seq: Int64, data: EntryData)]]()
        if !flaggedAccess.isEmpty {
            for row in access where Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
                byGrant[accessKey(row.grant), default: []].append((row.seq, .access(row.grant)))
            }
        }
        for row in flaggedAccess {
            let grant = row.grant
            out.append(
                SubsequentEvent(
                    seq: row.seq, factoryID: grant.factory, date: grant.date,
                    what: "access \(grant.pool.rawValue) \(grant.category.rawValue) \(grant.beneficiary) \(Hours.formatted(Total(grant.gpuHours)))"
                        + repeats(.access(grant), seq: row.seq, among: byGrant[accessKey(grant)] ?? []),
                    kind: .allowedDuplicate))
        }
        return out.sorted { $0.seq < $1.seq }
    }

    /// How far, in entries of the same factory, source, kind, category and day recorded before or
    /// after it, parts of an amount are looked for: pairs among that many on either side, triples
    /// among the nearest `splitTripleNeighbours`. Bounds the work of a day of thousands of
    /// payments of one kind (linear in them).
    static let splitPairNeighbours = 32
    static let splitTripleNeighbours = 8

    /// Parts of an amount: two or three contributions that count at `state`, of the same factory,
    /// source, kind, category and value date as another (dated up to `day`), recorded before or
    /// after it, whose amounts add up to its amount: the same money recorded again in pieces (or
    /// the whole recorded again after its pieces), which the duplicate rule cannot see. Each entry
    /// is used once. A flag for a reader to look at: three invoices of one day may add up by chance.
    func splitAmounts(through day: CalendarDate, at state: Int64) -> [SubsequentEvent] {
        struct Key: Hashable {
            let factory: String, source: Source, kind: ContributionKind, category: CostCategory, date: CalendarDate
        }
        var groups = [Key: [(seq: Int64, item: Contribution)]]()
        for row in contributions where row.seq <= state && row.item.date <= day && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            let item = row.item
            groups[Key(factory: item.factory, source: item.source, kind: item.kind, category: item.category, date: item.date), default: []]
                .append((row.seq, item))
        }
        var out = [SubsequentEvent]()
        for rows in groups.values where rows.count >= 3 {
            let sorted = rows.sorted { $0.seq < $1.seq }
            var used = [Bool](repeating: false, count: sorted.count)
            for (index, whole) in sorted.enumerated() where !used[index] {
                let total = whole.item.amount.value
                // The unused neighbours that may be parts (smaller), nearest first.
                let near = (1...Self.splitPairNeighbours).flatMap { [index - $0, index + $0] }
                    .filter { $0 >= 0 && $0 < sorted.count && !used[$0] && sorted[$0].item.amount.value < total }
                var parts: [Int]?
                var seen = [Int64: Int]()
                for candidate in near {
                    if let other = seen[total - sorted[candidate].item.amount.value] {
                        parts = [other, candidate]
                        break
                    }
                    seen[sorted[candidate].item.amount.value] = seen[sorted[candidate].item.amount.value] ?? candidate
                }
                if parts == nil {
                    let few = Array(near.prefix(Self.splitTripleNeighbours))
                    search: for a in 0..<few.count {
                        for b in (a + 1)..<max(a + 1, few.count) {
                            let (pair, overflow) = sorted[few[a]].item.amount.value.addingReportingOverflow(sorted[few[b]].item.amount.value)
                            guard !overflow, pair < total else { continue }
                            for c in (b + 1)..<max(b + 1, few.count) where pair + sorted[few[c]].item.amount.value == total {
                                parts = [few[a], few[b], few[c]]
                                break search
                            }
                        }
                    }
                }
                guard let found = parts?.sorted() else { continue }
                for part in found { used[part] = true }
                used[index] = true
                let item = whole.item
                let pieces = found.map { sorted[$0] }
                out.append(
                    SubsequentEvent(
                        seq: whole.seq, factoryID: item.factory, date: item.date,
                        what:
                            "\(item.kind.rawValue) \(item.category.rawValue) \(item.source) \(item.amount)\(item.ref.isEmpty ? "" : " ref \(item.ref)"): entries \(pieces.map { String($0.seq) }.joined(separator: ", ")) of the same factory, source, kind, category and date add up to it (\(pieces.map { $0.item.amount.description }.joined(separator: " + ")))",
                        kind: .splitAmount))
            }
        }
        return out.sorted { $0.seq < $1.seq }
    }

    /// Entries recorded after `state` dated in `period`: what a report at `state` does not count.
    func recordedAfter(_ period: ReportPeriod, at state: Int64) -> [SubsequentEvent] {
        afterState.compactMap { seq, data in
            switch data {
            case .contribution(let item) where seq > state && period.contains(item.date):
                return SubsequentEvent(
                    seq: seq, factoryID: item.factory, date: item.date,
                    what: "\(item.kind.rawValue) \(item.category.rawValue) \(item.source) \(item.amount)", kind: .recordedAfter)
            case .access(let grant) where seq > state && period.contains(grant.date):
                return SubsequentEvent(
                    seq: seq, factoryID: grant.factory, date: grant.date,
                    what: "access \(grant.pool.rawValue) \(grant.category.rawValue) \(Hours.formatted(Total(grant.gpuHours)))", kind: .recordedAfter)
            default: return nil
            }
        }
    }

    /// Partners with the same name (as twins are compared) and country, each group by ID.
    func partnerTwins() -> [[String]] {
        let groups = Dictionary(grouping: partners.values) { "\(Twins.key($0.name))|\($0.country)" }
        return groups.values.filter { $0.count > 1 }.map { $0.map(\.id).sorted() }.sorted { $0[0] < $1[0] }
    }

    /// When `previous` (a report folder) is not the first issue of its period on the ledger (by
    /// `state`): the first issue, the issue it is (nil: none), and what differs between the two
    /// states for that period. Nil when it is the first issue, or no issue of the period is recorded.
    func reissue(_ previous: PreviousReport, of period: ReportPeriod, before state: Int64) throws -> Reissue? {
        guard let text = previous.summaryText else { return nil }
        let recorded = issues.filter { $0.issue.period == period && $0.origin.seq <= state }
        guard let first = recorded.first else { return nil }
        let digest = SHA256State.hash(Array(text.utf8))
        let match = recorded.first { $0.issue.summarySHA256 == digest }
        guard match?.origin.seq != first.origin.seq else { return nil }
        let was = first.issue.entryCount, now = previous.entryCount
        let atNow = try judge(at: now, through: period.lastDay)
        let current = atNow.factories.map { factory, cumulative, verdicts, findings in
            FactoryReport(factory: factory, period: PeriodFigures(), cumulative: cumulative, verdicts: verdicts, findings: findings)
        }
        let changes =
            was <= now
            ? try self.changes(
                prior: period, priorState: was, state: now, period: period, current: current, programme: atNow.programme,
                opening: figures(at: was) { $0 <= period.lastDay }) : []
        return Reissue(firstIssueSeq: first.origin.seq, firstEntryCount: was, issueSeq: match?.origin.seq, changes: changes)
    }

    /// Every key enrolled by `state`: who signs the report's entries, by name and role.
    func signers(at state: Int64) -> [KeyID: ReportSigner] {
        var out = [KeyID: ReportSigner]()
        for (enrolment, seq) in keys where seq <= state {
            out[enrolment.publicKey.id] = ReportSigner(
                keyID: enrolment.publicKey.id, name: enrolment.name, role: enrolment.role, scopes: enrolment.scopes.map(\.description),
                revokedAt: revocations[enrolment.publicKey.id].flatMap { $0 <= state ? $0 : nil })
        }
        return out
    }

    /// Money that counts at `state`, dated up to `day`, signed by a key that is not an officer of
    /// its source although an officer key for that source was enrolled when it was recorded (the
    /// authority recording "German" money Germany's officer never signed): per factory, source and
    /// signer, with the amounts and entries.
    func signedForOthers(at state: Int64, through day: CalendarDate) -> [SignedForOther] {
        var byKey = [String: SignedForOther]()
        var order = [String]()
        for row in contributions where row.item.date <= day && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            let source = row.item.source
            guard let signer = keys.first(where: { $0.enrolment.publicKey.id == row.origin.signer }), signer.enrolment.role != .officer,
                let officer = keys.first(where: {
                    $0.seq < row.seq && $0.enrolment.role == .officer && $0.enrolment.scopes.contains(.source(source))
                        && (revocations[$0.enrolment.publicKey.id].map { $0 > row.seq } ?? true)
                })
            else { continue }
            let key = "\(row.item.factory)|\(source)|\(row.origin.signer)"
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = SignedForOther(
                    factoryID: row.item.factory, source: source.description, signer: row.origin.signer, signerName: signer.enrolment.name,
                    officer: officer.enrolment.publicKey.id, officerName: officer.enrolment.name)
            }
            byKey[key]!.add(row.item, seq: row.seq)
        }
        return order.map { byKey[$0]! }
    }

    /// What differs between `policy` and the policy of the same name this binary carries (its
    /// rules, by ID), or nil when it carries none of that name or the rules are the same.
    /// A policy of another name is compared with the first built-in one (a copy renamed to escape
    /// the comparison is still read against the rules the binary carries).
    static func builtinDifference(_ policy: Policy) -> String? {
        let name = BuiltinPolicies.names.contains(policy.id) ? policy.id : BuiltinPolicies.names.first
        guard let name, let builtin = try? BuiltinPolicies.policy(named: name) else { return nil }
        // An earlier version of the built-in policy lacks the rules later versions added: not a difference.
        let differing = ruleDifferences(from: builtin, to: policy).filter { rule in
            !(policy.id == builtin.id && policy.version < builtin.version && Policy.listedOnlyWhenDefined.contains(rule.id)
                && policy.optionalRule(rule.id) == nil)
        }
        guard !differing.isEmpty else { return nil }
        let what =
            name == policy.id
            ? "the policy applied, \(policy.id) version \(policy.version), has rules other than the \(name) this gigaledger carries (version \(builtin.version))"
            : "the policy applied, \(policy.id) version \(policy.version), is not one this gigaledger carries; against the built-in \(name) (version \(builtin.version)) its rules differ"
        return what + ": " + differing.map { "\($0.id): built-in \($0.before), recorded \($0.after)" }.joined(separator: "; ")
    }

    /// The rules that differ between two policies, by ID in the order gigaledger knows them, each
    /// as its value, confidence and source.
    static func ruleDifferences(from old: Policy, to new: Policy) -> [(id: String, before: String, after: String)] {
        func described(_ policy: Policy) -> [String: String] {
            Dictionary(
                policy.rules.map { ($0.id, "\(ReportRenderer.ruleValue($0)) (\($0.confidence.rawValue): \($0.source))") },
                uniquingKeysWith: { first, _ in first })
        }
        let a = described(old), b = described(new)
        return Policy.ruleIDs.map(\.id).compactMap { id in
            let before = a[id] ?? "not in the policy", after = b[id] ?? "not in the policy"
            return before == after ? nil : (id, before, after)
        }
    }

    /// Twins among `factories`: the same name (letters and digits, case folded) and a host in common.
    func twins(_ factories: [FactoryReport]) -> [TwinSite] {
        var groups = [[FactoryReport]]()
        for item in factories {
            if let index = groups.firstIndex(where: { group in
                group.contains {
                    Twins.key($0.factory.name) == Twins.key(item.factory.name) && !Set($0.factory.hosts).isDisjoint(with: item.factory.hosts)
                }
            }) {
                groups[index].append(item)
            } else {
                groups.append([item])
            }
        }
        return groups.filter { $0.count > 1 }.map { group in
            TwinSite(
                factoryIDs: group.map(\.factory.id), name: group[0].factory.name,
                hosts: Array(Set(group.flatMap(\.factory.hosts))).sorted(),
                capex: group.reduce(Total(0)) { $0 + Total($1.factory.capex.value) },
                unionCommittedCapex: group.reduce(Total(0)) { $0 + ($1.cumulative.bySource["eu"]?.committedCapex ?? 0) })
        }
    }

    /// Names for every source: the Union, each member state, each registered partner.
    func sourceNames() -> [String: String] {
        var names = ["eu": "European Union"]
        for (code, name) in Codes.memberStateNames { names["ms:\(code)"] = name }
        for (id, partner) in partners { names["private:\(id)"] = partner.name }
        return names
    }

    /// Each member state with money in, or hosting, a factory: its commitments and payments per factory.
    func memberStates(_ factories: [FactoryReport]) -> [MemberStateView] {
        var codes = Set<String>()
        for item in factories {
            codes.formUnion(item.factory.hosts)
            for key in item.cumulative.bySource.keys where key.hasPrefix("ms:") { codes.insert(String(key.dropFirst(3))) }
        }
        return codes.sorted().map { code in
            MemberStateView(
                code: code, name: Codes.memberStateNames[code] ?? code,
                factories: factories.compactMap { item in
                    let totals = item.cumulative.bySource["ms:\(code)"]
                    let isHost = item.factory.hosts.contains(code)
                    guard totals != nil || isHost else { return nil }
                    return (item.factory.id, isHost, totals ?? ContributionTotals())
                })
        }
    }

    /// GPU-hours within the period by beneficiary country and category (Statutes Art. 19).
    /// GPU-hours within the period per factory: the Union pool by beneficiary country and
    /// category, the host pool by category.
    func accessBreakdown(_ period: ReportPeriod, at state: Int64) -> [String: AccessBreakdown] {
        var out = [String: AccessBreakdown]()
        for row in access where period.contains(row.grant.date) && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            let grant = row.grant
            switch grant.pool {
            case .union:
                out[grant.factory, default: AccessBreakdown()].union[grant.country ?? "unknown", default: [:]][grant.category, default: 0] += Total(
                    grant.gpuHours)
            case .host: out[grant.factory, default: AccessBreakdown()].host[grant.category, default: 0] += Total(grant.gpuHours)
            }
        }
        return out
    }

    func accessByCountry(_ period: ReportPeriod, at state: Int64) -> [String: [AccessCategory: Total]] {
        var out = [String: [AccessCategory: Total]]()
        for row in access where period.contains(row.grant.date) && Self.counts(row.seq, correctedBy: row.correctedBy, at: state) {
            out[row.grant.country ?? "unknown", default: [:]][row.grant.category, default: 0] += Total(row.grant.gpuHours)
        }
        return out
    }

    /// Opening (the previous report's cumulative figures, at its state), movements (dated after
    /// the previous period), prior-period adjustments (rows dated in or before the previous period
    /// whose counting changed between the two states) and closing; the sum is checked.
    func rollForward(
        from previous: PreviousReport, period: ReportPeriod, state: Int64, current: [FactoryReport], programme: [Verdict]
    ) throws -> RollForward {
        let prior = previous.period ?? period.previous
        let priorEnd = prior.lastDay, priorState = previous.entryCount
        let opening = figures(at: priorState) { $0 <= priorEnd }
        let movements = figures(at: state) { $0 > priorEnd && $0 <= period.lastDay }
        var adjustments = [String: PeriodFigures]()
        var list = [Adjustment]()
        func sign(_ seq: Int64, _ correctedBy: Int64?) -> Int {
            (Self.counts(seq, correctedBy: correctedBy, at: state) ? 1 : 0) - (Self.counts(seq, correctedBy: correctedBy, at: priorState) ? 1 : 0)
        }
        for row in contributions where row.item.date <= priorEnd {
            let sign = sign(row.seq, row.correctedBy)
            guard sign != 0 else { continue }
            adjustments[row.item.factory, default: PeriodFigures()].add(row.item, sign: Total(sign))
            let item = row.item
            list.append(
                adjustment(
                    row.origin, row.correctedBy, sign: sign, factory: item.factory, date: item.date, ref: item.ref,
                    what: "\(item.kind.rawValue) \(item.category.rawValue) \(item.source) \(item.amount)"))
        }
        for row in access where row.grant.date <= priorEnd {
            let sign = sign(row.seq, row.correctedBy)
            guard sign != 0 else { continue }
            adjustments[row.grant.factory, default: PeriodFigures()].access.add(row.grant, sign: Total(sign))
            let grant = row.grant
            list.append(
                adjustment(
                    row.origin, row.correctedBy, sign: sign, factory: grant.factory, date: grant.date, ref: "",
                    what: "access \(grant.pool.rawValue) \(grant.category.rawValue) \(grant.beneficiary) \(Hours.formatted(Total(grant.gpuHours)))"))
        }
        var bridges = [FactoryRollForward]()
        for item in current {
            let id = item.factory.id
            let bridge = FactoryRollForward(
                factoryID: id, opening: opening[id] ?? PeriodFigures(), movements: movements[id] ?? PeriodFigures(),
                adjustments: adjustments[id] ?? PeriodFigures(), closing: item.cumulative)
            guard Self.normalized(bridge.opening + bridge.movements + bridge.adjustments) == Self.normalized(bridge.closing) else {
                throw ReportError(
                    message: "the roll-forward of \(id) does not add up (opening + movements + adjustments ≠ closing): please report this as a bug",
                    kind: .notVerified)
            }
            bridges.append(bridge)
        }
        let changes = try self.changes(
            prior: prior, priorState: priorState, state: state, period: period, current: current, programme: programme, opening: opening)
        // Prior-period adjustments of the base: amendments recorded since the previous report that
        // change the registration in force at the previous period's end.
        var base = [BaseAdjustment]()
        for (registered, registeredAt) in factories where registeredAt <= priorState {
            let was = inForce(registered, at: priorState, on: priorEnd).factory
            let now = inForce(registered, at: state, on: priorEnd)
            let fields = RegisteredFact.allCases.filter { $0.value(was) != $0.value(now.factory) }
            guard !fields.isEmpty, let amendment = now.amendment else { continue }
            base.append(
                BaseAdjustment(
                    factoryID: registered.id, amendment: amendment,
                    fields: fields.map { (label: $0.label, before: $0.value(was), after: $0.value(now.factory)) },
                    countersignedAt: (countersignatures[amendment.seq] ?? []).first { $0.seq > priorState && $0.seq <= state }?.seq))
        }
        // The previous period's own verdicts, recomputed now: what back-dated entries, corrections and
        // amendments effective in it changed since its report (a closed quarter's BREACH made PASS).
        let atPrior = try judge(at: state, through: priorEnd)
        let priorNow = atPrior.factories.map { factory, cumulative, verdicts, findings in
            FactoryReport(factory: factory, period: PeriodFigures(), cumulative: cumulative, verdicts: verdicts, findings: findings)
        }
        let priorChanges = try self.changes(
            prior: prior, priorState: priorState, state: state, period: prior, current: priorNow, programme: atPrior.programme,
            opening: opening
        ).filter { $0.rank <= 1 }
        let basis =
            previous.summaryText == nil
            ? "the ledger's signed checkpoint at entry \(priorState), taken as the close of \(prior)"
            : previous.summarySignature == nil
                ? "the \(prior) report (unsigned) at entry \(priorState)" : "the \(prior) report at entry \(priorState), its signature checked"
        return RollForward(
            previousPeriod: prior, previousEntryCount: priorState, basis: basis, factories: bridges,
            adjustments: list.sorted { ($0.origin.seq, $0.sign) < ($1.origin.seq, $1.sign) }, baseAdjustments: base, changes: changes,
            previousPeriodChanges: priorChanges)
    }

    private func adjustment(
        _ origin: RowOrigin, _ correctedBy: Int64?, sign: Int, factory: String, date: CalendarDate, ref: String, what: String
    ) -> Adjustment {
        if sign < 0, correctedBy != nil, let correction = corrections[origin.seq] {
            return Adjustment(
                origin: correction.origin, factoryID: factory, description: "− \(what) (entry \(origin.seq), corrected)",
                valueDate: date, ref: ref, reason: correction.reason, sign: sign)
        }
        return Adjustment(
            origin: origin, factoryID: factory, description: "+ \(what) (recorded after the previous report)", valueDate: date, ref: ref,
            reason: "", sign: sign)
    }

    /// Figures without the zero entries sums leave behind, so equal figures compare equal.
    static func normalized(_ figures: PeriodFigures) -> PeriodFigures {
        var out = PeriodFigures()
        out.bySource = figures.bySource.filter { $0.value != ContributionTotals() }
        for (category, pools) in figures.access.hours {
            for (pool, value) in pools where value != 0 { out.access.hours[category, default: [:]][pool] = value }
        }
        out.access.unionCommercialHours = figures.access.unionCommercialHours
        return out
    }

    /// Every verdict, finding, cumulative figure and registered fact that differs from the
    /// previous report's (recomputed at its state), new breaches first, each with the entries
    /// recorded since that feed it, and only those (`RuleInputs`): the rows its rule counts, the
    /// amendments of the registered facts it reads, a registration since.
    func changes(
        prior: ReportPeriod, priorState: Int64, state: Int64, period: ReportPeriod, current: [FactoryReport], programme: [Verdict],
        opening: [String: PeriodFigures]
    ) throws -> [Change] {
        var out = [Change]()
        let before = try judge(at: priorState, through: prior.lastDay)
        let priorEnd = prior.lastDay
        enum Row {
            case contribution(Contribution)
            case access(AccessGrant)
        }
        // Every row entry recorded since the previous report and what it did, in one pass (each
        // change below picks its own from this short list).
        var recent = [(factory: String, row: Row, seq: Int64, how: String)]()
        func note(_ factory: String, _ row: Row, seq: Int64, correctedBy: Int64?, date: CalendarDate) {
            guard date <= period.lastDay else { return }
            if seq > priorState && seq <= state { recent.append((factory, row, seq, date <= priorEnd ? "adjustment" : "movement")) }
            if let by = correctedBy, by > priorState, by <= state { recent.append((factory, row, by, "correction")) }
        }
        for row in contributions { note(row.item.factory, .contribution(row.item), seq: row.seq, correctedBy: row.correctedBy, date: row.item.date) }
        for row in access { note(row.grant.factory, .access(row.grant), seq: row.seq, correctedBy: row.correctedBy, date: row.grant.date) }
        // The amendments recorded since, or taking effect since the previous period, each with the
        // registered facts it changed (against the registration it replaced where it took effect).
        var amendments = [(factory: String, seq: Int64, facts: Set<RegisteredFact>)]()
        for (registered, _) in factories {
            for amendment in factoryAmendments[registered.id] ?? [] where amendment.seq <= state {
                // In force by this period's end (countersigned, where that is needed), and new to it:
                // recorded since the previous report, or taking effect since the previous period.
                let from = amendment.effectiveFrom ?? CalendarDate.earliest
                guard from <= period.lastDay, !isPending(amendment, of: registered, at: state) else { continue }
                let countersigned = (countersignatures[amendment.seq] ?? []).filter { $0.seq > priorState && $0.seq <= state }.map(\.seq)
                let wasPending = isPending(amendment, of: registered, at: priorState)
                guard amendment.seq > priorState || from > priorEnd || wasPending else { continue }
                let previous = inForce(registered, at: amendment.seq - 1, on: from).factory
                let facts = Set(RegisteredFact.allCases.filter { $0.value(previous) != $0.value(amendment.factory) })
                amendments.append((registered.id, amendment.seq, facts))
                // A countersignature that put it in force is a cause as much as the amendment.
                if wasPending, let first = countersigned.first { amendments.append((registered.id, first, facts)) }
            }
        }
        let registeredSince = Dictionary(
            factories.filter { $0.seq > priorState && $0.seq <= state }.map { ($0.factory.id, $0.seq) }, uniquingKeysWith: { a, _ in a })
        /// The entries behind a change at factory `id` (nil: the programme, all factories) of
        /// what `inputs` reads; `everyRow`: any row of the factory (its figures were empty).
        func causes(_ id: String?, _ inputs: RuleInputs, everyRow: Bool = false) -> [(seq: Int64, how: String)] {
            var found = [(seq: Int64, how: String)](), seen = Set<Int64>()
            for item in recent where id == nil || item.factory == id {
                let feeds: Bool
                switch item.row {
                case .contribution(let contribution): feeds = everyRow || inputs.contribution(contribution)
                case .access(let grant): feeds = everyRow || inputs.access(grant)
                }
                if feeds && seen.insert(item.seq).inserted { found.append((item.seq, item.how)) }
            }
            if let id {
                for amendment in amendments where amendment.factory == id && !amendment.facts.isDisjoint(with: inputs.registered) {
                    if seen.insert(amendment.seq).inserted {
                        found.append(
                            (amendment.seq, factoryAmendments[id]?.contains { $0.seq == amendment.seq } == true ? "amendment" : "countersignature"))
                    }
                }
                if let seq = registeredSince[id], seen.insert(seq).inserted { found.append((seq, "registration")) }
            }
            return found.sorted { $0.seq < $1.seq }
        }
        // A policy recorded since that changed a rule is a cause of that rule's verdicts.
        let policyNow = try policy(at: state, for: period.lastDay)
        let changedRules =
            policyNow.seq != before.seq && policyNow.seq > priorState
            ? Set(Self.ruleDifferences(from: before.policy, to: policyNow.policy).map(\.id)) : []
        func causes(_ id: String?, rule: String, hosts: Set<String>, everyRow: Bool) -> [(seq: Int64, how: String)] {
            var found = causes(id, RuleInputs.of(rule, hosts: hosts), everyRow: everyRow)
            if changedRules.contains(rule) { found = (found + [(policyNow.seq, "policy")]).sorted { $0.seq < $1.seq } }
            return found
        }
        func verdictChanges(_ scope: String?, now: [Verdict], was: [Verdict], hosts: Set<String>, everyRow: Bool) {
            // A rule the registration no longer calls for (a change of kind or hosts): listed as gone.
            for verdict in was where !now.contains(where: { $0.rule.id == verdict.rule.id }) {
                out.append(
                    Change(
                        factoryID: scope, what: verdict.rule.id, before: verdict.status.rawValue, after: "no longer applies",
                        causes: causes(scope, rule: verdict.rule.id, hosts: hosts, everyRow: everyRow), rank: 1))
            }
            for verdict in now {
                let old = was.first { $0.rule.id == verdict.rule.id }?.status.rawValue ?? "not reported"
                guard old != verdict.status.rawValue else { continue }
                out.append(
                    Change(
                        factoryID: scope, what: verdict.rule.id, before: old, after: verdict.status.rawValue,
                        causes: causes(scope, rule: verdict.rule.id, hosts: hosts, everyRow: everyRow),
                        rank: verdict.status == .breach ? 0 : 1))
            }
        }
        func moneyInputs(_ include: @escaping (Contribution) -> Bool) -> RuleInputs {
            RuleInputs(contribution: include, access: { _ in false }, registered: [])
        }
        for item in current {
            let id = item.factory.id
            let old = before.factories.first { $0.0.id == id }
            let was = opening[id] ?? PeriodFigures(), now = item.cumulative
            verdictChanges(
                id, now: item.verdicts, was: old?.2 ?? [], hosts: Set(item.factory.hosts + (old?.0.hosts ?? [])),
                everyRow: was.isEmpty)
            if let registered = old?.0 {
                for fact in RegisteredFact.allCases where fact.value(registered) != fact.value(item.factory) {
                    out.append(
                        Change(
                            factoryID: id, what: fact.label, before: fact.value(registered), after: fact.value(item.factory),
                            causes: amendments.filter { $0.factory == id && $0.facts.contains(fact) }.map { ($0.seq, "amendment") },
                            rank: fact == .kind ? 1 : 2))
                }
            }
            func findingCauses(_ finding: PaymentFinding) -> [(seq: Int64, how: String)] {
                let findingSource = try? Source.parse(finding.source, field: "source")
                return causes(id, moneyInputs { $0.source == findingSource && $0.category == finding.category })
            }
            for finding in item.findings where !(old?.3 ?? []).contains(where: { $0.source == finding.source && $0.category == finding.category }) {
                out.append(
                    Change(
                        factoryID: id, what: "payment finding \(finding.source) \(finding.category.rawValue)", before: "none",
                        after: "paid \(Cents.formatted(finding.paid - finding.committed)) above commitments", causes: findingCauses(finding), rank: 0)
                )
            }
            for finding in old?.3 ?? [] where !item.findings.contains(where: { $0.source == finding.source && $0.category == finding.category }) {
                out.append(
                    Change(
                        factoryID: id, what: "payment finding \(finding.source) \(finding.category.rawValue)",
                        before: "paid \(Cents.formatted(finding.paid - finding.committed)) above commitments", after: "none",
                        causes: findingCauses(finding), rank: 1))
            }
            for key in PeriodFigures.ordered(Array(Set(was.bySource.keys).union(now.bySource.keys))) {
                let a = was.bySource[key] ?? ContributionTotals(), b = now.bySource[key] ?? ContributionTotals()
                let keySource = try? Source.parse(key, field: "source")
                for (name, x, y, kind, category) in [
                    ("committed CAPEX", a.committedCapex, b.committedCapex, ContributionKind.commitment, CostCategory.capex),
                    ("committed OPEX", a.committedOpex, b.committedOpex, .commitment, .opex),
                    ("paid CAPEX", a.paidCapex, b.paidCapex, .payment, .capex), ("paid OPEX", a.paidOpex, b.paidOpex, .payment, .opex),
                ] where x != y {
                    out.append(
                        Change(
                            factoryID: id, what: "\(name) by \(key)", before: Cents.formatted(x), after: Cents.formatted(y),
                            causes: causes(id, moneyInputs { $0.source == keySource && $0.kind == kind && $0.category == category }), rank: 2))
                }
            }
            if was.access.hours() != now.access.hours() {
                out.append(
                    Change(
                        factoryID: id, what: "access granted", before: Hours.formatted(was.access.hours()),
                        after: Hours.formatted(now.access.hours()),
                        causes: causes(id, RuleInputs(contribution: { _ in false }, access: { _ in true }, registered: [])), rank: 2))
            }
        }
        verdictChanges(nil, now: programme, was: before.programme, hosts: [], everyRow: false)
        // The rules themselves, rule by rule, when another policy judges now.
        if policyNow.seq != before.seq {
            out.append(
                Change(
                    factoryID: nil, what: "policy applied", before: "\(before.policy.id) version \(before.policy.version) (entry \(before.seq))",
                    after: "\(policyNow.policy.id) version \(policyNow.policy.version) (entry \(policyNow.seq))",
                    causes: policyNow.seq > priorState ? [(policyNow.seq, "policy")] : [], rank: 1))
            for rule in Self.ruleDifferences(from: before.policy, to: policyNow.policy) {
                out.append(
                    Change(
                        factoryID: nil, what: "rule \(rule.id)", before: rule.before, after: rule.after,
                        causes: policyNow.seq > priorState ? [(policyNow.seq, "policy")] : [], rank: 1))
            }
        }
        return out.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.map(\.element)
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
