import CSodium
import Foundation
import GRDB
import GigaLedgerCore
import GigaLedgerKit

#if canImport(Glibc)
import Glibc
#endif

// Small helpers every part of the benchmark uses.

func now() -> Double { Date().timeIntervalSince1970 }
func log(_ text: String) { FileHandle.standardError.write(Data("bench: \(text)\n".utf8)) }
func rate(_ count: Int, _ seconds: Double) -> Double { Double(count) / max(seconds, 1e-9) }
func fmt(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

/// This machine is shared (a VM): a short run can be slowed by a neighbour. Each raw limit is the
/// best of several runs, before and after the ledgers are measured, so the ceiling is not underrated.
let rawRepetitions = 5

func best(_ measure: () throws -> Double) rethrows -> Double {
    var top = 0.0
    for _ in 0..<rawRepetitions { top = max(top, try measure()) }
    return top
}
