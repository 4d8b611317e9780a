import Codecs
import ExperimentRunning
import ExperimentSpecs
import Federated
import FederatedNetwork
import Foundation
import LabRandom
import Tensors
import Transport

/// A deployed federated run (`privacy-lab fl server|client SPEC`): a `federated` spec, the same
/// file at the server and at every client, plus a `deployment:` section saying where the
/// server is and which certificates name the nodes.
///
/// ```yaml
/// version: 1
/// name: fl-mnist
/// kind: federated
/// seed: 7
/// data: {dataset: mnist}
/// model: {architecture: mlp, hidden: [64]}
/// federation: {clients: 10, clients_per_round: 10, rounds: 20}
/// secure_aggregation: {protocol: masking}
/// deployment:
///   ca: certs/ca.pem                       # what `privacy-lab fl certs` writes
///   server: {id: server, address: "127.0.0.1:7300", certificate: certs/server.pem, key: certs/server-key.pem}
///   clients: {certificates: certs}         # client-<k>.pem and client-<k>-key.pem for client k
///   state: fl-state.json                   # the server's round state (resume after a restart)
///   limits: {connect_timeout: 30, receive_timeout: 120, idle_timeout: 600, max_frame_bytes: 67108864}
/// ```
///
/// Every node prepares the run as the simulation does (`FederatedKind.prepare`: the same data,
/// partition, model initialisation and strategy from the seed), so a deployed run without
/// dropouts ends with the simulation's model bit for bit, and with dropouts with the model of
/// the simulation told the same dropouts (`simulate(forcedDropouts:)`). Relative paths are
/// relative to the spec's folder. The spec may not sweep; `federation.dropout` must be 0.
public struct FederatedDeploymentSpec: Sendable {
    public let file: String
    public let seed: UInt64
    public let parameters: FederatedKind.Parameters
    public let deployment: FederatedDeployment
    /// The run's key: SHA-256 of the spec's body without `deployment:`, and the seed (the server's
    /// state file belongs to it).
    public let runKey: String

    /// Reads and checks the spec at `path`.
    public static func load(_ path: String, overrides: [String] = []) throws -> FederatedDeploymentSpec {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20,
              let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, keyPath: "", message: "cannot read the spec (or it is over 1 MiB or not UTF-8)")
        }
        return try parse(text, file: path, overrides: overrides)
    }

    public static func parse(_ text: String, file: String, overrides: [String] = []) throws -> FederatedDeploymentSpec {
        let document = try ExperimentDocument(yaml: text, file: file, overrides: overrides, knownKinds: [FederatedKind.name])
        guard document.sweep.isEmpty else {
            throw SpecError(file: file, line: nil, keyPath: "sweep", message: "a deployed run is one trial: remove the sweep")
        }
        let root = try SpecReader(document.body, file: file)
        guard root.contains("deployment") else {
            throw root.error("deployment", "missing: a deployed run needs the server's address and the nodes' certificates")
        }
        let deployment = try decodeDeployment(try root.section("deployment"))
        let body = document.body.removing("deployment")
        let parameters = try FederatedKind.parameters(from: try SpecReader(body, file: file))
        guard parameters.federation.dropout == 0 else {
            throw root.error("federation.dropout", "simulates dropouts; a deployed run meets real ones: set it to 0")
        }
        if [.additive, .paillier].contains(parameters.secure.protocolName) {
            throw root.error("secure_aggregation.protocol", "\(parameters.secure.protocolName.rawValue) is simulated only; a deployed run supports none, fixed-point and masking")
        }
        guard parameters.serverAttack == nil else {
            throw root.error("server_attack", "the curious server's attack runs in the simulation (privacy-lab run), not deployed")
        }
        let key = SHA256.hash(Array((body.canonicalJSON + "\nseed=\(document.seed)").utf8)).hex
        return FederatedDeploymentSpec(file: file, seed: document.seed, parameters: parameters, deployment: deployment, runKey: key)
    }

    static func decodeDeployment(_ r: SpecReader) throws(SpecError) -> FederatedDeployment {
        let ca = try r.inputFile("ca").path
        let server = try r.section("server")
        let id: String = try server.optional("id", default: "server")
        let addressText: String = try server.required("address")
        guard let colon = addressText.lastIndex(of: ":"), let port = Int(addressText[addressText.index(after: colon)...]),
              (1...65535).contains(port), colon != addressText.startIndex else {
            throw server.error("address", "'\(addressText)' is not host:port with a port in 1…65535")
        }
        var host = String(addressText[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let certificate = try server.inputFile("certificate").path, key = try server.inputFile("key").path
        try server.finish()
        let clients = try r.section("clients")
        let folder = try clients.inputFile("certificates").path
        try clients.finish()
        let state = try r.optionalInputFile("state")?.path
        let l = try r.section("limits")
        let connect: Double = try l.optional("connect_timeout", default: 30, in: 0.1...3600)
        let receive: Double = try l.optional("receive_timeout", default: 120, in: 0.1...86_400)
        let idle: Double = try l.optional("idle_timeout", default: 600, in: 0.1...86_400)
        let frame: Int = try l.optional("max_frame_bytes", default: 256 << 20, in: 1024...(1 << 31))
        try l.finish()
        try r.finish()
        return FederatedDeployment(
            ca: ca, serverID: id, serverAddress: NodeAddress(id: id, host: host, port: port), serverCertificate: certificate, serverKey: key,
            clientCertificates: folder, statePath: state,
            limits: TransportLimits(maximumFrameBytes: frame, connectTimeout: connect, receiveTimeout: receive), clientIdleTimeout: idle)
    }

    /// The run prepared as every node prepares it, with the data `node` needs. BLAS runs on one
    /// thread in every role, as in the simulation's workers (the same products, bit for bit).
    func setup(dataDirectory: URL, workers: Int, node: FederatedKind.Node, forcedDropouts: [Int: Set<Int>] = [:]) async throws -> FederatedKind.Setup {
        BLAS.threadCount = 1
        var setup = try await FederatedKind.prepare(parameters, dataDirectory: dataDirectory, datasets: DatasetCache(), random: LabRandom(seed: seed),
                                                    workers: workers, node: node)
        setup.simulation.configuration.forcedDropouts = forcedDropouts
        return setup
    }

    /// What a deployed (or simulated) run ended with.
    public struct Outcome: Sendable {
        public var history: FederatedHistory
        /// The decoded aggregate of every round that had one (fixed-point and secure modes):
        /// SHA-256 of Σ w_k v_k and Σ w_k as little-endian Double bits.
        public var aggregates: [Int: String]
        /// SHA-256 of the final parameters as little-endian Float32 bits.
        public var parametersSHA256: String { Self.digest(history.parameters.map(\.bitPattern)) }

        static func digest<W: FixedWidthInteger>(_ words: [W]) -> String {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(words.count * W.bitWidth / 8)
            for w in words { for i in 0..<(W.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * i))) } }
            return SHA256.hash(bytes).hex
        }
    }

    /// Records aggregates reported by the server's round loop.
    final class AggregateLog: @unchecked Sendable {
        private let lock = NSLock()
        private var digests: [Int: String] = [:]
        func record(_ o: ServerObservation) {
            guard case let .aggregate(round, _, _, sum) = o else { return }
            let d = Outcome.digest(sum.sum.map(\.bitPattern) + [sum.totalWeight.bitPattern])
            lock.lock(); digests[round] = d; lock.unlock()
        }
        var all: [Int: String] { lock.lock(); defer { lock.unlock() }; return digests }
    }

    /// Runs the server.
    /// `afterRound` is called with each finished round's index once its state is written.
    public func runServer(dataDirectory: URL, log: @escaping @Sendable (String) -> Void,
                          afterRound: (@Sendable (Int) -> Void)? = nil) async throws -> Outcome {
        let setup = try await self.setup(dataDirectory: dataDirectory, workers: 1, node: .server)
        let aggregates = AggregateLog()
        let rounds = parameters.federation.rounds
        let history = try await Self.serve(setup.strategy, setup: setup, deployment: deployment, key: runKey, log: log, afterRound: afterRound,
                                           observer: { aggregates.record($0) }) { record in
            var line = "round \(record.round + 1)/\(rounds) finished: \(record.sampled.count) sampled, \(record.failures.count) failed"
            if let a = record.accuracy { line += String(format: ", accuracy %.4f", a) }
            log(line)
        }
        return Outcome(history: history, aggregates: aggregates.all)
    }

    static func serve<S: AggregationStrategy>(
        _ strategy: S, setup: FederatedKind.Setup, deployment: FederatedDeployment, key: String, log: @escaping @Sendable (String) -> Void,
        afterRound: (@Sendable (Int) -> Void)?, observer: @escaping ServerObserver, progress: @escaping @Sendable (RoundRecord) -> Void
    ) async throws -> FederatedHistory {
        var strategy = strategy
        return try await FederatedServer.run(simulation: setup.simulation, strategy: &strategy, random: setup.random, deployment: deployment,
                                             run: key, log: log, observer: observer, progress: progress, afterRound: afterRound)
    }

    /// Runs client `k` until the server ends the run.
    public func runClient(_ k: Int, dataDirectory: URL, fault: FederatedClient.Fault? = nil, pause: @escaping @Sendable () -> Void = {},
                          log: @escaping @Sendable (String) -> Void) async throws {
        let setup = try await self.setup(dataDirectory: dataDirectory, workers: 1, node: .client(k))
        try FederatedClient.run(client: k, simulation: setup.simulation, strategy: setup.strategy, random: setup.random,
                                deployment: deployment, fault: fault, pause: pause, log: log)
    }

    /// The simulation of the same spec in this process, told `forcedDropouts` (round → clients):
    /// the reference a deployed run must match bit for bit.
    public func simulate(dataDirectory: URL, forcedDropouts: [Int: Set<Int>] = [:], workers: Int = 1) async throws -> Outcome {
        let setup = try await self.setup(dataDirectory: dataDirectory, workers: workers, node: .simulation, forcedDropouts: forcedDropouts)
        let aggregates = AggregateLog()
        let history = try await FederatedKind.runOpened(setup.strategy, setup: setup, observer: { aggregates.record($0) }, progress: nil)
        return Outcome(history: history, aggregates: aggregates.all)
    }
}
