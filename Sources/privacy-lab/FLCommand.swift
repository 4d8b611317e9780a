import ArgumentParser
import Foundation
import PrivacyLab
#if canImport(Glibc)
import Glibc
#endif

/// `privacy-lab fl`: federated learning deployed over mutually authenticated TLS.
struct FLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fl",
        abstract: "Federated learning between processes: a server and its clients over mutual TLS 1.3.",
        subcommands: [Certs.self, Server.self, Client.self, Simulate.self])

    /// `privacy-lab fl certs --clients N --out DIR`.
    struct Certs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a development CA, the server's certificate and one per client (client-0, client-1, …); development only: the CA key is written too.")

        @Option(help: "Number of clients (1…100000).")
        var clients: Int

        @Option(help: "The server's name (its certificate's identity).")
        var server = "server"

        @Option(help: "Folder to write ca.pem, ca-key.pem, <name>.pem and <name>-key.pem into.")
        var out: String

        func validate() throws {
            guard (1...100_000).contains(clients) else { throw ValidationError("--clients must lie in 1…100000, got \(clients)") }
        }

        func run() throws {
            let names = [server] + (0..<clients).map(FederatedDeployment.clientID)
            try DevelopmentCertificates.write(names: names, to: out)
            print("\(out)/ca.pem  (CA certificate; its key ca-key.pem is for development only)")
            print("\(out)/\(server).pem, \(out)/client-<k>.pem for k in 0…\(clients - 1), each with its -key.pem")
        }
    }

    /// A deployed node's allocator policy: buffers of 1 MiB or more (a node's examples, the
    /// evaluation's activations, inflated file pieces) are mapped on their own and returned to
    /// the system when freed. glibc's default raises that threshold to the largest buffer freed
    /// so far, after which such buffers come from the heap and its freed pages stay resident
    /// for the rest of the run. Small buffers (mini-batches, messages) are unaffected; no value
    /// computed changes.
    static func returnLargeBuffersToTheSystem() {
        #if canImport(Glibc)
        // mallopt(M_MMAP_THRESHOLD, …) from <malloc.h>, which the Glibc module does not
        // export: looked up in the C library by name (M_MMAP_THRESHOLD is -3 there).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 1 << 20)
        #endif
    }

    /// Options every role shares.
    struct Common: ParsableArguments {
        @Argument(help: "The run's YAML spec (a federated spec with a deployment: section), the same file at every node.")
        var spec: String

        @OptionGroup var location: DataCommand.Location

        @Option(name: .customLong("set"), help: "Override a spec key (key=value); every node must be given the same.")
        var overrides: [String] = []

        func load() throws -> FederatedDeploymentSpec {
            try FederatedDeploymentSpec.load(spec, overrides: overrides)
        }
    }

    /// `privacy-lab fl server SPEC`.
    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the server: sample, relay secure aggregation, aggregate, evaluate; resumes from its state file after a restart.")

        @OptionGroup var common: Common

        @Flag(help: "Print the outcome as JSON on standard output.")
        var json = false

        @Option(help: .hidden)
        var testPauseAfterRound: Int?

        func run() async throws {
            FLCommand.returnLargeBuffersToTheSystem()
            let spec = try common.load()
            let pauseRound = testPauseAfterRound.map { $0 - 1 }
            let outcome = try await spec.runServer(dataDirectory: common.location.resolve().url, log: { line in
                FileHandle.standardError.write(Data("server: \(line)\n".utf8))
            }, afterRound: { round in
                // For tests: stop here, with the round's state written, until killed.
                guard round == pauseRound else { return }
                FileHandle.standardError.write(Data("server: paused after round \(round + 1)\n".utf8))
                while true { sleep(3600) }
            })
            report(outcome, json: json)
        }
    }

    /// `privacy-lab fl client SPEC --client K`.
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run client K: train on its part of the data each round the server asks.")

        @OptionGroup var common: Common

        @Option(help: "The client's index k (its certificate names it client-k).")
        var client: Int

        /// For tests of the server: KIND:ROUND with KIND pause-after-shares, malformed, oversized,
        /// wrong-shape or silent.
        @Option(help: .hidden)
        var testFault: String?

        func fault() throws -> FederatedClient.Fault? {
            guard let testFault else { return nil }
            let parts = testFault.split(separator: ":")
            guard parts.count == 2, let round = Int(parts[1]), round >= 1 else { throw ValidationError("--test-fault: KIND:ROUND") }
            switch parts[0] {
            case "pause-after-shares": return .pauseAfterShares(round: round - 1)
            case "malformed": return .malformed(round: round - 1)
            case "oversized": return .oversized(round: round - 1)
            case "wrong-shape": return .wrongShape(round: round - 1)
            case "silent": return .silent(round: round - 1)
            default: throw ValidationError("--test-fault: unknown kind \(parts[0])")
            }
        }

        func run() async throws {
            FLCommand.returnLargeBuffersToTheSystem()
            let spec = try common.load()
            let k = client
            try await spec.runClient(
                k, dataDirectory: common.location.resolve().url,
                fault: try fault(),
                pause: {
                    // For tests: stop here until killed.
                    FileHandle.standardError.write(Data("client-\(k): paused\n".utf8))
                    while true { sleep(3600) }
                },
                log: { line in FileHandle.standardError.write(Data("\(line)\n".utf8)) })
        }
    }

    /// `privacy-lab fl simulate SPEC [--dropouts ROUND:CLIENT,…]`.
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate the same spec in this process (the reference a deployed run matches), optionally told dropouts.")

        @OptionGroup var common: Common

        @Option(help: "Dropouts to replay: comma-separated ROUND:CLIENT pairs (rounds from 1).")
        var dropouts: String?

        @Flag(help: "Print the outcome as JSON on standard output.")
        var json = false

        func run() async throws {
            let spec = try common.load()
            var forced: [Int: Set<Int>] = [:]
            for pair in (dropouts ?? "").split(separator: ",") {
                let parts = pair.split(separator: ":")
                guard parts.count == 2, let r = Int(parts[0]), let k = Int(parts[1]), r >= 1, k >= 0 else {
                    throw ValidationError("--dropouts: '\(pair)' is not ROUND:CLIENT with ROUND ≥ 1")
                }
                forced[r - 1, default: []].insert(k)
            }
            report(try await spec.simulate(dataDirectory: common.location.resolve().url, forcedDropouts: forced), json: json)
        }
    }

    static func report(_ outcome: FederatedDeploymentSpec.Outcome, json: Bool) {
        let h = outcome.history
        if json {
            let rounds: [[String: Any]] = h.rounds.map { r in
                var o: [String: Any] = ["round": r.round + 1, "sampled": r.sampled,
                                        "failures": r.failures.map { ["client": $0.client, "reason": $0.reason.rawValue] }]
                if let a = r.accuracy { o["accuracy"] = a }
                if let c = r.secureCost {
                    o["secagg_client_bytes_sent"] = c.clientBytesSent
                    o["secagg_server_seconds"] = c.serverSeconds
                }
                if let d = outcome.aggregates[r.round] { o["aggregate_sha256"] = d }
                return o
            }
            printJSON(["parameters_sha256": outcome.parametersSHA256, "rounds": rounds, "final_accuracy": h.finalAccuracy ?? NSNull()])
        } else {
            print("final accuracy: \(h.finalAccuracy.map { String(format: "%.4f", $0) } ?? "not evaluated")")
            print("failures: \(h.rounds.reduce(0) { $0 + $1.failures.count })")
            print("parameters sha256: \(outcome.parametersSHA256)")
        }
    }
}

extension FLCommand.Server { func report(_ o: FederatedDeploymentSpec.Outcome, json: Bool) { FLCommand.report(o, json: json) } }
extension FLCommand.Simulate { func report(_ o: FederatedDeploymentSpec.Outcome, json: Bool) { FLCommand.report(o, json: json) } }
