/// One party's additive share of a secret fixed-point tensor.
///
/// The secret is `x = decode(Σ_p share_p mod 2^64)`; this value holds only this party's share,
/// which on its own is uniformly distributed whatever `x` is. `shape` and `bound` are public:
/// `bound` is an upper bound on every `|x_i|`, carried through every operation (interval
/// arithmetic) so that an operation whose result could leave the ring's safe range is refused
/// before it is computed (`SecretSharingError.possibleOverflow`) instead of wrapping silently.
///
/// Storage is flat and row-major (`[UInt64]`); 1-D and 2-D shapes are used by the protocols.
public struct SecretTensor: Sendable {
    /// The public shape.
    public let shape: [Int]
    /// This party's share, row-major.
    public internal(set) var share: [UInt64]
    /// A public upper bound on the magnitude of every element of the secret.
    public internal(set) var bound: Double

    /// The number of elements.
    public var count: Int { share.count }

    init(shape: [Int], share: [UInt64], bound: Double) {
        precondition(shape.reduce(1, *) == share.count,
                     "shape \(shape) does not hold \(share.count) elements")
        self.shape = shape
        self.share = share
        self.bound = bound
    }

    /// The same secret with a tighter public bound, asserted by the caller (for example from a
    /// clipping step or domain knowledge). An assertion that turns out false is caught by
    /// `Party.reveal`, which checks revealed values against their bound.
    public func assumingBound(_ newBound: Double) -> SecretTensor {
        SecretTensor(shape: shape, share: share, bound: newBound)
    }

    /// The same elements with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) -> SecretTensor {
        SecretTensor(shape: newShape, share: share, bound: bound)
    }

    /// Rows `range` of a 2-D tensor (or elements of a 1-D one).
    public func rows(_ range: Range<Int>) -> SecretTensor {
        let width = shape.count == 2 ? shape[1] : 1
        let slice = Array(share[(range.lowerBound * width)..<(range.upperBound * width)])
        let newShape = shape.count == 2 ? [range.count, shape[1]] : [range.count]
        return SecretTensor(shape: newShape, share: slice, bound: bound)
    }
}

/// One party's additive shares of secret bits `b ∈ {0, 1}` over Z(2^64) (integers, not fixed
/// point): the outputs of comparisons, used as selectors.
public struct SecretBits: Sendable {
    /// The public shape.
    public let shape: [Int]
    /// This party's share, row-major.
    public internal(set) var share: [UInt64]
    /// The number of bits.
    public var count: Int { share.count }
}
