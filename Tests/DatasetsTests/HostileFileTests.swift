import Codecs
import Datasets
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files crafted against the loaders of named datasets (issue #20): sizes are checked before any
/// read, special files are refused at once, only checksummed files are loaded.
@Suite("Hostile dataset files")
struct HostileFileTests {
    /// A data folder whose `sklearn/iris.csv` is made by `make`.
    private func irisFolder(_ make: (URL) throws -> Void) throws -> (DataDirectory, URL) {
        let dir = makeTemporaryDirectory()
        let file = dir.appendingPathComponent("sklearn/iris.csv")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try make(file)
        return (DataDirectory(url: dir, origin: .explicit), dir)
    }

    @Test("a 20 GB sparse file in place of a known file is refused by its size, before any read")
    func sparseFile() throws {
        let (data, dir) = try irisFolder { file in
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            try handle.truncate(atOffset: 20 << 30)   // sparse: no block is written
            try handle.close()
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sklearn/iris.csv").path
        let error = datasetError { _ = try DatasetRegistry.load(.iris, from: data) }
        #expect(error?.kind == .checksumMismatch && error?.file == file)
        #expect(error?.message == "expected 2734 bytes (the known sklearn/iris.csv), found 21474836480", "\(String(describing: error))")
        // Unverified loads take the known size as a bound.
        let unverified = datasetError { _ = try DatasetRegistry.load(.iris, from: data, options: LoadOptions(verifyChecksums: false)) }
        #expect(unverified?.message == "expected at most 2734 bytes (the known sklearn/iris.csv), found 21474836480")
        // `data verify` reports the size without hashing 20 GB.
        let check = DatasetRegistry.verify(.iris, in: data).checks.first { $0.file.relativePath == "sklearn/iris.csv" }
        #expect(check?.status == .sizeMismatch(expected: 2734, found: 20 << 30))
    }

    @Test("a FIFO in a dataset folder is refused at once by load and verify (no writer, no hang)")
    func fifo() throws {
        let (data, dir) = try irisFolder { file in
            guard mkfifo(file.path, 0o600) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sklearn/iris.csv").path
        #expect(DatasetRegistry.isPresent(.iris, in: data))
        let error = datasetError { _ = try DatasetRegistry.load(.iris, from: data) }
        #expect(error?.kind == .unreadable && error?.file == file)
        #expect(error?.message == "expected a regular file, found a FIFO", "\(String(describing: error))")
        let check = DatasetRegistry.verify(.iris, in: data).checks.first { $0.file.relativePath == "sklearn/iris.csv" }
        #expect(check?.status == .unreadable("expected a regular file, found a FIFO"))
        // A user's file is refused the same way.
        #expect(datasetError { _ = try PGMImage.read(URL(fileURLWithPath: file)) }?.message == "expected a regular file, found a FIFO")
    }

    /// A copy of the reference ORL folder made of symbolic links to each image (real folders,
    /// so that adding to them never touches the shared data).
    private func orlCopy(of reference: DataDirectory) throws -> URL {
        let dir = makeTemporaryDirectory()
        let fm = FileManager.default
        for subject in 1...40 {
            let folder = dir.appendingPathComponent("orl-faces/s\(subject)")
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            for image in 1...10 {
                try fm.createSymbolicLink(at: folder.appendingPathComponent("\(image).pgm"),
                                          withDestinationURL: reference.file("orl-faces/s\(subject)/\(image).pgm"))
            }
        }
        return dir
    }

    @Test("orl-faces: an extra subject folder or image, not in the checksum list, is an error naming it",
          .enabled(if: referenceDataDirectory != nil, skipReason))
    func orlExtraFiles() throws {
        let reference = referenceDataDirectory!
        let dir = try orlCopy(of: reference)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = DataDirectory(url: dir, origin: .explicit)
        let faces = try DatasetRegistry.load(.orlFaces, from: data).train
        #expect(faces.count == 400 && faces.classCount == 40)

        let extra = dir.appendingPathComponent("orl-faces/s41")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        write(try InputFile.read(reference.file("orl-faces/s1/1.pgm"), maximumBytes: 1 << 20), to: extra.appendingPathComponent("1.pgm"))
        write("notes", to: dir.appendingPathComponent("orl-faces/README"))   // other files are ignored
        let error = datasetError { _ = try DatasetRegistry.load(.orlFaces, from: data) }
        #expect(error?.kind == .mismatch && error?.file == extra.path, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("not part of the checksummed ORL faces (subjects s1…s40)") == true)

        try FileManager.default.removeItem(at: extra)
        let image = dir.appendingPathComponent("orl-faces/s3/11.pgm")
        write(try InputFile.read(reference.file("orl-faces/s3/1.pgm"), maximumBytes: 1 << 20), to: image)
        let extraImage = datasetError { _ = try DatasetRegistry.load(.orlFaces, from: data) }
        #expect(extraImage?.file == image.path && extraImage?.message.hasPrefix("not one of the checksummed ORL images of s3") == true,
                "\(String(describing: extraImage))")
        try FileManager.default.removeItem(at: image)
        #expect(try DatasetRegistry.load(.orlFaces, from: data).train == faces)
    }

    @Test("a named dataset's content digest is that of its data files' checksum lines")
    func contentDigest() {
        let lines = DatasetRegistry.descriptor(.iris).dataFiles.map { "\($0.sha256) \($0.byteCount) \($0.relativePath)\n" }.joined()
        #expect(lines.hasSuffix(" 2734 sklearn/iris.csv\n") && lines.split(separator: "\n").count == 1)
        #expect(DatasetRegistry.contentDigest(.iris) == SHA256.hash(utf8: lines).hex)
        let all = DatasetName.allCases.map(DatasetRegistry.contentDigest)
        #expect(Set(all).count == all.count)
    }

    @Test("a gzip bomb in an IDX file stops at the size its header announces, labels and images alike")
    func idxGzipBomb() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Headers announcing 1000 labels and 10 images of 28×28, followed by 10 MiB of zeros.
        let zeros = [UInt8](repeating: 0, count: 10 << 20)
        let labels = dir.appendingPathComponent("labels-idx1-ubyte.gz")
        let images = dir.appendingPathComponent("images-idx3-ubyte.gz")
        write(gzipDeflated(idxHeader([1000]) + zeros), to: labels)
        write(gzipDeflated(idxHeader([10, 28, 28]) + zeros), to: images)
        let goodImages = dir.appendingPathComponent("good-images-idx3-ubyte.gz")
        write(gzipDeflated(idxHeader([1000, 2, 2]) + [UInt8](repeating: 9, count: 4000)), to: goodImages)

        let labelError = datasetError { _ = try IDX.read(labels, dimensionCount: 1) }
        #expect(labelError?.kind == .malformed && labelError?.file == labels.path)
        #expect(labelError?.message == "expected 1000 bytes of values after the 8-byte header (dimensions 1000), found more: the gzip stream goes on past the size its header announces", "\(String(describing: labelError))")
        let loaderError = datasetError { _ = try IDXImageLoader.load(images: goodImages, labels: labels) }
        #expect(loaderError?.file == labels.path)
        #expect(loaderError?.message == "expected 1000 bytes of labels after the 8-byte header (dimensions 1000), found more: the gzip stream goes on past the size its header announces")

        let good = dir.appendingPathComponent("good-labels-idx1-ubyte.gz")
        write(gzipDeflated(idxHeader([10]) + [UInt8](repeating: 1, count: 10)), to: good)
        let imageError = datasetError { _ = try IDXImageLoader.load(images: images, labels: good) }
        #expect(imageError?.kind == .malformed && imageError?.file == images.path)
        #expect(imageError?.message == "expected 7840 bytes of pixels after the 16-byte header (dimensions 10×28×28), found more: the gzip stream goes on past the size its header announces", "\(String(describing: imageError))")
        #expect(datasetError { _ = try IDX.read(images) }?.message == "expected 7840 bytes of values after the 16-byte header (dimensions 10×28×28), found more: the gzip stream goes on past the size its header announces")
    }

    @Test("an IDX gzip header announcing more than a compressed file may hold is refused before inflating")
    func idxAnnouncedTooLarge() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("huge-idx3-ubyte.gz")
        write(gzipDeflated(idxHeader([1 << 16, 1 << 8, 1 << 8]) + [1, 2, 3]), to: file)
        let error = datasetError { _ = try IDX.read(file) }
        #expect(error?.kind == .malformed && error?.location == "byte offset 4")
        #expect(error?.message == "the IDX header announces 4294967312 bytes (dimensions 65536×256×256), more than the 1073741824 a compressed data file may hold", "\(String(describing: error))")
        let labels = dir.appendingPathComponent("labels-idx1-ubyte.gz")
        write(gzipDeflated(idxHeader([1 << 16]) + [UInt8](repeating: 0, count: 1 << 16)), to: labels)
        let loaderError = datasetError { _ = try IDXImageLoader.load(images: file, labels: labels) }
        #expect(loaderError?.message == error?.message)
    }
}

