import CSodium
import Foundation
import GRDB
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// The synthetic ledgers: a fixed-seed generator of what finance offices record.

let memberStates = Array(Codes.memberStates).sorted()
/// The bench ledgers' authority: also the key the raw sign and verify limits are measured with.
let authority = key
let policyPath = "schema/policy/eurohpc-2026.json"

func makeLedger(path: String) throws -> Ledger {
    let (ledger, _) = try Ledger.create(path: path, authority: authority, authorityName: "Bench authority", origin: "bench.example/ledger")
    try ledger.append(
        .policy(try Policy.parseFile([UInt8](try Data(contentsOf: URL(fileURLWithPath: policyPath))), path: policyPath)), key: authority)
    for (index, host) in ["DE", "FR", "IT", "ES", "PL"].enumerated() {
        try ledger.append(
            .factoryRegister(
                Factory(
                    id: "aigf-\(index)", name: "Gigafactory \(index)", kind: .gigafactory, hosts: [host],
                    capex: Cents(400_000_000_000))), key: authority)
    }
    for index in 0..<20 {
        try ledger.append(
            .partnerRegister(
                Partner(
                    id: "partner-\(index)", name: "Partner \(index)", country: memberStates[index % memberStates.count],
                    isSME: index % 3 == 0)), key: authority)
    }
    return ledger
}

/// Rows as a finance office would import them: contributions from every member state, the Union and
/// partners, and access records of every category, dated across 2026.
/// `source`: every contribution from that source (one office's file), else from all of them.
func rows(_ count: Int, random: inout SeededRandom, source only: Source? = nil) throws -> [ImportRow] {
    var out = [ImportRow]()
    out.reserveCapacity(count)
    for index in 0..<count {
        let factory = "aigf-\(Int.random(in: 0..<5, using: &random))"
        // January to November: a payment may not be dated more than a day after it is recorded.
        let date = try CalendarDate.parse(
            String(format: "2026-%02d-%02d", Int.random(in: 1...11, using: &random), Int.random(in: 1...28, using: &random)), field: "date")
        if index % 4 == 3 {
            out.append(
                ImportRow(
                    row: index + 2,
                    data: .access(
                        try AccessGrant(
                            factory: factory, beneficiary: "Beneficiary \(Int.random(in: 0..<5_000, using: &random))",
                            category: AccessCategory.allCases.randomElement(using: &random)!,
                            gpuHours: Int64.random(in: 100...200_000, using: &random),
                            date: date, pool: Bool.random(using: &random) ? .union : .host, isCommercial: Int.random(in: 0..<10, using: &random) == 0,
                            charge: Cents(0)))))
        } else {
            let pick = Int.random(in: 0..<10, using: &random)
            let source: Source =
                pick == 0
                ? .union
                : pick < 6 ? .memberState(memberStates.randomElement(using: &random)!) : .partner("partner-\(Int.random(in: 0..<20, using: &random))")
            out.append(
                ImportRow(
                    row: index + 2,
                    data: .contribution(
                        try Contribution(
                            factory: factory, source: only ?? source, amount: Cents(Int64.random(in: 100...5_000_000_000, using: &random)),
                            date: date,
                            category: Bool.random(using: &random) ? .capex : .opex, kind: Bool.random(using: &random) ? .commitment : .payment,
                            ref: "REF-\(importsMade)-\(index)"))))
        }
    }
    return out
}

/// Imports made so far in this run: each file's digest differs.
nonisolated(unsafe) var importsMade = 0

/// Imports `size` generated rows in files of 100,000; returns the seconds spent importing.
/// `eachFile(rowsBefore, rows, seconds)` is told each file's time (how the rate changes with size).
func fill(
    _ ledger: Ledger, size: Int, random: inout SeededRandom, source: Source? = nil, eachFile: (Int, Int, Double) -> Void = { _, _, _ in }
) throws -> Double {
    var imported = 0, importSeconds = 0.0
    let chunk = 100_000
    while imported < size {
        let batch = try rows(min(chunk, size - imported), random: &random, source: source)
        let start = now()
        _ = try ledger.importRows(
            batch, fileName: "bench-\(imported).csv",
            fileSHA256: SHA256State.hash(Array("\(size)-\(imported)-\(source?.description ?? "all")-\(importsMade)".utf8)), key: authority,
            checks: .none)  // synthetic rows may repeat one another by chance
        importSeconds += now() - start
        eachFile(imported, batch.count, now() - start)
        imported += batch.count
        importsMade += 1
    }
    return importSeconds
}
