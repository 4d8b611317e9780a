import Tensors

/// Batch normalization (Ioffe & Szegedy 2015), as PyTorch's `nn.BatchNorm1d`/`nn.BatchNorm2d`
/// computes it.
///
/// Per feature c (a column of [N, C] inputs, or a channel of [N, C, H, W] inputs, whose
/// statistics then run over the batch and both spatial axes), with γ the `weight` and β the
/// `bias` parameters (γ = 1, β = 0 without `affine`):
/// - training: y = (x − μ_B)/√(σ²_B + ε)·γ + β with the batch mean μ_B and biased variance σ²_B,
///   differentiated through μ_B and σ²_B; the running statistics become
///   (1 − m)·running + m·μ_B and (1 − m)·running_var + m·σ²_B·n/(n − 1), n the values per
///   feature (PyTorch's update; with n = 1 the biased variance is used instead of dividing by 0).
/// - evaluation: y = x·s + t with s = γ/√(running_var + ε), t = β − running_mean·s.
///
/// Caveats: a batch norm layer in training makes each example's output depend on the whole
/// batch, so per-example gradients (DP-SGD) are undefined for it; PyTorch's `momentum=None`
/// (a cumulative average driven by `num_batches_tracked`) is not supported.
struct BatchNormalization {
    /// Statistics over [N, H, W] of [N, C, H, W] inputs (BatchNorm2d) rather than over N.
    var spatial: Bool
    var epsilon: Float
    var momentum: Float

    /// The axes the statistics reduce.
    var axes: [Int] { spatial ? [0, 2, 3] : [0] }

    /// The broadcastable shape of a per-feature vector.
    func featureShape(_ features: Int) -> [Int] { spatial ? [1, features, 1, 1] : [1, features] }

    /// The training-mode output and the new running mean and variance.
    func training(_ x: Tensor, scale: Tensor?, shift: Tensor?, runningMean: Tensor,
                  runningVariance: Tensor) -> (output: Tensor, runningMean: Tensor, runningVariance: Tensor) {
        let features = x.shape[1]
        let mean = x.mean(alongAxes: axes, keepingDimensions: true)
        let centered = x - mean
        let variance = centered.squared().mean(alongAxes: axes, keepingDimensions: true)
        var y = centered / (variance + epsilon).squareRoot()
        if let scale, let shift {
            y = y * scale.reshaped(to: featureShape(features)) + shift.reshaped(to: featureShape(features))
        }
        let count = x.scalarCount / Swift.max(features, 1)
        let (newMean, newVariance) = withoutGradients {
            let correction = Float(count) / Float(Swift.max(count - 1, 1))
            return (runningMean.detached() * (1 - momentum) + mean.detached().reshaped(to: [features]) * momentum,
                    runningVariance.detached() * (1 - momentum) + variance.detached().reshaped(to: [features]) * (momentum * correction))
        }
        return (y, newMean, newVariance)
    }

    /// The evaluation-mode output, from the running statistics.
    func evaluation(_ x: Tensor, scale: Tensor?, shift: Tensor?, runningMean: Tensor, runningVariance: Tensor) -> Tensor {
        let features = x.shape[1]
        let inverseDeviation = Tensor(1) / (runningVariance + epsilon).squareRoot()
        var s = inverseDeviation, t = runningMean * inverseDeviation * Float(-1)
        if let scale, let shift {
            s = scale * inverseDeviation
            t = shift - runningMean * s
        }
        return x * s.reshaped(to: featureShape(features)) + t.reshaped(to: featureShape(features))
    }
}
