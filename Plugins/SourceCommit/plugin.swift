import Foundation
import PackagePlugin

/// Writes `SourceCommit.swift` (the git commit the binary is built from, or "unknown" outside a
/// clone) before each build of the target, for `gigaledger --version`. The file is rewritten only when
/// the commit changes, so an unchanged tree does not recompile.
@main struct SourceCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let file = output.appending(path: "SourceCommit.swift").path()
        let package = context.package.directoryURL.path()
        let script = """
            mkdir -p '\(output.path())'
            commit=$(git -C '\(package)' rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            git -C '\(package)' diff --quiet HEAD -- 2>/dev/null || commit="$commit+changes"
            new="/// Generated at build time by Plugins/SourceCommit.
            let sourceCommit = \\"$commit\\""
            [ "$(cat '\(file)' 2>/dev/null)" = "$new" ] || printf '%s\\n' "$new" > '\(file)'
            """
        return [
            .prebuildCommand(
                displayName: "Source commit", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script], outputFilesDirectory: output)
        ]
    }
}
