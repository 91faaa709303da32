// swift-tools-version: 6.0
import PackageDescription

/// Settings every Swift target shares. Swift 6 language mode (strict concurrency) comes with the
/// tools version; `ExistentialAny` keeps the cost of existentials visible at every use.
let sharedSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "lomad",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lomad", targets: ["lomad"]),
        .executable(name: "lomactl", targets: ["lomactl"]),
        .library(name: "LoMAClient", targets: ["LoMAClient"]),
        .library(name: "LoMAModel", targets: ["LoMAModel"]),
        .library(name: "LoMATensorIO", targets: ["LoMATensorIO"]),
        // For out-of-tree builds such as the fuzz targets in Fuzz/.
        .library(name: "LoMAProtocol", targets: ["LoMAProtocol"]),
        .library(name: "LoMAStore", targets: ["LoMAStore"]),
        .library(name: "LoMARuntime", targets: ["LoMARuntime"]),
        .library(name: "LoMAOperations", targets: ["LoMAOperations"]),
        .library(name: "LoMAService", targets: ["LoMAService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C shims
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        // (hiredis without pkgConfig: its .pc adds -D_FILE_OFFSET_BITS=64, a flag SwiftPM refuses.)
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),

        // transport
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),

        // tensors: dtypes and their conversions, f32 tensors, safetensors files, KV files. No BLAS,
        // no sockets: lomactl reads and writes KV files through it without linking the engine.
        .target(name: "LoMATensorIO"),

        // formats
        // TOML 1.0 for the operator's files (lomad.toml, the clients file), in Swift: no C++, no leaks.
        .target(name: "TOML"),

        // compute
        // The packed-weight product kernels (AVX-512 or AVX2/FMA picked at run time, portable C otherwise; f32 or bf16 weights).
        .target(name: "CLoMAKernels"),
        .target(name: "LoMAModel", dependencies: ["LoMATensorIO", "COpenBLAS", "CLoMAKernels"]),

        // storage
        // CRC-32C for the store's record checksums (SSE4.2 picked at run time, a table otherwise).
        .target(name: "CLoMAChecksum"),
        .target(name: "LoMAStore", dependencies: ["CLMDB", "CLoMAChecksum"]),
        // Safe Swift over hiredis: connections with timeouts, pools, Redis Cluster routing.
        // Knows nothing of the store.
        .target(name: "Redis", dependencies: ["CHiredis"]),
        // The store's shared tier (`SharedTier`) on Redis/Valkey: key schema, blobs, scripts.
        .target(name: "LoMASharedTier", dependencies: ["LoMAStore", "Redis", "CLoMAChecksum", "CSodium"]),

        // wire
        // (LoMATensorIO for the one wire <-> dtype/layout mapping the daemon and lomactl share.)
        .target(name: "LoMAProtocol", dependencies: ["ZeroMQ", "LoMATensorIO", swiftProtobuf]),

        // service
        // malloc_trim for the daemon's return of freed memory after a burst (AllocatorTrim).
        .target(name: "CLoMAAllocator"),
        // The serving machinery (broker, workers, queue, ZAP, ipc files): knows no model and no store.
        .target(name: "LoMARuntime", dependencies: ["ZeroMQ", "LoMAProtocol", "CLoMAAllocator", logging, coreMetrics]),
        // The operations requests run: every wire <-> engine/store mapping.
        .target(name: "LoMAOperations", dependencies: ["LoMARuntime", "LoMAProtocol", "LoMATensorIO", "LoMAModel", "LoMAStore", "ZeroMQ", logging]),
        // The service kit: settings, clients file, logs, metrics, signals, and the composition of a daemon.
        .target(name: "LoMAService", dependencies: ["LoMARuntime", "LoMAOperations", "LoMAProtocol", "LoMAModel", "LoMAStore",
                                                   "LoMASharedTier", "Redis", "ZeroMQ", logging, coreMetrics, prometheus, "TOML"]),

        // clients
        .target(name: "LoMAClient", dependencies: ["ZeroMQ", "LoMAProtocol"]),

        // executables
        .executableTarget(name: "lomad", dependencies: ["LoMAService", "LoMARuntime", "LoMAModel", "LoMATensorIO", argumentParser]),
        // lomactl reads and writes KV safetensors files through LoMATensorIO, so it links no BLAS
        // (Tools/check-architecture.sh checks both with ldd).
        .executableTarget(name: "lomactl", dependencies: ["LoMAClient", "LoMAProtocol", "LoMATensorIO", "ZeroMQ", argumentParser]),

        // benchmarks (executables; run through Benchmarks/*/run.sh)
        .executableTarget(name: "transport-bench", dependencies: ["ZeroMQ"], path: "Benchmarks/transport/Sources"),
        .executableTarget(name: "store-bench", dependencies: ["LoMAClient", "LoMAProtocol"], path: "Benchmarks/store/Sources"),
        .executableTarget(name: "shared-tier-bench", dependencies: ["LoMAStore", "LoMASharedTier", "Redis"],
                          path: "Benchmarks/shared-tier/Sources"),
        .executableTarget(name: "loma-bench", dependencies: ["LoMAModel", "LoMATensorIO", "COpenBLAS"], path: "Benchmarks/engine/Sources"),

        // tests
        // `lomad serve` with a broker loop that stalls, armed through a package-internal seam, for
        // the watchdog and connection-limit tests; never installed.
        .executableTarget(name: "lomad-test-daemon", dependencies: ["LoMAService", logging], path: "Tests/LoMATestDaemon"),
        .target(name: "LoMATestSupport", dependencies: ["ZeroMQ", "LoMAModel", "LoMATensorIO"], path: "Tests/LoMATestSupport"),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "LoMATestSupport"]),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LoMATensorIOTests", dependencies: ["LoMATensorIO", "LoMATestSupport"]),
        .testTarget(name: "LoMAModelTests", dependencies: ["LoMAModel", "LoMATensorIO", "LoMATestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "LoMATestSupport"]),
        .testTarget(name: "LoMAStoreTests", dependencies: ["LoMAStore", "CLoMAChecksum", "CLMDB", "LoMATestSupport"]),
        .testTarget(name: "LoMAProtocolTests", dependencies: ["LoMAProtocol", "LoMATensorIO", "ZeroMQ", "LoMATestSupport"]),
        // One target per module, in-process against that module (the queue, backend framing,
        // settings, the clients file, the client's failure policy)...
        .testTarget(name: "LoMARuntimeTests", dependencies: ["LoMARuntime", "LoMAProtocol", "ZeroMQ", "LoMATestSupport"]),
        .testTarget(name: "LoMAOperationsTests", dependencies: ["LoMAOperations", "LoMARuntime", "LoMAProtocol", "LoMAStore", "ZeroMQ",
                                                             "LoMATestSupport"]),
        .testTarget(name: "LoMAServiceTests", dependencies: ["LoMAService", "LoMARuntime", "LoMAProtocol", "LoMAStore", "ZeroMQ",
                                                          "LoMATestSupport"]),
        .testTarget(name: "LoMAClientTests", dependencies: ["LoMAClient", "LoMAProtocol", "ZeroMQ", "LoMATestSupport"]),
        // ...and the tests that run real lomad (and lomactl) processes and talk to them over sockets.
        .testTarget(name: "LoMAEndToEndTests", dependencies: ["LoMAClient", "LoMAProtocol", "LoMATensorIO", "LoMAModel", "LoMARuntime", "LoMAService", "LoMAStore",
                                                            "ZeroMQ", "LoMATestSupport"]),
    ]
)

let cTargets: Set<String> = ["CLoMAKernels", "CLoMAChecksum", "CLoMAAllocator"]
for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + sharedSwiftSettings
}
