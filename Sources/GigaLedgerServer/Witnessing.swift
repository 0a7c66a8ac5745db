import AsyncHTTPClient
import Foundation
import GigaLedgerCore
import GigaLedgerKit
import Logging
import NIOCore
import Synchronization

/// Asks the server's witnesses (C2SP tlog-witness, `add-checkpoint`) to cosign each checkpoint the
/// log key keeps, and keeps their cosignatures in the ledger. Best effort: a witness that is down
/// or refuses leaves the checkpoint without its cosignature (and logs why); the next checkpoint
/// asks again. The size each witness last cosigned is learnt from its 409 answer.
final class Witnessing: Sendable {
    /// How long a witness may take to answer.
    static let answerSecondsMax: Int64 = 10

    let witnesses: [WitnessEndpoint]
    private let service: LedgerService
    private let logger: Logger
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)
    /// The size each witness last cosigned, by its public key's ID, as far as this server knows.
    private let cosigned = Mutex<[String: Int64]>([:])

    init(witnesses: [WitnessEndpoint], service: LedgerService, logger: Logger) {
        self.witnesses = witnesses
        self.service = service
        self.logger = logger
    }

    deinit { try? http.syncShutdown() }

    /// Asks every witness to cosign the kept checkpoint of `size` entries, one after another.
    func ask(size: Int64) async {
        for witness in witnesses {
            do {
                if try await ask(witness, size: size) { logger.info("cosigned", metadata: ["witness": "\(witness.name)", "size": "\(size)"]) }
            } catch {
                logger.warning("no cosignature", metadata: ["witness": "\(witness.name)", "size": "\(size)", "why": "\(error)"])
            }
        }
    }

    /// One witness: from the size it last cosigned; on a 409, once more from the size it names.
    private func ask(_ witness: WitnessEndpoint, size: Int64) async throws -> Bool {
        var old = cosigned.withLock { $0[witness.key.id.description] } ?? 0
        for _ in 0..<2 {
            let from = old
            guard from <= size, let body = try await service.run({ try $0.witnessRequest(size: size, old: from) }) else {
                throw WitnessFailure("it cosigned \(old) entries, more than this checkpoint's \(size)")
            }
            let (status, answer) = try await post(body, to: witness)
            switch status {
            case 200:
                cosigned.withLock { $0[witness.key.id.description] = size }
                let key = witness.key
                return try await service.run { try $0.keepWitnessCosignature(answer, size: size, witness: key) }
            case 409:
                guard let known = Int64(answer.trimmingCharacters(in: .newlines)), known >= 0 else { throw WitnessFailure("409 without a size") }
                if known == old { throw WitnessFailure("409 at size \(old): it holds another checkpoint of that size (a fork?)") }
                old = known
                cosigned.withLock { $0[witness.key.id.description] = known }
            default:
                throw WitnessFailure("\(status): \(answer.prefix(300))")
            }
        }
        throw WitnessFailure("its size kept changing")
    }

    private func post(_ body: [UInt8], to witness: WitnessEndpoint) async throws -> (UInt, String) {
        var request = HTTPClientRequest(url: witness.url.hasSuffix("/") ? witness.url + "add-checkpoint" : witness.url + "/add-checkpoint")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(Self.answerSecondsMax))
        let answer = try await response.body.collect(upTo: 64 * 1024)
        return (response.status.code, String(buffer: answer))
    }
}

struct WitnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
