import GigaLedgerCore
import GigaLedgerStore

extension Ledger {
    /// What later entries say of entry `seq` (`show`): the corrections that reverse it; for a
    /// registration, the amendments of its factory or partner; for an amendment, the
    /// countersignatures that consent to it; for a key's enrolment, its revocation. In sequence
    /// order, each "corrected by entry N", "amended by entry N", "countersigned by entry N" or
    /// "revoked by entry N".
    public func followUps(of seq: Int64) throws -> [(seq: Int64, what: String)] {
        try store.read { reader in
            var out = try reader.correctingEntries(of: seq).map { (seq: $0, what: "corrected by entry \($0) (a reversing entry)") }
            func data(_ seq: Int64) throws -> EntryData? { try reader.body(seq).flatMap { try? EntryBody.decode($0) }?.data }
            switch try data(seq) {
            case .factoryRegister(let factory)?:
                for later in try reader.entrySeqs(ofType: "factory-amend") where later > seq {
                    if case .factoryAmend(let amendment)? = try data(later), amendment.value.id == factory.id {
                        out.append((later, "amended by entry \(later)"))
                    }
                }
            case .partnerRegister(let partner)?:
                for later in try reader.entrySeqs(ofType: "partner-amend") where later > seq {
                    if case .partnerAmend(let amendment)? = try data(later), amendment.value.id == partner.id {
                        out.append((later, "amended by entry \(later)"))
                    }
                }
            case let enrolled? where enrolled.enrolledKey != nil:
                for later in try reader.entrySeqs(ofType: "key-revoke") where later > seq {
                    if case .keyRevoke(let revocation)? = try data(later), revocation.keyID == enrolled.enrolledKey {
                        out.append((later, "revoked by entry \(later)"))
                    }
                }
            case .factoryAmend?:
                for later in try reader.entrySeqs(ofType: "countersign") where later > seq {
                    if case .countersign(let countersignature)? = try data(later), countersignature.entry == seq {
                        out.append((later, "countersigned by entry \(later)"))
                    }
                }
            default: break
            }
            return out.sorted { $0.seq < $1.seq }
        }
    }
}

extension EntryData {
    /// The key a genesis or enrolment entry enrols.
    fileprivate var enrolledKey: KeyID? {
        switch self {
        case .genesis(let genesis): return genesis.authority.publicKey.id
        case .keyEnroll(let enrolment): return enrolment.publicKey.id
        default: return nil
        }
    }
}
