// Helpers shared by the tests of Transport and MPCNetwork: a temporary folder with TLS
// credentials, free local ports, and a background thread's result.
import Foundation
import Transport

/// A temporary folder, removed when the value is released.
public final class Workspace {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "mpcnet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Credentials of `name` from the certificates in `folder` (relative to this workspace).
    public func credentials(_ name: String, folder: String = "certs") throws -> TLSCredentials {
        try TLSCredentials(
            certificateFile: "\(path)/\(folder)/\(name).pem", privateKeyFile: "\(path)/\(folder)/\(name)-key.pem",
            caFile: "\(path)/\(folder)/ca.pem")
    }
}

/// Free TCP ports on 127.0.0.1 (bound to port 0, read back, released).
public func freePorts(_ count: Int) -> [Int] {
    var sockets: [Int32] = []
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                _ = bind(fd, p, length)
                _ = getsockname(fd, p, &length)
            }
        }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
        sockets.append(fd)
    }
    for fd in sockets { close(fd) }
    return ports
}

/// The result of a background thread.
final class BackgroundResult<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}

/// Runs `body` on a new thread; the returned function waits for its result.
public func background<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> () throws -> T {
    let box = BackgroundResult<T>()
    Thread {
        box.result = Result { try body() }
        box.done.signal()
    }.start()
    return {
        box.done.wait()
        return try box.result!.get()
    }
}
