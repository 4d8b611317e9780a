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
