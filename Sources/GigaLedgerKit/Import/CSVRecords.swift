import Foundation
import GigaLedgerCore

/// The records of an RFC 4180 CSV text, read from its UTF-8 bytes a chunk at a time: memory holds
/// a chunk and a record, whatever the file's size.
///
/// What it reads, as yaslab/CSV.swift (which it replaced: issue 35, where that reader's scalar-by-
/// scalar decoding was half of an import's reading) reads a well-formed file, with
/// `CSVRecordsTests` comparing the two:
/// - a record ends at LF, CR LF or a lone CR; fields are separated by `delimiter` (one ASCII byte);
/// - a field that starts with `"` is quoted: it may hold the delimiter, CR and LF, and `""` is one
///   quote; a `"` elsewhere in an unquoted field is an ordinary character;
/// - a UTF-8 byte order mark at the very start is skipped (spreadsheets write one);
/// - a delimiter at the end of the text gives a last empty field; a blank line gives one empty field.
///
/// Where CSV.swift guessed, this refuses (`CSVSyntaxError`), so that no cell is read otherwise
/// than written: a quoted field with text after its closing quote (CSV.swift dropped a character
/// and read on, delimiters and lines included, as one field), a quoted field never closed (it read
/// the rest of the file into it), and bytes that are not UTF-8.
struct CSVRecords {
    /// The next chunk of the text; empty at its end.
    private let nextChunk: () -> [UInt8]
    private var chunk = [UInt8]()
    private var position = 0
    private var ended = false
    private var started = false
    /// The field being read, its bytes (kept to reuse its capacity).
    private var field = [UInt8]()
    private let delimiter: UInt8

    private static let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `delimiter` must be ASCII (a comma, a semicolon or a tab: `CSVDialect.delimiters`).
    init(delimiter: Character, chunks: @escaping () -> [UInt8]) {
        guard let ascii = delimiter.asciiValue, ascii != Self.quote, ascii != Self.lf, ascii != Self.cr else {
            preconditionFailure("CSVRecords: the delimiter \(delimiter.debugDescription) is not an ASCII byte other than a quote or a line end")
        }
        self.delimiter = ascii
        nextChunk = chunks
    }

    /// A text in memory, read as one chunk.
    init(delimiter: Character, text: String) {
        var remaining: [UInt8]? = Array(text.utf8)
        self.init(delimiter: delimiter) {
            defer { remaining = nil }
            return remaining ?? []
        }
    }

    /// The next record's fields, or nil at the end of the text.
    mutating func next() throws(CSVSyntaxError) -> [String]? {
        guard var byte = nextByte() else { return nil }
        var fields = [String]()
        while true {
            field.removeAll(keepingCapacity: true)
            let endOfRecord = byte == Self.quote ? try readQuoted() : readUnquoted(first: byte)
            guard let text = String(validating: field, as: UTF8.self) else {
                throw CSVSyntaxError(problem: "field \(fields.count + 1) is not UTF-8 text")
            }
            fields.append(text)
            if endOfRecord { return fields }
            guard let following = nextByte() else {
                fields.append("")  // a delimiter at the very end: one more, empty field
                return fields
            }
            byte = following
        }
    }

    /// An unquoted field from `first` on; true when it ends its record.
    private mutating func readUnquoted(first: UInt8) -> Bool {
        var current: UInt8? = first
        while let byte = current {
            switch byte {
            case delimiter: return false
            case Self.lf: return true
            case Self.cr:
                skipLineFeed()
                return true
            default:
                field.append(byte)
                current = nextByte()
            }
        }
        return true
    }

    /// A quoted field after its opening quote; true when it ends its record.
    private mutating func readQuoted() throws(CSVSyntaxError) -> Bool {
        while let byte = nextByte() {
            guard byte == Self.quote else {
                field.append(byte)
                continue
            }
            switch nextByte() {
            case nil, Self.lf: return true
            case Self.cr:
                skipLineFeed()
                return true
            case delimiter: return false
            case Self.quote: field.append(Self.quote)
            default:
                throw CSVSyntaxError(
                    problem: "a quoted field goes on after its closing quote (a quote inside a quoted field is written twice: \"\")")
            }
        }
        throw CSVSyntaxError(problem: "a quoted field is not closed: its opening quote has no closing quote before the end of the file")
    }

    /// After a CR: the LF of a CR LF.
    private mutating func skipLineFeed() {
        if peekByte() == Self.lf { position += 1 }
    }

    private mutating func nextByte() -> UInt8? {
        guard let byte = peekByte() else { return nil }
        position += 1
        return byte
    }

    private mutating func peekByte() -> UInt8? {
        if !started {
            started = true
            // A byte order mark may span the first chunks.
            while chunk.count < Self.byteOrderMark.count, !ended {
                let more = nextChunk()
                if more.isEmpty { ended = true } else { chunk += more }
            }
            if chunk.starts(with: Self.byteOrderMark) { position = Self.byteOrderMark.count }
        }
        while position == chunk.count {
            guard !ended else { return nil }
            chunk = nextChunk()
            position = 0
            if chunk.isEmpty { ended = true }
        }
        return chunk[position]
    }
}

/// Why a CSV text cannot be read as written.
struct CSVSyntaxError: Error, CustomStringConvertible {
    let problem: String
    var description: String { problem }
}

/// A file's bytes a chunk at a time, hashed as they are read: `CSVRecords` reads an import file
/// through it, and the import checks at the end that the file it read is the one it opened.
final class HashingFileReader {
    private let handle: FileHandle
    private let running = SHA256Stream()
    private(set) var readToEnd = false

    init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// The next chunk, empty at the end (a read that fails ends it too: the digest then differs).
    func next() -> [UInt8] {
        guard !readToEnd else { return [] }
        let chunk = (try? handle.read(upToCount: ImportFile.chunkBytes)) ?? Data()
        if chunk.isEmpty {
            readToEnd = true
            return []
        }
        chunk.withUnsafeBytes { running.update($0) }
        return [UInt8](chunk)
    }

    /// The SHA-256 of every byte read; call once the file is read to its end.
    func digest() -> [UInt8] { running.finish() }
}
