import GigaLedgerCore

/// Which entries `log` lists (`--factory`, `--source`, `--signer`, `--from`, `--to`, `--type`):
/// every condition given must hold. A gigafactory's entries are its contributions, access records,
/// registration and amendments; a source's, its contributions. The dates are the day an entry is
/// about: a contribution's or access record's date, else the day it was recorded (UTC).
public struct EntryFilter: Sendable, Equatable {
    public var factory: String?
    public var source: Source?
    public var signer: KeyID?
    public var from: CalendarDate?
    public var to: CalendarDate?
    public var type: String?

    /// The entry types `--type` takes.
    public static let types = [
        "genesis", "key-enroll", "key-revoke", "factory-register", "partner-register", "factory-amend", "partner-amend", "contribution", "access",
        "correction", "policy", "import", "countersign", "report-issue",
    ]

    public init(
        factory: String? = nil, source: Source? = nil, signer: KeyID? = nil, from: CalendarDate? = nil, to: CalendarDate? = nil,
        type: String? = nil
    ) throws(InputError) {
        if let type, !Self.types.contains(type) {
            throw InputError(field: "type", value: type, problem: "is not an entry type (\(Self.types.joined(separator: ", ")))")
        }
        if let from, let to, to < from {
            throw InputError(field: "to", value: to.description, problem: "is before --from \(from)")
        }
        self.factory = factory
        self.source = source
        self.signer = signer
        self.from = from
        self.to = to
        self.type = type
    }

    /// Whether no condition is given (every entry is listed).
    public var isEmpty: Bool { self == EntryFilter.none }
    static let none = EntryFilter(unchecked: ())
    private init(unchecked: Void) {}

    public func matches(_ entry: Entry) -> Bool {
        if let type, entry.type != type { return false }
        if let signer, entry.signer != signer.description { return false }
        guard factory != nil || source != nil || from != nil || to != nil else { return true }
        let data = (try? EntryBody.decode(entry.body))?.data
        if let factory {
            switch data {
            case .contribution(let item)? where item.factory == factory: break
            case .access(let grant)? where grant.factory == factory: break
            case .factoryRegister(let registered)? where registered.id == factory: break
            case .factoryAmend(let amendment)? where amendment.value.id == factory: break
            default: return false
            }
        }
        if let source {
            guard case .contribution(let item)? = data, item.source == source else { return false }
        }
        if from != nil || to != nil {
            let day: CalendarDate?
            switch data {
            case .contribution(let item)?: day = item.date
            case .access(let grant)?: day = grant.date
            default: day = try? CalendarDate.parse(String(entry.recordedAt.prefix(10)), field: "recorded_at")
            }
            guard let day else { return false }
            if let from, day < from { return false }
            if let to, day > to { return false }
        }
        return true
    }
}
