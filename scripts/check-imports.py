#!/usr/bin/env python3
"""Every module a target imports is one it declares in Package.swift (`make lint`).

SwiftPM's --explicit-target-dependency-import-check does not report anything on Linux with this
toolchain (tried on a three-target package: an undeclared import of a target two steps away
builds without a word), so this reads `swift package dump-package` and each target's sources:
an `import M` (or `@testable import M`) of a module that a target or a product of the package
graph provides must name a target or product the importing target declares. Modules of the
toolchain (Foundation, Glibc, Testing, ...) are not the package's to declare.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The toolchain's own modules: never declared in Package.swift.
TOOLCHAIN = {"Foundation", "FoundationEssentials", "Glibc", "Dispatch", "Synchronization", "Testing", "XCTest",
             "PackageDescription", "PackagePlugin", "Darwin", "os", "_Concurrency", "Observation"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_spi\([^)]*\)\s+|public\s+|package\s+|internal\s+)*import\s+(?:struct\s+|class\s+|enum\s+|func\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def main() -> int:
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout)
    targets = {t["name"]: t for t in package["targets"]}
    problems = []
    for name, target in targets.items():
        if target["type"] == "system" or target["type"] == "plugin":
            continue
        declared = set()
        for dependency in target.get("dependencies", []):
            kind, value = next(iter(dependency.items()))
            declared.add(value[0])
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", name)
        for directory, _, files in os.walk(os.path.join(ROOT, folder)):
            for file in files:
                if not file.endswith(".swift"):
                    continue
                path = os.path.join(directory, file)
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                for module in IMPORT.findall(text):
                    if module in TOOLCHAIN or module == name or module in declared:
                        continue
                    problems.append(f"{os.path.relpath(path, ROOT)}: imports {module}, which target {name} does not declare in Package.swift")
    for problem in sorted(set(problems)):
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
