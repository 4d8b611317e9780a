// swift-tools-version: 6.1
// PrivacyLab's fuzz targets: one libFuzzer executable per reader of outside bytes (see README.md).
//
// A nested package, so the main package carries no fuzzer flags. The fuzz targets are compiled
// with `-sanitize=fuzzer,address`; each defines `LLVMFuzzerTestOneInput` with `@_cdecl` and its
// `main.swift` hands that function to libFuzzer's driver (`runFuzzer`). The Swift code they
// call, PrivacyLab's targets and their dependencies, is compiled by `run.sh` with the same
// instrumentation that `-sanitize=fuzzer` implies (`-sanitize=address` and
// `-sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table`, given with `-Xswiftc`).
// Why not `-sanitize=fuzzer` at link time or SwiftPM's `--sanitize=fuzzer`: both force libFuzzer's
// `main` into every executable, which clashes with the `main` SwiftPM gives executables (and
// with the build tool behind PrivacyLab's code-fingerprint plugin); so the targets link
// `libclang_rt.fuzzer_no_main` from the toolchain instead.
import Foundation
import PackageDescription

/// The fuzz targets, one folder each under Sources/.
let fuzzTargets = [
    "fuzz-spec", "fuzz-set", "fuzz-idx", "fuzz-pgm", "fuzz-csv", "fuzz-npy", "fuzz-safetensors", "fuzz-phe",
    "fuzz-notebook", "fuzz-http", "fuzz-serve",
]

/// libFuzzer without its `main`, from the toolchain that runs this manifest (found beside the
/// `swiftc` on PATH: `<usr>/lib/clang/<version>/lib/linux/`).
let fuzzerNoMain: String = {
    let fm = FileManager.default
    for folder in (Context.environment["PATH"] ?? "").split(separator: ":") {
        let swiftc = URL(fileURLWithPath: String(folder)).appendingPathComponent("swiftc")
        guard fm.fileExists(atPath: swiftc.path) else { continue }
        let usr = swiftc.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        let clang = usr.appendingPathComponent("lib/clang")
        for version in (try? fm.contentsOfDirectory(atPath: clang.path)) ?? [] {
            let archive = clang.appendingPathComponent("\(version)/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a")
            if fm.fileExists(atPath: archive.path) { return archive.path }
        }
    }
    return "libclang_rt.fuzzer_no_main-x86_64.a"
}()

/// A path dependency's identity is the name of its folder (the clone's, which varies).
let parentIdentity = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "PrivacyLabFuzzing",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], path: "Sources/FuzzSupport"),
    ] + fuzzTargets.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "PrivacyLab", package: parentIdentity)],
            path: "Sources/\(name)",
            swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])],
            linkerSettings: [.unsafeFlags(["-sanitize=address", "-Xlinker", "--whole-archive", "-Xlinker", fuzzerNoMain,
                                           "-Xlinker", "--no-whole-archive", "-lstdc++"])])
    }
)
