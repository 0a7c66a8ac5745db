import Foundation
import GigaLedgerTestSupport
import Testing

@testable import GigaLedgerKit

/// The README's Quick start, pasted line by line into a fresh shell: every command does what its
/// comment says (a line whose comment says "refused" must exit 65 and write nothing).
@Suite struct QuickStartTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md").path

    /// The commands of the first ```sh block after "## Quick start", continuation lines joined,
    /// each with its comment.
    static func commands() throws -> [(command: String, comment: String)] {
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        guard let section = text.range(of: "## Quick start"), let start = text.range(of: "```sh\n", range: section.upperBound..<text.endIndex),
            let end = text.range(of: "```", range: start.upperBound..<text.endIndex)
        else { return [] }
        var out = [(String, String)](), pending = ""
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let whole = pending + line
            pending = ""
            let trimmed = whole.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("#") {  // a comment line says what the previous command does
                if let last = out.popLast() { out.append((last.0, last.1 + " " + trimmed)) }
                continue
            }
            let parts = whole.components(separatedBy: "   #")
            out.append((parts[0].trimmingCharacters(in: .whitespaces), parts.dropFirst().joined(separator: "#")))
        }
        return out
    }

    @Test func everyLineWorksAsDocumented() throws {
        let dir = TempDir()
        dir.write("pass", "a passphrase long enough\n")
        let commands = try Self.commands()
        #expect(commands.count >= 10)
        let binDir = URL(fileURLWithPath: Binary.path).deletingLastPathComponent().path
        for (command, comment) in commands {
            let result = shell("PATH='\(binDir)':\"$PATH\" GIGALEDGER_PASSPHRASE_FILE=pass XDG_CONFIG_HOME=\"$PWD/.config\" \(command)", in: dir)
            if comment.contains("refused") {
                #expect(result.status == 65, "\(command): \(result.stderr)")
            } else {
                #expect(result.status == 0, "\(command): \(result.stdout) \(result.stderr)")
            }
        }
    }
}
