import Foundation
import GigaLedgerCore

extension ImportFile {
    /// The file's rows as entries signed by `key` after `head`, then its import record: the batch a
    /// client submits to a server (`import --server`), recorded all or none. Every row the file
    /// itself refuses is named at once (`ImportErrors`); the rules are the server's to check.
    /// Returns the entries and, for each, its row in the file (0 for the import record).
    public func signedEntries(after head: Entry, key: SigningKey, recordedAt: String) throws -> (entries: [Entry], rows: [Int]) {
        var source = try rows()
        var rows = [ImportRow]()
        while true {
            let next = try source.next(upTo: Ledger.entriesPerRequestMax)
            if next.isEmpty { break }
            rows += next
            guard rows.count < Ledger.entriesPerRequestMax else {
                throw FileRefusal("import file \(path)", "has \(Ledger.entriesPerRequestMax) rows or more: a server takes at most \(Ledger.entriesPerRequestMax - 1) in one import; split the file")
            }
        }
        try source.refused.throwIfAny()
        guard !rows.isEmpty else { throw ImportError(row: 2, column: nil, value: nil, problem: "the file has no rows to import") }
        var entries = [Entry]()
        entries.reserveCapacity(rows.count + 1)
        var previous = head
        for data in rows.map(\.data) + [.importRecord(try ImportRecord(fileName: fileName, fileSHA256: sha256, rows: Int64(rows.count)))] {
            let entry = Entry.make(body: EntryBody(seq: previous.seq + 1, signer: key.id, recordedAt: recordedAt, data: data), prevHash: previous.hash, key: key)
            entries.append(entry)
            previous = entry
        }
        return (entries, rows.map(\.row) + [0])
    }
}
