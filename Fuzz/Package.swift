// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for lomad's untrusted-input parsers, in their own package (as
// apple/swift-protobuf's FuzzTesting/) so the sanitizer flags never reach the normal build.
// Build and run through Fuzz/run.sh; docs/fuzzing.md explains the targets and the corpus.
//
// Debug builds enable testing in every module, so the targets may `@testable import` parsers
// that are internal to lomad (the safetensors header parser, the wire-dtype conversions).

let package = Package(
    name: "lomad-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "lomad", path: ".."),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        // fuzz-request also imports ZeroMQ (to make `ZMQFrame`s), which lomad builds for
        // LoMAProtocol but does not offer as a product of its own.
        .executableTarget(
            name: "fuzz-request",
            dependencies: [
                "FuzzSupport",
                .product(name: "LoMAProtocol", package: "lomad"),
                .product(name: "LoMARuntime", package: "lomad"),
                .product(name: "LoMAOperations", package: "lomad"),
                .product(name: "LoMAStore", package: "lomad"),
                .product(name: "LoMAModel", package: "lomad"),
            ]),
        .executableTarget(
            name: "fuzz-safetensors",
            dependencies: ["FuzzSupport", .product(name: "LoMAModel", package: "lomad")]),
        .executableTarget(
            name: "fuzz-config",
            dependencies: [
                "FuzzSupport",
                .product(name: "LoMAModel", package: "lomad"),
                .product(name: "LoMAService", package: "lomad"),
            ]),
    ]
)

for target in package.targets where target.name != "CLibFuzzer" {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("ExistentialAny")]
}
