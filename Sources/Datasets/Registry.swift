// Datasets by name: their files, checksums, shapes, and how to load them.
import Codecs
import Foundation

/// The real datasets PrivacyLab knows by name.
public enum DatasetName: String, CaseIterable, Sendable, Codable {
    case digits
    case breastCancer = "breast-cancer"
    case iris
    case wine
    case mnist
    case fashionMNIST = "fashion-mnist"
    case adult
    case location
    case orlFaces = "orl-faces"
}

/// One file of the reference data, with the size and sha256 it must have.
public struct KnownFile: Sendable, Equatable {
    /// Path relative to the data directory, e.g. `mnist/train-images-idx3-ubyte.gz`.
    public let relativePath: String
    public let byteCount: Int
    /// 64 lowercase hex digits.
    public let sha256: String
    /// Whether loading needs it (`false` for documentation, licences and archives).
    public let requiredForLoading: Bool
}

/// What the registry knows about a dataset: files, shape, classes, provenance.
public struct DatasetDescriptor: Sendable {
    public let name: DatasetName
    public let title: String
    /// The shape of one sample as loaded (NCHW per sample for images).
    public let sampleShape: [Int]
    /// Rows in the training part (the whole file for sets without a published test part).
    public let trainCount: Int
    /// Rows in the published test part, or `nil` when there is none.
    public let testCount: Int?
    public let classCount: Int
    public let classNames: [String]?
    /// Every known file: those needed for loading and the documentation beside them.
    public let files: [KnownFile]
    /// How to obtain the files (shown when one is missing).
    public let howToGet: String
    public let citation: String

    /// The files a loader reads.
    public var dataFiles: [KnownFile] { files.filter(\.requiredForLoading) }

    /// Where the dataset lives under the data directory: its one data file
    /// (`sklearn/iris.csv`), or the folder holding its data files (`mnist`, `orl-faces`).
    public var relativeLocation: String {
        let paths = dataFiles.map(\.relativePath)
        if paths.count == 1 { return paths[0] }
        var common = paths[0].split(separator: "/").dropLast()
        for path in paths.dropFirst() {
            let parts = path.split(separator: "/")
            var k = 0
            while k < common.count && k < parts.count && common[common.startIndex + k] == parts[k] { k += 1 }
            common = common.prefix(k)
        }
        return common.joined(separator: "/")
    }

    /// The shape as `train[+test] × sample shape`, e.g. `60000+10000 × 1×28×28`.
    public var shapeDescription: String {
        let rows = testCount.map { "\(trainCount)+\($0)" } ?? "\(trainCount)"
        return "\(rows) × \(sampleShape.map(String.init).joined(separator: "×"))"
    }
}

/// Options for `DatasetRegistry.load`.
public struct LoadOptions: Sendable, Equatable {
    /// How image pixels become floats (MNIST, Fashion-MNIST, ORL; digits' 0…16 scale to [0, 1]).
    public var pixelScaling: PixelScaling
    /// Adult's `?` handling.
    public var adultMissingValues: AdultLoader.MissingValues
    /// Check each file's size and sha256 against the registry before parsing (the bytes are
    /// hashed as they are read, so this costs one SHA-256 pass, not a second read).
    public var verifyChecksums: Bool

    public init(pixelScaling: PixelScaling = .unitInterval, adultMissingValues: AdultLoader.MissingValues = .dropRows,
                verifyChecksums: Bool = true) {
        self.pixelScaling = pixelScaling
        self.adultMissingValues = adultMissingValues
        self.verifyChecksums = verifyChecksums
    }
}

/// The registry of named datasets: descriptors, loading by name, checksum verification.
///
/// Checksums: every file of the reference data is listed with its size and sha256 (the table in
/// `KnownFiles.swift`, identical to the data directory's `SHA256SUMS`). For `orl-faces` that is
/// one line per PGM (400), so a bad image is named; the data README's combined digest of those
/// 400 lines is checked by the tests against the table.
public enum DatasetRegistry {
    /// Every known file, in the order of the data directory's `SHA256SUMS`.
    public static let knownFileList: [KnownFile] = knownFileTable.split(separator: "\n").map { line in
        let parts = line.split(separator: " ")
        let path = String(parts[2])
        return KnownFile(relativePath: path, byteCount: Int(parts[1])!, sha256: String(parts[0]),
                         requiredForLoading: isRequired(path))
    }

    /// Every known file by relative path.
    public static let knownFiles: [String: KnownFile] = Dictionary(
        uniqueKeysWithValues: knownFileList.map { ($0.relativePath, $0) })

    private static func isRequired(_ path: String) -> Bool {
        switch path {
        case "mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz",
             "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz",
             "fashion-mnist/train-images-idx3-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz",
             "fashion-mnist/t10k-images-idx3-ubyte.gz", "fashion-mnist/t10k-labels-idx1-ubyte.gz",
             "adult/adult.data", "adult/adult.test", "location/bangkok",
             "sklearn/digits.csv.gz", "sklearn/breast_cancer.csv", "sklearn/iris.csv", "sklearn/wine_data.csv":
            return true
        default:
            return path.hasPrefix("orl-faces/s") && path.hasSuffix(".pgm")
        }
    }

    private static func files(_ paths: [String]) -> [KnownFile] {
        paths.map { path in
            guard let file = knownFiles[path] else { fatalError("DatasetRegistry: \(path) is not in the known-file table") }
            return file
        }
    }

    private static func files(prefix: String) -> [KnownFile] {
        knownFileList.filter { $0.relativePath.hasPrefix(prefix) }
    }

    private static let sharedDataHint =
        "PrivacyLab's CI keeps every file in ../shared/data (see its README and SHA256SUMS); point --data-dir or PRIVACY_LAB_DATA there"

    /// The descriptor of a dataset.
    public static func descriptor(_ name: DatasetName) -> DatasetDescriptor {
        switch name {
        case .digits:
            return DatasetDescriptor(
                name: name, title: "scikit-learn digits (UCI optical digits, 8×8)", sampleShape: [1, 8, 8],
                trainCount: 1797, testCount: nil, classCount: 10, classNames: (0..<10).map(String.init),
                files: files(["sklearn/digits.csv.gz", "sklearn/descr/digits.rst", "sklearn/COPYING"]),
                howToGet: "copy sklearn/datasets/data/digits.csv.gz from a scikit-learn wheel (pip download scikit-learn --no-deps) into <data>/sklearn/; \(sharedDataHint)",
                citation: "E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten Digits, UCI 1998; Pedregosa et al., JMLR 12, 2011")
        case .breastCancer:
            return DatasetDescriptor(
                name: name, title: "Breast Cancer Wisconsin (Diagnostic)", sampleShape: [30],
                trainCount: 569, testCount: nil, classCount: 2, classNames: ["malignant", "benign"],
                files: files(["sklearn/breast_cancer.csv", "sklearn/descr/breast_cancer.rst", "sklearn/COPYING"]),
                howToGet: "copy sklearn/datasets/data/breast_cancer.csv from a scikit-learn wheel into <data>/sklearn/; \(sharedDataHint)",
                citation: "W. Wolberg, O. Mangasarian, N. Street, W. Street, Breast Cancer Wisconsin (Diagnostic), UCI 1993")
        case .iris:
            return DatasetDescriptor(
                name: name, title: "Iris", sampleShape: [4], trainCount: 150, testCount: nil, classCount: 3,
                classNames: ["setosa", "versicolor", "virginica"],
                files: files(["sklearn/iris.csv", "sklearn/descr/iris.rst", "sklearn/COPYING"]),
                howToGet: "copy sklearn/datasets/data/iris.csv from a scikit-learn wheel into <data>/sklearn/; \(sharedDataHint)",
                citation: "R. A. Fisher, The use of multiple measurements in taxonomic problems, 1936")
        case .wine:
            return DatasetDescriptor(
                name: name, title: "Wine recognition", sampleShape: [13], trainCount: 178, testCount: nil, classCount: 3,
                classNames: ["class_0", "class_1", "class_2"],
                files: files(["sklearn/wine_data.csv", "sklearn/descr/wine_data.rst", "sklearn/COPYING"]),
                howToGet: "copy sklearn/datasets/data/wine_data.csv from a scikit-learn wheel into <data>/sklearn/; \(sharedDataHint)",
                citation: "M. Forina et al., Wine recognition data, UCI 1991")
        case .mnist:
            return DatasetDescriptor(
                name: name, title: "MNIST handwritten digits", sampleShape: [1, 28, 28], trainCount: 60000,
                testCount: 10000, classCount: 10, classNames: (0..<10).map(String.init),
                files: files(prefix: "mnist/"),
                howToGet: "download the four IDX .gz files (train-images-idx3-ubyte.gz, …) from yann.lecun.com/exdb/mnist or a mirror into <data>/mnist/; \(sharedDataHint)",
                citation: "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to document recognition, Proc. IEEE 1998")
        case .fashionMNIST:
            return DatasetDescriptor(
                name: name, title: "Fashion-MNIST", sampleShape: [1, 28, 28], trainCount: 60000, testCount: 10000,
                classCount: 10, classNames: IDXImageLoader.fashionMNISTClassNames,
                files: files(prefix: "fashion-mnist/"),
                howToGet: "download the four IDX .gz files from github.com/zalandoresearch/fashion-mnist (data/fashion) into <data>/fashion-mnist/; \(sharedDataHint)",
                citation: "H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST, arXiv:1708.07747, 2017")
        case .adult:
            return DatasetDescriptor(
                name: name, title: "UCI Adult (census income), rows with '?' dropped by default",
                sampleShape: [104], trainCount: 30162, testCount: 15060, classCount: 2, classNames: AdultLoader.classNames,
                files: files(prefix: "adult/"),
                howToGet: "download adult.data and adult.test from the UCI repository (doi:10.24432/C5XW20) into <data>/adult/; \(sharedDataHint)",
                citation: "R. Kohavi, Scaling Up the Accuracy of Naive-Bayes Classifiers, KDD 1996; B. Becker, R. Kohavi, Adult, UCI 1996")
        case .location:
            return DatasetDescriptor(
                name: name, title: "Location (Foursquare Bangkok check-ins), Shokri et al.", sampleShape: [446],
                trainCount: 5010, testCount: nil, classCount: 30, classNames: (1...30).map(String.init),
                files: files(prefix: "location/"),
                howToGet: "extract bangkok from dataset_location.tgz of github.com/privacytrustlab/datasets into <data>/location/; \(sharedDataHint)",
                citation: "R. Shokri, M. Stronati, C. Song, V. Shmatikov, Membership Inference Attacks Against Machine Learning Models, IEEE S&P 2017")
        case .orlFaces:
            return DatasetDescriptor(
                name: name, title: "ORL / AT&T Database of Faces", sampleShape: [1, 112, 92], trainCount: 400,
                testCount: nil, classCount: 40, classNames: (1...40).map { "s\($0)" },
                files: files(prefix: "orl-faces/"),
                howToGet: "unpack the AT&T 'Database of Faces' (att_faces: folders s1…s40 of 1.pgm…10.pgm) into <data>/orl-faces/; \(sharedDataHint)",
                citation: "F. Samaria, A. Harter, Parameterisation of a stochastic model for human face identification, IEEE WACV 1994")
        }
    }

    /// The SHA-256 (hex) of the checksum lines (`<sha256> <bytes> <path>\n`) of the dataset's data
    /// files, in registry order: what a successful `load` reads is determined by it, so it stands
    /// for the data's content in cache keys.
    public static func contentDigest(_ name: DatasetName) -> String {
        SHA256.hash(Array(descriptor(name).dataFiles.map { "\($0.sha256) \($0.byteCount) \($0.relativePath)\n" }.joined().utf8)).hex
    }

    /// All descriptors, in `DatasetName` order.
    public static var all: [DatasetDescriptor] { DatasetName.allCases.map(descriptor) }

    /// Whether every file a loader needs exists under `directory` (no hashing).
    public static func isPresent(_ name: DatasetName, in directory: DataDirectory) -> Bool {
        descriptor(name).dataFiles.allSatisfy { FileBytes.exists(directory.file($0.relativePath)) }
    }

    /// The error for a needed file that is absent: where it was looked for and how to get it.
    ///
    /// `file` is the first missing file; `alsoMissing` lists the others (relative paths).
    public static func missingFileError(
        _ name: DatasetName, file: KnownFile, alsoMissing: [String] = [], in directory: DataDirectory
    ) -> DatasetError {
        let d = descriptor(name)
        let others = alsoMissing.isEmpty ? "" : " (also missing: \(alsoMissing.joined(separator: ", ")))"
        return DatasetError(.missingFile, file: directory.file(file.relativePath).path,
                            "file not found: dataset \(name.rawValue) needs \(file.relativePath)\(others) in the data directory \(directory). To get it: \(d.howToGet)")
    }

    /// Loads a dataset by name from `directory`.
    ///
    /// Every needed file is checked to exist first (a missing one gives an error saying where
    /// it was looked for and how to get it). Only the files of the checksum list are read: each
    /// one's size is checked against the registry before it is read (a FIFO or device is refused
    /// at once), and with `options.verifyChecksums` its bytes' sha256 after. An `orl-faces`
    /// subject folder or image that is not in the list (an extra `s41/`) is an error rather than
    /// silently dropped or loaded: load such a folder with `ImageFolderLoader` instead. Other
    /// files beside the data (a README) are ignored.
    ///
    /// So a successful load returns exactly the data the registry's checksums describe
    /// (`contentDigest(_:)`), whatever the folder holds besides.
    ///
    /// - Returns: the published train/test parts (MNIST, Fashion-MNIST, Adult) or everything as
    ///   `train` with `test == nil` (split with `Splits`).
    public static func load(_ name: DatasetName, from directory: DataDirectory, options: LoadOptions = LoadOptions()) throws(DatasetError) -> Dataset {
        let d = descriptor(name)
        let missing = d.dataFiles.filter { !FileBytes.exists(directory.file($0.relativePath)) }
        if let first = missing.first {
            throw missingFileError(name, file: first, alsoMissing: missing.dropFirst().prefix(5).map(\.relativePath)
                                   + (missing.count > 6 ? ["… \(missing.count - 6) more"] : []), in: directory)
        }
        // Only the checksum list's files are read, each checked for size before it is read (and
        // for sha256 after, with `verifyChecksums`).
        var reader = FileReader(verifyDigests: options.verifyChecksums, knownOnly: true)
        for file in d.dataFiles { reader.known[directory.file(file.relativePath).path] = file }
        let f = directory.file
        switch name {
        case .digits:
            return Dataset(name: name.rawValue, train: try SklearnLoader.loadDigits(f("sklearn/digits.csv.gz"), pixelScaling: options.pixelScaling, reader: reader))
        case .breastCancer:
            return Dataset(name: name.rawValue, train: try SklearnLoader.loadTable(f("sklearn/breast_cancer.csv"), featureNames: nil, reader: reader))
        case .iris:
            return Dataset(name: name.rawValue, train: try SklearnLoader.loadTable(f("sklearn/iris.csv"), featureNames: nil, reader: reader))
        case .wine:
            return Dataset(name: name.rawValue, train: try SklearnLoader.loadTable(f("sklearn/wine_data.csv"), featureNames: nil, reader: reader))
        case .mnist, .fashionMNIST:
            let folder = name.rawValue
            let names = name == .fashionMNIST ? IDXImageLoader.fashionMNISTClassNames : (0..<10).map(String.init)
            let train = try IDXImageLoader.load(
                images: f("\(folder)/train-images-idx3-ubyte.gz"), labels: f("\(folder)/train-labels-idx1-ubyte.gz"),
                classNames: names, pixelScaling: options.pixelScaling, reader: reader)
            let test = try IDXImageLoader.load(
                images: f("\(folder)/t10k-images-idx3-ubyte.gz"), labels: f("\(folder)/t10k-labels-idx1-ubyte.gz"),
                classNames: names, pixelScaling: options.pixelScaling, reader: reader)
            return Dataset(name: name.rawValue, train: train, test: test)
        case .adult:
            return try AdultLoader.load(train: f("adult/adult.data"), test: f("adult/adult.test"), missing: options.adultMissingValues, reader: reader)
        case .location:
            return Dataset(name: name.rawValue, train: try LocationLoader.load(f("location/bangkok"), reader: reader))
        case .orlFaces:
            return Dataset(name: name.rawValue, train: try ORLFacesLoader.loadKnown(
                d.dataFiles, in: directory, pixelScaling: options.pixelScaling, reader: reader))
        }
    }
}
