import ModelAccess
import Tensors

/// MI-Face: reconstructs a representative input of a class by gradient descent on the input.
///
/// Fredrikson, Jha, Ristenpart, "Model Inversion Attacks that Exploit Confidence Information and
/// Basic Countermeasures", CCS 2015, Algorithm 1. For a target class y the attack minimises
///
///     c(x) = 1 − f̃_y(x) + w·TV(x)
///
/// (f̃_y the model's confidence in y, TV an optional total-variation prior) by
/// xᵢ = Process(xᵢ₋₁ − λ∇c(xᵢ₋₁)), where Process clamps to the image range, and returns the
/// iterate of lowest cost. It stops (the paper's three rules) after α iterations; when the cost
/// is no lower than every one of the β costs before it (the descent stalled or oscillates); or
/// when the cost reaches γ.
///
/// The gradient of the confidence is read from the model's input gradients of the loss: with
/// softmax cross-entropy ℓ = −log f̃_y, ∇f̃_y = −f̃_y·∇ℓ, so ∇c = f̃_y·∇ℓ + w·∇TV. The attack is
/// therefore generic over `ProbabilityAccess & InputGradientAccess`: a label-only or
/// score-only model cannot be passed to it (a compile-time error, not a runtime one).
///
/// All targets are inverted together as one batch (their iterations are independent; a target
/// that has stopped is frozen), so 40 ORL subjects cost one batched query per step.
/// - Complexity: at most α iterations of one probability query and one input-gradient query
///   on the batch of targets.
/// - Caveats: the paper's γ = 0.99 refers to its own scaling of c; here γ applies to
///   c = 1 − f̃_y (+ prior), so γ = 0.01 stops at 99% confidence. Starting from zeros on a
///   softmax-regression model, the reconstruction converges to a clamped multiple of the class's
///   discriminative direction, which looks like the face only through its mean-face component.
public enum MIFace {
    /// Where the descent starts.
    public enum Start: Sendable, Equatable {
        /// Every pixel 0 (the paper's choice).
        case zeros
        /// Every pixel `value`.
        case constant(Float)
        /// A public prior image of the per-sample shape (e.g. the mean face of other people).
        case image([Float])
        /// One prior image per target (per-sample shape each), e.g. the mean face of everyone
        /// but the target.
        case perTarget([[Float]])
    }

    /// Why the descent of one target stopped.
    public enum StopReason: String, Sendable, Equatable, Codable {
        case maxIterations = "max-iterations"
        case noImprovement = "no-improvement"
        case costThreshold = "cost-threshold"
    }

    public struct Configuration: Sendable, Equatable {
        /// α: the largest number of descent steps.
        public var maxIterations: Int
        /// β: stop when the cost is no lower than each of the previous β costs.
        public var patience: Int
        /// γ: stop when the cost is at most this value.
        public var costThreshold: Double
        /// λ: the step size.
        public var learningRate: Float
        public var start: Start
        /// An optional total-variation prior and its weight w.
        public var totalVariation: TotalVariation?
        public var totalVariationWeight: Float
        /// Process: clamp each iterate to this range (the range of the model's inputs).
        public var pixelRange: ClosedRange<Float>?
        /// When set, the descent runs unclamped (`pixelRange` is ignored) and each returned image
        /// is mapped affinely onto this range (its minimum to the lower bound, its maximum to the
        /// upper; a constant image to the midpoint), so that the model's input range is used
        /// in full, as a displayed reconstruction is. Its reported confidence is then the model's
        /// confidence in the mapped image.
        public var rescaledRange: ClosedRange<Float>? = nil

        /// The paper's softmax/MLP settings: α = 5000, β = 100, λ = 0.1, zero start, no prior.
        public init(maxIterations: Int = 5000, patience: Int = 100, costThreshold: Double = 0, learningRate: Float = 0.1,
                    start: Start = .zeros, totalVariation: TotalVariation? = nil, totalVariationWeight: Float = 0,
                    pixelRange: ClosedRange<Float>? = 0...1) {
            self.maxIterations = maxIterations
            self.patience = patience
            self.costThreshold = costThreshold
            self.learningRate = learningRate
            self.start = start
            self.totalVariation = totalVariation
            self.totalVariationWeight = totalVariationWeight
            self.pixelRange = pixelRange
        }

        func validate(targets: Int, sampleSize: Int) throws(InversionError) {
            guard maxIterations >= 1 else { throw .invalidConfiguration("max_iterations must be ≥ 1, got \(maxIterations)") }
            guard patience >= 1 else { throw .invalidConfiguration("patience must be ≥ 1, got \(patience)") }
            guard learningRate > 0, learningRate.isFinite else { throw .invalidConfiguration("learning_rate must be positive, got \(learningRate)") }
            guard totalVariationWeight >= 0 else { throw .invalidConfiguration("total-variation weight must be ≥ 0, got \(totalVariationWeight)") }
            switch start {
            case let .image(values) where values.count != sampleSize:
                throw .invalidInput("start image has \(values.count) values, the model's inputs have \(sampleSize)")
            case let .perTarget(images):
                guard images.count == targets else { throw .invalidInput("\(images.count) start images for \(targets) targets") }
                if let bad = images.first(where: { $0.count != sampleSize }) {
                    throw .invalidInput("a start image has \(bad.count) values, the model's inputs have \(sampleSize)")
                }
            default: break
            }
        }
    }

    /// The reconstruction of one target.
    public struct Reconstruction: Sendable, Equatable {
        public var target: Int
        /// The lowest-cost iterate, per-sample shape, row-major.
        public var image: [Float]
        public var cost: Double
        /// The model's confidence in the target at `image`.
        public var confidence: Double
        public var iterations: Int
        public var stopReason: StopReason
    }

    /// Inverts each class of `targets` (classes may repeat).
    ///
    /// - Parameter sampleShape: the per-sample input shape, e.g. [1, 112, 92].
    /// - Throws: `InversionError` for a target outside the model's classes or a bad configuration.
    public static func invert<Model: ProbabilityAccess & InputGradientAccess>(
        model: Model, targets: [Int], sampleShape: [Int], configuration c: Configuration
    ) throws(InversionError) -> [Reconstruction] {
        let n = targets.count, d = Tensor.elementCount(sampleShape)
        guard n > 0 else { return [] }
        if let bad = targets.first(where: { $0 < 0 || $0 >= model.classCount }) {
            throw .invalidInput("target class \(bad) is outside 0..<\(model.classCount)")
        }
        if c.totalVariation != nil && c.totalVariationWeight > 0 && sampleShape.count != 3 {
            throw .invalidConfiguration("a total-variation prior needs image inputs [C, H, W], got \(sampleShape)")
        }
        try c.validate(targets: n, sampleSize: d)
        var x = [Float](repeating: 0, count: n * d)
        for t in 0..<n {
            switch c.start {
            case .zeros: break
            case let .constant(v): for i in 0..<d { x[t * d + i] = v }
            case let .image(values): for i in 0..<d { x[t * d + i] = values[i] }
            case let .perTarget(images): for i in 0..<d { x[t * d + i] = images[t][i] }
            }
        }
        let shape = [n] + sampleShape
        var best = x
        var bestCost = [Double](repeating: .infinity, count: n)
        var bestConfidence = [Double](repeating: 0, count: n)
        var history = [[Double]](repeating: [], count: n)
        var active = [Bool](repeating: true, count: n)
        var iterations = [Int](repeating: 0, count: n)
        var reasons = [StopReason](repeating: .maxIterations, count: n)
        for step in 0...c.maxIterations {
            let batch = Tensor(shape: shape, scalars: x)
            let probabilities = model.probabilities(for: batch).scalars
            var prior = [Double](repeating: 0, count: n)
            var priorGradient: [Float]? = nil
            if let tv = c.totalVariation, c.totalVariationWeight > 0 {
                let leaf = batch.requiringGradient()
                // TV of the batch is the sum of per-image values (each image's mean terms).
                let perImage = tv.value(leaf) * Float(n)
                priorGradient = gradients(of: perImage, withRespectTo: [leaf])[0].scalars
                let values = tv.perImage(x, shape: shape)
                for t in 0..<n { prior[t] = values[t] * Double(c.totalVariationWeight) }
            }
            // Cost of the current iterates; stopping rules.
            for t in 0..<n where active[t] {
                let p = Double(probabilities[t * model.classCount + targets[t]])
                let cost = 1 - p + prior[t]
                if cost < bestCost[t] {
                    bestCost[t] = cost
                    bestConfidence[t] = p
                    for i in 0..<d { best[t * d + i] = x[t * d + i] }
                }
                let window = history[t].suffix(c.patience)
                if step > 0 && window.count == c.patience && cost >= window.max()! {
                    active[t] = false; reasons[t] = .noImprovement
                } else if cost <= c.costThreshold {
                    active[t] = false; reasons[t] = .costThreshold
                } else if step == c.maxIterations {
                    active[t] = false; reasons[t] = .maxIterations
                }
                history[t].append(cost)
                iterations[t] = step
            }
            guard active.contains(true) else { break }
            // One descent step for the active targets: ∇c = f̃_y·∇ℓ + w·∇TV.
            let lossGradient = model.inputGradients(for: batch, labels: targets).scalars
            let lr = c.learningRate, w = c.totalVariationWeight
            for t in 0..<n where active[t] {
                let p = probabilities[t * model.classCount + targets[t]]
                for i in 0..<d {
                    var g = p * lossGradient[t * d + i]
                    if let pg = priorGradient { g += w * pg[t * d + i] }
                    var v = x[t * d + i] - lr * g
                    if c.rescaledRange == nil, let range = c.pixelRange { v = min(max(v, range.lowerBound), range.upperBound) }
                    x[t * d + i] = v
                }
            }
        }
        if let range = c.rescaledRange {
            for t in 0..<n { rescale(&best[(t * d)..<((t + 1) * d)], to: range) }
            let probabilities = model.probabilities(for: Tensor(shape: shape, scalars: best)).scalars
            for t in 0..<n { bestConfidence[t] = Double(probabilities[t * model.classCount + targets[t]]) }
        }
        return (0..<n).map { t in
            Reconstruction(target: targets[t], image: Array(best[(t * d)..<((t + 1) * d)]), cost: bestCost[t],
                           confidence: bestConfidence[t], iterations: iterations[t], stopReason: reasons[t])
        }
    }

    /// Maps `image` affinely onto `range`: its minimum to the lower bound, its maximum to the
    /// upper; a constant image (or one with a non-finite value) to the midpoint.
    public static func rescale(_ image: inout ArraySlice<Float>, to range: ClosedRange<Float>) {
        guard let low = image.min(), let high = image.max(), low.isFinite, high.isFinite, high > low else {
            for i in image.indices { image[i] = (range.lowerBound + range.upperBound) / 2 }
            return
        }
        let scale = (range.upperBound - range.lowerBound) / (high - low)
        for i in image.indices { image[i] = range.lowerBound + (image[i] - low) * scale }
    }
}
