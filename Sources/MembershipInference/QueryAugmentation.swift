import Tensors

/// A transformation of the query inputs, so that an attack reads a model on several views of each
/// example (Carlini et al. 2022, §IV.B: mirrored and shifted images give LiRA more evidence).
///
/// Flips and shifts act on image batches [N, C, H, W]; shifts move the image by (dx, dy) pixels
/// and fill the uncovered border with zeros. `identity` applies to any input.
public enum QueryAugmentation: Sendable, Hashable, Codable {
    case identity
    case horizontalFlip
    case shift(dx: Int, dy: Int)

    /// The augmented batch.
    /// - Throws: when a flip or shift is asked of inputs that are not [N, C, H, W].
    public func apply(_ x: Tensor) throws(MembershipInferenceError) -> Tensor {
        if case .identity = self { return x }
        guard x.rank == 4 else {
            throw .invalidParameter("query augmentation \(self) needs image inputs [N, C, H, W], got \(x.shape)")
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return x.withUnsafeBufferPointer { source in
            Tensor(shape: x.shape) { out in
                for plane in 0..<(n * c) {
                    let base = plane * h * w
                    for row in 0..<h {
                        for column in 0..<w {
                            let value: Float
                            switch self {
                            case .identity:
                                value = source[base + row * w + column]
                            case .horizontalFlip:
                                value = source[base + row * w + (w - 1 - column)]
                            case let .shift(dx, dy):
                                let r = row - dy, col = column - dx
                                value = r >= 0 && r < h && col >= 0 && col < w ? source[base + r * w + col] : 0
                            }
                            out[base + row * w + column] = value
                        }
                    }
                }
            }
        }
    }
}
