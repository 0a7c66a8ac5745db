import Foundation
import GRDB

/// One row of an index table, derived from one entry (schema/FORMAT.md, "Index tables").
/// Appends write these; `verify` derives them again from the entries and compares.
struct IndexRow: Equatable {
    let table: String
    let columns: [String]
    let values: [DatabaseValue]

    var insertSQL: String {
        "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
    }

    /// Every index table and its columns, in the order `verify` compares them.
    static let tables: [(name: String, columns: [String])] = [
        ("keys", ["key_id", "public_key", "name", "role", "scopes", "seq"]),
        ("key_revocations", ["key_id", "seq"]),
        ("factories", ["id", "seq"]),
        ("partners", ["id", "seq"]),
        ("corrections", ["corrected_seq", "seq"]),
        ("imports", ["file_sha256", "seq"]),
    ]

    static func rows(for body: EntryBody) -> [IndexRow] {
        func row(_ table: String, _ values: [DatabaseValueConvertible]) -> IndexRow {
            IndexRow(table: table, columns: tables.first { $0.name == table }!.columns, values: values.map(\.databaseValue))
        }
        switch body.data {
        case .genesis(let genesis): return [keyRow(genesis.authority, seq: body.seq, row)]
        case .keyEnroll(let enrolment): return [keyRow(enrolment, seq: body.seq, row)]
        case .keyRevoke(let revocation): return [row("key_revocations", [revocation.keyID.description, body.seq])]
        case .factoryRegister(let factory): return [row("factories", [factory.id, body.seq])]
        case .partnerRegister(let partner): return [row("partners", [partner.id, body.seq])]
        case .correction(let correction): return [row("corrections", [correction.entry, body.seq])]
        case .importRecord(let record): return [row("imports", [Encoding.hex(record.fileSHA256), body.seq])]
        case .contribution, .access, .policy: return []
        }
    }

    private static func keyRow(_ enrolment: KeyEnrolment, seq: Int64, _ row: (String, [DatabaseValueConvertible]) -> IndexRow) -> IndexRow {
        let scopes = String(decoding: CanonicalJSON.array(enrolment.scopes.map { .string($0.description) }).encoded(), as: UTF8.self)
        return row("keys", [enrolment.publicKey.id.description, Data(enrolment.publicKey.bytes), enrolment.name, enrolment.role.rawValue, scopes, seq])
    }
}
