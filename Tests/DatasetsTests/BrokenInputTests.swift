import Datasets
import Foundation
import Testing

/// Broken files written to a temporary folder: each must give a `DatasetError` naming the file
/// and saying what was expected.
@Suite("Broken input")
struct BrokenInputTests {
    @Test("IDX: pixels shorter than the header says")
    func idxTruncatedPixels() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("train-images-idx3-ubyte.gz")
        let labels = dir.appendingPathComponent("train-labels-idx1-ubyte.gz")
        write(gzipStored(idxHeader([60000, 28, 28]) + [UInt8](repeating: 7, count: 1000)), to: images)
        write(gzipStored(idxHeader([60000]) + [UInt8](repeating: 1, count: 60000)), to: labels)
        let error = datasetError { _ = try IDXImageLoader.load(images: images, labels: labels) }
        #expect(error?.kind == .malformed)
        #expect(error?.file == images.path)
        #expect(error?.description.contains("train-images-idx3-ubyte.gz: expected 47040000 bytes of pixels after the 16-byte header (dimensions 60000×28×28), found 1000") == true,
                "\(String(describing: error))")
    }

    @Test("IDX: wrong magic number (a label file given as images)")
    func idxWrongMagic() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let labels = dir.appendingPathComponent("labels.idx")
        write(idxHeader([3]) + [0, 1, 2], to: labels)
        let error = datasetError { _ = try IDXImageLoader.load(images: labels, labels: labels) }
        #expect(error?.description.contains("expected IDX magic number 2051 (3 dimensions), found 2049 (1 dimensions)") == true,
                "\(String(describing: error))")
        let notIDX = dir.appendingPathComponent("png.idx")
        write([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0], to: notIDX)
        #expect(datasetError { _ = try IDX.read(notIDX) }?.location == "byte offset 0")
        let floats = dir.appendingPathComponent("float.idx")
        write([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], to: floats)
        #expect(datasetError { _ = try IDX.read(floats) }?.message.contains("element type 0x08") == true)
    }

    @Test("IDX: image and label counts that disagree, labels out of range")
    func idxCountMismatch() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("images")
        let labels = dir.appendingPathComponent("labels")
        write(idxHeader([5, 2, 2]) + [UInt8](repeating: 255, count: 20), to: images)
        write(idxHeader([4]) + [0, 1, 2, 3], to: labels)
        let error = datasetError { _ = try IDXImageLoader.load(images: images, labels: labels) }
        #expect(error?.kind == .mismatch && error?.file == labels.path)
        #expect(error?.message == "expected 5 labels to match the 5 images of images, found 4")
        write(idxHeader([5]) + [0, 1, 12, 3, 4], to: labels)
        let range = datasetError { _ = try IDXImageLoader.load(images: images, labels: labels) }
        #expect(range?.location == "byte offset 10")
        #expect(range?.message.contains("expected a label in 0..<10 for sample 2, found 12") == true)
        // A gzip image file with more pixels than its header announces.
        let gz = dir.appendingPathComponent("images.gz")
        write(gzipStored(idxHeader([5, 2, 2]) + [UInt8](repeating: 255, count: 21)), to: gz)
        write(idxHeader([5]) + [0, 1, 2, 3, 4], to: labels)
        #expect(datasetError { _ = try IDXImageLoader.load(images: gz, labels: labels) }?.message
                == "expected 20 bytes of pixels after the 16-byte header (dimensions 5×2×2), found more: the gzip stream goes on past the size its header announces")
        write(gzipStored(idxHeader([5, 2, 2]) + (0..<20).map { UInt8($0 * 10) }), to: gz)
        #expect((try? IDXImageLoader.load(images: gz, labels: labels, pixelScaling: .raw))?.features
                == (0..<20).map { Float($0 * 10) })
        // Good files load, in [0, 1], shape 1×2×2.
        write(idxHeader([5]) + [0, 1, 2, 3, 4], to: labels)
        let data = try? IDXImageLoader.load(images: images, labels: labels)
        #expect(data?.batchShape == [5, 1, 2, 2] && data?.features.allSatisfy { $0 == 1 } == true)
    }

    @Test("IDX: a truncated gzip stream names the file and says truncated")
    func idxTruncatedGzip() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let labels = dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        let full = gzipStored(idxHeader([100]) + [UInt8](repeating: 3, count: 100))
        write(Array(full.prefix(full.count - 30)), to: labels)
        let error = datasetError { _ = try IDX.read(labels) }
        #expect(error?.kind == .malformed && error?.file == labels.path)
        #expect(error?.message.hasPrefix("gzip: truncated gzip stream") == true, "\(String(describing: error))")
        var corrupt = full
        corrupt[corrupt.count - 6] ^= 0xff  // CRC-32
        write(corrupt, to: labels)
        #expect(datasetError { _ = try IDX.read(labels) }?.message.contains("corrupt gzip stream") == true)
    }

    @Test("CSV: ragged row and non-numeric field, with line and column")
    func csvRaggedAndNonNumeric() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let iris = dir.appendingPathComponent("iris.csv")
        write("3,4,a,b\n1,2,3,4,0\n1,2,3,1\n1,2,3,4,1\n", to: iris)
        let ragged = datasetError { _ = try SklearnLoader.loadTable(iris) }
        #expect(ragged?.description == "\(iris.path): line 3: expected 5 comma-separated fields, found 4")
        write("3,4,a,b\n1,2,3,4,0\n1,2,x3,4,1\n1,2,3,4,1\n", to: iris)
        let text = datasetError { _ = try SklearnLoader.loadTable(iris) }
        #expect(text?.description == "\(iris.path): line 3, column 3: expected a finite number, found \"x3\"")
        write("3,4,a,b\n1,2,3,4,0\n1,2,3,4,1\n", to: iris)
        #expect(datasetError { _ = try SklearnLoader.loadTable(iris) }?.message == "expected 3 data rows as the header says, found 2")
        write("2,4,a,b\n1,2,3,4,0\n1,2,3,4,2\n", to: iris)
        #expect(datasetError { _ = try SklearnLoader.loadTable(iris) }?.message == "expected a class label in 0…1, found 2.0")
        write("2,4,a,b\n1,2,3,4,0\n1,2,nan,4,1\n", to: iris)
        #expect(datasetError { _ = try SklearnLoader.loadTable(iris) }?.location == "line 3, column 3")
        write("2,4,a,b\r\n1.5,-2e-3,3,4,0\r\n\r\n1,2,3,4,1\r\n\n", to: iris)
        let ok = try? SklearnLoader.loadTable(iris)
        #expect(ok?.features == [1.5, -0.002, 3, 4, 1, 2, 3, 4] && ok?.labels == [0, 1] && ok?.classNames == ["a", "b"])
    }

    @Test("digits: pixel out of range; gzip and plain CSV both read")
    func digits() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var row = [Int](repeating: 3, count: 64) + [7]
        let good = row.map(String.init).joined(separator: ",") + "\n"
        row[10] = 17
        let bad = row.map(String.init).joined(separator: ",") + "\n"
        let url = dir.appendingPathComponent("digits.csv.gz")
        write(gzipStored(Array((good + bad).utf8)), to: url)
        let error = datasetError { _ = try SklearnLoader.loadDigits(url) }
        #expect(error?.description == "\(url.path): line 2, column 11: expected a pixel value 0…16, found 17.0")
        let plain = dir.appendingPathComponent("digits.csv")
        write(good, to: plain)
        let data = try? SklearnLoader.loadDigits(plain)
        #expect(data?.labels == [7] && data?.features.first == 3.0 / 16)
    }

    @Test("Adult: unknown category in the test file, bad label, ragged row, '?' in a continuous column")
    func adult() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let train = dir.appendingPathComponent("adult.data")
        let test = dir.appendingPathComponent("adult.test")
        let r1 = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K"
        let r2 = "50, Private, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, ?, >50K"
        let r3 = "38, Private, 215646, HS-grad, 9, Divorced, Handlers-cleaners, Not-in-family, White, Female, 0, 0, 40, United-States, <=50K"
        write([r1, r2, r3, ""].joined(separator: "\n"), to: train)
        write(["|1x3 Cross validator", r1 + ".", r3.replacingOccurrences(of: "HS-grad", with: "Doctorate") + "."].joined(separator: "\n"), to: test)
        let unknown = datasetError { _ = try AdultLoader.load(train: train, test: test) }
        #expect(unknown?.kind == .mismatch && unknown?.file == test.path)
        #expect(unknown?.location == "line 3, column 4 (education)")
        #expect(unknown?.message.contains("unknown category \"Doctorate\"") == true)

        write(["|1x3 Cross validator", r1 + ".", r3 + "."].joined(separator: "\n"), to: test)
        let d = try? AdultLoader.load(train: train, test: test)
        // Row r2 is dropped for its '?'; categories come from r1 and r3.
        #expect(d?.train.count == 2 && d?.test?.count == 2 && d?.test?.labels == [0, 0])
        #expect(d?.train.featureNames?.contains("native-country=?") == false)
        let kept = try? AdultLoader.load(train: train, test: test, missing: .asCategory)
        #expect(kept?.train.count == 3 && kept?.train.featureNames?.contains("native-country=?") == true)

        write([r1.replacingOccurrences(of: "<=50K", with: "maybe")].joined(separator: "\n"), to: test)
        #expect(datasetError { _ = try AdultLoader.load(train: train, test: test) }?.location == "line 1, column 15 (income)")
        write([r1.replacingOccurrences(of: ", 77516", with: "")].joined(separator: "\n"), to: test)
        #expect(datasetError { _ = try AdultLoader.load(train: train, test: test) }?.message
                == "expected 15 comma-separated fields (14 attributes and the label), found 14")
        write([r1.replacingOccurrences(of: "77516", with: "?")].joined(separator: "\n"), to: test)
        #expect(datasetError { _ = try AdultLoader.load(train: train, test: test, missing: .asCategory) }?.location
                == "line 1, column 3 (fnlwgt)")
        write([r1.replacingOccurrences(of: "77516", with: "77x")].joined(separator: "\n"), to: test)
        #expect(datasetError { _ = try AdultLoader.load(train: train, test: test) }?.message == "expected a number, found \"77x\"")
    }

    @Test("PGM: P2 and P5 of the same pixels agree; bad magic and short raster are errors")
    func pgm() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pixels: [UInt8] = [0, 10, 200, 255, 7, 9]
        let p5 = dir.appendingPathComponent("a.pgm"), p2 = dir.appendingPathComponent("b.pgm")
        write(Array("P5\n# comment\n3 2\n255\n".utf8) + pixels, to: p5)
        write("P2\n3 2\n255\n0 10 200\n255 7 9\n", to: p2)
        let a = try PGMImage.read(p5), b = try PGMImage.read(p2)
        #expect(a == b && a.pixels == pixels.map(UInt16.init) && a.width == 3 && a.height == 2)
        write(Array("P5\n3 2\n255\n".utf8) + pixels.prefix(5), to: p5)
        #expect(datasetError { _ = try PGMImage.read(p5) }?.message == "expected 6 bytes of pixels (3×2), found 5")
        write(Array("P6\n3 2\n255\n".utf8) + pixels, to: p5)
        #expect(datasetError { _ = try PGMImage.read(p5) }?.message == "expected PGM magic P5 or P2, found \"P6\"")
        write("P2\n3 2\n100\n0 10 200\n255 7 9\n", to: p2)
        #expect(datasetError { _ = try PGMImage.read(p2) }?.message.contains("above maxval 100") == true)
    }

    @Test("ORL layout: labels from folders, gaps and mixed sizes are errors")
    func orlLayout() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for s in 1...3 {
            for k in [1, 2, 10] {
                write(Array("P5\n4 3\n255\n".utf8) + [UInt8](repeating: UInt8(s * 10 + k), count: 12),
                      to: dir.appendingPathComponent("s\(s)/\(k).pgm"))
            }
        }
        write("not an image", to: dir.appendingPathComponent("README"))
        let d = try ORLFacesLoader.load(directory: dir)
        #expect(d.batchShape == [9, 1, 3, 4] && d.labels == [0, 0, 0, 1, 1, 1, 2, 2, 2] && d.classCount == 3)
        #expect(d.sample(2).first == Float(10 + 10) / 255)  // s1/10.pgm sorts after s1/2.pgm
        write(Array("P5\n5 3\n255\n".utf8) + [UInt8](repeating: 1, count: 15), to: dir.appendingPathComponent("s2/3.pgm"))
        let sizes = datasetError { _ = try ORLFacesLoader.load(directory: dir) }
        #expect(sizes?.kind == .mismatch && sizes?.file.hasSuffix("s2/3.pgm") == true)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("s2"))
        #expect(datasetError { _ = try ORLFacesLoader.load(directory: dir) }?.message
                == "expected subject folders s1…s2 without gaps, found s3 in place of s2")
    }

    @Test("Location: a non-binary feature or a label outside 1…30")
    func location() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bangkok")
        let features = [String](repeating: "0", count: 446)
        write("\"30\"," + features.joined(separator: ",") + "\n", to: url)
        #expect((try? LocationLoader.load(url))?.labels == [29])
        var bad = features
        bad[5] = "2"
        write("\"3\"," + bad.joined(separator: ",") + "\n", to: url)
        #expect(datasetError { _ = try LocationLoader.load(url) }?.description
                == "\(url.path): line 1, column 7: expected a binary feature 0 or 1, found 2.0")
        write("\"31\"," + features.joined(separator: ",") + "\n", to: url)
        #expect(datasetError { _ = try LocationLoader.load(url) }?.message == "expected a class label in 1…30, found 31.0")
    }

    @Test("registry: a missing file says where it looked and how to get it; checksum mismatches are caught")
    func registry() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = DataDirectory.resolve(explicit: nil, environmentValue: dir.path, currentDirectory: URL(fileURLWithPath: "/"))
        let missing = datasetError { _ = try DatasetRegistry.load(.mnist, from: data) }
        #expect(missing?.kind == .missingFile)
        #expect(missing?.file == dir.appendingPathComponent("mnist/t10k-images-idx3-ubyte.gz").path)
        #expect(missing?.message.contains("(also missing: mnist/t10k-labels-idx1-ubyte.gz, mnist/train-images-idx3-ubyte.gz, mnist/train-labels-idx1-ubyte.gz)") == true)
        #expect(missing?.message.contains("data directory \(dir.path) (from PRIVACY_LAB_DATA)") == true)
        #expect(missing?.message.contains("To get it: download the four IDX .gz files") == true)
        #expect(!DatasetRegistry.isPresent(.iris, in: data))

        // A well-formed iris.csv that is not the known file.
        write("2,4,setosa,versicolor,virginica\n1,2,3,4,0\n1,2,3,4,2\n", to: dir.appendingPathComponent("sklearn/iris.csv"))
        #expect(DatasetRegistry.isPresent(.iris, in: data))
        let mismatch = datasetError { _ = try DatasetRegistry.load(.iris, from: data) }
        #expect(mismatch?.kind == .checksumMismatch)
        #expect(mismatch?.message.hasPrefix("expected 2734 bytes (the known sklearn/iris.csv), found") == true)
        let unchecked = try DatasetRegistry.load(.iris, from: data, options: LoadOptions(verifyChecksums: false))
        #expect(unchecked.train.count == 2)
        let report = DatasetRegistry.verify(.iris, in: data)
        #expect(!report.passed && !report.isAbsent)
        #expect(report.failures.map(\.file.relativePath) == ["sklearn/iris.csv"])
        #expect(DatasetRegistry.verify(.mnist, in: data).isAbsent)
    }

    @Test("data directory: explicit > environment > ./data, relative paths against the current directory")
    func dataDirectory() {
        let cwd = URL(fileURLWithPath: "/home/lab/project")
        #expect(DataDirectory.resolve(explicit: "/x", environmentValue: "/y", currentDirectory: cwd)
                == DataDirectory(url: URL(fileURLWithPath: "/x"), origin: .explicit))
        #expect(DataDirectory.resolve(explicit: nil, environmentValue: "/y", currentDirectory: cwd).url.path == "/y")
        #expect(DataDirectory.resolve(explicit: "", environmentValue: "rel", currentDirectory: cwd)
                == DataDirectory(url: URL(fileURLWithPath: "/home/lab/project/rel"), origin: .environment))
        let fallback = DataDirectory.resolve(explicit: nil, environmentValue: nil, currentDirectory: cwd)
        #expect(fallback.url.path == "/home/lab/project/data" && fallback.origin == .defaultLocation)
        #expect(fallback.file("mnist/a.gz").path == "/home/lab/project/data/mnist/a.gz")
    }
}
