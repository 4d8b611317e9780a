internal import CKernels

/// Fused update kernels over raw buffers for the layers above (optimisers), vectorised in C
/// and cloned for AVX2 and the baseline instruction set with identical results on both.
public enum FusedKernels {
    /// One Adam (or AdamW) update of `count` parameters in place:
    /// p ← p·shrink; d ← g + l2·p; m ← β₁m + (1−β₁)d; v ← β₂v + (1−β₂)d²;
    /// p ← p − stepSize · m / (√v · inverseSqrtCorrection2 + ε).
    ///
    /// The four buffers must not overlap. - Complexity: O(count), one pass.
    @inlinable
    public static func adamUpdate(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
                                  firstMoments m: UnsafeMutablePointer<Float>, secondMoments v: UnsafeMutablePointer<Float>,
                                  count: Int, beta1: Float, beta2: Float, epsilon: Float, stepSize: Float,
                                  inverseSqrtCorrection2: Float, l2: Float, shrink: Float) {
        adamKernel(p, g, m, v, count, beta1, beta2, epsilon, stepSize, inverseSqrtCorrection2, l2, shrink)
    }

    @usableFromInline
    static func adamKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                           _ v: UnsafeMutablePointer<Float>, _ count: Int, _ beta1: Float, _ beta2: Float,
                           _ epsilon: Float, _ stepSize: Float, _ correction: Float, _ l2: Float, _ shrink: Float) {
        guard count > 0 else { return }
        pl_adam_update(p, g, m, v, count, beta1, beta2, epsilon, stepSize, correction, l2, shrink)
    }
}
