/// An entry's sequence number as a user types it: a whole number from 1, in its one spelling
/// (no sign, no leading zeros, no spaces).
public enum SequenceNumber {
    public static func parse(_ text: String, field: String) throws(InputError) -> Int64 {
        guard let seq = Int64(text), seq >= 1, String(seq) == text else {
            throw InputError(field: field, value: text, problem: "is not a sequence number (a whole number from 1)")
        }
        return seq
    }
}

/// An entry named by its sequence number or by its hash (64 hex digits), as `show` and the
/// server's `ledger/v1/entries/<seq or hash>` take it.
public enum EntryReference: Sendable, Equatable, CustomStringConvertible {
    case seq(Int64)
    case hash([UInt8])

    public static func parse(_ text: String, field: String) throws(InputError) -> EntryReference {
        if text.count == 64, let bytes = Encoding.unhex(text.lowercased()), bytes.count == 32 { return .hash(bytes) }
        guard let seq = Int64(text), seq >= 1, String(seq) == text else {
            throw InputError(
                field: field, value: text, problem: "is neither a sequence number (a whole number from 1) nor an entry hash (64 hex digits)")
        }
        return .seq(seq)
    }

    public var description: String {
        switch self {
        case .seq(let seq): return String(seq)
        case .hash(let hash): return Encoding.hex(hash)
        }
    }
}
