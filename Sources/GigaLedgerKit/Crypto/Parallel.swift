import Foundation

/// Work spread over the machine's cores, results in input order.
enum Parallel {
    static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `transform` applied to every element, in parallel; the result keeps the input's order.
    /// Elements go out in small contiguous chunks, taken in turn, so a core slowed by other work
    /// does not leave the others waiting at the end.
    static func map<T, R>(_ items: [T], _ transform: (T) -> R) -> [R] {
        guard items.count > 1, workers > 1 else { return items.map(transform) }
        var results = [R?](repeating: nil, count: items.count)
        let chunk = max(1, items.count / (workers * chunksPerWorker))
        let chunks = (items.count + chunk - 1) / chunk
        results.withUnsafeMutableBufferPointer { buffer in
            DispatchQueue.concurrentPerform(iterations: chunks) { index in
                for item in index * chunk..<min(items.count, (index + 1) * chunk) { buffer[item] = transform(items[item]) }
            }
        }
        return results.map { $0! }
    }

    /// How finely `map` divides the work per core.
    static let chunksPerWorker = 16
}

/// `transform` applied to every element by background threads, in chunks taken in turn; the
/// thread that waits for the result takes chunks too, so no core idles while it has other work
/// first (an import writes the previous batch, then helps sign this one). Results keep the order.
final class SharedMap<T, R>: @unchecked Sendable {
    private let items: [T]
    private let transform: (T) -> R
    private var results: [R?]
    private var next = 0
    private var remaining: Int
    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    /// Elements per chunk: small enough to share the tail, large enough that the lock is rare.
    static var chunkElements: Int { 256 }

    init(_ items: [T], backgroundWorkers: Int, _ transform: @escaping (T) -> R) {
        self.items = items
        self.transform = transform
        results = [R?](repeating: nil, count: items.count)
        remaining = items.count
        if items.isEmpty { finished.signal() }
        for _ in 0..<backgroundWorkers { DispatchQueue.global().async { self.work() } }
    }

    /// Takes chunks until none is left, then waits for the others' and returns every result.
    func join() -> [R] {
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
