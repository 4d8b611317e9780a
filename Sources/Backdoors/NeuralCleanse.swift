import Foundation
import LabRandom
import ModelAccess
import Tensors

/// Neural Cleanse (Wang et al. 2019, "Neural Cleanse: Identifying and mitigating backdoor
/// attacks in neural networks").
///
/// For each label t, it searches for the smallest trigger that sends clean inputs to t: a mask
/// m ∈ [0, 1]^{H×W} (shared by the channels) and a pattern p ∈ [0, 1]^{C×H×W}, applied as
/// x' = (1 − m) ⊙ x + m ⊙ p, minimising
///
///     CE(f(x'), t) + λ · ‖m‖₁
///
/// with m = tanh(θ_m)/(2 − ε) + ½ and p = tanh(θ_p)/(2 − ε) + ½ (unconstrained θ, Adam with
/// β = (0.5, 0.9)). λ follows the paper's schedule: it starts at `initialCost`; after
/// `patience` consecutive steps whose attack success is ≥ `attackSuccessThreshold` it is
/// multiplied by `costMultiplier`, after `patience` steps below it divided by
/// `costMultiplier`^1.5. A step is one pass over the clean inputs in mini-batches of
/// `batchSize`. The smallest ‖m‖₁ among steps that reach the threshold is kept; the search
/// stops early when it has not improved by 1% for `earlyStopPatience` steps after λ went both
/// up and down.
///
/// Detection: with Lₜ the kept norms, median L̃ and MAD = 1.4826·median|Lₜ − L̃|, the anomaly
/// index of t is |Lₜ − L̃| / MAD; a label is flagged when Lₜ ≤ L̃ and its index exceeds
/// `anomalyThreshold` (2). Mitigation by unlearning fine-tunes the model on clean data where a
/// fraction (20%) of the samples carry a reversed trigger with their true label (the fine-tuning
/// of a PrivacyLab network is `unlearn(model:triggers:…)` in ThreatTraining).
///
/// The search reaches the model through `DifferentiableModel`: its input shape, its classes and
/// the gradient of its logits with respect to the stamped inputs.
///
/// Caveats: a label whose search never reaches the threshold gets the norm of its best final
/// mask (it is very unlikely to be a backdoor target). The MAD is zero when half the labels
/// share one norm; every index is then reported as 0.
/// - Complexity: labels × steps × (N / batchSize) forward and backward passes.
public struct NeuralCleanse: Sendable, Equatable {
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var initialCost: Float
    public var attackSuccessThreshold: Double
    public var patience: Int
    public var costMultiplier: Float
    public var earlyStop: Bool
    public var earlyStopThreshold: Float
    public var earlyStopPatience: Int
    public var anomalyThreshold: Double

    public init(steps: Int = 1000, batchSize: Int = 32, learningRate: Float = 0.1, initialCost: Float = 1e-3,
                attackSuccessThreshold: Double = 0.99, patience: Int = 5, costMultiplier: Float = 1.5,
                earlyStop: Bool = true, earlyStopThreshold: Float = 0.99, earlyStopPatience: Int = 10,
                anomalyThreshold: Double = 2) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.initialCost = initialCost
        self.attackSuccessThreshold = attackSuccessThreshold
        self.patience = patience
        self.costMultiplier = costMultiplier
        self.earlyStop = earlyStop
        self.earlyStopThreshold = earlyStopThreshold
        self.earlyStopPatience = earlyStopPatience
        self.anomalyThreshold = anomalyThreshold
    }

    /// A reverse-engineered trigger for one label.
    public struct ReversedTrigger: Sendable, Equatable {
        public var label: Int
        /// m, H·W values in [0, 1].
        public var mask: [Float]
        /// p, C·H·W values in [0, 1].
        public var pattern: [Float]
        /// ‖m‖₁ of the kept mask (the mask after the step with the smallest mean ‖m‖₁ over its
        /// mini-batches among steps that reached the threshold, as ART keeps it).
        public var maskNorm: Float
        /// The attack success of the kept trigger on the last step it was seen.
        public var attackSuccess: Double
        /// Whether some step reached `attackSuccessThreshold`.
        public var reachedThreshold: Bool
        /// Optimisation steps run.
        public var stepsRun: Int

        public init(label: Int, mask: [Float], pattern: [Float], maskNorm: Float, attackSuccess: Double,
                    reachedThreshold: Bool, stepsRun: Int) {
            self.label = label
            self.mask = mask
            self.pattern = pattern
            self.maskNorm = maskNorm
            self.attackSuccess = attackSuccess
            self.reachedThreshold = reachedThreshold
            self.stepsRun = stepsRun
        }

        /// Stamps the trigger on one sample: x' = (1 − m) ⊙ x + m ⊙ p.
        public func apply(to sample: UnsafeMutableBufferPointer<Float>) {
            let plane = mask.count
            for i in 0..<sample.count {
                let m = mask[i % plane]
                sample[i] = (1 - m) * sample[i] + m * pattern[i]
            }
        }
    }

    /// The outcome of a scan of every label.
    public struct Report: Sendable, Equatable {
        public var triggers: [ReversedTrigger]
        public var maskNorms: [Double]
        public var anomalyIndices: [Double]
        public var flaggedLabels: [Int]
    }

    func validate(model: some DifferentiableModel, inputs: Tensor) throws(BackdoorError) {
        guard model.inputShape.count == 3 else { throw .unsupportedModel("Neural Cleanse needs image inputs [C, H, W], model takes \(model.inputShape)") }
        guard inputs.rank == 4, Array(inputs.shape.dropFirst()) == model.inputShape else {
            throw .invalidParameter("clean inputs of shape \(inputs.shape) do not fit the model's \(model.inputShape)")
        }
        guard inputs.shape[0] >= 1 else { throw .insufficientData("Neural Cleanse needs at least one clean input") }
        guard steps >= 1, batchSize >= 1, patience >= 1, learningRate > 0, initialCost >= 0, costMultiplier > 1 else {
            throw .invalidParameter("steps, batch size and patience must be ≥ 1, learning rate positive, cost ≥ 0, cost multiplier > 1")
        }
    }

    /// Searches the smallest trigger that sends the clean `inputs` to `label`.
    /// Draws the initial mask and pattern and the per-step batch order from `random`.
    public func reverseEngineer(model: some DifferentiableModel, label: Int, inputs: Tensor,
                                random: LabRandom) throws(BackdoorError) -> ReversedTrigger {
        try validate(model: model, inputs: inputs)
        let channels = model.inputShape[0], height = model.inputShape[1], width = model.inputShape[2]
        let n = inputs.shape[0]
        let epsilon: Float = 1e-7
        var initial = random.stream("init")
        var theta: [Tensor] = [
            Tensor(shape: [1, 1, height, width]) { initial.fillUniform($0, low: 0, high: 1) },
            Tensor(shape: [1, channels, height, width]) { initial.fillUniform($0, low: 0, high: 1) },
        ]
        var adam = Adam(beta1: 0.5, beta2: 0.9, epsilon: 1e-7)
        var cost = initialCost
        var best: (mask: [Float], pattern: [Float], norm: Float, success: Double)? = nil
        var upCounter = 0, downCounter = 0, setCounter = 0
        var wentUp = false, wentDown = false
        var earlyCounter = 0
        var earlyBest = Float.infinity
        var lastMask: [Float] = [], lastPattern: [Float] = [], lastSuccess = 0.0
        var stepsRun = 0
        let batches = max(1, n / batchSize)
        for step in 0..<steps {
            var order = random.stream("step/\(step)")
            let permutation = order.permutation(n)
            var regTotal: Double = 0, hits = 0, seen = 0
            for b in 0..<batches {
                let rows = Array(permutation[(b * batchSize) ..< min(n, (b + 1) * batchSize)])
                let x = inputs.gatheringRows(rows)
                let leaves = theta.map { $0.requiringGradient() }
                let mask = leaves[0].tanh() / (2 - epsilon) + 0.5
                let pattern = leaves[1].tanh() / (2 - epsilon) + 0.5
                let stamped = (1 - mask) * x + mask * pattern
                let logits = model.logits(for: stamped, parameters: model.parameters)
                let targets = [Int](repeating: label, count: rows.count)
                let ce = Tensor.softmaxCrossEntropy(logits: logits, labels: targets).mean()
                let reg = mask.sum()
                let loss = ce + reg * cost
                let grads = gradients(of: loss, withRespectTo: leaves)
                adam.step(parameters: &theta, gradients: grads, learningRate: learningRate)
                let predicted = logits.detached().argmax(alongAxis: 1)
                for p in predicted where p == label { hits += 1 }
                seen += rows.count
                regTotal += Double(reg.scalar)
            }
            stepsRun = step + 1
            let success = Double(hits) / Double(seen)
            let meanReg = Float(regTotal / Double(batches))
            // The mask and pattern after this step's updates, as the paper keeps them.
            lastMask = withoutGradients { (theta[0].tanh() / (2 - epsilon) + 0.5).scalars }
            lastPattern = withoutGradients { (theta[1].tanh() / (2 - epsilon) + 0.5).scalars }
            lastSuccess = success
            if success >= attackSuccessThreshold && meanReg < (best?.norm ?? .infinity) {
                best = (lastMask, lastPattern, meanReg, success)
            }
            if earlyStop {
                if let b = best {
                    earlyCounter = b.norm >= earlyStopThreshold * earlyBest ? earlyCounter + 1 : 0
                    earlyBest = min(earlyBest, b.norm)
                }
                if wentUp && wentDown && earlyCounter >= earlyStopPatience { break }
            }
            if cost == 0 && success >= attackSuccessThreshold {
                setCounter += 1
                if setCounter >= patience { cost = initialCost; upCounter = 0; downCounter = 0; wentUp = false; wentDown = false }
            } else {
                setCounter = 0
            }
            if success >= attackSuccessThreshold { upCounter += 1; downCounter = 0 } else { upCounter = 0; downCounter += 1 }
            if upCounter >= patience {
                upCounter = 0
                cost *= costMultiplier
                wentUp = true
            } else if downCounter >= patience {
                downCounter = 0
                cost /= Float(pow(Double(costMultiplier), 1.5))
                wentDown = true
            }
        }
        if let best {
            return ReversedTrigger(label: label, mask: best.mask, pattern: best.pattern, maskNorm: best.mask.reduce(0, +),
                                   attackSuccess: best.success, reachedThreshold: true, stepsRun: stepsRun)
        }
        return ReversedTrigger(label: label, mask: lastMask, pattern: lastPattern, maskNorm: lastMask.reduce(0, +),
                               attackSuccess: lastSuccess, reachedThreshold: false, stepsRun: stepsRun)
    }

    /// The MAD anomaly index of each value: |Lₜ − median| / (1.4826 · median|L − median|).
    public static func anomalyIndices(_ norms: [Double]) -> [Double] {
        let m = median(norms)
        let mad = 1.4826 * median(norms.map { abs($0 - m) })
        guard mad > 0 else { return norms.map { _ in 0 } }
        return norms.map { abs($0 - m) / mad }
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Reverse-engineers a trigger for every label (each from stream `label/<t>` of `random`) and
    /// flags the anomalously small ones.
    /// - Parameter progress: called after each label.
    public func scan(model: some DifferentiableModel, inputs: Tensor, random: LabRandom,
                     progress: ((ReversedTrigger) -> Void)? = nil) throws(BackdoorError) -> Report {
        var triggers: [ReversedTrigger] = []
        for t in 0..<model.classCount {
            let trigger = try reverseEngineer(model: model, label: t, inputs: inputs, random: random.stream("label/\(t)"))
            progress?(trigger)
            triggers.append(trigger)
        }
        return report(triggers)
    }

    /// The anomaly analysis of a set of reversed triggers, one per label.
    public func report(_ triggers: [ReversedTrigger]) -> Report {
        let norms = triggers.map { Double($0.maskNorm) }
        let indices = Self.anomalyIndices(norms)
        let m = Self.median(norms)
        let flagged = triggers.indices.filter { norms[$0] <= m && indices[$0] > anomalyThreshold }.map { triggers[$0].label }
        return Report(triggers: triggers, maskNorms: norms, anomalyIndices: indices, flaggedLabels: flagged)
    }
}
