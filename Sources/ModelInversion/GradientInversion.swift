#if canImport(Glibc)
import Glibc
#endif
import LabRandom
import ModelAccess
import Tensors

/// Gradient inversion: reconstructing a federated client's training batch from the update it
/// shared, as an honest-but-curious server can.
///
/// The server knows the model (its architecture and the parameters θ it sent: white-box access,
/// `DifferentiableModel & ArchitectureAccess`, which a PrivacyLab `Sequential` and an imported
/// PyTorch model both give) and sees an `ObservedUpdate` (a gradient, or a weight delta after local SGD steps). The attacks:
///
/// - **DLG** (Zhu, Liu, Han, "Deep Leakage from Gradients", NeurIPS 2019): optimise dummy inputs
///   x̂ and dummy label logits ŷ so that the update they would produce matches the observed one,
///   min ‖U(x̂, softmax ŷ) − U‖², by L-BFGS (or Adam), differentiating through the update with
///   second-order autodiff.
/// - **iDLG** (Zhao et al. 2020): recover the labels analytically first (`LabelRecovery`), then
///   DLG on the inputs alone.
/// - **Inverting Gradients** (Geiping, Bauermeister, Dröge, Moeller, NeurIPS 2020): minimise
///   1 − cos(U(x̂, y), U) + α·TV(x̂) with Adam on the *sign* of the gradient, step decay at 3/8,
///   5/8 and 7/8 of the iterations, projection onto the pixel range, several random restarts
///   keeping the one of lowest loss; labels recovered analytically.
/// - **Analytic fully-connected recovery** (Phong et al. 2017; Geiping et al. 2020, Prop. D.1):
///   for a dense layer y = Wx + b, ∂L/∂Wᵢ = (∂L/∂bᵢ)·x, so x = ∇Wᵢ / ∇bᵢ for any row with
///   ∇bᵢ ≠ 0 — exact for one example when the dense layer reads the input (after `flatten`).
///
/// Updates of several local steps are simulated exactly by unrolling the client's SGD steps on
/// the dummy batch (`UpdateModel.unrolled`, differentiating through every step), or
/// approximated by the averaged gradient −Δ/(η·K) (`.averagedGradient`).
///
/// Example (a server attacking one client's round):
///
///     let update = ObservedUpdate.weightDelta(delta, learningRate: 0.1, localSteps: 5)
///     let result = try GradientInversion.invert(
///         model: globalModel, update: update, batchSize: 4,
///         attack: .invertingGradients(.init(iterations: 2000, restarts: 2)),
///         random: LabRandom(seed: 7).stream("server/inversion/client-3"))
///     result.reconstructions   // [4, 1, 28, 28]
///     result.labels            // recovered labels
///
/// - Complexity: each objective evaluation costs one forward, one backward with graph
///   recording and one backward through that graph (about 3–4 forward passes) per local step.
/// - Caveats: evaluation mode is assumed (no dropout; normalization layers use their running
///   statistics, as the model's differentiable forward does). The order of a batch cannot be recovered: compare reconstructions to the truth
///   with `ReconstructionMatching`.
public enum GradientInversion {
    /// How the dummy batch's update is simulated when the observation is a weight delta.
    public enum UpdateModel: String, Sendable, Equatable, Hashable, Codable {
        /// Unroll the client's K full-batch SGD steps on the dummy batch (exact).
        case unrolled
        /// Compare the dummy batch's gradient with −Δ/(η·K) (one step's worth).
        case averagedGradient = "averaged-gradient"
    }

    /// The distance between the simulated and the observed update.
    public enum Distance: String, Sendable, Equatable, Hashable, Codable {
        /// Σ over parameters of ‖û − u‖² (DLG).
        case euclidean
        /// 1 − ⟨û, u⟩ / (‖û‖·‖u‖) over all parameters at once (Inverting Gradients).
        case cosine
    }

    /// How dummy inputs are drawn.
    public enum Initialization: Sendable, Equatable, Hashable {
        case normal(mean: Float, standardDeviation: Float)
        case uniform(low: Float, high: Float)
    }

    public enum Optimizer: Sendable, Equatable, Hashable {
        case lbfgs(LBFGS.Configuration)
        /// Adam with a constant learning rate.
        case adam(learningRate: Float, iterations: Int)
    }

    public struct DLGConfiguration: Sendable, Equatable, Hashable {
        public var optimizer: Optimizer
        public var initialization: Initialization
        public var updateModel: UpdateModel
        /// Independent random starts; the one of lowest final loss is kept.
        public var restarts: Int

        /// The DLG paper's setting: L-BFGS (300 iterations, history 100, with line search),
        /// dummy data N(0, 1).
        public init(optimizer: Optimizer = .lbfgs(LBFGS.Configuration()),
                    initialization: Initialization = .normal(mean: 0, standardDeviation: 1),
                    updateModel: UpdateModel = .unrolled, restarts: Int = 1) {
            self.optimizer = optimizer
            self.initialization = initialization
            self.updateModel = updateModel
            self.restarts = restarts
        }
    }

    public struct InvertingGradientsConfiguration: Sendable, Equatable, Hashable {
        public var iterations: Int
        public var learningRate: Float
        public var totalVariationWeight: Float
        public var restarts: Int
        /// Adam on sign(∇) (the paper's choice) or on ∇.
        public var signedGradients: Bool
        public var initialization: Initialization
        public var updateModel: UpdateModel

        /// The paper's setting, with fewer iterations (its 24 000 are for ImageNet-sized nets).
        public init(iterations: Int = 2000, learningRate: Float = 0.1, totalVariationWeight: Float = 1e-4, restarts: Int = 1,
                    signedGradients: Bool = true, initialization: Initialization = .normal(mean: 0, standardDeviation: 1),
                    updateModel: UpdateModel = .unrolled) {
            self.iterations = iterations
            self.learningRate = learningRate
            self.totalVariationWeight = totalVariationWeight
            self.restarts = restarts
            self.signedGradients = signedGradients
            self.initialization = initialization
            self.updateModel = updateModel
        }
    }

    public enum Attack: Sendable, Equatable, Hashable {
        case dlg(DLGConfiguration)
        case idlg(DLGConfiguration)
        case invertingGradients(InvertingGradientsConfiguration)
        case analyticFullyConnected

        public var name: String {
            switch self {
            case .dlg: return "dlg"
            case .idlg: return "idlg"
            case .invertingGradients: return "inverting-gradients"
            case .analyticFullyConnected: return "analytic-fc"
            }
        }
    }

    public struct Result: Sendable {
        /// The reconstructed batch [B, inputShape…].
        public var reconstructions: Tensor
        /// The recovered labels, one per reconstruction (DLG: the argmax of the dummy labels).
        public var labels: [Int]
        /// The final value of the attack's objective (0 for the analytic attack).
        public var loss: Double
        /// The objective after each iteration of the kept restart.
        public var lossHistory: [Double]
        /// Objective evaluations over all restarts.
        public var evaluations: Int
    }

    /// Runs `attack` against the update a client of `model` shared for a batch of `batchSize`.
    ///
    /// - Parameters:
    ///   - model: the model as the server sent it (architecture and parameters θ).
    ///   - update: what the client shared.
    ///   - batchSize: the number of examples behind the update (the server knows it in FedSGD /
    ///     FedAvg, where clients report their example counts).
    ///   - pixelRange: the range of the inputs (reconstructions are projected onto it where the
    ///     attack does so, and clamped at the end).
    ///   - random: dummy-data draws come from its streams `restart/<r>/data`, `restart/<r>/labels`.
    /// - Throws: `InversionError` when the update does not fit the model, the attack does not
    ///   apply to its architecture, or the configuration is out of range.
    public static func invert<Model: DifferentiableModel & ArchitectureAccess>(
        model: Model, update: ObservedUpdate, batchSize: Int, attack: Attack, pixelRange: ClosedRange<Float> = 0...1,
        random: LabRandom
    ) throws(InversionError) -> Result {
        try update.validate(for: model)
        guard batchSize >= 1 else { throw .invalidConfiguration("batch size must be ≥ 1, got \(batchSize)") }
        let probe = withoutGradients { model.logits(for: Tensor(zeros: [1] + model.inputShape)) }
        guard probe.shape == [1, model.classCount] else {
            throw .unsupportedArchitecture(attack: attack.name, reason: "the model's outputs \(Array(probe.shape.dropFirst())) are not class scores")
        }
        switch attack {
        case .analyticFullyConnected:
            let images = try analyticFullyConnected(model: model, update: update, batchSize: batchSize)
            let labels = (try? LabelRecovery.batchLabels(model: model, update: update, batchSize: batchSize)) ?? []
            return Result(reconstructions: Tensor(shape: [batchSize] + model.inputShape, scalars: images.flatMap { $0 }),
                          labels: labels, loss: 0, lossHistory: [], evaluations: 0)
        case let .dlg(c), let .idlg(c):
            guard c.restarts >= 1 else { throw .invalidConfiguration("restarts must be ≥ 1, got \(c.restarts)") }
            var fixedLabels: [Int]? = nil
            if case .idlg = attack { fixedLabels = try LabelRecovery.batchLabels(model: model, update: update, batchSize: batchSize) }
            if case let .lbfgs(l) = c.optimizer, l.maxIterations < 1 || l.historySize < 1 {
                throw .invalidConfiguration("L-BFGS needs at least one iteration and a history of at least one pair")
            }
            if case let .adam(lr, iterations) = c.optimizer, !(lr > 0) || iterations < 1 {
                throw .invalidConfiguration("Adam needs a positive learning rate and at least one iteration")
            }
            return runRestarts(c.restarts, random: random, pixelRange: pixelRange) { r in
                let problem = Problem(model: model, update: update, batchSize: batchSize, distance: .euclidean,
                                      totalVariationWeight: 0, updateModel: c.updateModel, fixedLabels: fixedLabels)
                return problem.solveDLG(c, random: r)
            }
        case let .invertingGradients(c):
            guard c.iterations >= 1, c.restarts >= 1, c.learningRate > 0, c.totalVariationWeight >= 0 else {
                throw .invalidConfiguration("Inverting Gradients needs iterations ≥ 1, restarts ≥ 1, a positive learning rate and a non-negative TV weight")
            }
            guard model.inputShape.count == 3 || c.totalVariationWeight == 0 else {
                throw .invalidConfiguration("a total-variation prior needs image inputs [C, H, W], the model takes \(model.inputShape)")
            }
            let labels = try LabelRecovery.batchLabels(model: model, update: update, batchSize: batchSize)
            return runRestarts(c.restarts, random: random, pixelRange: pixelRange) { r in
                let problem = Problem(model: model, update: update, batchSize: batchSize, distance: .cosine,
                                      totalVariationWeight: c.totalVariationWeight, updateModel: c.updateModel, fixedLabels: labels)
                return problem.solveInvertingGradients(c, random: r, pixelRange: pixelRange)
            }
        }
    }

    static func runRestarts(_ count: Int, random: LabRandom, pixelRange: ClosedRange<Float>,
                            _ body: (LabRandom) -> Result) -> Result {
        var best: Result? = nil
        var evaluations = 0
        for r in 0..<count {
            let result = body(random.stream("restart/\(r)"))
            evaluations += result.evaluations
            if best == nil || (result.loss.isFinite && !(result.loss >= best!.loss)) || !best!.loss.isFinite { best = result }
        }
        var result = best!
        result.evaluations = evaluations
        result.reconstructions = withoutGradients { result.reconstructions.clamped(lower: pixelRange.lowerBound, upper: pixelRange.upperBound) }
        return result
    }

    /// The analytic reconstruction of the input of the model's first layer when it is dense
    /// (possibly after `flatten`): for one example x = Σᵢ ∇bᵢ·∇Wᵢ / Σᵢ ∇bᵢ² (the least-squares
    /// combination of the exact rows ∇Wᵢ/∇bᵢ). For a batch, row i gives the mean of the inputs
    /// weighted by their ∇bᵢ contributions; `batchSize` rows with the largest |∇bᵢ| that differ
    /// most from each other are returned (exact for the examples that are alone in activating a
    /// unit, as after a ReLU — the effect "Robbing the Fed" amplifies).
    /// - Throws: `unsupportedArchitecture` when a non-flatten layer comes before the first dense one.
    public static func analyticFullyConnected(model: some ArchitectureAccess, update: ObservedUpdate,
                                              batchSize: Int) throws(InversionError) -> [[Float]] {
        try update.validate(for: model)
        let layers = model.layerSummaries
        guard let first = layers.firstIndex(where: { !$0.parameterRange.isEmpty }) else {
            throw .unsupportedArchitecture(attack: "analytic-fc", reason: "the model has no parametric layer")
        }
        guard case .dense(_, _, bias: true) = layers[first].kind, layers[..<first].allSatisfy({ $0.kind == .flatten }) else {
            throw .unsupportedArchitecture(attack: "analytic-fc",
                                           reason: "its first parametric layer \(layers[first].description) is not a dense layer reading the input (only flatten may come before)")
        }
        let g = update.averagedGradient
        let (w, b) = (layers[first].parameterRange.lowerBound, layers[first].parameterRange.lowerBound + 1)
        let gw = g[w].scalars, gb = g[b].scalars
        let (rows, d) = (g[w].shape[0], g[w].shape[1])
        if batchSize == 1 {
            var x = [Double](repeating: 0, count: d)
            var norm = 0.0
            for i in 0..<rows {
                let b = Double(gb[i])
                norm += b * b
                for j in 0..<d { x[j] += b * Double(gw[i * d + j]) }
            }
            guard norm > 0 else { throw .observationMismatch("every bias gradient of the first layer is zero: nothing to recover") }
            return [x.map { Float($0 / norm) }]
        }
        // Candidate rows, largest |∇b| first; pick B that are far apart.
        let order = (0..<rows).filter { abs(gb[$0]) > 1e-12 }.sorted { abs(gb[$0]) > abs(gb[$1]) }
        guard !order.isEmpty else { throw .observationMismatch("every bias gradient of the first layer is zero: nothing to recover") }
        let candidates = order.prefix(max(batchSize * 8, 32)).map { i in (0..<d).map { gw[i * d + $0] / gb[i] } }
        var chosen = [candidates[0]]
        while chosen.count < batchSize && chosen.count < candidates.count {
            var bestIndex = 0, bestDistance = -1.0
            for (k, c) in candidates.enumerated() {
                let nearest = chosen.map { s in zip(s, c).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }.min()!
                if nearest > bestDistance { bestDistance = nearest; bestIndex = k }
            }
            chosen.append(candidates[bestIndex])
        }
        while chosen.count < batchSize { chosen.append(chosen[chosen.count % max(1, candidates.count)]) }
        return chosen
    }
}

// MARK: - The optimisation problem

extension GradientInversion {
    /// One inversion problem: the objective over dummy inputs (and labels) and its gradient.
    struct Problem<Model: DifferentiableModel> {
        let model: Model
        let update: ObservedUpdate
        let batchSize: Int
        let distance: Distance
        let totalVariationWeight: Float
        let updateModel: UpdateModel
        let fixedLabels: [Int]?

        var inputCount: Int { batchSize * Tensor.elementCount(model.inputShape) }
        var labelCount: Int { fixedLabels == nil ? batchSize * model.classCount : 0 }

        /// The observed tensors as compared (the averaged gradient for that model of updates).
        var target: [Tensor] {
            if case .weightDelta = update, updateModel == .unrolled { return update.tensors }
            return update.averagedGradient
        }

        /// The mean loss of the dummy batch under parameters `theta`.
        func loss(_ x: Tensor, labelLogits: Tensor?, parameters theta: [Tensor]) -> Tensor {
            let outputs = model.logits(for: x, parameters: theta)
            if let labels = fixedLabels {
                return Tensor.softmaxCrossEntropy(logits: outputs, labels: labels).mean()
            }
            // Soft labels: −Σ_c softmax(ŷ)_c · log softmax(z)_c, averaged over the batch.
            return -(labelLogits!.softmax() * outputs.logSoftmax()).sum() * (1 / Float(batchSize))
        }

        /// The update the dummy batch would produce, differentiable in x and the label logits.
        func simulatedUpdate(_ x: Tensor, labelLogits: Tensor?) -> [Tensor] {
            let theta0 = model.parameters.map { $0.requiringGradient() }
            guard case let .weightDelta(_, eta, steps) = update, updateModel == .unrolled else {
                return gradients(of: loss(x, labelLogits: labelLogits, parameters: theta0), withRespectTo: theta0, createGraph: true)
            }
            var theta = theta0
            var sum: [Tensor]? = nil
            for _ in 0..<steps {
                let g = gradients(of: loss(x, labelLogits: labelLogits, parameters: theta), withRespectTo: theta, createGraph: true)
                sum = sum.map { zip($0, g).map { $0 + $1 } } ?? g
                theta = zip(theta, g).map { $0 - $1 * eta }
            }
            return sum!.map { $0 * -eta }
        }

        /// The objective at (x, label logits) and its gradient with respect to both.
        func objective(_ x: Tensor, labelLogits: Tensor?) -> (value: Float, x: Tensor, labels: Tensor?) {
            let xLeaf = x.requiringGradient()
            let yLeaf = labelLogits?.requiringGradient()
            let simulated = simulatedUpdate(xLeaf, labelLogits: yLeaf)
            let observed = target
            var value: Tensor
            switch distance {
            case .euclidean:
                value = Tensor(0)
                for (s, o) in zip(simulated, observed) { value = value + (s - o).squared().sum() }
            case .cosine:
                var inner = Tensor(0), normS = Tensor(0)
                var normO: Float = 0
                for (s, o) in zip(simulated, observed) {
                    inner = inner + (s * o).sum()
                    normS = normS + s.squared().sum()
                    normO += withoutGradients { o.squared().sum().scalar }
                }
                value = 1 - inner / ((normS + 1e-20).squareRoot() * Swift.max(normO, 1e-20).squareRoot())
            }
            if totalVariationWeight > 0 {
                value = value + TotalVariation.anisotropic.value(xLeaf) * totalVariationWeight
            }
            let targets = yLeaf.map { [xLeaf, $0] } ?? [xLeaf]
            let grads = gradients(of: value, withRespectTo: targets)
            return (value.scalar, grads[0], yLeaf == nil ? nil : grads[1])
        }

        func initialInputs(_ initialization: Initialization, random: LabRandom) -> Tensor {
            var stream = random.stream("data")
            return Tensor(shape: [batchSize] + model.inputShape) { out in
                switch initialization {
                case let .normal(mean, sd): stream.fillNormal(out, mean: mean, standardDeviation: sd)
                case let .uniform(low, high): stream.fillUniform(out, low: low, high: high)
                }
            }
        }

        func solveDLG(_ c: DLGConfiguration, random: LabRandom) -> Result {
            let x0 = initialInputs(c.initialization, random: random)
            var labelStream = random.stream("labels")
            let y0: Tensor? = fixedLabels == nil
                ? Tensor(shape: [batchSize, model.classCount]) { labelStream.fillNormal($0, mean: 0, standardDeviation: 1) } : nil
            let n = inputCount
            let xShape = x0.shape, yShape = [batchSize, model.classCount]
            func split(_ v: [Float]) -> (Tensor, Tensor?) {
                (Tensor(shape: xShape, scalars: Array(v[0..<n])),
                 fixedLabels == nil ? Tensor(shape: yShape, scalars: Array(v[n...])) : nil)
            }
            switch c.optimizer {
            case let .lbfgs(configuration):
                let start = x0.scalars + (y0?.scalars ?? [])
                let result = LBFGS(configuration: configuration).minimize(from: start) { v in
                    let (x, y) = split(v)
                    let (value, gx, gy) = objective(x, labelLogits: y)
                    return (value, gx.scalars + (gy?.scalars ?? []))
                }
                let (x, y) = split(result.x)
                return Result(reconstructions: x, labels: recoveredLabels(y), loss: result.value, lossHistory: result.history,
                              evaluations: result.evaluations)
            case let .adam(learningRate, iterations):
                var parameters = [x0] + (y0.map { [$0] } ?? [])
                var adam = Adam()
                var history: [Double] = []
                var best = (value: Double.infinity, parameters: parameters)
                for _ in 0..<iterations {
                    let (value, gx, gy) = objective(parameters[0], labelLogits: parameters.count > 1 ? parameters[1] : nil)
                    if Double(value) < best.value { best = (Double(value), parameters) }
                    history.append(Double(value))
                    adam.step(parameters: &parameters, gradients: [gx] + (gy.map { [$0] } ?? []), learningRate: learningRate)
                }
                return Result(reconstructions: best.parameters[0], labels: recoveredLabels(best.parameters.count > 1 ? best.parameters[1] : nil),
                              loss: best.value, lossHistory: history, evaluations: iterations)
            }
        }

        func recoveredLabels(_ logits: Tensor?) -> [Int] {
            if let fixedLabels { return fixedLabels }
            return logits!.argmax(alongAxis: 1)
        }

        func solveInvertingGradients(_ c: InvertingGradientsConfiguration, random: LabRandom, pixelRange: ClosedRange<Float>) -> Result {
            var parameters = [initialInputs(c.initialization, random: random)]
            var adam = Adam()
            var history: [Double] = []
            let milestones = [3, 5, 7].map { c.iterations * $0 / 8 }
            var value: Float = .infinity
            for iteration in 0..<c.iterations {
                let (v, gx, _) = objective(parameters[0], labelLogits: nil)
                value = v
                history.append(Double(v))
                let step = c.signedGradients ? gx.sign() : gx
                let decay = Float(milestones.filter { iteration >= $0 }.count)
                adam.step(parameters: &parameters, gradients: [step], learningRate: c.learningRate * powf(0.1, decay))
                parameters[0] = withoutGradients { parameters[0].clamped(lower: pixelRange.lowerBound, upper: pixelRange.upperBound) }
            }
            // The loss at the final (projected) point.
            let final = objective(parameters[0], labelLogits: nil).value
            value = final
            history.append(Double(final))
            return Result(reconstructions: parameters[0], labels: fixedLabels ?? [], loss: Double(value), lossHistory: history,
                          evaluations: c.iterations + 1)
        }
    }
}
