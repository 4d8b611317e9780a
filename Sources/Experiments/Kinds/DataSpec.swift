import Datasets
import Foundation
import LabRandom

/// The `data:` section shared by every kind: which dataset, how much of it, how it is split and
/// scaled.
///
/// ```yaml
/// data: {dataset: mnist, limit: 10000, test_limit: 2000}
/// data: {dataset: digits, test_fraction: 0.25, scaling: standard}
/// data: {dataset: synthetic-gaussian, samples: 2000, features: 20, classes: 4, separation: 3}
/// ```
public struct DataSpec: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case registered(DatasetName)
        /// Gaussian mixture: samples, features, classes, separation.
        case gaussian(samples: Int, features: Int, classes: Int, separation: Double)
        /// Class-specific pattern images: samples per class, classes, side, noise.
        case patterns(samplesPerClass: Int, classes: Int, side: Int, noise: Double)
    }

    public enum Scaling: String, SpecEnum {
        case none, standard, minmax
    }

    public var source: Source
    /// At most this many training examples (drawn at random; all when nil).
    public var limit: Int?
    /// At most this many test examples.
    public var testLimit: Int?
    /// The test fraction for datasets without a test split.
    public var testFraction: Double
    /// Feature scaling fitted on the training part.
    public var scaling: Scaling
    /// The canonical JSON of the section, for cache keys.
    public var canonical: String

    static let generatedNames = ["synthetic-gaussian", "synthetic-patterns"]

    public static func decode(_ reader: SpecReader) throws(SpecError) -> DataSpec {
        let name: String = try reader.required("dataset")
        let source: Source
        var defaultScaling = Scaling.none
        switch name {
        case "synthetic-gaussian":
            source = .gaussian(samples: try reader.optional("samples", default: 2000, in: 10...10_000_000),
                               features: try reader.optional("features", default: 20, in: 1...100_000),
                               classes: try reader.optional("classes", default: 4, in: 2...1000),
                               separation: try reader.optional("separation", default: 3.0, in: 0...1000))
        case "synthetic-patterns":
            source = .patterns(samplesPerClass: try reader.optional("samples_per_class", default: 100, in: 1...1_000_000),
                               classes: try reader.optional("classes", default: 10, in: 2...SyntheticDatasets.patternNames.count),
                               side: try reader.optional("side", default: 16, in: 8...256),
                               noise: try reader.optional("noise", default: 0.1, in: 0...10))
        default:
            guard let registered = DatasetName(rawValue: name) else {
                let names = DatasetName.allCases.map(\.rawValue) + generatedNames
                var message = "unknown dataset '\(name)'"
                if let suggestion = closestMatch(name, among: names) { message += " (did you mean '\(suggestion)'?)" }
                throw reader.error("dataset", message + "; known datasets: \(names.joined(separator: ", "))")
            }
            source = .registered(registered)
            if [.breastCancer, .iris, .wine, .adult, .digits].contains(registered) { defaultScaling = .standard }
        }
        try checkBudget(source, reader: reader)
        let spec = DataSpec(source: source,
                            limit: try reader.optional("limit").map { (v: Int) throws(SpecError) -> Int in
                                guard v >= 1 else { throw reader.error("limit", "must be ≥ 1, got \(v)") }; return v },
                            testLimit: try reader.optional("test_limit").map { (v: Int) throws(SpecError) -> Int in
                                guard v >= 1 else { throw reader.error("test_limit", "must be ≥ 1, got \(v)") }; return v },
                            testFraction: try reader.optional("test_fraction", default: 0.25, in: 0.01...0.99),
                            scaling: try reader.optional("scaling", default: defaultScaling),
                            canonical: reader.node.canonicalJSON)
        try reader.finish()
        return spec
    }

    /// The training and test parts, limited and scaled, deterministic from `random`
    /// (streams `data/generate`, `data/split`, `data/limit`).
    public func load(from directory: URL, cache: DatasetCache, random: LabRandom) async throws -> (train: LabeledData, test: LabeledData) {
        var base: Dataset
        switch source {
        case let .registered(name):
            base = try await cache.dataset(name, directory: directory)
        case let .gaussian(samples, features, classes, separation):
            var stream = random.stream("data/generate")
            base = Dataset(name: "synthetic-gaussian",
                           train: SyntheticDatasets.gaussianMixture(samples: samples, features: features, classes: classes,
                                                                    separation: Float(separation), using: &stream))
        case let .patterns(perClass, classes, side, noise):
            var stream = random.stream("data/generate")
            base = Dataset(name: "synthetic-patterns",
                           train: SyntheticDatasets.patternImages(samplesPerClass: perClass, classes: classes, side: side,
                                                                  noise: Float(noise), using: &stream))
        }
        var train = base.train, test: LabeledData
        if let existing = base.test {
            test = existing
        } else {
            var split = random.stream("data/split")
            let parts = train.splitTrainTest(testFraction: testFraction, using: &split)
            train = parts.train
            test = parts.test!
        }
        var limiter = random.stream("data/limit")
        if let limit, limit < train.count {
            train = train.subset(limiter.sampleWithoutReplacement(limit, from: train.count).sorted())
        }
        if let testLimit, testLimit < test.count {
            var testLimiter = random.stream("data/limit/test")
            test = test.subset(testLimiter.sampleWithoutReplacement(testLimit, from: test.count).sorted())
        }
        guard train.count > 0, test.count > 0 else {
            throw DataSpecError("data: the \(train.count == 0 ? "training" : "test") part is empty (\(train.count) training, \(test.count) test examples); "
                                + "use more examples or another data.test_fraction")
        }
        switch scaling {
        case .none: break
        case .standard, .minmax:
            let scaler = FeatureScaler.fit(train, method: scaling == .standard ? .standardize : .minMax(low: 0, high: 1))
            train = scaler.apply(to: train)
            test = scaler.apply(to: test)
        }
        return (train, test)
    }
}

/// Datasets loaded once per run and shared by its trials.
public actor DatasetCache {
    private var loaded: [String: Task<Dataset, any Error>] = [:]

    public init() {}

    func dataset(_ name: DatasetName, directory: URL) async throws -> Dataset {
        let key = "\(name.rawValue)@\(directory.path)"
        if let task = loaded[key] { return try await task.value }
        let task = Task { () throws -> Dataset in
            try DatasetRegistry.load(name, from: DataDirectory(url: directory, origin: .experimentRun))
        }
        loaded[key] = task
        return try await task.value
    }
}

/// Data that a valid spec still cannot use (too few examples for the split it asks for).
public struct DataSpecError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
