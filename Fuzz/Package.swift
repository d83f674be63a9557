// swift-tools-version: 6.2
// A coverage-guided libFuzzer target for RecordDecoder, for runs longer than the seeded
// differential test bin/test runs (Tests/RecordsTests/RecordDecoderFuzzTests.swift).
// The decoder's sources are linked in (Sources/ here are links to the package's own), so
// this package resolves nothing. Build and run it with bin/fuzz.
import PackageDescription

let package = Package(
    name: "k8s-inference-sim-fuzz",
    platforms: [.macOS(.v14)],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .target(name: "JSON", dependencies: ["CJansson"]),
        .target(name: "Records", dependencies: ["JSON"]),
        .target(name: "CFuzzer"),
        .executableTarget(name: "record-decoder-fuzzer", dependencies: ["Records", "CFuzzer"]),
    ]
)
