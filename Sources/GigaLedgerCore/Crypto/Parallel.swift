import Foundation

/// Work spread over the machine's cores, results in input order.
package enum Parallel {
    package static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `transform` applied to every element on all cores (this thread among them); the result
    /// keeps the input's order. The same primitive as `SharedMap`, waited for at once.
    package static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @escaping @Sendable (T) -> R) -> [R] {
        guard items.count > 1, workers > 1 else { return items.map(transform) }
        return SharedMap(items, backgroundWorkers: workers - 1, transform).join()
    }
}

/// `transform` applied to every element by background threads, in chunks taken in turn; the
/// thread that waits for the result takes chunks too, so no core idles while it has other work
/// first (an import writes the previous batch, then helps sign this one). Results keep the order.
///
/// `@unchecked Sendable`: `items` and `transform` never change after `init`; `results`, `next` and
/// `remaining` are written only while `lock` is held, and `join` reads `results` without it only
/// after `finished` is signalled, which the last writer does after its last write under the lock.
package final class SharedMap<T: Sendable, R: Sendable>: @unchecked Sendable {
    private let items: [T]
    private let transform: @Sendable (T) -> R
    private var results: [R?]
    private var next = 0
    private var remaining: Int
    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    /// Elements per chunk: small enough to share the tail, large enough that the lock is rare.
    static var chunkElements: Int { 256 }

    package init(_ items: [T], backgroundWorkers: Int, _ transform: @escaping @Sendable (T) -> R) {
        self.items = items
        self.transform = transform
        results = [R?](repeating: nil, count: items.count)
        remaining = items.count
        if items.isEmpty { finished.signal() }
        for _ in 0..<backgroundWorkers { DispatchQueue.global().async { self.work() } }
    }

    /// Takes chunks until none is left, then waits for the others' and returns every result.
    package func join() -> [R] {
        work()
        finished.wait()
        return results.map { $0! }
    }

    private func work() {
        while let range = claim() {
            let done = range.map { transform(items[$0]) }
            lock.lock()
            for (offset, result) in done.enumerated() { results[range.lowerBound + offset] = result }
            remaining -= range.count
            let last = remaining == 0
            lock.unlock()
            if last { finished.signal() }
        }
    }

    private func claim() -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard next < items.count else { return nil }
        let range = next..<min(items.count, next + Self.chunkElements)
        next = range.upperBound
        return range
    }
}
