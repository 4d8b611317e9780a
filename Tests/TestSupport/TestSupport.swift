import Foundation
import Tensors

// Helpers shared by PrivacyLab's test targets (a library target of the package, in no product).

/// A fresh, empty folder under the system's temporary folder, named `<prefix>-<UUID>`; the caller
/// removes it (`defer { try? FileManager.default.removeItem(at: folder) }`).
public func makeTemporaryFolder(prefix: String = "privacylab") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The IEEE bit patterns of every element of every tensor: equal exactly when the tensors are
/// bit-identical (unlike `==` on values, it tells −0 from +0 and compares NaNs).
public func bitPatterns(_ tensors: [Tensor]) -> [[UInt32]] {
    tensors.map { $0.scalars.map(\.bitPattern) }
}

/// A value shared between threads, read and changed under a lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` on the value while holding the lock.
    @discardableResult
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A Python with SciPy and NumPy named by PRIVACY_LAB_PYTHON, when there is one: tests compare
/// statistics with SciPy's and skip, saying so, without it.
public enum SciPy {
    public static let python: String? = {
        guard let path = ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"], !path.isEmpty else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: path)
        probe.arguments = ["-c", "import scipy.stats, numpy"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? path : nil
    }()

    public struct ScriptFailed: Error, CustomStringConvertible {
        public var status: Int32
        public var description: String { "the Python script exited with status \(status)" }
    }

    /// Runs `script` with `input` on its standard input; returns its standard output's numbers.
    /// - Throws: `ScriptFailed` when the script exits with a status other than 0.
    public static func run(_ script: String, input: String) throws -> [Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ScriptFailed(status: process.terminationStatus) }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
    }
}
