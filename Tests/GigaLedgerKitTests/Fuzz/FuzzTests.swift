import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// Property-based fuzzing of every parser that reads outside data: seeds from Fuzz/corpus/<target>/
/// are mutated (bit flips, byte changes, deletions, insertions, duplications, truncations, splices)
/// with a seeded generator. The property: the parser returns or throws one of GigaLedger's errors (which
/// say their kind) with a one-line message, and
/// never crashes. GIGALEDGER_FUZZ_ITERATIONS sets the executions per target (`make fuzz`: 200,000).
@Suite struct FuzzTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("corpus")
    static let iterations = Int(ProcessInfo.processInfo.environment["GIGALEDGER_FUZZ_ITERATIONS"] ?? "") ?? 3_000

    static func seeds(_ target: String) throws -> [[UInt8]] {
        let dir = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
            [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))
        }
    }

    static func mutate(_ input: [UInt8], seeds: [[UInt8]], random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1 where !bytes.isEmpty:
                bytes[position] = [0x00, 0x0a, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x39, 0x5c, 0x7f, 0xff, UInt8.random(in: 0...255, using: &random)]
                    .randomElement(using: &random)!
            case 2 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &random)))
            case 3:
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: position)
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...32, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &random))
            case 5: bytes = Array(bytes.prefix(position))
            default:
                let other = seeds.randomElement(using: &random)!
                bytes = Array(bytes.prefix(position)) + Array(other.suffix(max(0, other.count - Int.random(in: 0...other.count, using: &random))))
            }
        }
        return bytes
    }

    /// Runs `parse` on the seeds and on `iterations` mutants. A rejection must be a one-line
    /// message; a crash ends the test run, which is the failure this looks for.
    static func fuzz(_ target: String, parse: ([UInt8]) throws -> Void) throws {
        let seeds = try seeds(target)
        #expect(!seeds.isEmpty)
        for seed in seeds { #expect(throws: Never.self, "the seeds of \(target) must parse") { try parse(seed) } }
        var random = SeededRandom(state: target.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 })
        var rejected = 0
        for _ in 0..<iterations {
            let input = mutate(seeds.randomElement(using: &random)!, seeds: seeds, random: &random)
            do { try parse(input) } catch {
                rejected += 1
                // Our own error, which says its kind, never a library's or Foundation's.
                #expect(error is any GigaLedgerError, "\(target): \(type(of: error)): \(error)")
                let message = String(describing: error)
                #expect(!message.isEmpty && !message.contains("\n"), "\(target): \(message)")
            }
        }
        print("FIGURE fuzz \(target): \(iterations) executions, \(rejected) rejected with a one-line error, no crash")
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func csvImport() throws {
        try Self.fuzz("csv") { bytes in
            _ = try CSVImport.parse(Self.text(bytes))
        }
    }

    @Test func amountsAndDates() throws {
        try Self.fuzz("amount") { bytes in
            _ = try Cents.parse(Self.text(bytes), field: "amount")
        }
        try Self.fuzz("date") { bytes in
            _ = try CalendarDate.parse(Self.text(bytes), field: "date")
        }
    }

    @Test func keyFiles() throws {
        try Self.fuzz("secret-key") { bytes in
            _ = try SecretKeyFile.open(try SecretKeyFile.parse(Self.text(bytes), path: "k"), passphrase: nil)
        }
        try Self.fuzz("public-key") { bytes in
            _ = try PublicKey.decodeMinisign(Self.text(bytes), path: "k.pub")
        }
    }

    @Test func checkpointsAndReceipts() throws {
        let ledgerKey = try PublicKey.decodeMinisign(Self.text(try Self.seeds("public-key")[0]), path: "k.pub")
        try Self.fuzz("checkpoint") { bytes in
            _ = try Checkpoint.open(Self.text(bytes), trusting: [ledgerKey])
        }
        try Self.fuzz("receipt") { bytes in
            _ = try Receipt.parse(Self.text(bytes)).check(ledgerKey: ledgerKey)
        }
    }

    @Test func entryBodiesAndPolicies() throws {
        try Self.fuzz("body") { bytes in
            _ = try EntryBody.decode(bytes)
        }
        try Self.fuzz("policy") { bytes in
            _ = try Policy.parseFile(bytes, path: "fuzz.json")
        }
    }
}
