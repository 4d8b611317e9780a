import Codecs
import Datasets
import Foundation
import Testing

/// Every loader against the reference files (shapes and label counts as the data README states).
@Suite("Real data", .enabled(if: referenceDataDirectory != nil, skipReason), .serialized)
struct RealDataTests {
    let dir = referenceDataDirectory!

    @Test("MNIST: 60000/10000 images of 1×28×28, README label counts, pixel statistics")
    func mnist() throws {
        let d = try DatasetRegistry.load(.mnist, from: dir)
        let test = try #require(d.test)
        #expect(d.train.batchShape == [60000, 1, 28, 28])
        #expect(test.batchShape == [10000, 1, 28, 28])
        #expect(d.train.classCounts() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        #expect(test.classCounts() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(d.train.labels.prefix(3) == [5, 0, 4])
        #expect(test.labels.prefix(3) == [7, 2, 1])
        // The well-known normalisation constants of MNIST's training pixels in [0, 1].
        var sum = 0.0, sumSquares = 0.0
        for v in d.train.features { sum += Double(v); sumSquares += Double(v) * Double(v) }
        let n = Double(d.train.features.count)
        let mean = sum / n, sd = (sumSquares / n - mean * mean).squareRoot()
        #expect(abs(mean - 0.1307) < 0.0001)
        #expect(abs(sd - 0.3081) < 0.0001)
        #expect(d.train.features.min() == 0 && d.train.features.max() == 1)
    }

    @Test("Fashion-MNIST: 6000 per class in train, 1000 per class in test, class names")
    func fashion() throws {
        let d = try DatasetRegistry.load(.fashionMNIST, from: dir)
        #expect(d.train.classCounts() == [Int](repeating: 6000, count: 10))
        #expect(d.test?.classCounts() == [Int](repeating: 1000, count: 10))
        #expect(d.train.classNames?[9] == "Ankle boot")
    }

    @Test("IDX reader on raw arrays: header dimensions and magic")
    func idxRaw() throws {
        let labels = try IDX.read(dir.file("mnist/t10k-labels-idx1-ubyte.gz"), dimensionCount: 1)
        #expect(labels.dimensions == [10000] && labels.magic == 2049)
        let images = try IDX.read(dir.file("mnist/t10k-images-idx3-ubyte.gz"))
        #expect(images.dimensions == [10000, 28, 28] && images.magic == 2051)
    }

    @Test("Adult, rows with '?' dropped: 30162 / 15060 rows, 104 one-hot features, label counts")
    func adultDropped() throws {
        let d = try DatasetRegistry.load(.adult, from: dir)
        let test = try #require(d.test)
        #expect(d.train.count == 30162 && test.count == 15060)
        #expect(d.train.featureCount == 104)
        #expect(d.train.classCounts() == [22654, 7508])
        #expect(test.classCounts() == [11360, 3700])
        let names = try #require(d.train.featureNames)
        #expect(names.first == "age" && names.contains("workclass=Private") && !names.contains("workclass=?"))
        // First row: 39, State-gov, 77516, Bachelors, 13, … , <=50K.
        let row = Array(d.train.sample(0))
        #expect(row[0] == 39)
        #expect(row[names.firstIndex(of: "workclass=State-gov")!] == 1)
        #expect(row[names.firstIndex(of: "fnlwgt")!] == 77516)
        #expect(d.train.labels[0] == 0)
        // Each categorical attribute has exactly one hot column per row.
        let categorical = names.filter { $0.contains("=") }
        #expect(Set(categorical.map { $0.split(separator: "=")[0] }).count == 8)
        for i in stride(from: 0, to: test.count, by: 997) {
            let ones = zip(names, test.sample(i)).filter { $0.0.contains("=") && $0.1 == 1 }.count
            #expect(ones == 8)
        }
    }

    @Test("Adult, '?' as a category: all 32561 / 16281 rows, README label counts")
    func adultAsCategory() throws {
        let d = try DatasetRegistry.load(.adult, from: dir, options: LoadOptions(adultMissingValues: .asCategory))
        #expect(d.train.count == 32561 && d.test?.count == 16281)
        #expect(d.train.classCounts() == [24720, 7841])
        #expect(d.test?.classCounts() == [12435, 3846])
        #expect(d.train.featureNames?.contains("workclass=?") == true)
        #expect(d.train.featureCount == 108)
    }

    @Test("scikit-learn sets: digits, breast cancer, iris, wine")
    func sklearn() throws {
        let digits = try DatasetRegistry.load(.digits, from: dir).train
        #expect(digits.batchShape == [1797, 1, 8, 8])
        #expect(digits.classCounts() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        #expect(digits.features.min() == 0 && digits.features.max() == 1)
        let raw = try SklearnLoader.loadDigits(dir.file("sklearn/digits.csv.gz"), pixelScaling: .raw)
        #expect(raw.features.max() == 16 && Array(raw.sample(0).prefix(4)) == [0, 0, 5, 13])
        let cancer = try DatasetRegistry.load(.breastCancer, from: dir).train
        #expect(cancer.batchShape == [569, 30] && cancer.classCounts() == [212, 357])
        #expect(cancer.classNames == ["malignant", "benign"])
        #expect(cancer.features[0] == 17.99)
        let iris = try DatasetRegistry.load(.iris, from: dir).train
        #expect(iris.batchShape == [150, 4] && iris.classCounts() == [50, 50, 50])
        let wine = try DatasetRegistry.load(.wine, from: dir).train
        #expect(wine.batchShape == [178, 13] && wine.classCounts() == [59, 71, 48])
    }

    @Test("Location: 5010 × 446 binary features, 30 classes with the README's sizes")
    func location() throws {
        let d = try DatasetRegistry.load(.location, from: dir).train
        #expect(d.batchShape == [5010, 446])
        #expect(d.classCounts() == [169, 178, 147, 155, 97, 182, 120, 308, 145, 210, 189, 184, 141, 122, 229,
                                    110, 176, 128, 180, 254, 228, 117, 158, 170, 139, 139, 155, 152, 149, 179])
        #expect(d.labels[0] == 12)  // the first row's label is "13"
        let ones = d.features.reduce(0, +) / Float(d.features.count)
        #expect(abs(ones - 0.120) < 0.0005)
    }

    @Test("ORL faces: 40 subjects × 10 images of 1×112×92, labels from folders")
    func orl() throws {
        let d = try DatasetRegistry.load(.orlFaces, from: dir).train
        #expect(d.batchShape == [400, 1, 112, 92])
        #expect(d.classCounts() == [Int](repeating: 10, count: 40))
        #expect(d.labels.prefix(11) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(d.classNames?[39] == "s40")
        let image = try PGMImage.read(dir.file("orl-faces/s1/1.pgm"))
        #expect(image.width == 92 && image.height == 112 && image.maxValue == 255)
        #expect(Array(d.sample(0).prefix(3)) == image.pixels.prefix(3).map { Float($0) / 255 })
    }

    @Test("verify: every dataset's files match the registry's sizes and sha256")
    func verifyAll() {
        for name in DatasetName.allCases {
            let report = DatasetRegistry.verify(name, in: dir)
            #expect(report.passed, "\(name): \(report.failures.map(\.summary))")
            #expect(report.checks.allSatisfy { $0.status == .ok })
        }
    }

    @Test("the embedded checksum table equals SHA256SUMS, and our SHA-256 reproduces it")
    func checksumTable() throws {
        let text = try String(contentsOf: dir.file("SHA256SUMS"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.count == DatasetRegistry.knownFileList.count)
        for (line, known) in zip(lines, DatasetRegistry.knownFileList) {
            #expect(String(line[0]) == known.sha256 && String(line[1]) == known.relativePath)
        }
        // Our SHA-256 over a few real files of different sizes.
        for path in ["adult/Index", "sklearn/iris.csv", "mnist/train-labels-idx1-ubyte.gz", "location/bangkok"] {
            let bytes = [UInt8](try Data(contentsOf: dir.file(path)))
            #expect(SHA256.hash(bytes).hex == DatasetRegistry.knownFiles[path]?.sha256, "\(path)")
        }
    }
}

@Suite("Checksum table")
struct ChecksumTableTests {
    @Test("the 400 ORL lines reproduce the data README's combined digest 841a94fa…")
    func orlCombinedDigest() {
        let orl = DatasetRegistry.descriptor(.orlFaces).files.filter { $0.relativePath.hasPrefix("orl-faces/s") }
        #expect(orl.count == 400)
        let text = orl.map { "\($0.sha256)  \($0.relativePath)\n" }.joined()
        #expect(SHA256.hash(utf8: text).hex == "841a94fa5eda2d9fe899a10272589713b1df6272a224717069ed5acca503aaf2")
    }

    @Test("the table matches the data README's per-file values and sizes")
    func readmeValues() {
        let f = DatasetRegistry.knownFiles
        #expect(f["mnist/train-images-idx3-ubyte.gz"]?.sha256 == "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609")
        #expect(f["mnist/train-images-idx3-ubyte.gz"]?.byteCount == 9_912_422)
        #expect(f["adult/adult.test"]?.byteCount == 2_003_153)
        #expect(f["sklearn/digits.csv.gz"]?.sha256 == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22")
        #expect(f.count == 426)
        for name in DatasetName.allCases {
            let d = DatasetRegistry.descriptor(name)
            #expect(!d.dataFiles.isEmpty && d.files.allSatisfy { $0.sha256.count == 64 })
        }
    }
}
