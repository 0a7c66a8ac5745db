import Foundation
import GRDB
import GigaLedgerTestSupport
import Synchronization
import Testing

@testable import GigaLedgerCore
@testable import GigaLedgerKit
@testable import GigaLedgerStore

/// The parallel signature path reports the same first failure as the serial one, on a ledger of
/// 100,000 entries with a tampered entry in the middle.
@Suite(.serialized) struct ParallelVerifyTests {
    static let size = 100_000

    static func bigLedger() throws -> Fixture {
        let fixture = try Fixture()
        var rows = [ImportRow]()
        rows.reserveCapacity(size)
        for index in 0..<(size - 10) {
            rows.append(ImportRow(row: index + 2, data: try Fixture.contribution(source: .union, cents: Int64(index % 1_000_000 + 1))))
        }
        _ = try fixture.ledger.importRows(rows, fileName: "big.csv", fileSHA256: SHA256State.hash([9]), key: fixture.authority)
        return fixture
    }

    /// The first batch (64 entries) is checked before the second is prepared, so the second's
    /// signatures are checked in parallel under the keys the first enrols: a replaced signature in
    /// the third batch, the second or the first (each before the last, so each comes first) is
    /// named as the serial path names it.
    @Test func aReplacedSignatureNearTheStartIsNamed() throws {
        let fixture = try Fixture()
        let rows = try (0..<4_200).map { ImportRow(row: $0 + 2, data: try Fixture.contribution(source: .union, cents: Int64($0 + 1))) }
        _ = try fixture.ledger.importRows(rows, fileName: "near.csv", fileSHA256: SHA256State.hash([7]), key: fixture.authority)
        for seq: Int64 in [4_161, 100, 65, 30] {
            let other = try #require(try fixture.ledger.entry(seq + 1))
            try fixture.tamper("UPDATE entries SET signature = ? WHERE seq = ?", arguments: [Data(other.signature), seq])
            let ledger = try Ledger.open(path: fixture.path, forWriting: false)
            let parallel = try ledger.verify(), serial = try ledger.verify(parallel: false)
            #expect(parallel.failure?.seq == seq && parallel.failure?.reason.contains("signature does not verify") == true, "\(parallel)")
            #expect(parallel.failure == serial.failure && parallel.verifiedCount == serial.verifiedCount)
        }
    }

    @Test func tamperedEntryInTheMiddleOfAHundredThousand() throws {
        let fixture = try Self.bigLedger()
        #expect(try fixture.verify().verifiedCount == Int64(Self.size))
        // A replaced signature at 50,000: the parallel path names it, as the serial path does.
        let other = try #require(try fixture.ledger.entry(50_001))
        try fixture.tamper("UPDATE entries SET signature = ? WHERE seq = 50000", arguments: [Data(other.signature)])
        let ledger = try Ledger.open(path: fixture.path, forWriting: false)
        let parallel = try ledger.verify()
        let serial = try ledger.verify(parallel: false)
        #expect(parallel.failure?.seq == 50_000)
        #expect(parallel.failure == serial.failure)
        #expect(parallel.verifiedCount == serial.verifiedCount)
        #expect(parallel.headHash == serial.headHash)
        // A changed body byte earlier, at 45,678, now comes first, in both paths.
        let entry = try #require(try ledger.entry(45_678))
        var body = entry.body
        body[body.count / 2] ^= 0x01
        try fixture.tamper("UPDATE entries SET body = ? WHERE seq = 45678", arguments: [Data(body)])
        let again = try ledger.verify()
        #expect(again.failure?.seq == 45_678)
        #expect(again.verifiedCount == 45_677)
    }
}

@Suite struct SharedMapTests {
    /// Whatever the split between the background threads and the joining one, every element once,
    /// in order: sizes at the edges of a unit (16) and of the largest chunk (256); chunks shrink
    /// towards the tail, so 10,000 is cut into many sizes.
    @Test(arguments: [0, 1, 15, 16, 17, 255, 256, 257, 10_000])
    func everyElementOnceInOrder(count: Int) {
        let items = Array(0..<count)
        for workers in [0, 1, 2, 4] {
            #expect(SharedMap(items, backgroundWorkers: workers) { $0 * 3 + 1 }.join() == items.map { $0 * 3 + 1 })
        }
    }

    /// The same, handed out unit by unit as each is done.
    @Test(arguments: [0, 1, 15, 16, 17, 255, 256, 257, 10_000])
    func everyElementOnceInOrderAsItsChunkIsDone(count: Int) {
        let items = Array(0..<count)
        for workers in [0, 1, 2, 4] {
            var seen = [Int]()
            seen.reserveCapacity(count)
            SharedMap(items, backgroundWorkers: workers) { $0 * 3 + 1 }.forEachInOrder { seen.append($0) }
            #expect(seen == items.map { $0 * 3 + 1 }, "\(workers) workers")
        }
    }

    /// A body that throws: the error comes out at once, the results before it were handed out, and
    /// every result, handed out or not, made or still being made, is destroyed once.
    @Test func aThrowingBodyStopsAndEveryResultIsDestroyedOnce() {
        struct Stop: Error {}
        for stopAt in [0, 1, 15, 16, 17, 255, 256, 700, 999] {
            for workers in [0, 1, 2, 4] {
                var handed = 0
                do {
                    try SharedMap(Array(0..<1_000), backgroundWorkers: workers) { Counted($0) }.forEachInOrder { (item) throws(Stop) in
                        #expect(item.value == handed)
                        if handed == stopAt { throw Stop() }
                        handed += 1
                    }
                    Issue.record("no error at \(stopAt)")
                } catch {
                    #expect(handed == stopAt)
                }
                #expect(Counted.alive.load(ordering: .relaxed) == 0, "stopped at \(stopAt), \(workers) workers")
            }
        }
    }
}

/// Counts its living instances.
private final class Counted: Sendable {
    static let alive = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) {
        self.value = value
        Self.alive.add(1, ordering: .relaxed)
    }
    deinit { Self.alive.subtract(1, ordering: .relaxed) }
}
