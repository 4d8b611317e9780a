import Foundation
import NetworkTestSupport
import MPCNetwork
import Testing

/// Two network namespaces joined by a veth pair, made (and removed) by the test: each party
/// runs in its own namespace, as on two hosts, and reaches the other only over the veth link.
/// Needs root (CAP_NET_ADMIN) and iproute2; without them the suite is skipped, saying why.
final class NamespacePair {
    let names: [String]
    let addresses = ["10.77.0.1", "10.77.0.2"]

    /// Runs `ip` (or `tc`) with `arguments`; returns its status and standard error.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> (status: Int32, errors: String) {
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

    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why namespaces cannot be made here, or nil when they can (a probe namespace is made and
    /// removed).
    static let unavailableReason: String? = {
        guard let ip else { return "iproute2's ip is not installed (apt-get install -y iproute2)" }
        let probe = "plab-probe-\(getpid())"
        let made = run(ip, ["netns", "add", probe])
        guard made.status == 0 else { return "ip netns add failed (needs root / CAP_NET_ADMIN): \(made.errors)" }
        run(ip, ["netns", "del", probe])
        return nil
    }()

    /// Makes namespaces `plab-<pid>-a` and `-b` and a veth pair between them with 10.77.0.1/24
    /// and 10.77.0.2/24. (Added latency is the benchmark's business, not a test's:
    /// `Benchmarks/mpc-network/compare.py`.)
    init() throws {
        let tag = "\(getpid() % 100_000)"
        names = ["plab-\(tag)-a", "plab-\(tag)-b"]
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

    struct NamespaceError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// Removes both namespaces (the veth pair goes with them).
    func remove() {
        for n in names { Self.run(Self.ip!, ["netns", "del", n]) }
    }

    deinit { remove() }
}

@Suite("MPC parties in two network namespaces over a veth pair", .serialized,
       .enabled(if: NamespacePair.unavailableReason == nil,
                Comment(rawValue: "network namespaces unavailable: \(NamespacePair.unavailableReason ?? "")")))
struct NamespaceTests {
    @Test("logistic regression between two namespaces over a veth pair: bit for bit the in-process result")
    func twoHosts() throws {
        let w = try Workspace()
        let pair = try NamespacePair()
        defer { pair.remove() }
        let (status, _, errors) = try ProcessTests.run(["mpc", "certs", "--names", "alice,bob", "--out", w.path + "/certs"])
        #expect(status == 0, "\(errors)")
        let data = ProcessTests.table(rows: 40, features: 3, seed: 12)
        try w.write("alice.csv", ProcessTests.split(data, rows: 0..<20))
        try w.write("bob.csv", ProcessTests.split(data, rows: 20..<40))
        let path = try w.write("spec.yaml", """
            version: 1
            ca: certs/ca.pem
            parties:
              - {id: alice, address: "\(pair.addresses[0]):7101", certificate: certs/alice.pem, key: certs/alice-key.pem, input: alice.csv}
              - {id: bob, address: "\(pair.addresses[1]):7102", certificate: certs/bob.pem, key: certs/bob-key.pem, input: bob.csv}
            task: {kind: logistic-regression, split: rows, label: label, epochs: 1, batch-size: 10}
            output: [alice, bob]
            correlations: {source: insecure-shared-seed, seed: 3}
            insecure-mask-seed: 11
            limits: {connect-timeout: 20, receive-timeout: 20}

            """)
        let children = try ["alice", "bob"].enumerated().map { i, id in
            try ProcessTests.Child(["netns", "exec", pair.names[i], ProcessTests.executable, "mpc", "run", path, "--party", id],
                                   in: w.path, name: id, executable: NamespacePair.ip!)
        }
        let results = children.map { $0.finish(within: 25) }
        for (c, r) in zip(children, results) { #expect(r.status == 0 && r.finished, "\(c.errors)") }
        let expected = try MPCNetworkRun.runInProcess(spec: MPCSpec.load(path))
        for (i, c) in children.enumerated() {
            #expect(try InputTable.parse(c.output, file: "out").values == expected[i].output)
        }
    }
}
