/// An entry on the wire between a server and its clients and replicas (schema/FORMAT.md section
/// 17): the canonical JSON object (section 4) of every column of the entries table, bytes in
/// lower-case hex except the body (standard base64 of the canonical body bytes):
/// `{"body":"...","hash":"...","prev_hash":"...","recorded_at":"...","seq":N,"signature":"...","signer":"...","type":"..."}`.
/// Read in any key order and spacing (ordinary JSON, integers only). Nothing here is trusted:
/// whoever takes an entry in checks it as `verify` does (`Ledger.admit`).
public enum EntryWire {
    /// The largest entry object read, in bytes (entry bodies are a few hundred bytes; the largest
    /// a ledger accepts, `CanonicalJSON.inputBytesMax`, travels only if its object stays within it).
    public static let bytesMax = CanonicalJSON.inputBytesMax

    public static func json(_ entry: Entry) -> CanonicalJSON {
        .object([
            "seq": .integer(entry.seq), "type": .string(entry.type), "body": .string(Encoding.base64(entry.body)),
            "prev_hash": .string(Encoding.hex(entry.prevHash)), "hash": .string(Encoding.hex(entry.hash)), "signer": .string(entry.signer),
            "signature": .string(Encoding.hex(entry.signature)), "recorded_at": .string(entry.recordedAt),
        ])
    }

    public static func encode(_ entry: Entry) -> [UInt8] { json(entry).encoded() }

    /// Entries as JSON lines: one object a line, each line ending in "\n".
    public static func encodeLines(_ entries: [Entry]) -> [UInt8] {
        var out = [UInt8]()
        for entry in entries {
            out += encode(entry)
            out.append(0x0a)
        }
        return out
    }

    /// An entry from its JSON value: these eight fields, each of the right type and size, and no
    /// other. That is all: whether it belongs in a ledger is `Ledger.admit`'s to say.
    public static func decode(_ value: CanonicalJSON, field: String = "entry") throws(InputError) -> Entry {
        guard case .object(let fields) = value else { throw InputError(field: field, value: shown(value), problem: "is not a JSON object") }
        let names = ["seq", "type", "body", "prev_hash", "hash", "signer", "signature", "recorded_at"]
        if let extra = fields.keys.sorted().first(where: { !names.contains($0) }) {
            throw InputError(field: "\(field).\(extra)", value: "", problem: "is not a field of an entry")
        }
        func text(_ name: String) throws(InputError) -> String {
            guard case .string(let value)? = fields[name] else {
                throw InputError(
                    field: "\(field).\(name)", value: shown(fields[name]), problem: fields[name] == nil ? "is missing" : "is not a string")
            }
            return value
        }
        func hex(_ name: String, bytes: Int) throws(InputError) -> [UInt8] {
            let value = try text(name)
            guard let decoded = Encoding.unhex(value), decoded.count == bytes else {
                throw InputError(field: "\(field).\(name)", value: value, problem: "is not \(bytes) bytes in lower-case hex")
            }
            return decoded
        }
        guard case .integer(let seq)? = fields["seq"], seq >= 1 else {
            throw InputError(
                field: "\(field).seq", value: shown(fields["seq"]),
                problem: fields["seq"] == nil ? "is missing" : "is not a sequence number (1, 2, ...)")
        }
        let bodyText = try text("body")
        guard let body = Encoding.unbase64(bodyText) else {
            throw InputError(field: "\(field).body", value: String(bodyText.prefix(40)), problem: "is not standard padded base64")
        }
        return Entry(
            seq: seq, type: try text("type"), body: body, prevHash: try hex("prev_hash", bytes: 32), hash: try hex("hash", bytes: 32),
            signer: try text("signer"), signature: try hex("signature", bytes: 64), recordedAt: try text("recorded_at"))
    }

    /// A JSON value as it is shown in a message: its text, at most 40 bytes; empty when absent.
    public static func shown(_ value: CanonicalJSON?) -> String {
        value.map { String(decoding: $0.encoded().prefix(40), as: UTF8.self) } ?? ""
    }

    /// An entry from the bytes of one JSON object of at most `bytesMax` bytes (an entry line's
    /// limit; a submission's entries are read within the whole body's).
    public static func decode(json: some Collection<UInt8>, field: String = "entry", bytesMax: Int = bytesMax) throws(InputError) -> Entry {
        guard json.count <= bytesMax else {
            throw InputError(field: field, value: "\(json.count) bytes", problem: "is larger than \(bytesMax) bytes")
        }
        let value: CanonicalJSON
        do { value = try CanonicalJSON.decodeRelaxed(Array(json), bytesMax: bytesMax) } catch {
            throw InputError(field: field, value: String(decoding: json.prefix(40), as: UTF8.self), problem: "is not JSON (\(error))")
        }
        return try decode(value, field: field)
    }

    /// Entries from JSON lines, in order (an empty text is no entries).
    public static func decodeLines(_ text: [UInt8]) throws(InputError) -> [Entry] {
        var entries = [Entry]()
        for (number, line) in text.split(separator: 0x0a).enumerated() {
            entries.append(try decode(json: line, field: "line \(number + 1)"))
        }
        return entries
    }
}
