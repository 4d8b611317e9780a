import Datasets
import ExperimentRunning
import ExperimentSpecs
import Foundation
import LabRandom

/// The `data:` section shared by every kind: which data, how much of it, how it is split and
/// scaled.
///
/// ```yaml
/// data: {dataset: mnist, limit: 10000, test_limit: 2000}
/// data: {dataset: digits, test_fraction: 0.25, scaling: standard}
/// data: {dataset: synthetic-gaussian, samples: 2000, features: 20, classes: 4, separation: 3}
/// data: {features: x.npy, labels: y.npy, test_features: xt.npy, test_labels: yt.npy, classes: 10}
/// data: {npz: arrays.npz, members: {features: x_train, labels: y_train}, channels_last: true}
/// data: {csv: census.csv, label_column: income, categorical: [workclass], ignore: [id], test_csv: test.csv}
/// data: {images: faces/, test_images: faces-test/}
/// ```
///
/// Exactly one of `dataset`, `features`, `npz`, `csv` and `images` says where the data come
/// from. File paths are relative to the spec's folder (or absolute); the files' contents are
/// part of each trial's key (`inputFiles`) and of every artifact computed from them, and a named
/// dataset's checksum list stands for its content (`inputFingerprints`). Formats and their rules:
/// `NumpyDataLoader` (`features`, `npz`), `CSVLoader` (`csv`), `ImageFolderLoader` (`images`).
/// Without a test part, `test_fraction` of the training part is held out. File data are not
/// scaled unless `scaling` says so (images are already in [0, 1]).
public struct DataSpec: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case registered(DatasetName)
        /// Gaussian mixture: samples, features, classes, separation.
        case gaussian(samples: Int, features: Int, classes: Int, separation: Double)
        /// Class-specific pattern images: samples per class, classes, side, noise.
        case patterns(samplesPerClass: Int, classes: Int, side: Int, noise: Double)
        /// Data from the user's files.
        case files(DataFiles)
    }

    /// Where file data come from (paths resolved against the spec's folder).
    public enum DataFiles: Sendable, Hashable {
        case arrays(features: URL, labels: URL, testFeatures: URL?, testLabels: URL?, options: NumpyDataOptions)
        case archive(URL, members: NumpyArchiveMembers?, options: NumpyDataOptions)
        case csv(URL, test: URL?, options: CSVOptions)
        case images(URL, test: URL?)
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

    /// The keys that name where the data come from; exactly one must be present (`features`
    /// counts with `labels`, or without `dataset`).
    static let sourceKeys = ["dataset", "features", "npz", "csv", "images"]

    public static func decode(_ reader: SpecReader) throws(SpecError) -> DataSpec {
        // `features` is also a parameter of synthetic-gaussian: with `dataset`, only `labels`
        // makes it a file of arrays.
        let arrays = reader.contains("labels") || (!reader.contains("dataset") && reader.contains("features"))
        let present = sourceKeys.filter { $0 == "features" ? arrays : reader.contains($0) }
        guard present.count <= 1 else {
            throw reader.error(present[1], "give one source of data: \(present.joined(separator: " and ")) are both present")
        }
        if let key = present.first, key != "dataset" {
            return try finishDecoding(reader, source: .files(try decodeFiles(reader, key: key)), defaultScaling: .none)
        }
        guard present.first == "dataset" else {
            throw reader.error("dataset", "is required: name a dataset, or give files with features (and labels), npz, csv or images")
        }
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
        return try finishDecoding(reader, source: source, defaultScaling: defaultScaling)
    }

    private static func finishDecoding(_ reader: SpecReader, source: Source, defaultScaling: Scaling) throws(SpecError) -> DataSpec {
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

    private static func decodeFiles(_ reader: SpecReader, key: String) throws(SpecError) -> DataFiles {
        func numpyOptions() throws(SpecError) -> NumpyDataOptions {
            NumpyDataOptions(classCount: try reader.optional("classes").map { (v: Int) throws(SpecError) -> Int in
                                 guard (2...1_000_000).contains(v) else { throw reader.error("classes", "must lie in 2…1000000, got \(v)") }
                                 return v },
                             channelsLast: try reader.optional("channels_last", default: false))
        }
        func bothOrNeither(_ a: URL?, _ b: URL?, _ keys: (String, String)) throws(SpecError) {
            guard (a == nil) == (b == nil) else {
                throw reader.error(a == nil ? keys.0 : keys.1, "is required with \(a == nil ? keys.1 : keys.0): a test part needs both its features and its labels")
            }
        }
        switch key {
        case "features":
            let testFeatures = try reader.optionalInputFile("test_features"), testLabels = try reader.optionalInputFile("test_labels")
            try bothOrNeither(testFeatures, testLabels, ("test_features", "test_labels"))
            return .arrays(features: try reader.inputFile("features"), labels: try reader.inputFile("labels"),
                           testFeatures: testFeatures, testLabels: testLabels, options: try numpyOptions())
        case "npz":
            var members: NumpyArchiveMembers?
            if reader.contains("members") {
                let m = try reader.section("members")
                members = NumpyArchiveMembers(features: try m.required("features"), labels: try m.required("labels"),
                                              testFeatures: try m.optional("test_features"), testLabels: try m.optional("test_labels"))
                guard (members!.testFeatures == nil) == (members!.testLabels == nil) else {
                    throw m.error(members!.testFeatures == nil ? "test_features" : "test_labels",
                                  "is required with \(members!.testFeatures == nil ? "test_labels" : "test_features"): a test part needs both its features and its labels")
                }
                try m.finish()
            }
            return .archive(try reader.inputFile("npz"), members: members, options: try numpyOptions())
        case "csv":
            let label: String = try reader.required("label_column")
            let categorical: [String] = try reader.optional("categorical", default: [])
            let ignored: [String] = try reader.optional("ignore", default: [])
            for (list, name) in [(categorical, "categorical"), (ignored, "ignore")] {
                if list.contains(label) { throw reader.error(name, "lists the label column '\(label)'") }
                if Set(list).count != list.count { throw reader.error(name, "lists a column twice") }
            }
            if let both = categorical.first(where: ignored.contains) {
                throw reader.error("ignore", "lists '\(both)', which categorical lists too")
            }
            return .csv(try reader.inputFile("csv"), test: try reader.optionalInputFile("test_csv"),
                        options: CSVOptions(labelColumn: label, categorical: categorical, ignored: ignored))
        default:
            return .images(try reader.inputFile("images"), test: try reader.optionalInputFile("test_images"))
        }
    }

    /// The outside files the data are read from (every image of an image folder), for the
    /// runner to hash into the trial's key; none for named and generated datasets.
    public var inputFiles: [URL] {
        guard case let .files(files) = source else { return [] }
        switch files {
        case let .arrays(features, labels, testFeatures, testLabels, _):
            return [features, labels] + [testFeatures, testLabels].compactMap { $0 }
        case let .archive(url, _, _): return [url]
        case let .csv(url, test, _): return [url] + (test.map { [$0] } ?? [])
        case let .images(train, test): return ImageFolderLoader.files(train: train, test: test)
        }
    }

    /// What stands for the content of data the runner does not hash: a named dataset's checksum
    /// list (`DatasetRegistry.contentDigest`), which a load reads exactly or fails.
    public var inputFingerprints: [String] {
        guard case let .registered(name) = source else { return [] }
        return ["dataset \(name.rawValue) sha256:\(DatasetRegistry.contentDigest(name))"]
    }

    /// The training and test parts, limited and scaled, deterministic from `random`
    /// (streams `data/generate`, `data/split`, `data/limit`).
    public func load(from directory: URL, cache: DatasetCache, random: LabRandom) async throws -> (train: LabeledData, test: LabeledData) {
        let base = try await dataset(from: directory, cache: cache, random: random)
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

    /// The data as stored, neither split, limited nor scaled: the records of the training part
    /// in their order (what a membership mask over the records indexes) and the test part when
    /// the data have one (limited to `testLimit`, stream `data/limit/test`). For a model trained
    /// outside the lab, which saw the records as they are.
    public func records(from directory: URL, cache: DatasetCache, random: LabRandom) async throws -> (records: LabeledData, test: LabeledData?) {
        let base = try await dataset(from: directory, cache: cache, random: random)
        var test = base.test
        if let testLimit, let all = test, testLimit < all.count {
            var testLimiter = random.stream("data/limit/test")
            test = all.subset(testLimiter.sampleWithoutReplacement(testLimit, from: all.count).sorted())
        }
        guard base.train.count > 0 else { throw DataSpecError("data: there are no records") }
        return (base.train, test.flatMap { $0.count > 0 ? $0 : nil })
    }

    /// The dataset as loaded or generated (stream `data/generate`), before any split.
    private func dataset(from directory: URL, cache: DatasetCache, random: LabRandom) async throws -> Dataset {
        let base: Dataset
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
        case let .files(files):
            base = try await cache.dataset(files)
        }
        return base
    }
}

/// A named dataset read from a folder, as `DatasetCache` keys it.
struct NamedDatasetKey: Hashable, Sendable {
    var name: DatasetName
    var directory: String
}

extension DatasetCache {
    func dataset(_ name: DatasetName, directory: URL) async throws -> Dataset {
        try await dataset(key: NamedDatasetKey(name: name, directory: directory.path)) {
            try DatasetRegistry.load(name, from: DataDirectory(url: directory, origin: .experimentRun))
        }
    }

    func dataset(_ files: DataSpec.DataFiles) async throws -> Dataset {
        try await dataset(key: files) {
            switch files {
            case let .arrays(features, labels, testFeatures, testLabels, options):
                return try NumpyDataLoader.load(features: features, labels: labels, testFeatures: testFeatures,
                                                testLabels: testLabels, options: options)
            case let .archive(url, members, options):
                return try NumpyDataLoader.load(npz: url, members: members, options: options)
            case let .csv(url, test, options):
                return try CSVLoader.load(train: url, test: test, options: options)
            case let .images(train, test):
                return try ImageFolderLoader.load(train: train, test: test)
            }
        }
    }
}

/// Data that a valid spec still cannot use (too few examples for the split it asks for).
public struct DataSpecError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
