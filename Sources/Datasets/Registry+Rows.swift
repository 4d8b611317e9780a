import Foundation

/// A named dataset known by its labels, whose features are read for chosen rows only: what a
/// process that needs a few rows (a federated client, a server that only evaluates) holds
/// instead of the whole dataset.
///
/// `train(rows:)` and `test(rows:)` give exactly `DatasetRegistry.load(...).train.subset(rows)`
/// (and the same for `test`), bit for bit, from the same checksummed files: the image file is
/// read and verified whole (compressed), then inflated in pieces of which only the chosen
/// samples' pixels are kept.
///
/// - Complexity: memory O(compressed file + rows × featureCount) per call, against O(n ×
///   featureCount) for a full load; time as a full load (every file is inflated).
public struct RowReadableDataset: Sendable {
    public let name: String
    /// Every training label, in file order.
    public let trainLabels: [Int32]
    /// Every test label, in file order.
    public let testLabels: [Int32]
    public let sampleShape: [Int]
    public let classCount: Int
    public let classNames: [String]?

    let trainFiles: (images: URL, labels: URL)
    let testFiles: (images: URL, labels: URL)
    let pixelScaling: PixelScaling
    let reader: FileReader

    /// The training samples at `rows` (strictly increasing indices), in that order.
    public func train(rows: [Int]) throws(DatasetError) -> LabeledData {
        try read(trainFiles, rows: rows)
    }

    /// The test samples at `rows` (strictly increasing indices), in that order.
    public func test(rows: [Int]) throws(DatasetError) -> LabeledData {
        try read(testFiles, rows: rows)
    }

    private func read(_ files: (images: URL, labels: URL), rows: [Int]) throws(DatasetError) -> LabeledData {
        try IDXImageLoader.load(images: files.images, labels: files.labels, classCount: classCount, classNames: classNames,
                                pixelScaling: pixelScaling, reader: reader, rows: rows)
    }
}

extension DatasetRegistry {
    /// Opens `name` for reading by rows: its labels and sample shape now, features later for
    /// chosen rows (`RowReadableDataset`). Nil for a dataset stored otherwise than as IDX files
    /// (only MNIST and Fashion-MNIST are): load it whole with `load(_:from:options:)`.
    ///
    /// - Throws: as `load(_:from:options:)`: a missing file, a size or checksum mismatch, a
    ///   malformed header or label.
    public static func openRows(_ name: DatasetName, from directory: DataDirectory,
                                options: LoadOptions = LoadOptions()) throws(DatasetError) -> RowReadableDataset? {
        guard name == .mnist || name == .fashionMNIST else { return nil }
        let d = descriptor(name)
        let missing = d.dataFiles.filter { !FileBytes.exists(directory.file($0.relativePath)) }
        if let first = missing.first {
            throw missingFileError(name, file: first, alsoMissing: missing.dropFirst().map(\.relativePath), in: directory)
        }
        var reader = FileReader(verifyDigests: options.verifyChecksums, knownOnly: true)
        for file in d.dataFiles { reader.known[directory.file(file.relativePath).path] = file }
        let folder = name.rawValue, f = directory.file
        let train = (images: f("\(folder)/train-images-idx3-ubyte.gz"), labels: f("\(folder)/train-labels-idx1-ubyte.gz"))
        let test = (images: f("\(folder)/t10k-images-idx3-ubyte.gz"), labels: f("\(folder)/t10k-labels-idx1-ubyte.gz"))
        let names = name == .fashionMNIST ? IDXImageLoader.fashionMNISTClassNames : (0..<10).map(String.init)
        let header = try IDXImageLoader.imageHeader(train.images, reader: reader)
        let trainLabels = try IDXImageLoader.labels(train.labels, classCount: 10, reader: reader)
        let testLabels = try IDXImageLoader.labels(test.labels, classCount: 10, reader: reader)
        guard trainLabels.count == header.dimensions[0] else {
            throw DatasetError(.mismatch, file: train.labels.path,
                               "expected \(header.dimensions[0]) labels to match the images of \(train.images.lastPathComponent), found \(trainLabels.count)")
        }
        return RowReadableDataset(name: name.rawValue, trainLabels: trainLabels, testLabels: testLabels,
                                  sampleShape: [1, header.dimensions[1], header.dimensions[2]], classCount: 10, classNames: names,
                                  trainFiles: train, testFiles: test, pixelScaling: options.pixelScaling, reader: reader)
    }
}
