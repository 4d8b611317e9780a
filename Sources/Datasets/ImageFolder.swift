// Image folders with one sub-folder per class, of PNG and PGM files.
import Codecs
import Foundation

/// An image read from a PNG or PGM file: samples row-major with channels interleaved.
public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    public let channels: Int
    /// The largest sample value the file allows (255 for 8-bit, a PGM's maxval, …).
    public let maxValue: Int
    /// `height × width × channels` samples.
    public let samples: [UInt16]
}

/// Reading one image file, PNG or PGM, told apart by its first bytes.
public enum ImageFile {
    /// Reads a PNG (any colour type and bit depth, see `PNG`) or a PGM (P5 or P2) image.
    /// - Throws: `DatasetError` naming the file: neither format, or the format's own error.
    public static func read(_ url: URL) throws(DatasetError) -> DecodedImage {
        try read(url, reader: .plain)
    }

    static func read(_ url: URL, reader: FileReader) throws(DatasetError) -> DecodedImage {
        let bytes = try reader.read(url)
        if PNG.hasSignature(bytes) {
            do {
                let image = try PNG.decode(bytes)
                return DecodedImage(width: image.width, height: image.height, channels: image.channels,
                                    maxValue: image.maxValue, samples: image.samples)
            } catch {
                throw DatasetError(.malformed, file: url.path, location: error.offset.map { "byte offset \($0)" },
                                   "PNG: " + (error.chunk.map { "chunk \($0): " } ?? "") + error.message)
            }
        }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2") {
            let image = try PGMImage.parse(bytes, file: url.path)
            return DecodedImage(width: image.width, height: image.height, channels: 1, maxValue: image.maxValue, samples: image.pixels)
        }
        throw DatasetError(.malformed, file: url.path, location: "byte offset 0",
                           "expected a PNG (signature 89 50 4E 47) or PGM (P5 or P2) image")
    }
}

/// The classes and image files of an image folder, as `ImageFolderLoader` reads them.
public struct ImageFolderListing: Sendable {
    /// Class names: the sub-folders' names in byte order; a class's index is its position.
    public var classNames: [String]
    /// Every image, class by class, files in byte order of their names.
    public var images: [(label: Int, url: URL)]
    /// What breaks the folder's rules (the first is thrown by `load`).
    public var problems: [DatasetError]
}

/// Loads image folders: `root/<class>/<image>.png|.pgm`.
///
/// Rules (deterministic, and checked so that nothing is dropped silently):
/// - every sub-folder of `root` is a class; classes are numbered in byte order of their names
///   (`cat` 0, `dog` 1; `s1`, `s10`, `s2`…), images within a class likewise;
/// - a class folder holds only `.png` and `.pgm` files (any case); anything else there (another
///   format, a sub-folder) is an error naming it, as is an image directly in `root`; other
///   files in `root` (a README) are ignored, and so are names starting with `.`;
/// - every image of the training and test folders has the size and channel count of the first
///   (an error names the first file that differs);
/// - a test folder's classes must be training classes; labels follow the training folder.
///
/// Samples have shape `[channels, height, width]` (NCHW per sample); with `.unitInterval`, each
/// sample is divided by its file's maximum value (255, 65535, a PGM's maxval).
public enum ImageFolderLoader {
    /// The folder's classes and images, with whatever breaks the rules listed, without opening
    /// any image. A folder that cannot be listed gives no classes and one problem.
    public static func list(_ root: URL) -> ImageFolderListing {
        let fm = FileManager.default
        var listing = ImageFolderListing(classNames: [], images: [], problems: [])
        guard let entries = try? fm.contentsOfDirectory(atPath: root.path) else {
            var isDirectory: ObjCBool = false
            let exists = fm.fileExists(atPath: root.path, isDirectory: &isDirectory)
            listing.problems.append(DatasetError(exists ? .unreadable : .missingFile, file: root.path,
                                                 exists && !isDirectory.boolValue ? "expected a folder of class sub-folders, found a file"
                                                     : exists ? "cannot list the folder" : "folder not found"))
            return listing
        }
        var classes: [String] = []
        for entry in sortedNames(entries) where !entry.hasPrefix(".") {
            let url = root.appendingPathComponent(entry)
            if isDirectory(url) {
                classes.append(entry)
            } else if isImageName(entry) {
                listing.problems.append(DatasetError(.invalidArgument, file: url.path,
                                                     "an image directly in the folder: images belong in one sub-folder per class"))
            }
        }
        if classes.isEmpty {
            listing.problems.append(DatasetError(.missingFile, file: root.path, "expected one sub-folder per class, found none"))
        }
        listing.classNames = classes
        for (label, name) in classes.enumerated() {
            let folder = root.appendingPathComponent(name)
            guard let files = try? fm.contentsOfDirectory(atPath: folder.path) else {
                listing.problems.append(DatasetError(.unreadable, file: folder.path, "cannot list the class folder"))
                continue
            }
            var count = 0
            for file in sortedNames(files) where !file.hasPrefix(".") {
                let url = folder.appendingPathComponent(file)
                guard isImageName(file), !isDirectory(url) else {
                    listing.problems.append(DatasetError(.invalidArgument, file: url.path,
                                                         "expected only .png and .pgm images in class folder \(name)"))
                    continue
                }
                listing.images.append((label, url))
                count += 1
            }
            if count == 0 {
                listing.problems.append(DatasetError(.missingFile, file: folder.path, "class folder \(name) holds no .png or .pgm image"))
            }
        }
        return listing
    }

    /// The files `load` reads for these folders (for hashing their content); a folder that
    /// cannot be listed stands for itself.
    public static func files(train: URL, test: URL?) -> [URL] {
        [train, test].compactMap { $0 }.flatMap { root -> [URL] in
            let listing = list(root)
            guard listing.classNames.isEmpty else { return listing.images.map(\.url) }
            // A missing path or a file stands for itself (hashing it names the problem); a folder
            // without classes gives nothing to hash, and the load says what is wrong.
            return isDirectory(root) ? [] : [root]
        }
    }

    /// Loads a training folder and, optionally, a test folder with the same classes.
    /// - Throws: `DatasetError` naming the file or folder at fault (see the rules above).
    public static func load(train: URL, test: URL?, pixelScaling: PixelScaling = .unitInterval) throws(DatasetError) -> Dataset {
        let trainListing = list(train)
        if let problem = trainListing.problems.first { throw problem }
        var shape: Shape?
        let trainData = try read(trainListing, classNames: trainListing.classNames, labels: nil, shape: &shape, pixelScaling: pixelScaling)
        guard let test else { return Dataset(name: train.lastPathComponent, train: trainData) }
        let testListing = list(test)
        if let problem = testListing.problems.first { throw problem }
        var labels: [Int] = []
        for name in testListing.classNames {
            guard let index = trainListing.classNames.firstIndex(of: name) else {
                throw DatasetError(.mismatch, file: test.appendingPathComponent(name).path,
                                   "class \(name) is not one of the training folder's classes (\(trainListing.classNames.joined(separator: ", ")))")
            }
            labels.append(index)
        }
        let testData = try read(testListing, classNames: trainListing.classNames, labels: labels, shape: &shape, pixelScaling: pixelScaling)
        return Dataset(name: train.lastPathComponent, train: trainData, test: testData)
    }

    private struct Shape {
        let width, height, channels: Int
        let file: String
    }

    private static func read(_ listing: ImageFolderListing, classNames: [String], labels: [Int]?, shape: inout Shape?,
                             pixelScaling: PixelScaling) throws(DatasetError) -> LabeledData {
        var features: [Float] = []
        var outLabels: [Int32] = []
        outLabels.reserveCapacity(listing.images.count)
        for (label, url) in listing.images {
            let image = try ImageFile.read(url, reader: .plain)
            if let shape {
                guard image.width == shape.width, image.height == shape.height, image.channels == shape.channels else {
                    throw DatasetError(.mismatch, file: url.path,
                                       "expected a \(shape.width)×\(shape.height) image with \(shape.channels) channel\(shape.channels == 1 ? "" : "s") like \(shape.file), found \(image.width)×\(image.height) with \(image.channels)")
                }
            } else {
                shape = Shape(width: image.width, height: image.height, channels: image.channels, file: url.path)
                let (total, overflow) = listing.images.count.multipliedReportingOverflow(by: image.samples.count)
                if !overflow { features.reserveCapacity(total) }
            }
            // Interleaved HWC samples → CHW floats.
            let plane = image.width * image.height, c = image.channels
            let divisor = pixelScaling == .unitInterval ? Float(image.maxValue) : 1
            let base = features.count
            features.append(contentsOf: repeatElement(0, count: image.samples.count))
            features.withUnsafeMutableBufferPointer { out in
                image.samples.withUnsafeBufferPointer { s in
                    for channel in 0..<c {
                        let o = out.baseAddress! + base + channel * plane
                        for i in 0..<plane { o[i] = Float(s[i * c + channel]) / divisor }
                    }
                }
            }
            outLabels.append(Int32(labels?[label] ?? label))
        }
        let s = shape!
        return LabeledData(unchecked: features, sampleShape: [s.channels, s.height, s.width], labels: outLabels,
                           classCount: classNames.count, classNames: classNames, featureNames: nil)
    }

    private static func sortedNames(_ names: [String]) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".png") || lower.hasSuffix(".pgm")
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
