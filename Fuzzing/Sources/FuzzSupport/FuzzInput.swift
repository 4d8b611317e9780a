// Helpers shared by the fuzz targets: the input as bytes, split into the parts a target needs.

/// The bytes libFuzzer hands a target, with small helpers for splitting them.
public struct FuzzInput {
    public var bytes: [UInt8]

    /// Copies libFuzzer's buffer (`data` may be null when `size` is 0).
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    /// Removes and returns the first byte (0 when there is none): a target's mode or option.
    public mutating func takeByte() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes.removeFirst()
        return first
    }

    /// Removes and returns the first `n` bytes (fewer when the input is shorter).
    public mutating func take(_ n: Int) -> [UInt8] {
        let k = min(max(n, 0), bytes.count)
        defer { bytes.removeFirst(k) }
        return Array(bytes.prefix(k))
    }

    /// Removes and returns a prefix whose length is given by the next two bytes (little-endian).
    public mutating func takeLengthPrefixed() -> [UInt8] {
        let low = Int(takeByte()), high = Int(takeByte())
        return take(low | high << 8)
    }

    /// The remaining bytes as text (invalid UTF-8 replaced, as a file read as text would be).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The remaining bytes split at `separator` into at most `limit` parts.
    public func split(_ separator: UInt8, limit: Int) -> [[UInt8]] {
        bytes.split(separator: separator, maxSplits: limit - 1, omittingEmptySubsequences: false).map(Array.init)
    }
}

import CFuzzerDriver
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer on `target` with the process's arguments and exits with its status. Each fuzz
/// target's `main.swift` calls this: SwiftPM gives an executable a `main` of its own, so the
/// targets link libFuzzer without its `main` (`libclang_rt.fuzzer_no_main`).
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}
