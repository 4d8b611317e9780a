// Feature scaling fitted on training data only, and layout conversion for images.

/// An affine per-feature scaling `x' = (x − offset) · factor`, fitted on one part of a dataset
/// and applied unchanged to every other part (so no statistic of the test part leaks into
/// training).
///
/// - `standardize`: offset = mean, factor = 1 / standard deviation (population, ddof = 0, as
///   scikit-learn's `StandardScaler`); a constant feature gets factor 1.
/// - `minMax(low, high)`: maps the fitted range [min, max] onto [low, high]; a constant feature
///   maps to `low`. Values outside the fitted range map outside [low, high] (no clipping).
///
/// Statistics accumulate in Double. - Complexity: O(count × featureCount) to fit and to apply.
public struct FeatureScaler: Sendable, Equatable, Codable {
    public enum Method: Sendable, Equatable, Codable {
        case standardize
        case minMax(low: Float, high: Float)
    }

    public let method: Method
    /// Per-feature values subtracted first.
    public let offset: [Float]
    /// Per-feature factors applied after the offset.
    public let factor: [Float]
    /// Added after scaling (`low` for min-max, 0 for standardization).
    public let shift: Float

    /// Fits the scaler on `data` (normally the training part).
    public static func fit(_ data: LabeledData, method: Method) -> FeatureScaler {
        let width = data.featureCount, n = data.count
        precondition(n > 0, "FeatureScaler.fit: no samples to fit on")
        var offset = [Float](repeating: 0, count: width)
        var factor = [Float](repeating: 1, count: width)
        data.features.withUnsafeBufferPointer { x in
            switch method {
            case .standardize:
                // Two passes: the mean, then squared deviations about it (stable for large offsets).
                var mean = [Double](repeating: 0, count: width)
                var deviations = [Double](repeating: 0, count: width)
                mean.withUnsafeMutableBufferPointer { m in
                    for i in 0..<n {
                        let row = x.baseAddress! + i * width
                        for j in 0..<width { m[j] += Double(row[j]) }
                    }
                    for j in 0..<width { m[j] /= Double(n) }
                    deviations.withUnsafeMutableBufferPointer { c in
                        for i in 0..<n {
                            let row = x.baseAddress! + i * width
                            for j in 0..<width {
                                let d = Double(row[j]) - m[j]
                                c[j] += d * d
                            }
                        }
                    }
                }
                for j in 0..<width {
                    offset[j] = Float(mean[j])
                    let sd = (deviations[j] / Double(n)).squareRoot()
                    factor[j] = sd > 1e-12 ? Float(1 / sd) : 1
                }
            case let .minMax(low, high):
                var lo = [Float](repeating: .infinity, count: width)
                var hi = [Float](repeating: -.infinity, count: width)
                for i in 0..<n {
                    let row = x.baseAddress! + i * width
                    for j in 0..<width {
                        lo[j] = min(lo[j], row[j])
                        hi[j] = max(hi[j], row[j])
                    }
                }
                for j in 0..<width {
                    offset[j] = lo[j]
                    let range = hi[j] - lo[j]
                    factor[j] = range > 0 ? (high - low) / range : 0
                }
            }
        }
        let shift: Float
        if case let .minMax(low, _) = method { shift = low } else { shift = 0 }
        return FeatureScaler(method: method, offset: offset, factor: factor, shift: shift)
    }

    /// Applies the fitted scaling to any part with the same feature count.
    public func apply(to data: LabeledData) -> LabeledData {
        let width = offset.count
        precondition(data.featureCount == width, "FeatureScaler: fitted on \(width) features, given \(data.featureCount)")
        var out = data.features
        out.withUnsafeMutableBufferPointer { x in
            offset.withUnsafeBufferPointer { o in
                factor.withUnsafeBufferPointer { f in
                    for i in 0..<data.count {
                        let row = x.baseAddress! + i * width
                        for j in 0..<width { row[j] = (row[j] - o[j]) * f[j] + shift }
                    }
                }
            }
        }
        return data.replacingFeatures(out)
    }
}

extension Dataset {
    /// Fits `method` on the training part and applies it to both parts.
    ///
    /// - Returns: the scaled dataset and the fitted scaler (to apply to later data).
    public func scaled(_ method: FeatureScaler.Method) -> (dataset: Dataset, scaler: FeatureScaler) {
        let scaler = FeatureScaler.fit(train, method: method)
        return (Dataset(name: name, train: scaler.apply(to: train), test: test.map { scaler.apply(to: $0) }), scaler)
    }
}

/// Image layout conversions.
public enum ImageLayout {
    /// Converts row-major NHWC images (`count × height × width × channels`, as many image files
    /// store pixels) to NCHW (`count × channels × height × width`).
    public static func nhwcToNCHW(_ values: [Float], count: Int, height: Int, width: Int, channels: Int) -> [Float] {
        precondition(values.count == count * height * width * channels,
                     "ImageLayout: \(values.count) values do not fill \(count)×\(height)×\(width)×\(channels)")
        var out = [Float](repeating: 0, count: values.count)
        let plane = height * width
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for n in 0..<count {
                    let s = src.baseAddress! + n * plane * channels
                    let d = dst.baseAddress! + n * plane * channels
                    for p in 0..<plane {
                        for c in 0..<channels { d[c * plane + p] = s[p * channels + c] }
                    }
                }
            }
        }
        return out
    }
}
