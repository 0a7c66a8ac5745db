import Foundation
import GigaLedgerCore

/// One row of an index table, derived from one entry (schema/FORMAT.md, "Index tables").
/// Appends write these; `verify` derives them again from the entries and compares.
public struct IndexRow: Equatable, Sendable {
    public let table: Table
    public let values: [ColumnValue]

    /// An index table and its columns, in the order rows are written and compared.
    public struct Table: Equatable, Sendable {
        public let name: String
        public let columns: [String]
        /// Made once: an import inserts two index rows per entry.
        let insertSQL: String

        init(name: String, columns: [String]) {
            self.name = name
            self.columns = columns
            insertSQL = "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        }

        /// A table is its name (each is one of `tables`): compared for every row `verify` reads.
        public static func == (lhs: Table, rhs: Table) -> Bool { lhs.name == rhs.name }
    }

    static let keys = Table(name: "keys", columns: ["key_id", "public_key", "name", "role", "scopes", "seq"])
    static let keyRevocations = Table(name: "key_revocations", columns: ["key_id", "seq"])
    static let factories = Table(name: "factories", columns: ["id", "seq"])
    static let partners = Table(name: "partners", columns: ["id", "seq"])
    static let corrections = Table(name: "corrections", columns: ["corrected_seq", "seq"])
    static let imports = Table(name: "imports", columns: ["file_sha256", "seq"])
    static let facts = Table(name: "facts", columns: ["digest", "seq"])
    static let nearFacts = Table(name: "near_facts", columns: ["amount_key", "ref_key", "seq"])

    /// Every index table, in the order `verify` compares them. Each table's last column is `seq`.
    public static let tables = [keys, keyRevocations, factories, partners, corrections, imports, facts, nearFacts]

    /// The rows `body` implies: at most one per table. `factsDigest`, when given, is the digest of
    /// the stored body's bytes (`Facts.digest(type:body:)`, the same value, without encoding again).
    /// (Verify compares every table whose migration the file has; `facts` came with 0006,
    /// `near_facts` with 0008.)
    public static func rows(for body: EntryBody, factsDigest: Int64? = nil) -> [IndexRow] {
        switch body.data {
        case .genesis(let genesis): return [keyRow(genesis.authority, seq: body.seq)]
        case .keyEnroll(let enrolment): return [keyRow(enrolment, seq: body.seq)]
        case .keyRevoke(let revocation): return [IndexRow(table: keyRevocations, values: [.text(revocation.keyID.description), .integer(body.seq)])]
        case .factoryRegister(let factory): return [IndexRow(table: factories, values: [.text(factory.id), .integer(body.seq)])]
        case .partnerRegister(let partner): return [IndexRow(table: partners, values: [.text(partner.id), .integer(body.seq)])]
        case .correction(let correction): return [IndexRow(table: corrections, values: [.integer(correction.entry), .integer(body.seq)])]
        case .importRecord(let record): return [IndexRow(table: imports, values: [.text(Encoding.hex(record.fileSHA256)), .integer(body.seq)])]
        case .contribution, .access:
            return [
                IndexRow(table: facts, values: [.integer(factsDigest ?? Facts.digest(body.data)!), .integer(body.seq)]),
                nearRow(body.data, seq: body.seq)!,
            ]
        case .policy, .factoryAmend, .partnerAmend, .countersign, .reportIssue: return []
        }
    }

    /// The `near_facts` row of a contribution or access record (nil for the other types).
    public static func nearRow(_ data: EntryData, seq: Int64) -> IndexRow? {
        guard let keys = NearKeys(data) else { return nil }
        return IndexRow(table: nearFacts, values: [.integer(keys.amount), .integer(keys.ref), .integer(seq)])
    }

    private static func keyRow(_ enrolment: KeyEnrolment, seq: Int64) -> IndexRow {
        let scopes = String(decoding: CanonicalJSON.array(enrolment.scopes.map { .string($0.description) }).encoded(), as: UTF8.self)
        return IndexRow(
            table: keys,
            values: [
                .text(enrolment.publicKey.id.description), .blob(enrolment.publicKey.bytes), .text(enrolment.name),
                .text(enrolment.role.rawValue), .text(scopes), .integer(seq),
            ])
    }
}
