// swift-tools-version: 6.0
import PackageDescription

/// Settings every Swift target gets, in one place.
let commonSwiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

extension Target {
    /// Applies `commonSwiftSettings` to a Swift target.
    static func muster(
        _ name: String,
        dependencies: [Target.Dependency] = [],
        path: String? = nil,
        exclude: [String] = [],
        resources: [Resource]? = nil,
        kind: Kind = .regular
    ) -> Target {
        switch kind {
        case .regular:
            return .target(name: name, dependencies: dependencies, path: path, exclude: exclude,
                           resources: resources, swiftSettings: commonSwiftSettings)
        case .executable:
            return .executableTarget(name: name, dependencies: dependencies, path: path, exclude: exclude,
                                     resources: resources, swiftSettings: commonSwiftSettings)
        case .test:
            return .testTarget(name: name, dependencies: dependencies, path: path, exclude: exclude,
                               resources: resources, swiftSettings: commonSwiftSettings)
        }
    }

    enum Kind { case regular, executable, test }
}

let package = Package(
    name: "Muster",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "muster", targets: ["muster"]),
        .library(name: "MusterClient", targets: ["MusterClient"]),
        .library(name: "MusterStomp", targets: ["MusterStomp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "CLinuxSystem"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "CChecksum", dependencies: ["COpenSSL"]),
        .muster("MusterStomp"),
        .muster("MusterProtocol", dependencies: ["MusterStomp"]),
        .muster("MusterSchema"),
        .muster("MusterLocks"),
        .muster("MusterLog", dependencies: ["CChecksum", .product(name: "CoreMetrics", package: "swift-metrics")]),
        .muster("MusterNet", dependencies: ["CLinuxSystem", "COpenSSL", "MusterLocks"]),
        .muster("MusterBroker", dependencies: ["MusterStomp", "MusterProtocol", "MusterSchema", "MusterLocks"]),
        .muster("MusterWorkflow", dependencies: ["MusterBroker", "MusterProtocol", "MusterSchema", "MusterStomp"]),
        .muster("MusterServer", dependencies: [
            "MusterNet", "MusterStomp", "MusterProtocol", "MusterSchema", "MusterBroker", "MusterWorkflow", "MusterLog", "MusterFederation", "MusterWeb", "CLinuxSystem",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        .muster("MusterClient", dependencies: [
            "MusterNet", "MusterStomp", "MusterProtocol",
        ]),
        // Links between sovereign brokers: the rules (what is exported to and imported from each
        // peer), the import decisions (pure), and the link that imports over a STOMP client connection.
        .muster("MusterFederation", dependencies: [
            "MusterBroker", "MusterProtocol", "MusterStomp", "MusterClient", "MusterNet",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The metrics endpoint (and, to come, the coordinators' board): HTTP on Muster's own event loops.
        .muster("MusterWeb", dependencies: [
            "MusterNet", "MusterProtocol", "MusterWorkflow",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .muster("MusterBench", dependencies: [
            "MusterNet", "MusterStomp",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .muster("muster", dependencies: [
            "MusterServer", "MusterClient", "MusterNet", "MusterLog", "MusterBench",
            "MusterBroker", "MusterWorkflow", "MusterProtocol", "MusterSchema", "MusterStomp", "MusterFederation", "MusterWeb",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
        ], kind: .executable),
        .muster("MusterTestSupport", dependencies: ["MusterNet", "MusterClient", "MusterLog", "MusterStomp"]),
        .muster("MusterStompTests", dependencies: ["MusterStomp"], kind: .test),
        .muster("MusterLocksTests", dependencies: ["MusterLocks"], kind: .test),
        .muster("MusterProtocolTests", dependencies: ["MusterProtocol"], kind: .test),
        .muster("MusterLogTests", dependencies: ["MusterLog", "CChecksum", "MusterTestSupport"], kind: .test),
        .muster("MusterNetTests", dependencies: ["MusterNet", "MusterTestSupport", "COpenSSL"], kind: .test),
        .muster("MusterSchemaTests", dependencies: ["MusterSchema"], exclude: ["Differential"], kind: .test),
        .muster("MusterBrokerTests", dependencies: ["MusterBroker", "MusterProtocol", "MusterSchema", "MusterStomp", "MusterTestSupport"], kind: .test),
        .muster("MusterWorkflowTests", dependencies: ["MusterWorkflow", "MusterBroker", "MusterProtocol", "MusterSchema", "MusterStomp", "MusterTestSupport"], kind: .test),
        .muster("MusterFederationTests", dependencies: ["MusterFederation", "MusterBroker", "MusterProtocol", "MusterStomp"], kind: .test),
        .muster("MusterBenchTests", dependencies: ["MusterBench", "MusterNet", "MusterStomp"], kind: .test),
        .muster("MusterServerTests", dependencies: [
            "MusterServer", "MusterBroker", "MusterWorkflow", "MusterProtocol", "MusterSchema", "MusterStomp", "MusterLog", "MusterTestSupport",
            "MusterFederation", .product(name: "Logging", package: "swift-log"),
        ], kind: .test),
        .muster("MusterClientTests", dependencies: ["MusterClient", "MusterNet", "MusterStomp", "MusterTestSupport"], kind: .test),
        .muster("MusterWebTests", dependencies: ["MusterWeb", "MusterWorkflow", "MusterNet"], kind: .test),
        .muster("EndToEndTests", dependencies: [
            "MusterClient", "MusterStomp", "MusterProtocol", "MusterNet", "MusterLog", "MusterBroker", "MusterWorkflow", "MusterServer",
            "MusterTestSupport", "muster",
        ], exclude: ["Interop"], kind: .test),

        // libFuzzer targets, built and run by Fuzz/run (README.md, Fuzzing). An ordinary build
        // gives each a main that replays the input files it is given.
        .muster("FuzzSupport", path: "Fuzz/FuzzSupport"),
        .muster("FrameDecoderFuzz", dependencies: ["FuzzSupport", "MusterStomp"], path: "Fuzz/FrameDecoderFuzz", kind: .executable),
        .muster("JSONParserFuzz", dependencies: ["FuzzSupport", "MusterSchema"], path: "Fuzz/JSONParserFuzz", kind: .executable),
        .muster("JSONSchemaFuzz", dependencies: ["FuzzSupport", "MusterSchema"], path: "Fuzz/JSONSchemaFuzz", kind: .executable),
        .muster("LogRecordFuzz", dependencies: ["FuzzSupport", "MusterLog", "CChecksum"], path: "Fuzz/LogRecordFuzz", kind: .executable),
        .muster("ConfigurationFuzz", dependencies: ["FuzzSupport", "MusterServer", "MusterStomp"], path: "Fuzz/ConfigurationFuzz",
                kind: .executable),
    ]
)
