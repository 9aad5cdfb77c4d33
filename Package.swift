// swift-tools-version:6.0
// audience-relay: webhook relay and message gateway for audience-activation pipelines.
import PackageDescription

let package = Package(
    name: "audience-relay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "audience-relay", targets: ["audience-relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C seams: only RelayKafka imports CRdKafka.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // Only RelayCurl imports CCurl (typed wrappers for the variadic curl_easy_setopt).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Only RelayGzip imports CZlib (streaming gunzip of export files).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Domain and contracts, no I/O: validation, routing table, templates, the sink contract, retry policy.
        .target(name: "RelayCore", dependencies: [
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The outbox contract and its SQLite store.
        .target(name: "RelayOutbox", dependencies: [
            "RelayCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            // The bulk drain reads column bytes in place (sqlite3_column_*), without a Swift value per row.
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // librdkafka wrapper: producer, delivery reports, mock cluster.
        .target(name: "RelayKafka", dependencies: [
            "CRdKafka",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // libcurl multi-interface client on its own thread: buffered requests and back-pressured streams.
        .target(name: "RelayCurl", dependencies: [
            "CCurl",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Sinks and the dispatcher that drives them from the outbox.
        .target(name: "RelayDelivery", dependencies: [
            "RelayCore", "RelayOutbox", "RelayKafka", "RelayCurl",
            .product(name: "Collections", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Streaming record splitters (JSON Lines, CSV, JSON array, keyed object) and format detection: pure parsing
        // over RelayCore's byte scanning and JSON escaping; only the export path uses it.
        .target(name: "RelayRecords", dependencies: ["RelayCore"]),
        // zlib wrapper: streaming gunzip (and gzip for fixtures and the demo).
        .target(name: "RelayGzip", dependencies: ["CZlib", "RelayRecords"]),
        // Export fetcher: poll apiUrl, stream, gunzip, split records, forward through the sinks, resume.
        .target(name: "RelayExport", dependencies: [
            "RelayCore", "RelayOutbox", "RelayCurl", "RelayRecords", "RelayGzip",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Inbound listener: routes, auth, problem+json; ends at the outbox.
        .target(name: "RelayHTTP", dependencies: [
            "RelayCore", "RelayOutbox",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // Wiring: config loading, services, metrics, CLI commands' implementations.
        .target(name: "RelayApp", dependencies: [
            "RelayCore", "RelayOutbox", "RelayHTTP", "RelayKafka", "RelayCurl", "RelayDelivery", "RelayExport", "RelayGzip",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Fuzz entry points over the production parsers (payload validation, routing-table loader) and their invariants.
        .target(name: "RelayFuzzing", dependencies: ["RelayCore"]),
        // libFuzzer targets when built by bench/fuzz.sh (-sanitize=fuzzer -DRELAY_FUZZING); otherwise they replay input files.
        .executableTarget(name: "fuzz-payload", dependencies: ["RelayFuzzing"]),
        .executableTarget(name: "fuzz-routes", dependencies: ["RelayFuzzing"]),
        // Linked against jemalloc (Debian's libjemalloc), which takes over malloc for the whole process:
        // librdkafka allocates every message and header on the thread that produces and frees them on
        // its poll thread, and glibc's arenas serialise that hand-over on a lock (bench/README.md, Kafka).
        .executableTarget(name: "audience-relay", dependencies: [
            "RelayApp", "RelayCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [.linkedLibrary("jemalloc")]),
        // bench/ingest.sh's peer: the framework's ceiling (decode + JSON answer, nothing stored).
        .executableTarget(name: "bench-hummingbird-peer", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "bench/peers/hummingbird"),

        // Test-only helpers shared by the test targets (a raw HTTP client for hostile requests).
        .target(name: "RelayTestSupport", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/RelayTestSupport"),
        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore"]),
        // Replays the checked-in fuzz corpus (fuzz/corpus) and seeded mutations of it through the fuzz entry points.
        .testTarget(name: "RelayFuzzingTests", dependencies: ["RelayFuzzing", "RelayCore", "RelayTestSupport"]),
        .testTarget(name: "RelayOutboxTests", dependencies: [
            "RelayOutbox", "RelayCore", "RelayTestSupport", .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "RelayCurlTests", dependencies: ["RelayCurl", "RelayTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "RelayKafkaTests", dependencies: ["RelayKafka", "RelayTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "RelayDeliveryTests", dependencies: [
            "RelayDelivery", "RelayOutbox", "RelayCore", "RelayKafka", "RelayCurl", "RelayTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "RelayRecordsTests", dependencies: ["RelayRecords", "RelayGzip", "RelayTestSupport"]),
        .testTarget(name: "RelayExportTests", dependencies: [
            "RelayExport", "RelayGzip", "RelayRecords", "RelayCore", "RelayOutbox", "RelayCurl", "RelayDelivery", "RelayTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // RelayApp: the listener under test is the one `serve` builds (RelayServer.makeApplication).
        .testTarget(name: "RelayHTTPTests", dependencies: [
            "RelayHTTP", "RelayApp", "RelayCore", "RelayOutbox", "RelayTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "RelayAppTests", dependencies: [
            "RelayApp", "RelayCore", "RelayOutbox", "RelayKafka", "RelayTestSupport",
            .product(name: "Logging", package: "swift-log"),
            // DeployManifestTests reads deploy/ and routes/ YAML.
            .product(name: "Yams", package: "Yams"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// Every Swift target: Swift 6 (complete strict concurrency) and member lookup only through the
// modules a file imports itself, so an import that only works by accident fails the build.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("StrictConcurrency"),
    ]
}
