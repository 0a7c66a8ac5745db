// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "GigaLedger",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gigaledger", targets: ["gigaledger"]),
        .library(name: "GigaLedgerKit", targets: ["GigaLedgerKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        // libsodium from the system (Debian: libsodium-dev), found through pkg-config.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // The layers, each a target so that no arrow can point the wrong way (README, "Architecture"):
        // Core (values, formats, crypto, keys, Merkle math, rules; no SQL) <- Store (every SQL statement)
        // <- Kit (the services: append, import, verify, transparency, reports) <- the CLI.
        .target(
            name: "GigaLedgerCore",
            dependencies: ["CSodium"]
        ),
        .target(
            name: "GigaLedgerStore",
            dependencies: [
                "GigaLedgerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for the import's hot INSERTs (RawInsert.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "GigaLedgerKit",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .executableTarget(
            name: "gigaledger",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            plugins: ["SourceCommit"]
        ),
        // The git commit a binary is built from, for `gigaledger --version`.
        .plugin(name: "SourceCommit", capability: .buildTool()),
        .executableTarget(
            name: "gigaledger-bench",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                "CSodium",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "GigaLedgerKitTests",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            // Data files the tests read by path (#filePath), not resources.
            exclude: ["Fuzz/corpus", "Transparency/c2sp-7-leaf.json", "Transparency/rfc6962-vectors.json"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
