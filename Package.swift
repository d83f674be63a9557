// swift-tools-version: 6.2
// k8s-inference-sim: small Unix tools that simulate CPU-bound inference traffic.
import PackageDescription

// The per-record hot paths (decoding, aggregation, the load loop) touch class state
// once per record; Swift's dynamic exclusivity checks cost ~17% of infer-stats there.
// Release builds skip them; debug builds (and so the tests) keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

// Linux only, and so no `platforms:` claim: the tools are built for Linux containers and
// read Linux facts (cgroup CPU quotas, thread CPU clocks, Glibc).
let package = Package(
    name: "k8s-inference-sim",
    products: [
        .executable(name: "infer-serve", targets: ["infer-serve"]),
        .executable(name: "infer-load", targets: ["infer-load"]),
        .executable(name: "infer-stats", targets: ["infer-stats"]),
        .executable(name: "kube-wait", targets: ["kube-wait"]),
        .executable(name: "kube-watch", targets: ["kube-watch"]),
        .executable(name: "hpa-sim", targets: ["hpa-sim"]),
        .executable(name: "infer-sim", targets: ["infer-sim"]),
    ],
    dependencies: [
        // No traits: "FullFoundation" (URL-encoded forms) and "ConfigurationSupport" link
        // full Foundation, whose ICU data adds ~45 MB to every static binary.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // No traits: "SubprocessFoundation" links full Foundation.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        // Test-time certificates for kube-wait's HTTPS test API server.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // What every tool and library may use, with no dependencies: clocks, a seeded
        // random generator, line output, small files, durations, number formatting.
        .target(name: "Platform"),
        // jansson, reached only through JSON.
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .target(name: "JSON", dependencies: ["CJansson"], swiftSettings: hotPath),
        // The infer-load → infer-stats contract (infer-records(5)): Record, its encoder and
        // fast decoder, and the line reader.
        .target(name: "Records", dependencies: ["JSON"], swiftSettings: hotPath),
        .target(name: "InferModel", dependencies: ["Platform"]),
        // The HorizontalPodAutoscaler's rules (replica calculation, stabilization, rate
        // limits) for hpa-sim: pure functions and values, no I/O.
        .target(name: "Autoscaler"),
        // hpa-sim's model: load, pods, metrics-server and the HPA controller, second by second.
        .target(name: "HPASim", dependencies: ["Autoscaler", "Records", "JSON", "Platform"]),
        .target(name: "HPASimCLI", dependencies: [
            "HPASim", "Autoscaler", "LoadGen", "Records", "JSON", "Kube", "YAMLTree", "Stats", "ToolSupport", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The command runner, exit statuses, typed option values and the one way to hear signals.
        .target(name: "ToolSupport", dependencies: [
            "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "InferServer", dependencies: [
            "InferModel", "JSON", "Platform",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdHTTP2", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ]),
        .target(name: "LoadGen", dependencies: [
            "Records", "JSON", "Platform",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], swiftSettings: hotPath),
        .target(name: "InferLoadCLI", dependencies: [
            "LoadGen", "Records", "ToolSupport", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // libyaml, reached only through YAMLTree (Yams would link full Foundation, and so ICU).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(name: "YAMLTree", dependencies: ["CYAML"]),
        .target(name: "Kube", dependencies: [
            "Records", "JSON", "YAMLTree", "Platform",
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "KubeCLI", dependencies: [
            "Kube", "JSON", "ToolSupport", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "Stats", dependencies: [
            "Records", "JSON", "Platform",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], swiftSettings: hotPath),
        .target(name: "InferStatsCLI", dependencies: [
            "Stats", "Records", "ToolSupport", "Platform",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: hotPath),
        .target(name: "InferServeCLI", dependencies: [
            "InferServer", "ToolSupport", "Platform",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "infer-serve", dependencies: ["InferServeCLI"]),
        .executableTarget(name: "infer-load", dependencies: ["InferLoadCLI"]),
        .executableTarget(name: "infer-stats", dependencies: ["InferStatsCLI"]),
        .executableTarget(name: "kube-wait", dependencies: ["KubeCLI"]),
        .executableTarget(name: "kube-watch", dependencies: ["KubeCLI"]),
        .executableTarget(name: "hpa-sim", dependencies: ["HPASimCLI"]),
        // All four in one binary, chosen by the name it runs as: the container image ships
        // this and four links to it, so the Swift runtime and NIO are carried once, not four times.
        .executableTarget(name: "infer-sim", dependencies: ["InferServeCLI", "InferLoadCLI", "InferStatsCLI", "KubeCLI", "HPASimCLI", "ToolSupport", "Platform"]),
        // What the tests that spawn the tools share: running them as an ordinary user.
        .target(name: "TestSupport", dependencies: [
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "RecordsTests", dependencies: ["Records", "JSON"]),
        .testTarget(name: "InferModelTests", dependencies: ["InferModel", "Platform"]),
        .testTarget(name: "AutoscalerTests", dependencies: ["Autoscaler", "HPASim", "JSON", "Records", "Platform"], exclude: ["Fixtures"]),
        .testTarget(name: "YAMLTreeTests", dependencies: ["YAMLTree"]),
        .testTarget(name: "InferServerTests", dependencies: [
            "InferServer", "InferServeCLI", "InferModel", "JSON", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "KubeTests", dependencies: [
            "Kube", "HPASim", "YAMLTree", "JSON", "Platform", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "StatsTests", dependencies: ["Stats", "Records"]),
        .testTarget(name: "LoadGenTests", dependencies: [
            "LoadGen", "Records", "JSON", "Platform",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
        ]),
        // Runs the built executables (swift build first; bin/test does).
        .testTarget(name: "EndToEndTests", dependencies: [
            "TestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
    ]
)
