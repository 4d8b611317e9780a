import Foundation

// MARK: Private logistic regression: training and inference on secret-shared data.

/// How secure training evaluates the logistic function.
public enum SigmoidApproximation: Sendable, Equatable {
    /// `Party.piecewiseSigmoid`: cubic pieces chosen by one batched comparison (8 rounds,
    /// error about 1e-4).
    case piecewiseCubic
    /// `Party.sigmoid`: `exp` by squarings and a polynomial reciprocal (30–31 rounds at the
    /// default 6 iterations, error about 1.7e-4).
    case exponential
}

/// Hyperparameters of mini-batch gradient descent for logistic regression.
public struct LogisticRegressionParameters: Sendable, Equatable {
    /// Passes over the training rows.
    public var epochs: Int
    /// Rows per step; batches are consecutive rows, the last one possibly shorter.
    public var batchSize: Int
    /// Step size on the mean gradient.
    public var learningRate: Double
    /// Squarings of the sigmoid's exp (`Party.sigmoid`, with `.exponential`).
    public var sigmoidIterations: Int
    /// How the logistic function is evaluated.
    public var sigmoid: SigmoidApproximation

    public init(epochs: Int = 5, batchSize: Int = 50, learningRate: Double = 0.5, sigmoidIterations: Int = 6,
                sigmoid: SigmoidApproximation = .piecewiseCubic) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.sigmoidIterations = sigmoidIterations
        self.sigmoid = sigmoid
    }
}

/// A logistic-regression model whose weights are secret-shared.
///
/// Training is plain mini-batch gradient descent on the cross-entropy, every step computed under
/// MPC: `z = X_B·w + b`, `p = σ(z)` (`Party.sigmoid`), `w ← w - (η/|B|)·X_Bᵀ(p - y_B)`,
/// `b ← b - (η/|B|)·Σ(p - y_B)`, the two gradients as one scaled product (`matmul(_:_:scaledBy:)`).
/// Nothing is revealed during training. The computation is
/// the same as `PlaintextLogisticRegression`'s step for step, so the two differ only by the
/// fixed-point and sigmoid errors (each step's error is at most `η·|σ̂ - σ|·max|x|·d` on a
/// weight; gradient descent on this convex loss does not amplify it).
///
/// - Cost per step with batch `B` and `d` features (dealer truncation): one B×d×1 matmul
///   (2 rounds; 1 with the piecewise sigmoid, which truncates it in its own first round), one
///   sigmoid (8 rounds piecewise; 30 or 31 by `exp`), one scaled (d+1)×B×1 matmul (2 rounds):
///   11 (34–35 with `.exponential`).
/// - Reference: Mohassel, Zhang, "SecureML" (S&P 2017) §4; CrypTen's logistic-regression
///   tutorial.
public struct SecureLogisticRegression: Sendable {
    /// Weights, shape [d, 1].
    public var weights: SecretTensor
    /// Bias, shape [1, 1].
    public var bias: SecretTensor

    /// Trains on secret features (shape [n, d]) and labels in {0, 1} (shape [n, 1]).
    public static func train(
        party: Party, features: SecretTensor, labels: SecretTensor,
        parameters: LogisticRegressionParameters
    ) throws(SecretSharingError) -> SecureLogisticRegression {
        guard features.shape.count == 2, labels.shape == [features.shape[0], 1] else {
            throw .invalidArgument("features must be [n, d] and labels [n, 1], got \(features.shape) and \(labels.shape)")
        }
        guard parameters.epochs >= 1, parameters.batchSize >= 1, parameters.learningRate > 0 else {
            throw .invalidArgument("epochs, batch size and learning rate must be positive")
        }
        let (n, d) = (features.shape[0], features.shape[1])
        var model = SecureLogisticRegression(
            weights: try party.constant([Double](repeating: 0, count: d), shape: [d, 1]),
            bias: try party.constant([0], shape: [1, 1]))
        for _ in 0..<parameters.epochs {
            var start = 0
            while start < n {
                let end = Swift.min(n, start + parameters.batchSize)
                let x = features.rows(start..<end)
                let y = labels.rows(start..<end)
                let p: SecretTensor
                switch parameters.sigmoid {
                case .piecewiseCubic:
                    // z = X_B·w + b left at scale 2f: the sigmoid truncates it in its first round.
                    let product = try party.untruncatedMatmul(x, model.weights)
                    var z = product.share
                    let shift = UInt64(party.encoder.fractionalBits)
                    for i in 0..<z.count { z[i] &+= model.bias.share[0] &<< shift }
                    p = try party.piecewiseSigmoid(untruncated: z, shape: [end - start, 1], bound: product.bound + model.bias.bound)
                case .exponential:
                    let z = try party.addRowVector(try party.matmul(x, model.weights), model.bias)
                    p = try party.sigmoid(z, iterations: parameters.sigmoidIterations)
                }
                let error = try party.subtract(p, y)
                // [Xᵀ | 1]ᵀ·e scaled by η/B in one product and one truncation: the bias gradient
                // Σe is the product with a column of ones (public, so party 0's share is 1.0).
                let rate = parameters.learningRate / Double(end - start)
                let withOnes = try party.concatenate([
                    party.transpose(x), party.constant([Double](repeating: 1, count: end - start), shape: [1, end - start]),
                ]).assumingBound(Swift.max(x.bound, 1))
                let step = try party.matmul(withOnes, error, scaledBy: rate).reshaped([d + 1])
                model.weights = try party.subtract(model.weights, step.rows(0..<d).reshaped([d, 1]))
                model.bias = try party.subtract(model.bias, step.rows(d..<(d + 1)).reshaped([1, 1]))
                start = end
            }
        }
        return model
    }

    /// The decision values `X·w + b`, shape [n, 1].
    public func logits(party: Party, features: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try party.addRowVector(try party.matmul(features, weights), bias)
    }

    /// Predicted probabilities `σ(X·w + b)`, shape [n, 1].
    public func probabilities(party: Party, features: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try party.sigmoid(try logits(party: party, features: features))
    }

    /// Predicted labels `[X·w + b ≥ 0]` (one comparison, no sigmoid needed).
    public func labels(party: Party, features: SecretTensor) throws(SecretSharingError) -> SecretBits {
        party.not(try party.isNegative(try logits(party: party, features: features)))
    }
}

/// The plaintext oracle: the same mini-batch gradient descent in `Double`.
public enum PlaintextLogisticRegression {
    /// Trains on row-major features ([n, d]) and labels in {0, 1}; returns (weights, bias).
    public static func train(
        features: [Double], labels: [Double], rows n: Int, columns d: Int,
        parameters: LogisticRegressionParameters
    ) -> (weights: [Double], bias: Double) {
        precondition(features.count == n * d && labels.count == n, "plaintext logistic regression: shapes")
        var w = [Double](repeating: 0, count: d)
        var b = 0.0
        var g = [Double](repeating: 0, count: d)
        features.withUnsafeBufferPointer { x in
            for _ in 0..<parameters.epochs {
                var start = 0
                while start < n {
                    let end = Swift.min(n, start + parameters.batchSize)
                    for j in 0..<d { g[j] = 0 }
                    var gb = 0.0
                    for i in start..<end {
                        var s = b
                        for j in 0..<d { s += x[i * d + j] * w[j] }
                        let e = 1 / (1 + Foundation.exp(-s)) - labels[i]
                        gb += e
                        for j in 0..<d { g[j] += x[i * d + j] * e }
                    }
                    let rate = parameters.learningRate / Double(end - start)
                    for j in 0..<d { w[j] -= rate * g[j] }
                    b -= rate * gb
                    start = end
                }
            }
        }
        return (w, b)
    }

    /// The accuracy of (weights, bias) on row-major features and {0, 1} labels.
    public static func accuracy(
        weights: [Double], bias: Double, features: [Double], labels: [Double]
    ) -> Double {
        let d = weights.count
        let n = labels.count
        var correct = 0
        for i in 0..<n {
            var s = bias
            for j in 0..<d { s += features[i * d + j] * weights[j] }
            if (s >= 0 ? 1.0 : 0.0) == labels[i] { correct += 1 }
        }
        return Double(correct) / Double(n)
    }
}
