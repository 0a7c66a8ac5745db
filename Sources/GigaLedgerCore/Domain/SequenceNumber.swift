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
