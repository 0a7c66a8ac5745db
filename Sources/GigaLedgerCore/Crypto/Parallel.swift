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
/// first (an import writes the previous batch, then helps sign this one). Results keep the order.
///
/// Inlinable so that callers in other modules get it specialised for their types: unspecialised,
/// every result was copied and destroyed through its type's value witnesses (about 5 % of a
/// verify's CPU at 30,000 entries). Each result is written once into its slot and moved out by
/// `join`, never copied.
///
/// `@unchecked Sendable`: `items` and `transform` never change after `init`; each slot of
/// `results` is written once, by the thread that claimed its chunk under `lock`, and `join` reads
/// the slots only after `finished` is signalled, which the last writer does after its last write
/// (the lock taken in between orders the writes before the signal).
@usableFromInline
package final class SharedMap<T: Sendable, R: Sendable>: @unchecked Sendable {
    @usableFromInline let items: [T]
    @usableFromInline let transform: @Sendable (T) -> R
    @usableFromInline let results: UnsafeMutablePointer<R>
    @usableFromInline var next = 0
    @usableFromInline var remaining: Int
    @usableFromInline var joined = false
    @usableFromInline let lock = NSLock()
    @usableFromInline let finished = DispatchSemaphore(value: 0)
    /// Elements per chunk: small enough to share the tail, large enough that the lock is rare.
    @usableFromInline static var chunkElements: Int { 256 }

    @inlinable
    package init(_ items: [T], backgroundWorkers: Int, _ transform: @escaping @Sendable (T) -> R) {
        self.items = items
        self.transform = transform
        results = UnsafeMutablePointer<R>.allocate(capacity: max(1, items.count))
        remaining = items.count
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

    @inlinable
    func work() {
        while let range = claim() {
            for index in range { (results + index).initialize(to: transform(items[index])) }
            lock.lock()
            remaining -= range.count
            let last = remaining == 0
            lock.unlock()
            if last { finished.signal() }
        }
    }

    @inlinable
    func claim() -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard next < items.count else { return nil }
        let range = next..<min(items.count, next + Self.chunkElements)
        next = range.upperBound
        return range
    }
}
