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

/// A raw HTTP exchange over a loopback TCP socket: the bytes given are sent as they are (so
/// malformed requests can be), and everything the server sends until it closes is returned.
/// Receiving gives up after 30 s without data, so a server that hangs fails the test.
public func exchange(port: Int, _ request: [UInt8], address: String = "127.0.0.1") throws -> (status: Int?, head: String, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let host = address
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr(host)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // The server may close before reading everything (an oversized request).
        sent += n
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += buffer[..<n]
    }
    let text = String(decoding: received, as: UTF8.self)
    let parts = text.components(separatedBy: "\r\n\r\n")
    let head = parts.first ?? ""
    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    return (status, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// `GET target` with `Connection: close` and the given Host.
public func get(port: Int, _ target: String, host: String? = nil, method: String = "GET", extra: String = "") throws -> (status: Int?, head: String, body: String) {
    try exchange(port: port, Array("\(method) \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n\(extra)\r\n".utf8))
}

/// Runs blocking work (the socket calls above) on a thread of its own: the in-process server
/// answers on the cooperative pool, which is as wide as the machine has cores, and tests
/// blocking its threads in `recv` would leave none to answer them.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
