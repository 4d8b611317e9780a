// Feature and label arrays saved by NumPy (`np.save`, `np.savez`).
import Codecs
import Foundation

/// How NumPy arrays become samples and classes.
public struct NumpyDataOptions: Sendable, Hashable {
    /// The number of classes; `nil` takes the largest label of the training and test parts + 1.
    public var classCount: Int?
    /// Whether 4-D features are `(N, H, W, C)` (TensorFlow's layout), transposed to the lab's
    /// `(N, C, H, W)`; otherwise they are taken as `(N, C, H, W)` (PyTorch's).
    public var channelsLast: Bool

    public init(classCount: Int? = nil, channelsLast: Bool = false) {
        self.classCount = classCount
        self.channelsLast = channelsLast
    }
}

/// The array names of an `.npz` archive that hold features and labels.
public struct NumpyArchiveMembers: Sendable, Hashable {
    public var features: String
    public var labels: String
    public var testFeatures: String?
    public var testLabels: String?

    public init(features: String, labels: String, testFeatures: String? = nil, testLabels: String? = nil) {
        self.features = features
        self.labels = labels
        self.testFeatures = testFeatures
        self.testLabels = testLabels
    }

    /// The names tried when none are given: `features`, `labels`, `test_features`,
    /// `test_labels`, else Keras's `x_train`, `y_train`, `x_test`, `y_test`.
    public static let conventions = [
        NumpyArchiveMembers(features: "features", labels: "labels", testFeatures: "test_features", testLabels: "test_labels"),
        NumpyArchiveMembers(features: "x_train", labels: "y_train", testFeatures: "x_test", testLabels: "y_test"),
    ]
}

/// Loads features and labels from `.npy` files or an `.npz` archive.
///
/// Features: any numeric dtype, converted to Float32; every value must be finite. The first
/// dimension counts samples; the rest is the sample shape: `(N,)` gives `[1]`, `(N, D)` gives
/// `[D]`, `(N, H, W)` one-channel images `[1, H, W]`, `(N, C, H, W)` images `[C, H, W]` (or
/// `(N, H, W, C)` with `channelsLast`). More than four dimensions are refused.
///
/// Labels: `(N,)` or `(N, 1)` integers (or floats with integral values, or bools), each in
/// `0..<classCount`; the training and test parts share the class count, at least 2.
public enum NumpyDataLoader {
    /// Loads `.npy` files; the test part needs both its files or neither.
    /// - Throws: `DatasetError` naming the file: not `.npy`, a shape that disagrees with the
    ///   other arrays, NaN or ±inf among the features, a label that is not an integer in range.
    public static func load(features: URL, labels: URL, testFeatures: URL? = nil, testLabels: URL? = nil,
                            options: NumpyDataOptions = NumpyDataOptions()) throws(DatasetError) -> Dataset {
        guard (testFeatures == nil) == (testLabels == nil) else {
            throw DatasetError(.invalidArgument, file: (testFeatures ?? testLabels)!.path, "a test part needs both its features and its labels")
        }
        func array(_ url: URL) throws(DatasetError) -> Named {
            let bytes = try FileBytes.read(url)
            do { return Named(array: try NumpyArray(npy: bytes), file: url.path, location: nil) } catch {
                throw DatasetError(.malformed, file: url.path, error.reason)
            }
        }
        let train = (try array(features), try array(labels))
        var test: (Named, Named)?
        if let testFeatures, let testLabels { test = (try array(testFeatures), try array(testLabels)) }
        return try assemble(name: features.deletingPathExtension().lastPathComponent, train: train, test: test, options: options)
    }

    /// Loads arrays of an `.npz` archive, by `members` or, when `nil`, by the first of
    /// `NumpyArchiveMembers.conventions` whose features are in the archive (its test arrays are
    /// used when both are there).
    public static func load(npz url: URL, members: NumpyArchiveMembers? = nil,
                            options: NumpyDataOptions = NumpyDataOptions()) throws(DatasetError) -> Dataset {
        let bytes = try FileBytes.read(url)
        let archive: NumpyArchive
        do { archive = try NumpyArchive(npz: bytes, maximumMemberBytes: FileBytes.defaultMaximumBytes) } catch {
            throw DatasetError(.malformed, file: url.path, error.reason)
        }
        let names = Set(archive.names)
        var chosen: NumpyArchiveMembers
        if let members {
            chosen = members
        } else {
            guard let found = NumpyArchiveMembers.conventions.first(where: { names.contains($0.features) }) else {
                throw DatasetError(.mismatch, file: url.path,
                                   "found none of the arrays features/labels or x_train/y_train (the archive holds \(archive.names.joined(separator: ", "))); name the members to use")
            }
            chosen = found
            if !(names.contains(found.testFeatures!) && names.contains(found.testLabels!)) {
                chosen.testFeatures = nil
                chosen.testLabels = nil
            }
        }
        guard (chosen.testFeatures == nil) == (chosen.testLabels == nil) else {
            throw DatasetError(.invalidArgument, file: url.path, "a test part needs both its features and its labels")
        }
        func array(_ name: String) throws(DatasetError) -> Named {
            do { return Named(array: try archive.array(named: name), file: url.path, location: "array \(name)") } catch {
                throw DatasetError(error.kind == .missingMember ? .mismatch : .malformed, file: url.path, location: "array \(name)", error.reason)
            }
        }
        let train = (try array(chosen.features), try array(chosen.labels))
        var test: (Named, Named)?
        if let f = chosen.testFeatures, let l = chosen.testLabels { test = (try array(f), try array(l)) }
        return try assemble(name: url.deletingPathExtension().lastPathComponent, train: train, test: test, options: options)
    }

    /// An array with where it came from, for messages.
    struct Named {
        let array: NumpyArray
        let file: String
        let location: String?

        func error(_ kind: DatasetError.Kind, _ message: String) -> DatasetError {
            DatasetError(kind, file: file, location: location, message)
        }

        var shapeText: String {
            array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        }
    }

    private static func assemble(name: String, train: (Named, Named), test: (Named, Named)?,
                                 options: NumpyDataOptions) throws(DatasetError) -> Dataset {
        let trainFeatures = try features(train.0, options: options)
        let trainLabels = try labels(train.1, count: trainFeatures.count, of: train.0)
        var testParts: (features: (values: [Float], sampleShape: [Int], count: Int), labels: [Int])?
        if let test {
            let f = try features(test.0, options: options)
            guard f.sampleShape == trainFeatures.sampleShape else {
                throw test.0.error(.mismatch, "expected samples of shape \(trainFeatures.sampleShape) like the training features, found \(f.sampleShape) (array shape \(test.0.shapeText))")
            }
            testParts = (f, try labels(test.1, count: f.count, of: test.0))
        }
        let largest = max(trainLabels.max() ?? 0, testParts?.labels.max() ?? 0)
        let classCount = options.classCount ?? largest + 1
        for (part, values) in [(train.1, trainLabels)] + (test.map { [($0.1, testParts!.labels)] } ?? []) {
            if let bad = values.firstIndex(where: { $0 >= classCount }) {
                throw part.error(.mismatch, "label \(values[bad]) at \(part.array.position(ofElement: bad)) is out of range: expected labels in 0..<\(classCount)")
            }
        }
        guard classCount >= 2 else {
            throw train.1.error(.mismatch, "expected at least two classes, found only label \(largest)")
        }
        func data(_ f: (values: [Float], sampleShape: [Int], count: Int), _ l: [Int]) -> LabeledData {
            LabeledData(unchecked: f.values, sampleShape: f.sampleShape, labels: l.map { Int32($0) }, classCount: classCount,
                        classNames: nil, featureNames: nil)
        }
        return Dataset(name: name, train: data(trainFeatures, trainLabels), test: testParts.map { data($0.features, $0.labels) })
    }

    private static func features(_ named: Named, options: NumpyDataOptions) throws(DatasetError) -> (values: [Float], sampleShape: [Int], count: Int) {
        let shape = named.array.shape
        guard (1...4).contains(shape.count) else {
            throw named.error(.mismatch, "expected features of 1 to 4 dimensions (samples first), found shape \(named.shapeText)")
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw named.error(.mismatch, "expected a non-empty array, found shape \(named.shapeText)")
        }
        var values = named.array.floats()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw named.error(.malformed, "feature \(named.array.position(ofElement: bad)) is \(named.array.elementText(bad)), not a finite number (as Float32)")
        }
        let n = shape[0]
        switch shape.count {
        case 1: return (values, [1], n)
        case 2: return (values, [shape[1]], n)
        case 3: return (values, [1, shape[1], shape[2]], n)
        default:
            guard options.channelsLast else { return (values, Array(shape.dropFirst()), n) }
            let (h, w, c) = (shape[1], shape[2], shape[3])
            var out = [Float](repeating: 0, count: values.count)
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<n {
                        let s = src.baseAddress! + i * h * w * c, d = dst.baseAddress! + i * h * w * c
                        for y in 0..<h { for x in 0..<w { for k in 0..<c { d[(k * h + y) * w + x] = s[(y * w + x) * c + k] } } }
                    }
                }
            }
            values = out
            return (values, [c, h, w], n)
        }
    }

    private static func labels(_ named: Named, count: Int, of features: Named) throws(DatasetError) -> [Int] {
        let shape = named.array.shape
        guard shape == [count] || shape == [count, 1] else {
            throw named.error(.mismatch, "expected \(count) labels of shape (\(count),) to match the features \(features.location ?? URL(fileURLWithPath: features.file).lastPathComponent) of shape \(features.shapeText), found shape \(named.shapeText)")
        }
        let values: [Int]
        do { values = try named.array.integers() } catch { throw named.error(.malformed, "labels: \(error.reason)") }
        if let bad = values.firstIndex(where: { $0 < 0 }) {
            throw named.error(.mismatch, "label \(values[bad]) at \(named.array.position(ofElement: bad)) is out of range: expected labels in 0..<classes")
        }
        return values
    }
}
