import Codecs
import Datasets
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Federated
import Foundation
import LabRandom
import ModelInversion
import NeuralNetworks
import Tensors

// The honest-but-curious server of a federated run: it keeps what the simulation shows it in one
// round and inverts it with ModelInversion's gradient attacks.
//
// With plaintext aggregation the server holds each client's update Δ = w_local − w_global; a
// client that trained `epochs` full-batch SGD steps (local batch_size ≥ its examples, momentum 0)
// shared exactly what `ObservedUpdate.weightDelta` describes, so the attack replays its steps.
// Under secure aggregation the server holds only Σₖ nₖΔₖ / Σₖ nₖ, which for one full-batch step
// is −η times the mean gradient over the union of the round's examples: the best it can do is to
// invert that as one batch of Σₖ nₖ examples — which, beyond a handful of examples, fails.
//
// ```yaml
// server_attack: {method: idlg, round: 1, clients: 2, iterations: 300}
// ```

extension FederatedKind {
    /// `server_attack:` — which observations the curious server attacks, and how.
    public struct ServerAttackSpec: Sendable, Equatable {
        public enum Method: String, SpecEnum {
            case dlg, idlg
            case invertingGradients = "inverting-gradients"
            case analyticFC = "analytic-fc"
        }
        public var method: Method
        /// The round (1-based) whose observations are attacked.
        public var round: Int
        /// How many client updates of that round are attacked (plaintext aggregation), in client order.
        public var clients: Int
        public var iterations: Int
        public var restarts: Int

        static func decode(_ r: SpecReader) throws(SpecError) -> Self {
            let spec = Self(method: try r.optional("method", default: .idlg),
                            round: try r.optional("round", default: 1, in: 1...1_000_000),
                            clients: try r.optional("clients", default: 1, in: 1...1000),
                            iterations: try r.optional("iterations", default: 300, in: 1...1_000_000),
                            restarts: try r.optional("restarts", default: 1, in: 1...100))
            try r.finish()
            return spec
        }

        var attack: GradientInversion.Attack {
            switch method {
            case .dlg, .idlg:
                let c = GradientInversion.DLGConfiguration(
                    optimizer: .lbfgs(LBFGS.Configuration(maxIterations: iterations, maxEvaluations: iterations * 25)),
                    restarts: restarts)
                return method == .dlg ? .dlg(c) : .idlg(c)
            case .invertingGradients:
                return .invertingGradients(GradientInversion.InvertingGradientsConfiguration(iterations: iterations, restarts: restarts))
            case .analyticFC:
                return .analyticFullyConnected
            }
        }
    }

    /// Checks that the spec lets the server's replay match what the clients did.
    /// What determines the curious server's image grid of reconstructions: part of its artifact key.
    struct ServerAttackGridRecipe: Encodable, Sendable {
        var seed: UInt64
        /// The canonical JSON of the spec's `data` section.
        var data: String
        /// The observed round, the inversion method and the secure-aggregation protocol.
        var round: Int
        var method: String
        var secure: String
    }

    static func validateServerAttack(_ attack: ServerAttackSpec, local: LocalTraining, rounds: Int, body: SpecReader) throws(SpecError) {
        guard attack.round <= rounds else {
            throw body.error("server_attack.round", "round \(attack.round) is past the run's \(rounds) rounds")
        }
        guard local.momentum == 0, local.proximalMu == 0 else {
            throw body.error("server_attack", "the server replays plain SGD steps: set local.momentum and local.proximal_mu to 0")
        }
    }

    /// Collects the observations of one round, in the order the server makes them.
    final class ObservationLog: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [ServerObservation] = []
        let round: Int
        init(round: Int) { self.round = round }

        func record(_ observation: ServerObservation) {
            let r: Int
            switch observation {
            case let .clientUpdate(round, _, _, _, _, _): r = round
            case let .aggregate(round, _, _, _): r = round
            }
            guard r == round else { return }
            lock.lock(); items.append(observation); lock.unlock()
        }

        var observations: [ServerObservation] { lock.lock(); defer { lock.unlock() }; return items }
    }

    /// Inverts the logged observations and measures the reconstructions against the clients'
    /// true examples (PSNR and SSIM after matching, label recovery).
    static func curiousServerOutcome(_ spec: ServerAttackSpec, log: ObservationLog, setup: Setup,
                                     context: TrialContext, parameters p: Parameters) async throws -> (metrics: [Metric], artifact: ArtifactReference?) {
        let simulation = setup.simulation
        let layout = ParameterLayout(model: simulation.architecture)
        let train = simulation.train
        let shape = train.sampleShape
        let (h, w) = shape.count == 3 ? (shape[1], shape[2]) : (1, train.featureCount)
        var targets: [(model: Sequential, update: ObservedUpdate, examples: [Int])] = []
        var sawAggregate = false
        for observation in log.observations {
            switch observation {
            case let .clientUpdate(_, client, _, global, update, training):
                guard targets.count < spec.clients else { continue }
                let examples = simulation.partition.clients[client]
                guard training.batchSize >= examples.count else {
                    throw DataSpecError("server_attack: client \(client) holds \(examples.count) examples but local.batch_size is \(training.batchSize); the server's replay needs full-batch steps (batch_size ≥ examples per client)")
                }
                var model = simulation.architecture
                model.parameters = layout.tensors(from: global)
                let delta = layout.tensors(from: update)
                targets.append((model, .weightDelta(delta, learningRate: training.learningRate, localSteps: training.epochs), examples))
            case let .aggregate(_, clients, global, sum):
                sawAggregate = true
                guard targets.isEmpty, sum.totalWeight > 0 else { continue }
                var model = simulation.architecture
                model.parameters = layout.tensors(from: global)
                let mean = layout.tensors(from: sum.sum.map { Float($0 / sum.totalWeight) })
                let examples = clients.flatMap { simulation.partition.clients[$0] }
                targets.append((model, .weightDelta(mean, learningRate: p.local.learningRate, localSteps: p.local.epochs), examples))
            }
        }
        guard !targets.isEmpty else {
            throw DataSpecError("server_attack.round: the server observed nothing in round \(spec.round) (every sampled client dropped out)")
        }
        var psnr: [Double] = [], ssim: [Double] = [], labelAccuracy: [Double] = []
        var grid: [[Float]] = []
        for (k, target) in targets.enumerated() {
            context.progress("curious server: inverting \(sawAggregate ? "the aggregate" : "client update \(k + 1)/\(targets.count)") of \(target.examples.count) examples")
            let batch = train.subset(target.examples)
            let result = try GradientInversion.invert(model: target.model, update: target.update, batchSize: target.examples.count,
                                                      attack: spec.attack, random: setup.random.stream("server-attack/\(k)"))
            let d = train.featureCount
            let recon = (0..<batch.count).map { Array(result.reconstructions.scalars[($0 * d)..<(($0 + 1) * d)]) }
            let truth = (0..<batch.count).map { Array(batch.sample($0)) }
            let match = ReconstructionMatching.match(reconstructions: recon, originals: truth, height: h, width: w)
            psnr += match.psnr.map { Swift.min($0, 100) }
            ssim += match.ssim
            if !result.labels.isEmpty { labelAccuracy.append(LabelRecovery.accuracy(recovered: result.labels, truth: batch.intLabels)) }
            for (i, r) in recon.enumerated() where grid.count < 32 { grid += [r, truth[match.assignment[i]]] }
        }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        var metrics = [
            Metric(part: "server_attack", "psnr", mean(psnr)),
            Metric(part: "server_attack", "ssim", mean(ssim)),
            Metric(part: "server_attack", "fraction_psnr_above_20db", Double(psnr.filter { $0 >= 20 }.count) / Double(Swift.max(1, psnr.count))),
            Metric(part: "server_attack", "observed_updates", Double(targets.count)),
            Metric(part: "server_attack", "examples_per_update", Double(targets.map(\.examples.count).reduce(0, +)) / Double(targets.count)),
            Metric(part: "server_attack", "saw_individual_updates", sawAggregate ? 0 : 1),
        ]
        if !labelAccuracy.isEmpty { metrics.append(Metric(part: "server_attack", "label_accuracy", mean(labelAccuracy))) }
        let recipe = ServerAttackGridRecipe(seed: context.seed, data: p.data.canonical, round: spec.round, method: spec.method.rawValue,
                                            secure: p.secure.protocolName.rawValue)
        let images = grid
        let artifact = try await context.cachedArray(role: "image-grid/server-attack.reconstructions/8", recipe: recipe) {
            NumpyArray(shape: [images.count, h, w], values: images.flatMap { $0 })
        }.artifact
        return (metrics, artifact)
    }
}
