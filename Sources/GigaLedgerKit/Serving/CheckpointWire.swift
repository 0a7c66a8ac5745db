import Foundation
import GigaLedgerCore
import GigaLedgerStore

/// Kept checkpoints and cosignatures as JSON (schema/FORMAT.md section 17): the rows of
/// `ledger/v1/checkpoints` (served, or published as a file), and the body of a cosignature
/// submitted through `POST ledger/v1/cosignatures`. One codec for the server, the publication and
/// the clients.
public enum CheckpointWire {
    /// `{"size","root","note","signed_at"}`.
    public static func json(_ row: ReplicatedCheckpoint) -> CanonicalJSON {
        .object(["size": .integer(row.size), "root": .string(Encoding.hex(row.root)), "note": .string(row.note), "signed_at": .string(row.signedAt)])
    }

    /// `{"size","key_id","line"}`.
    public static func json(_ row: ReplicatedCosignature) -> CanonicalJSON {
        .object(["size": .integer(row.size), "key_id": .string(row.keyID), "line": .string(row.line)])
    }

    /// The document `{"checkpoints": [...], "cosignatures": [...]}`.
    public static func document(checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]) -> [UInt8] {
        CanonicalJSON.object(["checkpoints": .array(checkpoints.map(json)), "cosignatures": .array(cosignatures.map(json))]).encoded()
    }

    /// The rows of a `ledger/v1/checkpoints` document; an ill-formed one is refused, naming the field.
    public static func decodeDocument(
        _ bytes: [UInt8]
    ) throws(InputError) -> (checkpoints: [ReplicatedCheckpoint], cosignatures: [ReplicatedCosignature]) {
        let fields = try object(try value(bytes, what: "checkpoints"), field: "checkpoints document")
        let checkpoints = try array(fields, "checkpoints").enumerated().map { (index, value) throws(InputError) in
            try checkpoint(value, field: "checkpoints[\(index)]")
        }
        let cosignatures = try array(fields, "cosignatures").enumerated().map { (index, value) throws(InputError) in
            try cosignature(value, field: "cosignatures[\(index)]")
        }
        return (checkpoints, cosignatures)
    }

    /// A cosignature submitted alone.
    public static func decodeCosignature(_ bytes: [UInt8]) throws(InputError) -> ReplicatedCosignature {
        try cosignature(try value(bytes, what: "cosignature"), field: "cosignature")
    }

    static func checkpoint(_ value: CanonicalJSON, field: String) throws(InputError) -> ReplicatedCheckpoint {
        let row = try object(value, field: field)
        let rootText = try text(row, "root", field)
        guard let root = Encoding.unhex(rootText), root.count == 32 else {
            throw InputError(field: "\(field).root", value: rootText, problem: "is not 32 bytes of hex")
        }
        return ReplicatedCheckpoint(
            size: try integer(row, "size", field), root: root, note: try text(row, "note", field),
            signedAt: try text(row, "signed_at", field))
    }

    static func cosignature(_ value: CanonicalJSON, field: String) throws(InputError) -> ReplicatedCosignature {
        let row = try object(value, field: field)
        if let extra = row.keys.sorted().first(where: { !["size", "key_id", "line"].contains($0) }) {
            throw InputError(
                field: "\(field).\(extra)", value: EntryWire.shown(row[extra]), problem: "is not a member of a cosignature (size, key_id, line)")
        }
        return ReplicatedCosignature(size: try integer(row, "size", field), keyID: try text(row, "key_id", field), line: try text(row, "line", field))
    }

    private static func value(_ bytes: [UInt8], what: String) throws(InputError) -> CanonicalJSON {
        do { return try CanonicalJSON.decodeRelaxed(bytes, bytesMax: max(bytes.count, 1)) } catch {
            throw InputError(field: what, value: String(decoding: bytes.prefix(40), as: UTF8.self), problem: "is not JSON (\(error))")
        }
    }

    private static func object(_ value: CanonicalJSON, field: String) throws(InputError) -> [String: CanonicalJSON] {
        guard case .object(let fields) = value else { throw InputError(field: field, value: EntryWire.shown(value), problem: "is not a JSON object") }
        return fields
    }

    private static func array(_ fields: [String: CanonicalJSON], _ name: String) throws(InputError) -> [CanonicalJSON] {
        guard case .array(let list)? = fields[name] else {
            throw InputError(field: name, value: EntryWire.shown(fields[name]), problem: "is missing or not an array")
        }
        return list
    }

    private static func text(_ fields: [String: CanonicalJSON], _ name: String, _ field: String) throws(InputError) -> String {
        guard case .string(let text)? = fields[name] else {
            throw InputError(field: "\(field).\(name)", value: EntryWire.shown(fields[name]), problem: "is missing or not a string")
        }
        return text
    }

    private static func integer(_ fields: [String: CanonicalJSON], _ name: String, _ field: String) throws(InputError) -> Int64 {
        guard case .integer(let number)? = fields[name] else {
            throw InputError(field: "\(field).\(name)", value: EntryWire.shown(fields[name]), problem: "is missing or not an integer")
        }
        return number
    }
}
