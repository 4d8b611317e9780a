// swift-tools-version: 6.1
// PrivacyLab's fuzz targets: one libFuzzer executable per reader of outside bytes (see README.md).
//
// A nested package, so the main package carries no fuzzer flags. The instrumentation
// (`-sanitize=fuzzer,address`) is applied to the whole build graph, PrivacyLab's targets
// included, by `run.sh`, which passes `--sanitize=fuzzer --sanitize=address` to `swift build`.
// Each target defines `LLVMFuzzerTestOneInput` with `@_cdecl` and takes its `main` from
// libFuzzer (`-parse-as-library`: no top-level code, no `main` of its own).
import Foundation
import PackageDescription

/// The fuzz targets, one folder each under Sources/.
let fuzzTargets = [
    "fuzz-spec", "fuzz-set", "fuzz-idx", "fuzz-pgm", "fuzz-csv", "fuzz-npy", "fuzz-safetensors", "fuzz-phe",
    "fuzz-notebook",
]

/// A path dependency's identity is the name of its folder (the clone's, which varies).
let parentIdentity = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "PrivacyLabFuzzing",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
    ] + fuzzTargets.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "PrivacyLab", package: parentIdentity)],
            path: "Sources/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
