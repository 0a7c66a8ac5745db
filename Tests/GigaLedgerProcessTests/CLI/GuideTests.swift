import Foundation
import GigaLedgerTestSupport
import Testing

/// The guides in docs/, tested as written: every ```sh block of a guide runs, in order, in one
/// fresh folder, each block as its own bash script with `set -euo pipefail`, with `gigaledger` on
/// PATH, HOME and XDG_CONFIG_HOME the folder and GIGALEDGER_PASSPHRASE_FILE a passphrase file.
/// A command whose comment is `# refused` must exit 65, one with `# fails: exit N` must exit N,
/// every other one 0. Whatever a block leaves running in the background (a server) is stopped
/// when it ends.
@Suite struct GuideTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs").path

    /// The ```sh blocks of a guide, in order.
    static func blocks(_ guide: String) throws -> [String] {
        let text = try String(contentsOfFile: docs + "/" + guide, encoding: .utf8)
        var blocks = [String](), current = [String](), inside = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inside && trimmed == "```sh" {
                (inside, current) = (true, [])
            } else if inside && trimmed.hasPrefix("```") {
                inside = false
                blocks.append(current.joined(separator: "\n"))
            } else if inside {
                current.append(line)
            }
        }
        return blocks
    }

    /// A block as a script: a command expected to fail is run so that its exit code is checked.
    static func script(_ block: String) -> String {
        // What a block leaves running in the background (a server) is stopped when it ends, however it ends.
        var out = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"], pending = [String]()
        for line in block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            pending.append(line)
            if line.hasSuffix("\\") { continue }
            let whole = pending.map { $0.hasSuffix("\\") ? String($0.dropLast()) : $0 }.joined(separator: " ")
            let lines = pending
            pending = []
            guard !whole.trimmingCharacters(in: .whitespaces).hasPrefix("#"), let expected = expectedFailure(whole) else {
                out += lines
                continue
            }
            let command = expected.command.replacingOccurrences(of: "'", with: "'\\''")
            out.append(
                "{ set +e; \(expected.command); rc=$?; set -e; [ \"$rc\" = \(expected.code) ] || "
                    + "{ echo 'expected exit \(expected.code), got '$rc': \(command)' >&2; exit 99; }; }")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// `COMMAND   # refused ...` (65) or `COMMAND   # fails: exit N ...` (N).
    static func expectedFailure(_ line: String) -> (command: String, code: Int)? {
        for (marker, fixed) in [("# refused", 65), ("# fails: exit ", -1)] {
            guard let range = line.range(of: marker) else { continue }
            let command = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !command.isEmpty else { return nil }
            if fixed >= 0 { return (command, fixed) }
            guard let code = Int(line[range.upperBound...].prefix { $0.isNumber }) else { return nil }
            return (command, code)
        }
        return nil
    }

    @Test(arguments: ["officer-guide.md", "auditor-guide.md", "operator-runbook.md", "keys-guide.md"])
    func everyBlockWorksAsWritten(guide: String) throws {
        let blocks = try Self.blocks(guide)
        #expect(blocks.count >= 5, "\(guide) has \(blocks.count) sh blocks")
        let dir = TempDir()
        dir.write("pass", "a passphrase long enough\n")
        let binDir = URL(fileURLWithPath: Binary.path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir.file("work"), withIntermediateDirectories: true)
        let work = dir.file("work")
        for (index, block) in blocks.enumerated() {
            let result = Self.run(
                Self.script(block), in: work,
                environment: [
                    "PATH": "\(binDir):/usr/local/bin:/usr/bin:/bin", "HOME": work, "XDG_CONFIG_HOME": work,
                    "GIGALEDGER_PASSPHRASE_FILE": dir.file("pass"),
                ])
            #expect(result.status == 0, "\(guide), block \(index + 1): exit \(result.status)\n\(result.stderr.suffix(3000))")
            guard result.status == 0 else { return }  // later blocks build on this one
        }
    }

    /// Runs `script` with bash; its background jobs end with it (the script's trap). Its output
    /// goes to files, read after it ends (no thread needed to drain a pipe).
    static func run(_ script: String, in folder: String, environment: [String: String]) -> Run {
        let outPath = folder + "/../block.out", errPath = folder + "/../block.err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            return Run(status: -1, stdout: "", stderr: "cannot open the block's output files")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        // Through python3, which clears the signal mask first: a child inherits the blocked signals
        // of the thread that spawns it (a test's thread blocks them all), and a server the block
        // starts would then never stop on the SIGTERM of its `kill %1`. A block that hangs is killed,
        // with what it started, after `Binary.runSecondsMax`.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv('/usr/bin/timeout', ['timeout', '--signal=KILL', sys.argv[2], '/bin/bash', '-c', sys.argv[1]])",
            script,
            String(Binary.runSecondsMax),
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return Run(status: -1, stdout: "", stderr: "cannot start bash: \(error)") }
        process.waitUntilExit()
        let text = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Run(status: process.terminationStatus, stdout: text(outPath), stderr: text(errPath))
    }
}
