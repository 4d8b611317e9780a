import Codecs
import Datasets
import Foundation
import Testing

/// The user's own data: PNG/PGM image folders, CSV tables, NumPy arrays; each bad input gives
/// one error naming the file and the field.
@Suite("Data from files")
struct FileDataTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    /// The sample formula of `make_fixtures.py`.
    static func value(_ x: Int, _ y: Int, _ c: Int, _ depth: Int) -> Int {
        if depth == 16 { return (x * 7919 + y * 104729 + c * 31337 + x * y * 7) % 65536 }
        return (x * 7 + y * 13 + c * 29 + x * y) % (1 << depth)
    }

    static func paletteEntry(_ i: Int) -> [Int] { [(i * 37) % 256, (i * 91) % 256, (i * 173) % 256, (i * 53) % 256] }

    @Test("every PNG written by pypng (grey 1–16 bit, grey+alpha, RGB, RGBA, palette, tRNS; plain and Adam7) decodes to its samples")
    func pypngFixtures() throws {
        var cases: [(String, Int, Int)] = [("g1", 1, 1), ("g2", 1, 2), ("g4", 1, 4), ("g8", 1, 8), ("g16", 1, 16)]
        for depth in [8, 16] { cases += [("ga\(depth)", 2, depth), ("rgb\(depth)", 3, depth), ("rgba\(depth)", 4, depth)] }
        for (stem, channels, depth) in cases {
            for suffix in ["", "i"] {
                let url = Self.fixtures.appendingPathComponent("png/\(stem)\(suffix).png")
                let image = try ImageFile.read(url)
                #expect(image.width == 13 && image.height == 9 && image.channels == channels && image.maxValue == (1 << depth) - 1, "\(url.lastPathComponent)")
                var expected: [UInt16] = []
                for y in 0..<9 { for x in 0..<13 { for c in 0..<channels { expected.append(UInt16(Self.value(x, y, c, depth))) } } }
                #expect(image.samples == expected, "\(url.lastPathComponent)")
            }
        }
        for (stem, depth, alpha) in [("p1", 1, false), ("p2", 2, false), ("p4", 4, false), ("p8", 8, false), ("pa8", 8, true)] {
            for suffix in ["", "i"] {
                let image = try ImageFile.read(Self.fixtures.appendingPathComponent("png/\(stem)\(suffix).png"))
                var expected: [UInt16] = []
                for y in 0..<9 { for x in 0..<13 { expected += Self.paletteEntry(Self.value(x, y, 0, depth)).prefix(alpha ? 4 : 3).map(UInt16.init) } }
                #expect(image.channels == (alpha ? 4 : 3) && image.maxValue == 255 && image.samples == expected, "\(stem)\(suffix)")
            }
        }
    }

    /// A folder `root/<class>/<name>` of copies of fixtures (or PGM bytes).
    func imageFolder(_ files: [String: [UInt8]]) -> URL {
        let root = makeTemporaryDirectory()
        for (path, bytes) in files { write(bytes, to: root.appendingPathComponent(path)) }
        return root
    }

    func fixture(_ name: String) -> [UInt8] {
        try! InputFile.read(Self.fixtures.appendingPathComponent("png/\(name).png"), maximumBytes: 1 << 20)
    }

    func pgm(_ width: Int, _ height: Int, _ value: UInt8) -> [UInt8] {
        Array("P5\n\(width) \(height)\n255\n".utf8) + [UInt8](repeating: value, count: width * height)
    }

    @Test("image folders: classes are sub-folders in byte order, images in byte order, RGB as CHW, PNG and PGM mixed")
    func imageFolderLayout() throws {
        let root = imageFolder(["dog/b.png": fixture("rgb8"), "dog/a.png": fixture("rgb8i"), "cat/x.PNG": fixture("rgb16"),
                                "README.txt": Array("ignored".utf8), ".hidden/1.png": [1, 2, 3]])
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try ImageFolderLoader.load(train: root, test: nil).train
        #expect(data.classNames == ["cat", "dog"] && data.labels == [0, 1, 1] && data.sampleShape == [3, 9, 13])
        // Channel 1 of pixel (x 2, y 1) of the 16-bit image, divided by 65535.
        #expect(Array(data.sample(0))[(1 * 9 + 1) * 13 + 2] == Float(Self.value(2, 1, 1, 16)) / 65535)
        #expect(Array(data.sample(1))[(2 * 9 + 4) * 13 + 5] == Float(Self.value(5, 4, 2, 8)) / 255)
        #expect(ImageFolderLoader.files(train: root, test: nil).map(\.lastPathComponent) == ["x.PNG", "a.png", "b.png"])

        let grey = imageFolder(["a/1.pgm": pgm(13, 9, 200), "b/1.png": fixture("g8"), "b/2.png": fixture("g16i")])
        defer { try? FileManager.default.removeItem(at: grey) }
        let test = imageFolder(["b/9.pgm": pgm(13, 9, 51)])
        defer { try? FileManager.default.removeItem(at: test) }
        let both = try ImageFolderLoader.load(train: grey, test: test)
        #expect(both.train.sampleShape == [1, 9, 13] && both.train.sample(0).allSatisfy { $0 == Float(200) / 255 })
        #expect(both.test?.labels == [1] && both.test?.sample(0).first == 0.2)
    }

    @Test("image folders: mixed sizes or channels, a stray file, an image outside a class, an unknown test class, a corrupt PNG")
    func imageFolderErrors() throws {
        let sizes = imageFolder(["a/1.pgm": pgm(13, 9, 1), "b/1.pgm": pgm(12, 9, 1)])
        defer { try? FileManager.default.removeItem(at: sizes) }
        let size = datasetError { _ = try ImageFolderLoader.load(train: sizes, test: nil) }
        #expect(size?.kind == .mismatch && size?.file == sizes.appendingPathComponent("b/1.pgm").path)
        #expect(size?.message == "expected a 13×9 image with 1 channel like \(sizes.appendingPathComponent("a/1.pgm").path), found 12×9 with 1")

        let channels = imageFolder(["a/1.png": fixture("g8"), "a/2.png": fixture("ga8")])
        defer { try? FileManager.default.removeItem(at: channels) }
        #expect(datasetError { _ = try ImageFolderLoader.load(train: channels, test: nil) }?.file.hasSuffix("a/2.png") == true)

        let stray = imageFolder(["a/1.png": fixture("g8"), "a/notes.jpg": [0xff, 0xd8]])
        defer { try? FileManager.default.removeItem(at: stray) }
        let strayError = datasetError { _ = try ImageFolderLoader.load(train: stray, test: nil) }
        #expect(strayError?.file.hasSuffix("a/notes.jpg") == true && strayError?.message == "expected only .png and .pgm images in class folder a")

        let loose = imageFolder(["a/1.png": fixture("g8"), "2.png": fixture("g8")])
        defer { try? FileManager.default.removeItem(at: loose) }
        #expect(datasetError { _ = try ImageFolderLoader.load(train: loose, test: nil) }?.message
                == "an image directly in the folder: images belong in one sub-folder per class")

        let good = imageFolder(["a/1.png": fixture("g8")])
        let other = imageFolder(["z/1.png": fixture("g8")])
        defer { for url in [good, other] { try? FileManager.default.removeItem(at: url) } }
        let unknown = datasetError { _ = try ImageFolderLoader.load(train: good, test: other) }
        #expect(unknown?.file == other.appendingPathComponent("z").path && unknown?.message == "class z is not one of the training folder's classes (a)")

        var corrupt = fixture("g8")
        corrupt[50] ^= 1   // a byte of the IDAT data
        let bad = imageFolder(["a/1.png": corrupt])
        defer { try? FileManager.default.removeItem(at: bad) }
        let crc = datasetError { _ = try ImageFolderLoader.load(train: bad, test: nil) }
        #expect(crc?.kind == .malformed && crc?.file.hasSuffix("a/1.png") == true && crc?.message.hasPrefix("PNG: chunk IDAT: CRC mismatch") == true,
                "\(String(describing: crc))")

        let empty = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(datasetError { _ = try ImageFolderLoader.load(train: empty, test: nil) }?.message == "expected one sub-folder per class, found none")
        #expect(datasetError { _ = try ImageFolderLoader.load(train: empty.appendingPathComponent("nope"), test: nil) }?.kind == .missingFile)
    }

    func csv(_ text: String) -> URL {
        let url = makeTemporaryDirectory().appendingPathComponent("table.csv")
        write(text, to: url)
        return url
    }

    @Test("CSV: numeric, categorical (one-hot from the training file) and ignored columns; text labels in byte order, integer labels in numeric order")
    func csvLayout() throws {
        let train = csv("id,age, workclass ,income\n1,39,State-gov,<=50K\n2,50,\"Self, emp\",>50K\n\n3, 38 ,Private,<=50K\r\n")
        let test = csv("id,age,workclass,income\n4,28,Never-worked,>50K\n5,1e1,Private,<=50K\n")
        defer { for url in [train, test] { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) } }
        let options = CSVOptions(labelColumn: "income", categorical: ["workclass"], ignored: ["id"])
        let data = try CSVLoader.load(train: train, test: test, options: options)
        #expect(data.train.featureNames == ["age", "workclass=Private", "workclass=Self, emp", "workclass=State-gov"])
        #expect(data.train.classNames == ["<=50K", ">50K"] && data.train.labels == [0, 1, 0])
        #expect(data.train.features == [39, 0, 0, 1, 50, 0, 1, 0, 38, 1, 0, 0])
        // An unseen test category is a row of zeros.
        #expect(data.test?.features == [28, 0, 0, 0, 10, 1, 0, 0] && data.test?.labels == [1, 0])

        let numbers = csv("x,label\n1,10\n2,2\n3,-1\n4,2\n")
        defer { try? FileManager.default.removeItem(at: numbers.deletingLastPathComponent()) }
        let numeric = try CSVLoader.load(train: numbers, test: nil, options: CSVOptions(labelColumn: "label")).train
        #expect(numeric.classNames == ["-1", "2", "10"] && numeric.labels == [2, 1, 0, 1])
    }

    @Test("CSV errors name the file, line and column: ragged row, missing label column, text in a numeric column, bad quotes, one class")
    func csvErrors() {
        func load(_ text: String, _ options: CSVOptions = CSVOptions(labelColumn: "y")) -> (DatasetError?, String) {
            let url = csv(text)
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            return (datasetError { _ = try CSVLoader.load(train: url, test: nil, options: options) }, url.path)
        }
        let (ragged, file) = load("a,b,y\n1,2,0\n1,2\n")
        #expect(ragged?.description == "\(file): line 3: expected 3 comma-separated fields (as the header), found 2")
        let (missing, _) = load("a,b,label\n1,2,0\n")
        #expect(missing?.location == "line 1" && missing?.message == "no column named \"y\" (the label column) in the header; columns: a, b, label")
        let (text, _) = load("a,b,y\n1,2,0\n1,x,1\n")
        #expect(text?.location == "line 3, column 2 (b)"
                && text?.message == "expected a finite number, found \"x\"; a column of text values must be declared categorical (one-hot encoded) or ignored")
        let (unknownCategorical, _) = load("a,y\n1,0\n", CSVOptions(labelColumn: "y", categorical: ["c"]))
        #expect(unknownCategorical?.message.hasPrefix("no column named \"c\" (the categorical column)") == true)
        let (quote, _) = load("a,y\n1,\"0\n")
        #expect(quote?.message == "a quoted field is not closed before the end of the file")
        let (one, _) = load("a,y\n1,0\n2,0\n")
        #expect(one?.message == "expected at least two classes, found only the label \"0\"")
        let (emptyLabel, _) = load("a,y\n1,0\n2,\n")
        #expect(emptyLabel?.location == "line 3, column 2 (y)" && emptyLabel?.message == "expected a label, found an empty field")
        let (duplicate, _) = load("a,a,y\n1,2,0\n")
        #expect(duplicate?.message == "the column name \"a\" appears twice in the header")
        let (nan, _) = load("a,y\n1,0\nnan,1\n")
        #expect(nan?.location == "line 3, column 1 (a)")
    }

    func npy(_ array: NumpyArray, _ name: String, in dir: URL) -> URL {
        let url = dir.appendingPathComponent(name)
        write(array.npyBytes(), to: url)
        return url
    }

    @Test("npy: features of rank 1–4 (channels-last transposed), labels (N,) or (N, 1), class count from the largest label")
    func npyLayout() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = npy(NumpyArray(shape: [3, 2], values: [Float]([1, 2, 3, 4, 5, 6])), "x.npy", in: dir)
        let y = npy(NumpyArray(shape: [3], values: [0, 2, 1]), "y.npy", in: dir)
        let xt = npy(NumpyArray(shape: [1, 2], values: [7.0, 8.0]), "xt.npy", in: dir)
        let yt = npy(NumpyArray(shape: [1, 1], values: [Bool]([true])), "yt.npy", in: dir)
        let data = try NumpyDataLoader.load(features: x, labels: y, testFeatures: xt, testLabels: yt)
        #expect(data.train.sampleShape == [2] && data.train.labels == [0, 2, 1] && data.train.classCount == 3)
        #expect(data.test?.features == [7, 8] && data.test?.labels == [1])
        #expect(try NumpyDataLoader.load(features: x, labels: y, options: NumpyDataOptions(classCount: 5)).train.classCount == 5)
        // (N, H, W, C) → (N, C, H, W).
        let nhwc = npy(NumpyArray(shape: [1, 2, 2, 3], values: (0..<12).map(Float.init)), "nhwc.npy", in: dir)
        let one = npy(NumpyArray(shape: [1], values: [1]), "one.npy", in: dir)
        let image = try NumpyDataLoader.load(features: nhwc, labels: one, options: NumpyDataOptions(classCount: 2, channelsLast: true)).train
        #expect(image.sampleShape == [3, 2, 2] && image.features == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11])
        let grey = npy(NumpyArray(shape: [1, 2, 3], values: (0..<6).map(Double.init)), "grey.npy", in: dir)
        #expect(try NumpyDataLoader.load(features: grey, labels: one, options: NumpyDataOptions(classCount: 2)).train.sampleShape == [1, 2, 3])
    }

    @Test("npz: Keras's x_train/y_train/x_test/y_test, features/labels, or named members (archives written by NumPy)")
    func npz() throws {
        func feature(_ i: Int, _ j: Int) -> Float { Float((i * 31 + j * 7) % 97) / 8 }
        let keras = try NumpyDataLoader.load(npz: Self.fixtures.appendingPathComponent("keras.npz"),
                                             options: NumpyDataOptions(channelsLast: true))
        #expect(keras.train.sampleShape == [3, 2, 2] && keras.train.labels == [0, 1, 2, 0, 1, 2] && keras.test?.count == 2)
        // Sample 1, channel 2, pixel (y 1, x 0) is flat channels-last index (1·2 + 0)·3 + 2 = 8.
        #expect(Array(keras.train.sample(1))[2 * 4 + 1 * 2 + 0] == feature(1, 8))
        let named = try NumpyDataLoader.load(npz: Self.fixtures.appendingPathComponent("named.npz"))
        #expect(named.train.sampleShape == [4] && named.train.labels == [0, 1, 2, 0, 1] && named.test == nil)
        #expect(named.train.sample(3).elementsEqual((0..<4).map { feature(3, $0) }))
        let chosen = try NumpyDataLoader.load(npz: Self.fixtures.appendingPathComponent("keras.npz"),
                                              members: NumpyArchiveMembers(features: "x_test", labels: "y_test"))
        #expect(chosen.train.count == 2 && chosen.test == nil && chosen.train.sampleShape == [2, 2, 3])
        let missing = datasetError { _ = try NumpyDataLoader.load(npz: Self.fixtures.appendingPathComponent("named.npz"),
                                                                  members: NumpyArchiveMembers(features: "x", labels: "labels")) }
        #expect(missing?.location == "array x" && missing?.message == "the .npz archive has no array 'x'; it holds features, labels")
    }

    @Test("npy errors: shapes that disagree, labels out of range or not integers, NaN features, not a .npy file")
    func npyErrors() {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = npy(NumpyArray(shape: [3, 2], values: [Float]([1, 2, 3, 4, 5, 6])), "x.npy", in: dir)
        let y2 = npy(NumpyArray(shape: [2], values: [0, 1]), "y2.npy", in: dir)
        let shape = datasetError { _ = try NumpyDataLoader.load(features: x, labels: y2) }
        #expect(shape?.file == y2.path && shape?.message == "expected 3 labels of shape (3,) to match the features x.npy of shape (3, 2), found shape (2,)")
        let y = npy(NumpyArray(shape: [3], values: [0, 1, 4]), "y.npy", in: dir)
        let range = datasetError { _ = try NumpyDataLoader.load(features: x, labels: y, options: NumpyDataOptions(classCount: 3)) }
        #expect(range?.file == y.path && range?.message == "label 4 at [2] is out of range: expected labels in 0..<3")
        let negative = npy(NumpyArray(shape: [3], values: [0, -1, 1]), "neg.npy", in: dir)
        #expect(datasetError { _ = try NumpyDataLoader.load(features: x, labels: negative) }?.message.hasPrefix("label -1 at [1] is out of range") == true)
        let fractional = npy(NumpyArray(shape: [3], values: [0.0, 0.5, 1.0]), "frac.npy", in: dir)
        #expect(datasetError { _ = try NumpyDataLoader.load(features: x, labels: fractional) }?.message.contains("not an integer") == true)
        let nan = npy(NumpyArray(shape: [3, 1], values: [Float]([1, .nan, 2])), "nan.npy", in: dir)
        let yOK = npy(NumpyArray(shape: [3], values: [0, 1, 0]), "ok.npy", in: dir)
        let nanError = datasetError { _ = try NumpyDataLoader.load(features: nan, labels: yOK) }
        #expect(nanError?.file == nan.path && nanError?.message.hasPrefix("feature [1, 0] is nan") == true, "\(String(describing: nanError))")
        let xt = npy(NumpyArray(shape: [1, 3], values: [Float]([1, 2, 3])), "xt.npy", in: dir)
        let yt = npy(NumpyArray(shape: [1], values: [0]), "yt.npy", in: dir)
        let test = datasetError { _ = try NumpyDataLoader.load(features: x, labels: yOK, testFeatures: xt, testLabels: yt) }
        #expect(test?.file == xt.path && test?.message == "expected samples of shape [2] like the training features, found [3] (array shape (1, 3))")
        let text = dir.appendingPathComponent("t.npy")
        write("a,b\n", to: text)
        #expect(datasetError { _ = try NumpyDataLoader.load(features: text, labels: yOK) }?.message.hasPrefix("not a NumPy .npy file") == true)
        let five = npy(NumpyArray(shape: [1, 1, 1, 1, 1], values: [Float]([1])), "five.npy", in: dir)
        #expect(datasetError { _ = try NumpyDataLoader.load(features: five, labels: yt) }?.message
                == "expected features of 1 to 4 dimensions (samples first), found shape (1, 1, 1, 1, 1)")
    }
}
