import LabRandom
import NeuralNetworks
import Tensors

/// How a client trains on its own data in one round: local epochs of mini-batch SGD, optionally
/// with FedProx's proximal term.
///
/// Each local step minimises F_k(w) + (μ/2)‖w − w_t‖² where F_k is the mean loss of a
/// mini-batch and w_t the global model of the round: the gradient is ∇F_k(w) + μ(w − w_t)
/// (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020). μ = 0 is
/// FedAvg's local SGD (McMahan et al., AISTATS 2017).
///
/// Every random choice comes from the stream passed in: the order of examples from its child
/// "batches" (one permutation per epoch, drawn in order) and dropout masks from "dropout". With
/// the simulation's streams "round/<r>/client/<k>" this gives "round/7/client/42/batches".
/// - Complexity: epochs × ⌈n / batchSize⌉ forward and backward passes.
public struct LocalTraining: Sendable, Equatable, Hashable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    /// SGD momentum (PyTorch's definition); the optimizer state starts fresh every round.
    public var momentum: Float
    /// FedProx's μ ≥ 0.
    public var proximalMu: Float

    public init(epochs: Int = 1, batchSize: Int = 32, learningRate: Float = 0.05, momentum: Float = 0, proximalMu: Float = 0) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.proximalMu = proximalMu
    }

    /// Checks every field's range.
    public func validate() throws(FederatedError) {
        guard epochs >= 1 else { throw .invalidConfiguration(field: "local.epochs", reason: "must be ≥ 1, got \(epochs)") }
        guard batchSize >= 1 else { throw .invalidConfiguration(field: "local.batch_size", reason: "must be ≥ 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw .invalidConfiguration(field: "local.learning_rate", reason: "must be positive, got \(learningRate)")
        }
        guard momentum >= 0, momentum < 1 else { throw .invalidConfiguration(field: "local.momentum", reason: "must lie in [0, 1), got \(momentum)") }
        guard proximalMu >= 0, proximalMu.isFinite else {
            throw .invalidConfiguration(field: "local.proximal_mu", reason: "must be ≥ 0, got \(proximalMu)")
        }
    }

    /// What one client's local training produced.
    public struct Outcome: Sendable {
        /// The trained parameters, flat.
        public var parameters: [Float]
        /// The mean mini-batch loss of the last epoch.
        public var loss: Float
        public var steps: Int
    }

    /// Trains `architecture` from the flat `global` parameters on (`inputs`, `labels`).
    ///
    /// Returns nil when the loss became non-finite (the client reports a failure).
    public func train(architecture: Sequential, layout: ParameterLayout, global: [Float], inputs: Tensor, labels: [Int],
                      random: LabRandom) throws -> Outcome? {
        try train(architecture: architecture, layout: layout, global: global, exampleCount: inputs.shape[0], labels: labels,
                  random: random) { rows in inputs.gatheringRows(rows) }
    }

    /// `train(…inputs:…)` on examples stored as flat row-major `features` of `sampleShape` each,
    /// bit for bit: each mini-batch's rows are copied from the array, so the examples are never
    /// held a second time as one tensor.
    public func train(architecture: Sequential, layout: ParameterLayout, global: [Float], features: [Float], sampleShape: [Int],
                      labels: [Int], random: LabRandom) throws -> Outcome? {
        let width = sampleShape.reduce(1, *)
        precondition(features.count == labels.count * width,
                     "LocalTraining.train: \(features.count) features do not fill \(labels.count) examples of shape \(sampleShape)")
        return try train(architecture: architecture, layout: layout, global: global, exampleCount: labels.count, labels: labels,
                         random: random) { rows in
            Tensor(shape: [rows.count] + sampleShape) { out in
                features.withUnsafeBufferPointer { source in
                    for (r, row) in rows.enumerated() {
                        (out.baseAddress! + r * width).update(from: source.baseAddress! + row * width, count: width)
                    }
                }
            }
        }
    }

    /// The one local training loop, the inputs of a mini-batch given by `batchInputs(rows)`.
    private func train(architecture: Sequential, layout: ParameterLayout, global: [Float], exampleCount: Int, labels: [Int],
                       random: LabRandom, batchInputs: ([Int]) -> Tensor) throws -> Outcome? {
        let start = layout.tensors(from: global)
        var model = try Sequential(inputShape: architecture.inputShape, layers: architecture.layers, parameters: start)
        var optimizer: any Optimizer = SGD(momentum: momentum)
        let configuration = TrainingConfiguration(epochs: epochs, batchSize: batchSize, learningRate: learningRate,
                                                  optimizer: .sgd(momentum: momentum))
        let loop = MiniBatchLoop(configuration: configuration,
                                 randomness: .continuous(order: random.stream("batches"), dropout: random.stream("dropout")))
        let mu = proximalMu
        let trained: TrainingHistory?
        do {
            trained = try loop.run(&model, exampleCount: exampleCount, optimizer: &optimizer) {
                model, batch, dropout throws(TrainingError) in
                let (loss, gradients) = model.lossAndGradients(batchInputs(batch.rows), labels: batch.rows.map { labels[$0] },
                                                               training: true, random: &dropout)
                return MiniBatchLoss(loss: loss, gradients: gradients)
            } transformGradients: { gradients, model, _ in
                guard mu > 0 else { return }
                for i in gradients.indices {
                    Self.addProximal(&gradients[i], parameter: model.parameters[i], anchor: start[i], mu: mu)
                }
            }
        } catch {
            // A non-finite loss: the client reports a failure.
            guard case .diverged = error else { throw error }
            trained = nil
        }
        guard let history = trained else { return nil }
        return Outcome(parameters: layout.flatten(model.parameters), loss: history.epochLosses.last ?? 0, steps: history.steps)
    }

    /// g += μ(w − w_t), in place over raw buffers.
    static func addProximal(_ gradient: inout Tensor, parameter: Tensor, anchor: Tensor, mu: Float) {
        let g0 = gradient.detached()
        gradient = Tensor(shape: g0.shape) { out in
            g0.withUnsafeBufferPointer { g in
                parameter.withUnsafeBufferPointer { w in
                    anchor.withUnsafeBufferPointer { a in
                        for i in 0..<out.count { out[i] = g[i] + mu * (w[i] - a[i]) }
                    }
                }
            }
        }
    }
}
