import Datasets
import ExperimentKinds
import ExperimentRunning
import Federated
import FederatedNetwork
import Foundation
import LabRandom
import NetworkTestSupport
import Testing

/// A deployed federated run: the server and every client as real processes of the built
/// `privacy-lab` on 127.0.0.1 (or in network namespaces), compared with the simulation of the
/// same spec in this process.
final class Deployment {
    let w: Workspace
    var children: [ChildProcess] = []

    init(clients: Int) throws {
        w = try Workspace()
        let certs = try ChildProcess(["fl", "certs", "--clients", "\(clients)", "--out", w.path + "/certs"], in: w.path, name: "certs")
        let (status, _) = certs.finish(within: 60)
        guard status == 0 else { throw FederatedNetworkError("fl certs failed: \(certs.errors)") }
    }

    deinit { for c in children { c.killNow() } }

    /// Writes a spec: synthetic data, a small MLP, `clients` clients, `rounds` rounds, and
    /// `extra` YAML lines (strategy, secure aggregation, threat, dp).
    func spec(clients: Int, rounds: Int, perRound: String? = nil, extra: String = "", host: String = "127.0.0.1", receiveTimeout: Double = 20,
              state: Bool = false, name: String = "spec.yaml", data: String? = nil, maxFrame: Int = 65536) throws -> String {
        let port = freePorts(1)[0]
        var text = """
        version: 1
        name: fl-test
        kind: federated
        seed: 5
        data: \(data ?? "{dataset: synthetic-gaussian, samples: \(60 * clients), features: 10, classes: 3, separation: 3}")
        model: {architecture: mlp, hidden: [8]}
        federation: {clients: \(clients), \(perRound ?? "clients_per_round: \(clients)"), rounds: \(rounds)}
        local: {epochs: 1, batch_size: 16, learning_rate: 0.1}

        """
        text += extra + "\n"
        text += """
        deployment:
          ca: certs/ca.pem
          server: {address: "\(host):\(port)", certificate: certs/server.pem, key: certs/server-key.pem}
          clients: {certificates: certs}
          limits: {connect_timeout: 20, receive_timeout: \(receiveTimeout), idle_timeout: 60, max_frame_bytes: \(maxFrame)}

        """
        if state { text += "  state: state.json\n" }
        return try w.write(name, text)
    }

    /// Starts a child (killed when this deployment is released).
    @discardableResult
    func start(_ arguments: [String], name: String, wrapper: [String] = []) throws -> ChildProcess {
        let child = try ChildProcess(arguments, in: w.path, name: name, wrapper: wrapper)
        children.append(child)
        return child
    }

    /// The server's JSON outcome.
    static func outcome(_ child: ChildProcess) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(child.output.utf8)) as? [String: Any] else {
            throw FederatedNetworkError("no JSON outcome; server said: \(child.errors)")
        }
        return object
    }

    static func failures(_ outcome: [String: Any]) -> [Int: Set<Int>] {
        var forced: [Int: Set<Int>] = [:]
        for r in outcome["rounds"] as? [[String: Any]] ?? [] {
            let round = (r["round"] as! Int) - 1
            for f in r["failures"] as? [[String: Any]] ?? [] { forced[round, default: []].insert(f["client"] as! Int) }
        }
        return forced
    }

    static func aggregates(_ outcome: [String: Any]) -> [Int: String] {
        var out: [Int: String] = [:]
        for r in outcome["rounds"] as? [[String: Any]] ?? [] {
            if let d = r["aggregate_sha256"] as? String { out[(r["round"] as! Int) - 1] = d }
        }
        return out
    }

    /// The simulation of the spec at `path` (with `overrides`) told `dropouts`.
    func simulate(_ path: String, overrides: [String] = [], dropouts: [Int: Set<Int>] = [:], data: URL? = nil) async throws -> FederatedDeploymentSpec.Outcome {
        try await FederatedDeploymentSpec.load(path, overrides: overrides)
            .simulate(dataDirectory: data ?? URL(fileURLWithPath: w.path), forcedDropouts: dropouts)
    }

    /// Runs the server and `clients` clients to the end (each with its extra arguments).
    func runAll(_ path: String, clients: Int, serverArguments: [String] = [], clientArguments: [Int: [String]] = [:],
                wrapper: (server: [String], client: [String]) = ([], [])) throws -> ChildProcess {
        let server = try start(["fl", "server", path, "--json"] + serverArguments, name: "server", wrapper: wrapper.server)
        for k in 0..<clients {
            try start(["fl", "client", path, "--client", "\(k)"] + (clientArguments[k] ?? []), name: "client-\(k)", wrapper: wrapper.client)
        }
        return server
    }
}

/// The reference data folder from `PRIVACY_LAB_DATA` (nil skips the MNIST deployments).
let referenceData: URL? = ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }

@Suite("Federated learning deployed (processes)", .serialized)
struct DeploymentTests {
    @Test("no dropouts: the deployed run ends with the simulation's model bit for bit, and its aggregates",
          arguments: [
              "secure_aggregation: {protocol: masking}",
              "strategy: {name: dp-fedavg}\nsecure_aggregation: {protocol: masking}\ndp: {clip_norm: 1, noise_multiplier: 0.5, noise: insecure-reproducible}",
              "strategy: {name: krum, byzantine: 1}\nthreat: {attack: sign-flip, fraction: 0.25}",
              "strategy: {name: fedadam}\nsecure_aggregation: {protocol: fixed-point}\nthreat: {attack: backdoor, fraction: 0.25, target: 1}",
          ])
    func matchesSimulation(extra: String) async throws {
        let d = try Deployment(clients: 4)
        let perRound = extra.contains("dp-fedavg") ? "sampling_rate: 0.75" : nil
        let path = try d.spec(clients: 4, rounds: 3, perRound: perRound, extra: extra)
        let server = try d.runAll(path, clients: 4)
        let (status, finished) = server.finish(within: 60)
        #expect(finished && status == 0, "\(server.errors)")
        let deployed = try Deployment.outcome(server)
        let simulated = try await d.simulate(path)
        #expect(deployed["parameters_sha256"] as? String == simulated.parametersSHA256)
        #expect(Deployment.aggregates(deployed) == simulated.aggregates)
        #expect(Deployment.failures(deployed).isEmpty)
        for k in 0..<4 { #expect(d.children[1 + k].finish(within: 10).status == 0, "client \(k): \(d.children[1 + k].errors)") }
    }

    @Test("MNIST, each node reading only its rows: the deployed run ends with the simulation's model bit for bit",
          .enabled(if: referenceData != nil, "PRIVACY_LAB_DATA is not set: the MNIST deployment needs ../shared/data"),
          arguments: ["secure_aggregation: {protocol: masking}", "strategy: {name: median}\nthreat: {attack: label-flip, fraction: 0.34}"])
    func mnistMatchesSimulation(extra: String) async throws {
        let d = try Deployment(clients: 3)
        let path = try d.spec(clients: 3, rounds: 2, extra: extra, data: "{dataset: mnist, limit: 900, test_limit: 300}",
                              maxFrame: 1 << 20)
        let server = try d.runAll(path, clients: 3)
        let (status, finished) = server.finish(within: 120)
        #expect(finished && status == 0, "\(server.errors)")
        let deployed = try Deployment.outcome(server)
        #expect(Deployment.failures(deployed).isEmpty)
        let simulated = try await d.simulate(path, data: referenceData!)
        #expect(deployed["parameters_sha256"] as? String == simulated.parametersSHA256)
        // (Through JSON text the accuracy may come back one ulp off; the model's digest is exact.)
        #expect(abs((deployed["final_accuracy"] as? Double ?? -1) - (simulated.history.finalAccuracy ?? -2)) < 1e-12)
        for k in 0..<3 { #expect(d.children[1 + k].finish(within: 10).status == 0, "client \(k): \(d.children[1 + k].errors)") }
    }

    @Test("a deployed client holds only its own examples, the server none: each the simulation's rows bit for bit",
          .enabled(if: referenceData != nil, "PRIVACY_LAB_DATA is not set: the MNIST deployment needs ../shared/data"))
    func nodesHoldOnlyTheirRows() async throws {
        let d = try Deployment(clients: 4)
        let path = try d.spec(clients: 4, rounds: 1, data: "{dataset: mnist, limit: 2000, test_limit: 500}")
        let spec = try FederatedDeploymentSpec.load(path, overrides: ["federation.partition=dirichlet", "federation.alpha=0.5"])
        let random = LabRandom(seed: spec.seed)
        func prepare(_ node: FederatedKind.Node) async throws -> FederatedKind.Setup {
            try await FederatedKind.prepare(spec.parameters, dataDirectory: referenceData!, datasets: DatasetCache(), random: random,
                                            workers: 1, node: node)
        }
        let whole = try await prepare(.simulation)
        #expect(whole.simulation.train.count == 2000)
        let server = try await prepare(.server)
        #expect(server.simulation.train.count == 0)
        #expect(server.simulation.partition == whole.simulation.partition)
        #expect(server.simulation.test == whole.simulation.test)
        for k in 0..<4 {
            let client = try await prepare(.client(k))
            let own = whole.simulation.partition.clients[k]
            #expect(client.simulation.train == whole.simulation.train.subset(own))
            #expect(client.simulation.partition.clients[k] == Array(0..<own.count))
            #expect(client.simulation.test.count == 0)
        }
    }

    @Test("a client killed mid-round after sending its shares is recovered: the aggregate is the survivors' plaintext sum")
    func killedClientRecovered() async throws {
        let d = try Deployment(clients: 4)
        let path = try d.spec(clients: 4, rounds: 3, extra: "secure_aggregation: {protocol: masking}")
        let server = try d.runAll(path, clients: 4, clientArguments: [2: ["--test-fault", "pause-after-shares:2"]])
        let victim = d.children[3]
        #expect(victim.waitForError("paused", within: 60), "\(victim.errors)")
        victim.killNow()
        let (status, finished) = server.finish(within: 60)
        #expect(finished && status == 0, "\(server.errors)")
        let deployed = try Deployment.outcome(server)
        let dropouts = Deployment.failures(deployed)
        #expect(dropouts == [1: [2], 2: [2]])
        // The round's secure aggregate equals the plaintext (fixed-point) sum of the survivors'
        // contributions, and the model equals the simulation told the same dropouts.
        let plaintext = try await d.simulate(path, overrides: ["secure_aggregation.protocol=fixed-point"], dropouts: dropouts)
        #expect(Deployment.aggregates(deployed) == plaintext.aggregates)
        #expect(Deployment.aggregates(deployed).count == 3)
        let simulated = try await d.simulate(path, dropouts: dropouts)
        #expect(deployed["parameters_sha256"] as? String == simulated.parametersSHA256)
        // Without being told, the simulation ends elsewhere: the comparison can fail.
        #expect(deployed["parameters_sha256"] as? String != (try await d.simulate(path)).parametersSHA256)
    }

    @Test("a server killed after round 2 resumes from its state file and ends with the simulation's model")
    func serverRestartResumes() async throws {
        let d = try Deployment(clients: 3)
        let path = try d.spec(clients: 3, rounds: 4, extra: "strategy: {name: fedadam}", state: true)
        let first = try d.runAll(path, clients: 3, serverArguments: ["--test-pause-after-round", "2"])
        #expect(first.waitForError("paused after round 2", within: 60), "\(first.errors)")
        first.killNow()
        let second = try d.start(["fl", "server", path, "--json"], name: "server-2")
        let (status, finished) = second.finish(within: 60)
        #expect(finished && status == 0, "\(second.errors)")
        #expect(second.errors.contains("resuming from round 3"))
        let deployed = try Deployment.outcome(second)
        #expect((deployed["rounds"] as? [Any])?.count == 4)
        #expect(Deployment.failures(deployed).isEmpty)
        #expect(deployed["parameters_sha256"] as? String == (try await d.simulate(path)).parametersSHA256)
    }

    @Test("malformed, wrong-shape, oversized and silent clients: one clear line each, the run goes on without them")
    func faultyClients() async throws {
        let d = try Deployment(clients: 6)
        let path = try d.spec(clients: 6, rounds: 3, receiveTimeout: 2)
        let server = try d.runAll(path, clients: 6, clientArguments: [
            0: ["--test-fault", "malformed:1"], 1: ["--test-fault", "wrong-shape:1"],
            2: ["--test-fault", "oversized:2"], 3: ["--test-fault", "silent:2"],
        ])
        let (status, finished) = server.finish(within: 60)
        #expect(finished && status == 0, "\(server.errors)")
        let errors = server.errors
        for line in ["client-0: refused: unknown message kind", "client-1: refused: update has 114 values, expected 115",
                     "client-2: peer 'client-2' announced a frame of 65537 bytes, over the limit of 65536",
                     "client-3: no message from peer 'client-3' within 2.0 s"] {
            #expect(errors.components(separatedBy: line).count == 2, "expected once: \(line)\n\(errors)")
        }
        let deployed = try Deployment.outcome(server)
        let dropouts = Deployment.failures(deployed)
        #expect(dropouts == [0: [0, 1], 1: [0, 1, 2, 3], 2: [0, 1, 2, 3]])
        #expect(deployed["parameters_sha256"] as? String == (try await d.simulate(path, dropouts: dropouts)).parametersSHA256)
    }

    @Test("bad deployment specs and state files give one clear error")
    func badSpecs() throws {
        let d = try Deployment(clients: 2)
        let dropout = try d.spec(clients: 2, rounds: 1, extra: "", name: "a.yaml")
        try String(contentsOfFile: dropout, encoding: .utf8).replacingOccurrences(of: "rounds: 1}", with: "rounds: 1, dropout: 0.2}")
            .write(toFile: dropout, atomically: true, encoding: .utf8)
        let a = try d.start(["fl", "server", dropout], name: "a")
        #expect(a.finish(within: 30).status != 0)
        #expect(a.errors.contains("federation.dropout"), "\(a.errors)")
        let paillier = try d.spec(clients: 2, rounds: 1, extra: "secure_aggregation: {protocol: paillier}", name: "b.yaml")
        let b = try d.start(["fl", "client", paillier, "--client", "0"], name: "b")
        #expect(b.finish(within: 30).status != 0)
        #expect(b.errors.contains("simulated only"), "\(b.errors)")
        let stated = try d.spec(clients: 2, rounds: 1, state: true, name: "c.yaml")
        try d.w.write("state.json", "{\"version\": 1}")
        let c = try d.start(["fl", "server", stated], name: "c")
        #expect(c.finish(within: 30).status != 0)
        #expect(c.errors.contains("state.json: not a round state file"), "\(c.errors)")
    }
}

@Suite("Federated learning deployed across two network namespaces over a veth pair", .serialized,
       .enabled(if: NamespacePair.unavailableReason == nil,
                Comment(rawValue: "network namespaces unavailable: \(NamespacePair.unavailableReason ?? "")")))
struct DeploymentNamespaceTests {
    @Test("the server in one namespace, three clients in the other (as on two hosts): the simulation's model bit for bit")
    func twoHosts() async throws {
        let pair = try NamespacePair(label: "f", subnet: 78)
        defer { pair.remove() }
        let d = try Deployment(clients: 3)
        let path = try d.spec(clients: 3, rounds: 2, extra: "secure_aggregation: {protocol: masking}", host: pair.addresses[0])
        let ip = NamespacePair.ip!
        let server = try d.runAll(path, clients: 3, wrapper: (server: [ip, "netns", "exec", pair.names[0]], client: [ip, "netns", "exec", pair.names[1]]))
        let (status, finished) = server.finish(within: 60)
        #expect(finished && status == 0, "\(server.errors)")
        let deployed = try Deployment.outcome(server)
        #expect(Deployment.failures(deployed).isEmpty)
        #expect(deployed["parameters_sha256"] as? String == (try await d.simulate(path)).parametersSHA256)
    }
}
