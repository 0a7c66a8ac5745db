import Foundation

/// Work spread over the machine's cores, results in input order.
enum Parallel {
    static let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `transform` applied to every element, in parallel stripes on `workers` threads; the result
    /// keeps the input's order.
    static func map<T, R>(_ items: [T], workers: Int = Parallel.workers, _ transform: (T) -> R) -> [R] {
        guard items.count > 1, workers > 1 else { return items.map(transform) }
        var results = [R?](repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let stripes = min(workers, items.count)
            DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
                var index = stripe
                while index < items.count {
                    buffer[index] = transform(items[index])
                    index += stripes
                }
            }
        }
        return results.map { $0! }
    }
}
