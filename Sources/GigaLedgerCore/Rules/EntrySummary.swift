/// One line that says what an entry records, as `log` and the public page show it.
extension EntryData {
    public var summary: String {
        switch self {
        case .genesis(let genesis):
            return "ledger \(genesis.origin); authority key \(genesis.authority.publicKey.id) (\(genesis.authority.name))"
        case .keyEnroll(let enrolment):
            let scopes = enrolment.scopes.isEmpty ? "" : " scope " + enrolment.scopes.map(\.description).joined(separator: ",")
            return "key \(enrolment.publicKey.id) \(enrolment.role.rawValue) \(enrolment.name)\(scopes)"
        case .keyRevoke(let revocation):
            return "key \(revocation.keyID) revoked: \(revocation.reason)"
        case .factoryRegister(let factory):
            return
                "\(factory.id) \(factory.kind.rawValue) \"\(factory.name)\" hosts \(factory.hosts.joined(separator: ",")) capex \(factory.capex)\(factory.opex.map { " opex \($0)" } ?? "")\(factory.allowsTwin ? " (twin allowed)" : "")"
        case .factoryAmend(let amendment):
            return "amends factory " + EntryData.factoryRegister(amendment.value).summary + Self.effective(amendment.effectiveFrom)
                + ": \(amendment.reason)"
        case .partnerAmend(let amendment):
            return "amends partner " + EntryData.partnerRegister(amendment.value).summary + Self.effective(amendment.effectiveFrom)
                + ": \(amendment.reason)"
        case .partnerRegister(let partner):
            return "\(partner.id) \"\(partner.name)\" \(partner.country)\(partner.isSME ? " SME" : "")\(partner.allowsTwin ? " (twin allowed)" : "")"
        case .contribution(let item):
            let ref = item.ref.isEmpty ? "" : " ref \(item.ref)"
            return
                "\(item.factory) \(item.source) \(item.amount) \(item.category.rawValue) \(item.kind.rawValue) \(item.date)\(ref)\(item.allowsDuplicate ? " (duplicate allowed)" : "")"
        case .access(let grant):
            let charge = grant.charge.value == 0 ? "free" : "charged \(grant.charge)"
            return
                "\(grant.factory) \(grant.beneficiary) (\(grant.category.rawValue)) \(grant.gpuHours) GPU-hours \(grant.pool.rawValue) pool\(grant.isCommercial ? " commercial" : "") \(charge) \(grant.date)\(grant.country.map { " country \($0)" } ?? "")\(grant.partner.map { " partner \($0)" } ?? "")\(grant.allowsDuplicate ? " (duplicate allowed)" : "")"
        case .correction(let correction):
            return "reverses entry \(correction.entry): \(correction.reason)"
        case .policy(let policy):
            return "policy \(policy.id) version \(policy.version): \(policy.rules.count) rules"
        case .importRecord(let record):
            return "imported \(record.rows) row\(record.rows == 1 ? "" : "s") from \(record.fileName) (sha256 \(Encoding.hex(record.fileSHA256)))"
        case .countersign(let item):
            return "countersigns entry \(item.entry)\(item.reason.isEmpty ? "" : ": \(item.reason)")"
        case .reportIssue(let issue):
            return "issued the \(issue.period) report at entry \(issue.entryCount) (summary.json sha256 \(Encoding.hex(issue.summarySHA256)))"
        }
    }

    private static func effective(_ from: CalendarDate?) -> String { from.map { " effective \($0)" } ?? " from the start" }
}
