import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// The public summary page (`index.html`): what a journalist or an auditor reads first, so every
/// figure says what it measures and every verdict what it rests on. Its figures are the year's
/// report's at the checkpoint's state (`periodReport`, one verifying pass), so the page and the
/// report never differ; without a policy recorded, the figures alone.
enum PublicSummary {
    static func make(
        ledger: Ledger, checkpoint latest: StoredCheckpoint, note: String, keys: [KeyRecord], lists: EntryLists,
        reports: [PublicSite.ReportLink]
    ) throws -> [UInt8] {
        let size = latest.size
        let signer = keys.first { record in
            record.enrolment.role.signsCheckpoints && (try? Checkpoint.open(latest.note, trusting: [record.enrolment.publicKey])) != nil
        }
        let cosigners = ((try? SignedNote.parse(note))?.signatures ?? []).filter { $0.payload.count == 72 }.map(\.name)
        let head = try ledger.entry(size)
        let year = head.flatMap { Int($0.recordedAt.prefix(4)) } ?? 2026
        let report = try? ledger.periodReport(period: .year(year), at: size, fullVerify: false).report
        let origin = try ledger.origin()

        var values: [String: Any] = ["root": "", "origin": origin, "pageTitle": "Summary", "size": String(size)]
        values["rootHex"] = Encoding.hex(latest.root)
        values["rootBase64"] = Data(latest.root).base64EncodedString()
        // The key check_tiles.py needs: the one that signed the checkpoint.
        if let signer, signer.enrolment.role != .authority {
            values["signerPub"] = "log.pub"
            values["signerHow"] =
                "here the \(signer.enrolment.role.rawValue) key \(signer.enrolment.publicKey.id): export it from your copy with <code>gigaledger key export --ledger copy.sqlite --id \(signer.enrolment.publicKey.id) --out log.pub</code>"
        } else {
            values["signerPub"] = "authority.pub"
            values["signerHow"] = "here the authority's"
        }
        values["signer"] =
            signer.map { "\($0.enrolment.name) (\($0.enrolment.role.rawValue) key \($0.enrolment.publicKey.id))" } ?? "a key of the ledger"
        values["cosigners"] = cosigners.enumerated().map { ["name": $0.element, "last": $0.offset == cosigners.count - 1] as [String: Any] }
        values["year"] = String(year)
        values["lastRecorded"] = head?.recordedAt ?? ""
        if let report {
            values["policy"] = "\(report.policy.id) version \(report.policy.version)"
            values["provisional"] = report.isProvisional
            values["lastDay"] = report.period.lastDay.description
            values["final"] = !report.isProvisional
            if let why = report.policyNotInForce { values["notInForce"] = why }
            values["factories"] = report.factories.map { item in
                factory(item.factory, figures: item.cumulative, verdicts: item.verdicts, findings: item.findings, report: report)
            }
            values["programme"] = report.programme.map(verdict)
            values["hasProgramme"] = !report.programme.isEmpty
            values["fundingChart"] = Charts.funding(
                report, title: "Committed CAPEX by source against each gigafactory's registered CAPEX", capLabels: true)
            values["shareChart"] = shareChart(report.factories.map { ($0.factory.id, $0.cumulative) })
            values["hasIssues"] = !report.issues.isEmpty
            values["issues"] = report.issues.map { item -> [String: Any] in
                [
                    "seq": String(item.origin.seq), "period": item.issue.period.description, "entryCount": String(item.issue.entryCount),
                    "signer": report.signerText(item.origin.signer), "recordedAt": item.origin.recordedAt,
                ]
            }
        } else {
            // Without a policy in force there are no verdicts, but the figures stand.
            values["policy"] = "no policy recorded: figures only, no verdicts"
            values["noPolicy"] = true
            let figures = try ledger.factoryFigures(at: size)
            values["factories"] = figures.map { factory($0.factory, figures: $0.figures, verdicts: [], findings: [], report: nil) }
            values["shareChart"] = shareChart(figures.map { ($0.factory.id, $0.figures) })
        }
        values["hasFactories"] = !((values["factories"] as? [Any])?.isEmpty ?? true)
        values["reports"] = reports.map { report -> [String: Any] in
            var values: [String: Any] = [
                "name": report.name, "period": report.period, "entryCount": String(report.entryCount), "signed": report.signed,
                "files": report.files.map { ["file": $0, "name": report.name] },
            ]
            if report.files.contains("report.html") { values["html"] = "reports/\(report.name)/report.html" }
            return values
        }
        values["hasReports"] = !reports.isEmpty
        let named = lists.lists.filter { $0 != .all }
        // The newest page of a list: its open one (the empty next one when the last is full is not linked).
        func newest(_ list: EntryList) -> String { String(max(1, (lists.count(list) + EntryLists.perPage - 1) / EntryLists.perPage)) }
        values["lastPage"] = newest(.all)
        values["factoryLists"] = named.compactMap { list -> [String: Any]? in
            guard case .factory(let id) = list else { return nil }
            return ["name": id, "folder": list.folder, "count": String(lists.count(list)), "lastPage": newest(list)]
        }
        values["sourceLists"] = named.compactMap { list -> [String: Any]? in
            guard case .source(let source) = list else { return nil }
            return [
                "name": report?.name(ofSource: source) ?? source, "folder": list.folder, "count": String(lists.count(list)), "lastPage": newest(list),
            ]
        }
        return PublicSite.render("page-index.html", values)
    }

    /// A share as the page prints it, or a dash when there is nothing to divide by (or the parts
    /// are not a share of the whole: a net negative after corrections).
    static func share(_ part: Total, of whole: Total) -> String {
        if whole == 0 { return "— (none recorded yet)" }
        return whole > 0 && part >= 0 && part <= whole ? Fraction(part, whole).percentText : "— (not a share: a net negative after corrections)"
    }

    /// "entry 12", "entries 12, 15": as a list of entries is named.
    static func entriesText(_ seqs: [Int64]) -> String {
        (seqs.count == 1 ? "entry " : "entries ") + seqs.map(String.init).joined(separator: ", ")
    }

    static func factory(
        _ factory: Factory, figures: PeriodFigures, verdicts: [Verdict], findings: [PaymentFinding], report: PeriodReport?
    ) -> [String: Any] {
        let total = figures.total, union = figures.union
        let sources = figures.sourceKeys.map { key -> [String: Any] in
            let totals = figures.bySource[key] ?? ContributionTotals()
            return [
                "name": report?.name(ofSource: key) ?? key, "key": key, "committed": Cents.formatted(totals.committed),
                "paid": Cents.formatted(totals.paid),
            ]
        }
        let unionHours = figures.access.hours(pool: .union), hours = figures.access.hours()
        var flags = [String]()
        for finding in findings {
            let behind = finding.entries.isEmpty ? "\(finding.entryCount) entries" : entriesText(finding.entries)
            flags.append(
                "Paid more than committed: \(report?.name(ofSource: finding.source) ?? finding.source) \(finding.category.rawValue.uppercased()), paid \(Cents.formatted(finding.paid)) against \(Cents.formatted(finding.committed)) committed (\(behind))."
            )
        }
        if let report {
            for item in report.pendingAmendments where item.factoryID == factory.id {
                flags.append(
                    "An amendment waits for a second authority's countersignature (entry \(item.amendment.seq)): \(item.changes.joined(separator: "; ")). The figures use the registration before it."
                )
            }
            for event in report.allowedDuplicates where event.factoryID == factory.id {
                flags.append("Recorded as a duplicate on purpose (entry \(event.seq), \(event.date)): \(event.what).")
            }
            for event in report.splitAmounts where event.factoryID == factory.id {
                flags.append("Parts of an earlier amount (entry \(event.seq), \(event.date)): \(event.what).")
            }
            for event in report.subsequentEvents where event.factoryID == factory.id {
                flags.append(
                    "\(event.kind.rawValue.prefix(1).uppercased() + event.kind.rawValue.dropFirst()) (entry \(event.seq), \(event.date)): \(event.what)."
                )
            }
            for item in report.signedForOthers where item.factoryID == factory.id {
                flags.append(
                    "Money for \(report.name(ofSource: item.source)) signed by \(report.signerText(item.signer)), not by its officer \(report.signerText(item.officer)): committed \(Cents.formatted(item.committed)), paid \(Cents.formatted(item.paid)) (\(entriesText(item.entries)))."
                )
            }
            for twin in report.twins where twin.factoryIDs.contains(factory.id) {
                flags.append(
                    "Registered as one site with \(twin.factoryIDs.filter { $0 != factory.id }.joined(separator: ", ")): the Union's committed CAPEX over the site is \(share(twin.unionCommittedCapex, of: twin.capex)) of its registered CAPEX."
                )
            }
        }
        return [
            "id": factory.id, "slug": PublicSite.slug(factory.id), "name": factory.name,
            "kind": factory.kind == .gigafactory ? "AI gigafactory" : "AI factory", "hosts": factory.hosts.joined(separator: ", "),
            "capex": Cents.formatted(Total(factory.capex.value)), "sources": sources,
            "committed": Cents.formatted(total.committed), "paid": Cents.formatted(total.paid),
            "shareCommitted": share(union.committed, of: total.committed),
            // Above 100% too: what the cap is judged on, shown whatever it is.
            "shareCapex": factory.capex.value > 0 && union.committedCapex >= 0
                ? Fraction(union.committedCapex, Total(factory.capex.value)).percentText
                : share(union.committedCapex, of: Total(factory.capex.value)),
            "sharePaid": share(union.paid, of: total.paid),
            "shareAccess": share(unionHours, of: hours), "hours": Hours.grouped(hours),
            "verdicts": verdicts.map(verdict), "hasVerdicts": !verdicts.isEmpty,
            "flags": flags.map { ["text": $0] }, "hasFlags": !flags.isEmpty,
        ]
    }

    /// A verdict in plain words: the rule's own words, what was measured, and what the rule rests
    /// on, with how sure that is.
    static func verdict(_ verdict: Verdict) -> [String: Any] {
        var values: [String: Any] = [
            "status": verdict.status.rawValue, "css": verdict.status.cssClass, "rule": verdict.rule.id, "words": verdict.rule.note,
            "explanation": verdict.explanation, "source": verdict.rule.source, "confidence": confidenceWords(verdict.rule.confidence),
        ]
        // (A Mustache section opens for an empty string too.)
        if let margin = verdict.margin, !margin.isEmpty { values["margin"] = margin }
        if !verdict.entries.isEmpty {
            let shown = verdict.entries.prefix(20).map(String.init).joined(separator: ", ")
            values["entries"] = verdict.entries.count > 20 ? "\(shown), ... (\(verdict.entries.count) in all)" : shown
        } else if verdict.entryCount > 0 {
            values["entries"] = "\(verdict.entryCount) (listed in the report's files)"
        }
        return values
    }

    static func confidenceWords(_ confidence: Confidence) -> String {
        switch confidence {
        case .law: "in the law's text"
        case .recital: "from a recital: the law's stated intent, not binding on its own"
        case .reported: "reported in the press, not found in the law's text"
        case .policy: "a policy choice, not in the law"
        case .absent: "not in the law"
        }
    }

    /// Each gigafactory's Union share of access time beside its Union share of commitments (the
    /// proportionality the regulation asks for), as two bars each.
    static func shareChart(_ factories: [(id: String, figures: PeriodFigures)]) -> String {
        var rows = [(label: String, segments: [Total], whole: Total?, marker: Fraction?)]()
        for (id, figures) in factories {
            let hours = figures.access.hours(), union = figures.access.hours(pool: .union)
            rows.append(("\(id) access", [union, max(0, hours - union)], hours, nil))
            let total = figures.total.committed, committed = figures.union.committed
            rows.append(("\(id) money", [max(0, committed), max(0, total - committed)], total, nil))
        }
        return Charts.stacked(
            rows: rows, legend: [("Union", "#003399"), ("others", "#b0b7c3")],
            title: "Union share of access time (GPU-hours) beside the Union share of commitments, per gigafactory")
    }
}
