import Foundation

/// Work spread over the machine's cores, results in input order.
package enum Parallel {
    @usableFromInline package static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `transform` applied to every element on all cores (this thread among them); the result
    /// keeps the input's order. The same primitive as `SharedMap`, waited for at once.
    @inlinable package static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @escaping @Sendable (T) -> R) -> [R] {
        guard items.count > 1, workers > 1 else { return items.map(transform) }
        return SharedMap(items, backgroundWorkers: workers - 1, transform).join()
    }
}

/// `transform` applied to every element by background threads, in chunks taken in turn; the
/// thread that waits for the result takes chunks too, so no core idles while it has other work
/// first (an import writes the previous batch, then helps sign this one). Results keep the order,
/// and are taken all at once (`join`) or chunk by chunk as each is done (`forEachInOrder`).
///
/// Inlinable so that callers in other modules get it specialised for their types: unspecialised,
/// every result was copied and destroyed through its type's value witnesses (about 5 % of a
/// verify's CPU at 30,000 entries). Each result is written once into its slot and moved out by
/// `join` or `forEachInOrder`, never copied.
///
/// `@unchecked Sendable`: `items` and `transform` never change after `init`; each slot of
/// `results` is written once, by the thread that claimed its chunk under `lock`, and `join` reads
/// the slots only after `finished` is signalled, which the last writer does after its last write
/// (the lock taken in between orders the writes before the signal). `forEachInOrder` reads a
/// unit's slots only once its flag in `unitDone` is seen set under `lock`, which the writer sets
/// under `lock` after writing them.
@usableFromInline
package final class SharedMap<T: Sendable, R: Sendable>: @unchecked Sendable {
    @usableFromInline let items: [T]
    @usableFromInline let transform: @Sendable (T) -> R
    @usableFromInline let results: UnsafeMutablePointer<R>
    @usableFromInline var next = 0
    @usableFromInline var remaining: Int
    @usableFromInline var joined = false
    /// Which units are written, by unit number (`forEachInOrder` waits for them in order); read
    /// and written under `lock` only. A chunk is one or more whole units (the last may be short).
    @usableFromInline var unitDone: [Bool]
    @usableFromInline let unitCount: Int
    /// The threads that take chunks: the background workers and the one that joins.
    @usableFromInline let takers: Int
    @usableFromInline let lock = NSCondition()
    @usableFromInline let finished = DispatchSemaphore(value: 0)
    /// Elements per unit: the smallest chunk a thread takes. A chunk is what is left divided by
    /// twice the takers (a quarter with two), in whole units, at most `chunkUnitsMax` units and at
    /// least one: large while much is left (the lock is rare), small at the tail, so the threads
    /// finish a map within one unit of each other instead of one chunk (a verify's threads waited
    /// up to a 256-entry chunk of signatures, 14 ms, at the end of every batch). Every chunk begins
    /// at a unit's first element: a unit is marked done only by the one chunk that writes it all.
    @usableFromInline static var unitElements: Int { 16 }
    @usableFromInline static var chunkUnitsMax: Int { 16 }

    @inlinable
    package init(_ items: [T], backgroundWorkers: Int, _ transform: @escaping @Sendable (T) -> R) {
        self.items = items
        self.transform = transform
        results = UnsafeMutablePointer<R>.allocate(capacity: max(1, items.count))
        remaining = items.count
        unitCount = (items.count + Self.unitElements - 1) / Self.unitElements
        unitDone = [Bool](repeating: false, count: unitCount)
        takers = backgroundWorkers + 1
        if items.isEmpty { finished.signal() }
        for _ in 0..<backgroundWorkers { DispatchQueue.global().async { self.work() } }
    }

    deinit {
        // Background workers hold the map until they return, and return only when no chunk is
        // left: so every slot is written (or, with no background worker, none is).
        assert(joined || remaining == 0 || remaining == items.count, "SharedMap: a map dropped with some results written")
        if !joined { results.deinitialize(count: items.count - remaining) }
        results.deallocate()
    }

    /// Takes chunks until none is left, then waits for the others' and returns every result.
    /// Called once.
    @inlinable
    package func join() -> [R] {
        precondition(!joined, "SharedMap.join: called twice")
        work()
        finished.wait()
        joined = true
        return [R](unsafeUninitializedCapacity: items.count) { buffer, count in
            buffer.baseAddress?.moveInitialize(from: results, count: items.count)
            count = items.count
        }
    }

    /// Hands every result to `body` in order, each unit's as soon as the chunk that holds it is done, taking
    /// chunks itself whenever the next one it needs is not (so a caller writes the first results
    /// while the other cores work on the last). Called once, instead of `join`. When `body` throws,
    /// the rest is finished (other threads may be working on it) and dropped, and the error thrown.
    @inlinable
    package func forEachInOrder<E: Error>(_ body: (R) throws(E) -> Void) throws(E) {
        precondition(!joined, "SharedMap.forEachInOrder: the results were taken already")
        joined = true
        var moved = 0
        do throws(E) {
            for unit in 0..<unitCount {
                awaitUnit(unit)
                for index in unit * Self.unitElements..<min(items.count, (unit + 1) * Self.unitElements) {
                    let result = (results + index).move()
                    moved = index + 1
                    try body(result)
                }
            }
        } catch {
            work()
            finished.wait()
            (results + moved).deinitialize(count: items.count - moved)
            throw error
        }
        finished.wait()
    }

    /// Returns once unit `unit` is written, computing chunks meanwhile while any is left to take.
    @inlinable
    func awaitUnit(_ unit: Int) {
        lock.lock()
        while !unitDone[unit] {
            if next < items.count {
                lock.unlock()
                if let range = claim() { compute(range) }
                lock.lock()
            } else {
                lock.wait()
            }
        }
        lock.unlock()
    }

    @inlinable
    func work() {
        while let range = claim() { compute(range) }
    }

    /// Writes the results of one claimed chunk, then says so.
    @inlinable
    func compute(_ range: Range<Int>) {
        for index in range { (results + index).initialize(to: transform(items[index])) }
        lock.lock()
        remaining -= range.count
        for unit in range.lowerBound / Self.unitElements..<(range.upperBound + Self.unitElements - 1) / Self.unitElements {
            unitDone[unit] = true
        }
        let last = remaining == 0
        lock.broadcast()
        lock.unlock()
        if last { finished.signal() }
    }

    @inlinable
    func claim() -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard next < items.count else { return nil }
        let units = min(Self.chunkUnitsMax, max(1, (items.count - next) / (2 * takers) / Self.unitElements))
        let range = next..<min(items.count, next + units * Self.unitElements)
        next = range.upperBound
        return range
    }
}
