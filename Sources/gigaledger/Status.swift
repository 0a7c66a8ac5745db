import ArgumentParser
import Foundation
import GigaLedgerCore
import GigaLedgerKit

extension GigaLedger {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the ledger, then print its entries by type and each factory's committed and paid totals (corrections netted).")

        @OptionGroup var ledger: LedgerOptions
        @Flag(name: .long, help: "Print the result as JSON.") var json = false

        func run() async throws {
            let shown = self.ledger.serverURL.map { "of \($0) (your verified copy)" }
            let ledger = try await self.ledger.openForReading()
            let status = try ledger.status()
            let report = status.verification
            if let failure = report.failure {
                print(
                    json
                        ? Render.jsonObject([
                            "verified": .bool(false), "failure": .object(["entry": .integer(failure.seq), "reason": .string(failure.reason)]),
                        ])
                        : "NOT VERIFIED: \(failure)")
                throw ExitCode(ExitCodes.notVerified)
            }
            if json {
                print(
                    Render.jsonObject([
                        "verified": .bool(true), "entries": .integer(report.verifiedCount), "head": .string(report.headHash.map(Encoding.hex) ?? ""),
                        "origin": .string(report.origin), "by_type": .object(status.countsByType.mapValues { .integer($0) }),
                        "factories": .array(
                            status.factories.map { factory, figures in
                                .object([
                                    "id": .string(factory.id), "committed_cents": .total(figures.total.committed),
                                    "paid_cents": .total(figures.total.paid),
                                    "union_committed_cents": .total(figures.union.committed),
                                    "member_states_committed_cents": .total(figures.memberStates.committed),
                                    "private_committed_cents": .total(figures.sum(prefix: "private:").committed),
                                    "union_paid_cents": .total(figures.union.paid), "member_states_paid_cents": .total(figures.memberStates.paid),
                                    "private_paid_cents": .total(figures.sum(prefix: "private:").paid), "gpu_hours": .total(figures.access.hours()),
                                ])
                            }),
                    ]))
                return
            }
            print(
                "ledger \(shown ?? ledger.path): verified, \(Render.count(report.verifiedCount, "entry", "entries")), head \(report.headHash.map(Encoding.hex) ?? "")"
            )
            print("origin \(report.origin)")
            print("entries by type: " + status.countsByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            for (factory, figures) in status.factories {
                print("")
                print(
                    "\(factory.id): \(factory.name) (\(factory.kind.rawValue), hosts \(factory.hosts.joined(separator: ", ")), registered eligible CAPEX \(factory.capex)\(factory.opex.map { ", operating budget \($0)" } ?? ""))"
                )
                let groups: [(String, ContributionTotals)] = [
                    ("eu", figures.union),
                    ("member states", figures.sum(prefix: "ms:")), ("private", figures.sum(prefix: "private:")),
                ]
                for (group, totals) in groups {
                    print(
                        "  \(group.padding(toLength: 14, withPad: " ", startingAt: 0)) committed \(Cents.formatted(totals.committed).leftAligned(24)) paid \(Cents.formatted(totals.paid))"
                    )
                }
                let hours = AccessCategory.allCases.compactMap { category in
                    figures.access.hours(category) > 0 ? "\(category.rawValue) \(figures.access.hours(category))" : nil
                }
                print("  GPU-hours granted: " + (hours.isEmpty ? "none" : hours.joined(separator: ", ")))
            }
        }
    }
}

extension String {
    func leftAligned(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
