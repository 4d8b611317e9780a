import LabRandom

/// Where a square patch trigger sits in an image.
public enum TriggerPosition: Sendable, Equatable, Hashable {
    case bottomRight, bottomLeft, topRight, topLeft
    /// The patch's top-left pixel at (row, column).
    case at(row: Int, column: Int)

    /// The top-left pixel of a `size`×`size` patch in a `height`×`width` image, `margin` pixels
    /// from the named corner.
    public func origin(size: Int, height: Int, width: Int, margin: Int) -> (row: Int, column: Int) {
        switch self {
        case .bottomRight: return (height - margin - size, width - margin - size)
        case .bottomLeft: return (height - margin - size, margin)
        case .topRight: return (margin, width - margin - size)
        case .topLeft: return (margin, margin)
        case let .at(row, column): return (row, column)
        }
    }
}

/// The pixels of a patch trigger.
public enum PatchPattern: String, Sendable, Equatable, Hashable, CaseIterable {
    /// Every pixel at the maximum intensity (BadNets' "single pixel / square" trigger).
    case solid
    /// Alternating maximum and minimum intensities, starting with the maximum at the top-left
    /// (the checkerboard of Gu et al. 2017 and of ART's `add_pattern_bd`).
    case checkerboard
}

/// A backdoor trigger: how a clean image becomes a triggered one.
///
/// - A *patch* (BadNets, Gu et al. 2017) overwrites a `size`×`size` square of every channel:
///   x'[c, r, k] = pattern[r, k] inside the square, x elsewhere.
/// - A *blend* (Chen et al. 2017, "Targeted backdoor attacks … using data poisoning") mixes a
///   whole-image key pattern k into the input: x' = (1 − α)·x + α·k.
///
/// Laws: applying a trigger twice gives the same image as applying it once for patches; pixels
/// outside a patch never change; a blend with α = 0 is the identity. Values are assumed to lie
/// in [`low`, `high`] (MNIST scaled to [0, 1]).
public struct Trigger: Sendable, Equatable {
    public enum Shape: Sendable, Equatable {
        case patch(pattern: PatchPattern, size: Int, position: TriggerPosition, margin: Int)
        /// `key` has one value per pixel of a sample (`channels × height × width`).
        case blend(key: [Float], alpha: Float)
    }

    public var shape: Shape
    /// The sample shape [C, H, W] the trigger applies to.
    public let sampleShape: [Int]
    public var low: Float
    public var high: Float

    /// A BadNets patch trigger.
    /// - Precondition: the patch fits inside the image (a programmer error otherwise; specs are
    ///   checked by `validate`).
    public static func patch(_ pattern: PatchPattern, size: Int, position: TriggerPosition = .bottomRight, margin: Int = 1,
                             sampleShape: [Int], low: Float = 0, high: Float = 1) -> Trigger {
        Trigger(shape: .patch(pattern: pattern, size: size, position: position, margin: margin), sampleShape: sampleShape,
                low: low, high: high)
    }

    /// A blended trigger whose key is uniform random noise in [`low`, `high`] drawn from `random`
    /// (Chen et al.'s random-pattern key), mixed in with weight `alpha`.
    public static func randomBlend(alpha: Float, sampleShape: [Int], low: Float = 0, high: Float = 1,
                                   random: inout LabRandom) -> Trigger {
        var key = [Float](repeating: 0, count: sampleShape.reduce(1, *))
        key.withUnsafeMutableBufferPointer { random.fillUniform($0, low: low, high: high) }
        return Trigger(shape: .blend(key: key, alpha: alpha), sampleShape: sampleShape, low: low, high: high)
    }

    public init(shape: Shape, sampleShape: [Int], low: Float = 0, high: Float = 1) {
        self.shape = shape
        self.sampleShape = sampleShape
        self.low = low
        self.high = high
    }

    /// Checks the trigger against its image shape; the message names what is wrong.
    public func validate() throws(BackdoorError) {
        guard sampleShape.count == 3 else {
            throw .invalidParameter("triggers need image samples [C, H, W], got sample shape \(sampleShape)")
        }
        switch shape {
        case let .patch(_, size, position, margin):
            let (r, c) = position.origin(size: size, height: sampleShape[1], width: sampleShape[2], margin: margin)
            guard size >= 1, margin >= 0, r >= 0, c >= 0, r + size <= sampleShape[1], c + size <= sampleShape[2] else {
                throw .invalidParameter("a \(size)×\(size) patch at \(position) (margin \(margin)) does not fit a \(sampleShape[1])×\(sampleShape[2]) image")
            }
        case let .blend(key, alpha):
            guard key.count == sampleShape.reduce(1, *) else {
                throw .invalidParameter("blend key has \(key.count) values for samples of shape \(sampleShape)")
            }
            guard alpha >= 0 && alpha <= 1 else { throw .invalidParameter("blend alpha must lie in [0, 1], got \(alpha)") }
        }
    }

    /// Stamps the trigger onto one sample in place (`sample.count` = C·H·W).
    /// - Complexity: O(size²·C) for a patch, O(C·H·W) for a blend.
    public func apply(to sample: UnsafeMutableBufferPointer<Float>) {
        let channels = sampleShape[0], height = sampleShape[1], width = sampleShape[2]
        precondition(sample.count == channels * height * width, "Trigger.apply: sample of \(sample.count) values, expected shape \(sampleShape)")
        switch shape {
        case let .patch(pattern, size, position, margin):
            let (r0, c0) = position.origin(size: size, height: height, width: width, margin: margin)
            for ch in 0..<channels {
                for r in 0..<size {
                    for c in 0..<size {
                        let on = pattern == .solid || (r + c) % 2 == 0
                        sample[ch * height * width + (r0 + r) * width + (c0 + c)] = on ? high : low
                    }
                }
            }
        case let .blend(key, alpha):
            key.withUnsafeBufferPointer { k in
                for i in 0..<sample.count { sample[i] = (1 - alpha) * sample[i] + alpha * k[i] }
            }
        }
    }

    /// A copy of a row-major batch of samples with the trigger stamped on the rows in `rows`
    /// (every row when `rows` is nil).
    /// - Complexity: O(rows × trigger cost) after one copy of the batch.
    public func applied(to features: [Float], rows: [Int]? = nil) -> [Float] {
        let width = sampleShape.reduce(1, *)
        precondition(features.count % width == 0, "Trigger.applied: \(features.count) values are not whole samples of \(sampleShape)")
        var out = features
        out.withUnsafeMutableBufferPointer { buffer in
            let all = rows ?? Array(0..<(features.count / width))
            for row in all {
                apply(to: UnsafeMutableBufferPointer(rebasing: buffer[row * width ..< (row + 1) * width]))
            }
        }
        return out
    }
}
