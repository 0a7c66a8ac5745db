import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Logging
import NIOPosix
import ServiceLifecycle

/// `serve --publish DIR`: writes each checkpoint the server keeps (with the cosignatures kept for
/// it) to DIR, the same files as `gigaledger publish` (`Ledger.publish`: O(new) apart from the
/// summary's report), from a read-only connection of its own so that serving never waits on it.
/// Checkpoints kept while a publish runs are published together by the next one; a publish that
/// fails is logged and tried again at the next checkpoint (or cosignature), the server serving on.
struct Publisher: Service {
    let service: LedgerService
    let ledgerPath: String
    let directory: String
    let reports: String?
    let partialGrace: TimeInterval
    let logger: Logger

    /// The ledger the publisher reads, handed to the thread pool. `@unchecked Sendable`: used by
    /// one thread at a time (each publish waits for the one before).
    private struct Reader: @unchecked Sendable { let ledger: Ledger }

    func run() async throws {
        var reader: Reader?
        // The checkpoint last published, or last tried and failed (tried again at the next one).
        var published: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var latest: String?
            do {
                latest = try await service.run { try $0.latestCheckpointCosigned() }
                if let latest, latest != published {
                    let open = try reader ?? Reader(ledger: try Ledger.open(path: ledgerPath, forWriting: false))
                    reader = open
                    let (directory, reports, grace) = (directory, reports, partialGrace)
                    let publication = try await NIOThreadPool.singleton.runIfActive {
                        try open.ledger.publish(to: directory, reports: reports, partialGrace: grace)
                    }
                    published = latest
                    logger.info(
                        "published",
                        metadata: [
                            "size": "\(publication.size)", "written": "\(publication.written)", "removed": "\(publication.removed)",
                            "summary_ms": "\(publication.summaryNanoseconds / 1_000_000)",
                        ])
                }
            } catch {
                logger.error("not published to \(directory) (tried again at the next checkpoint): \(error)")
                published = latest
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(service.limits.checkpointIntervalMilliseconds)) }
        }
    }
}
