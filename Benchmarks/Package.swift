// swift-tools-version: 6.1
// PrivacyLab's benchmark executables: side-by-side comparisons with peer tools (see README.md).
//
// A nested package, so that building or testing PrivacyLab never builds (or links) them, and
// PrivacyLab's own manifest carries only the library and its command-line tool. Build one with
//
//     swift build --package-path Benchmarks -c release --product privacy-lab-bench
//
// from the repository's root; the executables land in Benchmarks/.build/release/. Each imports
// the `PrivacyLab` umbrella, which re-exports every library module.
import Foundation
import PackageDescription

#if !os(Linux)
#error("PrivacyLab builds on Linux only (see ../README.md, Two commands)")
#endif

/// A path dependency's identity is the name of its folder (the clone's, which varies).
let parentIdentity = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

/// Each benchmark executable and its folder.
let benchmarks: [(name: String, path: String)] = [
    ("privacy-lab-bench", "Sources/privacy-lab-bench"),
    ("privacy-lab-data-bench", "datasets/Sources/privacy-lab-data-bench"),
    ("privacy-lab-inversion-bench", "inversion/Sources/privacy-lab-inversion-bench"),
    ("privacy-lab-fed-bench", "federated/Sources/privacy-lab-fed-bench"),
    ("privacy-lab-evasion-bench", "evasion/Sources/privacy-lab-evasion-bench"),
    ("privacy-lab-backdoor-bench", "backdoor/Sources/privacy-lab-backdoor-bench"),
    ("privacy-lab-drift-bench", "drift/Sources/privacy-lab-drift-bench"),
    ("privacy-lab-blackbox-bench", "blackbox-evasion/Sources/privacy-lab-blackbox-bench"),
]

let package = Package(
    name: "PrivacyLabBenchmarks",
    dependencies: [.package(path: "..")],
    targets: benchmarks.map { bench in
        .executableTarget(
            name: bench.name,
            dependencies: [.product(name: "PrivacyLab", package: parentIdentity)],
            path: bench.path)
    }
)
