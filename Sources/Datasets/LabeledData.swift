// The in-memory form of a labelled dataset, independent of any tensor type.

/// Labelled examples: a row-major feature matrix, one integer label per row.
///
/// Row `i` occupies `features[i * featureCount ..< (i + 1) * featureCount]` and holds one sample
/// laid out as `sampleShape` (images are NCHW per sample: `[channels, height, width]`, so a
/// batch of rows is an NCHW tensor). Labels are class indices in `0..<classCount`.
///
/// Invariants (checked at construction; violating them is a programmer error and traps):
/// `features.count == labels.count * sampleShape.product`, every label in `0..<classCount`,
/// `classNames` and `featureNames` (when present) of length `classCount` and `featureCount`.
public struct LabeledData: Sendable, Equatable {
    /// Row-major features, `count × featureCount`.
    public private(set) var features: [Float]
    /// The shape of one sample, e.g. `[1, 28, 28]` or `[64]`.
    public let sampleShape: [Int]
    /// One class index per sample.
    public private(set) var labels: [Int32]
    /// The number of classes (labels lie in `0..<classCount`, some may be absent).
    public let classCount: Int
    /// Human-readable class names, when the format has them.
    public let classNames: [String]?
    /// Names of the flattened feature columns, when the format has them (e.g. Adult's one-hot columns).
    public let featureNames: [String]?

    public init(
        features: [Float], sampleShape: [Int], labels: [Int32], classCount: Int,
        classNames: [String]? = nil, featureNames: [String]? = nil
    ) {
        let width = sampleShape.reduce(1, *)
        precondition(sampleShape.allSatisfy { $0 > 0 }, "LabeledData: sample shape \(sampleShape) has a non-positive dimension")
        precondition(features.count == labels.count * width,
                     "LabeledData: \(features.count) features do not fill \(labels.count) samples of shape \(sampleShape)")
        precondition(classCount > 0, "LabeledData: classCount must be positive, got \(classCount)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classCount },
                     "LabeledData: a label lies outside 0..<\(classCount)")
        if let classNames {
            precondition(classNames.count == classCount, "LabeledData: \(classNames.count) class names for \(classCount) classes")
        }
        if let featureNames {
            precondition(featureNames.count == width, "LabeledData: \(featureNames.count) feature names for \(width) features")
        }
        self.features = features
        self.sampleShape = sampleShape
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
        self.featureNames = featureNames
    }

    /// The number of samples.
    public var count: Int { labels.count }

    /// The number of scalars per sample (the product of `sampleShape`).
    public var featureCount: Int { sampleShape.reduce(1, *) }

    /// The shape of all features as a batch: `[count] + sampleShape` (NCHW for images).
    public var batchShape: [Int] { [count] + sampleShape }

    /// The features of sample `index`.
    public func sample(_ index: Int) -> ArraySlice<Float> {
        precondition(index >= 0 && index < count, "LabeledData: sample \(index) out of 0..<\(count)")
        let width = featureCount
        return features[index * width ..< (index + 1) * width]
    }

    /// How many samples carry each label: an array of length `classCount`.
    ///
    /// - Complexity: O(count).
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        labels.withUnsafeBufferPointer { ls in
            for label in ls { counts[Int(label)] += 1 }
        }
        return counts
    }

    /// One-hot labels, row-major `count × classCount`: row i has 1 at `labels[i]`, 0 elsewhere.
    ///
    /// - Complexity: O(count × classCount).
    public func oneHotLabels() -> [Float] {
        var out = [Float](repeating: 0, count: count * classCount)
        out.withUnsafeMutableBufferPointer { o in
            labels.withUnsafeBufferPointer { ls in
                for i in 0..<ls.count { o[i * classCount + Int(ls[i])] = 1 }
            }
        }
        return out
    }

    /// The samples at `indices`, in that order (repeats allowed).
    ///
    /// - Complexity: O(indices.count × featureCount).
    public func subset(_ indices: [Int]) -> LabeledData {
        let width = featureCount
        var newFeatures = [Float](repeating: 0, count: indices.count * width)
        var newLabels = [Int32](repeating: 0, count: indices.count)
        features.withUnsafeBufferPointer { src in
            labels.withUnsafeBufferPointer { ls in
                newFeatures.withUnsafeMutableBufferPointer { dst in
                    newLabels.withUnsafeMutableBufferPointer { nl in
                        for (row, index) in indices.enumerated() {
                            precondition(index >= 0 && index < ls.count, "LabeledData.subset: index \(index) out of 0..<\(ls.count)")
                            (dst.baseAddress! + row * width).update(from: src.baseAddress! + index * width, count: width)
                            nl[row] = ls[index]
                        }
                    }
                }
            }
        }
        return LabeledData(
            unchecked: newFeatures, sampleShape: sampleShape, labels: newLabels, classCount: classCount,
            classNames: classNames, featureNames: featureNames)
    }

    /// The first `limit` samples (all of them when `limit >= count`).
    public func prefix(_ limit: Int) -> LabeledData {
        limit >= count ? self : subset(Array(0..<max(0, limit)))
    }

    /// The same data with features replaced (same count and shape); used by preprocessing.
    public func replacingFeatures(_ newFeatures: [Float]) -> LabeledData {
        precondition(newFeatures.count == features.count,
                     "LabeledData: replacement has \(newFeatures.count) features, expected \(features.count)")
        return LabeledData(
            unchecked: newFeatures, sampleShape: sampleShape, labels: labels, classCount: classCount,
            classNames: classNames, featureNames: featureNames)
    }

    /// The same samples viewed with another sample shape of equal size (e.g. `[784]` → `[1, 28, 28]`).
    public func reshaped(sampleShape newShape: [Int]) -> LabeledData {
        precondition(newShape.reduce(1, *) == featureCount,
                     "LabeledData: cannot reshape samples of shape \(sampleShape) to \(newShape)")
        return LabeledData(
            unchecked: features, sampleShape: newShape, labels: labels, classCount: classCount,
            classNames: classNames, featureNames: nil)
    }

    /// Builds without re-checking invariants the caller already guarantees (loaders, subsets).
    init(
        unchecked features: [Float], sampleShape: [Int], labels: [Int32], classCount: Int,
        classNames: [String]?, featureNames: [String]?
    ) {
        self.features = features
        self.sampleShape = sampleShape
        self.labels = labels
        self.classCount = classCount
        self.classNames = classNames
        self.featureNames = featureNames
    }
}

/// A dataset as published: a training part and, where the format defines one, a test part.
public struct Dataset: Sendable, Equatable {
    /// The registry name or another label for where the data came from.
    public var name: String
    public var train: LabeledData
    /// The published test part, or `nil` when the format has none (split it with `Splits`).
    public var test: LabeledData?

    public init(name: String, train: LabeledData, test: LabeledData? = nil) {
        if let test {
            precondition(test.sampleShape == train.sampleShape && test.classCount == train.classCount,
                         "Dataset: test part (shape \(test.sampleShape), \(test.classCount) classes) does not match train (shape \(train.sampleShape), \(train.classCount) classes)")
        }
        self.name = name
        self.train = train
        self.test = test
    }
}
