import Foundation
import GigaLedgerCore

extension ImportFile {
    /// The file's rows as entries signed by `key` after `head`, then its import record: the batch a
    /// client submits to a server (`import --server`), recorded all or none. Every row the file
    /// itself refuses is named at once (`ImportErrors`); the rules are the server's to check.
    /// Returns the entries and, for each, its row in the file (0 for the import record).
    /// `sayDuplicate`: every row says it may repeat an earlier one (`allow_duplicate`): through a
    /// server the client cannot tell which rows repeat the ledger's entries, and a server lets
    /// through only the entries that say so (reports then name the entry each repeats, or none).
    public func signedEntries(
        after head: Entry, key: any Signer, recordedAt: String, sayDuplicate: Bool = false, dialect: CSVDialect = .standard
    ) throws -> (entries: [Entry], rows: [Int]) {
        var source = try rows(dialect)
        var rows = [ImportRow]()
        while true {
            let next = try source.next(upTo: Ledger.entriesPerRequestMax)
            if next.isEmpty { break }
            rows += next
            guard rows.count < Ledger.entriesPerRequestMax else {
                throw FileRefusal(
                    "import file \(path)",
                    "has \(Ledger.entriesPerRequestMax) rows or more: a server takes at most \(Ledger.entriesPerRequestMax - 1) in one import; split the file"
                )
            }
        }
        try source.refused.throwIfAny()
        guard !rows.isEmpty else { throw ImportError(row: 2, column: nil, value: nil, problem: "the file has no rows to import") }
        let data =
            rows.map { sayDuplicate ? $0.data.withDuplicateFlag(true) : $0.data } + [
                .importRecord(try ImportRecord(fileName: fileName, fileSHA256: sha256, rows: Int64(rows.count)))
            ]
        let bodies = data.enumerated().map {
            EntryBody(seq: head.seq + 1 + Int64($0.offset), signer: key.id, recordedAt: recordedAt, data: $0.element)
        }
        // As a local import: encoded and signed on every core, chained in order (FORMAT.md section 3).
        let encoded = Parallel.map(bodies) { $0.encoded() }
        var links = [(prevHash: [UInt8], hash: [UInt8])]()
        links.reserveCapacity(encoded.count)
        var prevHash = head.hash
        for bytes in encoded {
            let hash = Entry.hash(prevHash: prevHash, body: bytes)
            links.append((prevHash, hash))
            prevHash = hash
        }
        let signatures = try Parallel.map(links) { link in Result { try key.sign(Entry.signedMessage(hash: link.hash)) } }.map { try $0.get() }
        let entries = bodies.indices.map { index in
            Entry(
                seq: bodies[index].seq, type: bodies[index].type, body: encoded[index], prevHash: links[index].prevHash, hash: links[index].hash,
                signer: key.id.description, signature: signatures[index], recordedAt: recordedAt)
        }
        return (entries, rows.map(\.row) + [0])
    }
}
