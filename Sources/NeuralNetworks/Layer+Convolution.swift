import Tensors

/// A pair of extents along height and width: a kernel size, a stride or a padding that may
/// differ between the two axes (PyTorch's `kernel_size=(3, 2)`).
public struct Extent2D: Codable, Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// The same extent along both axes.
    public init(_ both: Int) { self.init(height: both, width: both) }

    public init(integerLiteral value: Int) { self.init(value) }

    public var isSquare: Bool { height == width }

    public var description: String { isSquare ? "\(height)" : "(\(height), \(width))" }
}

extension Layer {
    /// The convolution of `convolution2d`: Tensors' square-stride, square-padding convolution
    /// when the stride and padding are square, else an explicit zero pad and/or a stride-1
    /// convolution subsampled every (stride.height, stride.width) output positions.
    ///
    /// Every step is a differentiable Tensors operation, so gradients of any order flow through.
    /// - Complexity: square stride: as `Tensor.conv2d`. Non-square stride: a stride-1
    ///   convolution, stride.height·stride.width times the work of the strided one.
    static func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Extent2D, padding: Extent2D) -> Tensor {
        var input = x
        var nativePadding = padding.height
        if !padding.isSquare {
            let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let paddedHeight = h + 2 * padding.height, paddedWidth = w + 2 * padding.width
            input = x.padded(axis: 2, to: [n, c, paddedHeight, w], at: padding.height)
                .padded(axis: 3, to: [n, c, paddedHeight, paddedWidth], at: padding.width)
            nativePadding = 0
        }
        if stride.isSquare {
            return Tensor.conv2d(input, weight: weight, bias: bias, stride: stride.height, padding: nativePadding)
        }
        let full = Tensor.conv2d(input, weight: weight, bias: bias, stride: 1, padding: nativePadding)
        let (n, o, fullHeight, fullWidth) = (full.shape[0], full.shape[1], full.shape[2], full.shape[3])
        let outHeight = (fullHeight - 1) / stride.height + 1, outWidth = (fullWidth - 1) / stride.width + 1
        var indices: [Int] = []
        indices.reserveCapacity(n * o * outHeight * outWidth)
        for plane in 0..<(n * o) {
            for row in 0..<outHeight {
                let line = (plane * fullHeight + row * stride.height) * fullWidth
                for column in 0..<outWidth { indices.append(line + column * stride.width) }
            }
        }
        return full.gathered(flatIndices: indices, shape: [n, o, outHeight, outWidth])
    }
}
