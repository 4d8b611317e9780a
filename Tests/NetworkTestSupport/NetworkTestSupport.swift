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

/// A child process of the built `privacy-lab` (next to the test bundle), its standard output and
/// errors collected in files of `folder`.
public final class ChildProcess {
    public static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("privacy-lab").path
    }

    public let process = Process()
    public let out: String, err: String

    public init(_ arguments: [String], in folder: String, name: String, environment: [String: String]? = nil,
                executable: String = ChildProcess.executable, wrapper: [String] = []) throws {
        out = "\(folder)/\(name).stdout"
        err = "\(folder)/\(name).stderr"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: wrapper[0])
            process.arguments = Array(wrapper.dropFirst()) + [executable] + arguments
        }
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
    }

    /// Waits up to `seconds`; kills the process if it is still running then.
    public func finish(within seconds: Double) -> (status: Int32, finished: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let finished = !process.isRunning
        if !finished { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, finished)
    }

    /// Waits up to `seconds` for `text` to appear in the standard error; false if it did not
    /// (or the process ended first).
    public func waitForError(_ text: String, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if errors.contains(text) { return true }
            if !process.isRunning { return errors.contains(text) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Kills the process (SIGKILL) if it still runs, and reaps it.
    public func killNow() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    public var errors: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }
    public var output: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
}

/// Two network namespaces joined by a veth pair, made (and removed) by the test: each party
/// runs in its own namespace, as on two hosts, and reaches the other only over the veth link.
/// Needs root (CAP_NET_ADMIN) and iproute2; without them the suite is skipped, saying why.
public final class NamespacePair {
    public let names: [String]
    public let addresses: [String]

    /// Runs `ip` (or `tc`) with `arguments`; returns its status and standard error.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(tool): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why namespaces cannot be made here, or nil when they can (a probe namespace is made and
    /// removed).
    public static let unavailableReason: String? = {
        guard let ip else { return "iproute2's ip is not installed (apt-get install -y iproute2)" }
        let probe = "plab-probe-\(getpid())"
        let made = run(ip, ["netns", "add", probe])
        guard made.status == 0 else { return "ip netns add failed (needs root / CAP_NET_ADMIN): \(made.errors)" }
        run(ip, ["netns", "del", probe])
        return nil
    }()

    /// Makes namespaces `plab-<label><pid>-a` and `-b` and a veth pair between them with
    /// 10.<subnet>.0.1/24 and 10.<subnet>.0.2/24 (suites that may run at once pass different
    /// labels and subnets). (Added latency is the benchmark's business, not a test's:
    /// `Benchmarks/mpc-network/compare.py`.)
    public init(label: String = "", subnet: Int = 77) throws {
        let tag = "\(label)\(getpid() % 100_000)"
        names = ["plab-\(tag)-a", "plab-\(tag)-b"]
        addresses = ["10.\(subnet).0.1", "10.\(subnet).0.2"]
        let ends = ["pl\(tag)a", "pl\(tag)b"]
        let ip = Self.ip!
        for n in names { Self.run(ip, ["netns", "del", n]) }  // leftovers of a killed run
        var steps: [(String, [String])] = [
            (ip, ["netns", "add", names[0]]), (ip, ["netns", "add", names[1]]),
            (ip, ["link", "add", ends[0], "type", "veth", "peer", "name", ends[1]]),
        ]
        for i in 0..<2 {
            steps += [
                (ip, ["link", "set", ends[i], "netns", names[i]]),
                (ip, ["-n", names[i], "addr", "add", "\(addresses[i])/24", "dev", ends[i]]),
                (ip, ["-n", names[i], "link", "set", ends[i], "up"]),
                (ip, ["-n", names[i], "link", "set", "lo", "up"]),
            ]
        }
        for (tool, arguments) in steps {
            let r = Self.run(tool, arguments)
            if r.status != 0 {
                remove()
                throw NamespaceError(message: "\(tool) \(arguments.joined(separator: " ")): \(r.errors)")
            }
        }
    }

    public struct NamespaceError: Error, CustomStringConvertible { public var message: String; public var description: String { message } }

    /// Removes both namespaces (the veth pair goes with them).
    public func remove() {
        for n in names { Self.run(Self.ip!, ["netns", "del", n]) }
    }

    deinit { remove() }
}

