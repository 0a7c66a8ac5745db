// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "GigaLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gigaledger", targets: ["gigaledger"]),
        .library(name: "GigaLedgerKit", targets: ["GigaLedgerKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        // The server (issue 13) and its clients.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Hummingbird's own (its HTTP part types), named here for the server's parse-error answer.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // PostgreSQL as a second store (issue 16).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // SHA-256 (BoringSSL's, with the CPU's SHA extensions): already built for postgres-nio.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // libsodium from the system (Debian: libsodium-dev), found through pkg-config.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // The PKCS#11 interface (RFC 7512 keys on tokens): p11-kit's header only (Debian:
        // libp11-kit-dev); a token's module is loaded at run time, nothing is linked.
        .systemLibrary(
            name: "CPKCS11",
            providers: [.apt(["libp11-kit-dev"])]
        ),
        // The layers, each a target so that no arrow can point the wrong way (README, "Architecture"):
        // Core (values, formats, crypto, keys, Merkle math, rules; no SQL) <- Store (every SQL statement)
        // <- Kit (the services: append, import, verify, transparency, reports) <- the CLI.
        .target(
            name: "GigaLedgerCore",
            dependencies: ["CSodium", "CPKCS11", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "GigaLedgerStore",
            dependencies: [
                "GigaLedgerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for the import's hot INSERTs (RawInsert.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // PostgreSQL, the second store: its wire protocol, TLS and pool.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GigaLedgerKit",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The server: the ledger services over HTTP (Hummingbird), C2SP tlog-tiles read path, signed
        // entries in, checkpoints by the log key. Calls Kit; no SQL of its own.
        .target(
            name: "GigaLedgerServer",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The client of that server: remote appends (optimistic, checked against the kept checkpoint)
        // and replicas (sync). Calls Kit for every check; no SQL of its own.
        .target(
            name: "GigaLedgerClient",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "gigaledger",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerKit",
                "GigaLedgerServer",
                "GigaLedgerClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
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
                "GigaLedgerClient",
                "CSodium",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // What the test targets share: temporary folders, the real binary run as a process, a
        // small ledger made through the library. A target of its own, built with the others.
        .target(
            name: "GigaLedgerTestSupport",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/GigaLedgerTestSupport"
        ),
        // The library in process: values, formats, crypto, the store, verify, reports.
        .testTarget(
            name: "GigaLedgerKitTests",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                "GigaLedgerTestSupport",
                // libsodium's SHA-256, the one `SHA256State` replaced, hashed beside it (`SHA256Tests`).
                "CSodium",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The CSV reader the import's own (`CSVRecords`) replaced, read beside it on the same texts.
                .product(name: "CSV", package: "CSV.swift"),
            ],
            // Data files the tests read by path (#filePath), not resources.
            exclude: ["Fuzz/corpus", "Transparency/c2sp-7-leaf.json", "Transparency/rfc6962-vectors.json", "Reporting/Fixtures"]
        ),
        // What only a process shows: the real binary's commands, exit codes and files, servers
        // killed and forked, PostgreSQL started by the tests, guides run as written.
        .testTarget(
            name: "GigaLedgerProcessTests",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                "GigaLedgerTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // Data files the tests read by path (#filePath), not resources.
            exclude: ["CLI/Fixtures"]
        ),
        // The server's routes in process (HummingbirdTesting: no port, no process), over ledgers
        // made through the library; what only a process shows stays in GigaLedgerKitTests.
        .testTarget(
            name: "GigaLedgerServerTests",
            dependencies: [
                "GigaLedgerCore",
                "GigaLedgerStore",
                "GigaLedgerKit",
                "GigaLedgerServer",
                "GigaLedgerClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
