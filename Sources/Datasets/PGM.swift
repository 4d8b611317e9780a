// Netpbm grey maps (PGM, P5 binary and P2 ASCII) and the ORL faces folder layout.
import Foundation

/// A greyscale image read from a PGM file.
public struct PGMImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// The maximum grey value of the file (255 for 8-bit images, up to 65535).
    public let maxValue: Int
    /// Row-major grey values, `height × width`, each in `0...maxValue`.
    public let pixels: [UInt16]

    /// Reads a P5 (binary; 1 byte per sample, 2 big-endian bytes when maxval > 255) or P2
    /// (ASCII) PGM file. Header comments (`#` to end of line) are allowed.
    ///
    /// - Throws: `DatasetError` naming the file and byte offset: a wrong magic, a bad header
    ///   field, a sample above maxval, or a payload shorter or longer than width × height.
    public static func read(_ url: URL) throws(DatasetError) -> PGMImage {
        try read(url, reader: .plain)
    }

    static func read(_ url: URL, reader: FileReader) throws(DatasetError) -> PGMImage {
        try parse(reader.read(url), file: url.path)
    }

    /// Parses PGM bytes; `file` names the source in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(DatasetError) -> PGMImage {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2") else {
            let found = String(decoding: bytes.prefix(2), as: UTF8.self)
            throw DatasetError(.malformed, file: file, location: "byte offset 0", "expected PGM magic P5 or P2, found \"\(found)\"")
        }
        let binary = bytes[1] == UInt8(ascii: "5")
        var position = 2
        var fields: [Int] = []
        for name in ["width", "height", "maxval"] {
            guard let value = nextInteger(bytes, &position, allowComments: true) else {
                throw DatasetError(.malformed, file: file, location: "byte offset \(position)", "expected the PGM \(name) as a decimal integer")
            }
            fields.append(value)
        }
        let width = fields[0], height = fields[1], maxValue = fields[2]
        guard width > 0, height > 0, width <= 1 << 15, height <= 1 << 15 else {
            throw DatasetError(.malformed, file: file, "expected positive image sizes up to 32768, found \(width)×\(height)")
        }
        guard maxValue > 0, maxValue <= 65535 else {
            throw DatasetError(.malformed, file: file, "expected maxval in 1…65535, found \(maxValue)")
        }
        let count = width * height
        // Refuse sizes the file cannot hold before allocating (P2 needs ≥ 2 bytes per value).
        let available = bytes.count - position
        guard count <= (binary ? available : available / 2 + 1) else {
            throw DatasetError(.malformed, file: file, location: "byte offset \(position)",
                               "expected \(binary ? count * (maxValue > 255 ? 2 : 1) : count) \(binary ? "bytes of pixels" : "ASCII pixel values") (\(width)×\(height)), but only \(available) bytes follow the header")
        }
        var pixels = [UInt16](repeating: 0, count: count)
        if binary {
            // Exactly one whitespace byte separates maxval from the raster.
            guard position < bytes.count, isSpace(bytes[position]) else {
                throw DatasetError(.malformed, file: file, location: "byte offset \(position)", "expected one whitespace byte before the raster")
            }
            position += 1
            let sampleBytes = maxValue > 255 ? 2 : 1
            let expected = count * sampleBytes
            let found = bytes.count - position
            guard found == expected else {
                throw DatasetError(.malformed, file: file, location: "byte offset \(position)",
                                   "expected \(expected) bytes of pixels (\(width)×\(height)), found \(found)")
            }
            bytes.withUnsafeBufferPointer { src in
                let s = src.baseAddress! + position
                if sampleBytes == 1 {
                    for i in 0..<count { pixels[i] = UInt16(s[i]) }
                } else {
                    for i in 0..<count { pixels[i] = UInt16(s[2 * i]) << 8 | UInt16(s[2 * i + 1]) }
                }
            }
        } else {
            for i in 0..<count {
                guard let value = nextInteger(bytes, &position, allowComments: false) else {
                    throw DatasetError(.malformed, file: file, location: "byte offset \(position)",
                                       "expected \(count) ASCII pixel values (\(width)×\(height)), found \(i)")
                }
                guard value <= 65535 else {
                    throw DatasetError(.malformed, file: file, location: "byte offset \(position)", "pixel value \(value) above 65535")
                }
                pixels[i] = UInt16(value)
            }
            while position < bytes.count && isSpace(bytes[position]) { position += 1 }
            guard position == bytes.count else {
                throw DatasetError(.malformed, file: file, location: "byte offset \(position)",
                                   "expected the end of the file after \(count) pixel values, found more data")
            }
        }
        if let bad = pixels.firstIndex(where: { Int($0) > maxValue }) {
            throw DatasetError(.malformed, file: file, "pixel \(bad) has value \(pixels[bad]) above maxval \(maxValue)")
        }
        return PGMImage(width: width, height: height, maxValue: maxValue, pixels: pixels)
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }

    /// Skips whitespace (and `#` comments in headers), then reads a decimal integer.
    private static func nextInteger(_ bytes: [UInt8], _ position: inout Int, allowComments: Bool) -> Int? {
        while position < bytes.count {
            if isSpace(bytes[position]) { position += 1; continue }
            if allowComments && bytes[position] == UInt8(ascii: "#") {
                while position < bytes.count && bytes[position] != 10 && bytes[position] != 13 { position += 1 }
                continue
            }
            break
        }
        var value = 0, digits = 0
        while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57, digits < 10 {
            value = value * 10 + Int(bytes[position] - 48)
            position += 1
            digits += 1
        }
        if digits == 0 { return nil }
        if position < bytes.count && !isSpace(bytes[position]) && !(allowComments && bytes[position] == UInt8(ascii: "#")) { return nil }
        return value
    }
}

/// Loads the ORL / AT&T "Database of Faces": subject folders `s1`…`sN`, each holding `K.pgm`.
public enum ORLFacesLoader {
    /// Reads every `sN/*.pgm` under `directory`; subject `sN` gets label N − 1.
    ///
    /// Subjects are ordered by N and images by their numeric file name, so sample order is
    /// `s1/1, s1/2, …, s1/10, s2/1, …`. Other entries (the `README`) are ignored.
    ///
    /// - Parameter pixelScaling: `.unitInterval` divides by each file's maxval.
    /// - Returns: samples of shape `[1, height, width]` (NCHW; 1×112×92 for ORL), classes named `s1`….
    /// - Throws: `DatasetError`: a missing or empty folder, subject numbers that are not 1…N
    ///   without gaps, a PGM that does not parse, or images of different sizes.
    public static func load(directory: URL, pixelScaling: PixelScaling = .unitInterval) throws(DatasetError) -> LabeledData {
        try load(directory: directory, pixelScaling: pixelScaling, reader: .plain)
    }

    static func load(directory: URL, pixelScaling: PixelScaling, reader: FileReader) throws(DatasetError) -> LabeledData {
        let fm = FileManager.default
        let entries: [String]
        do {
            entries = try fm.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw DatasetError(.missingFile, file: directory.path, "expected a folder of subject folders s1, s2, …; cannot list it")
        }
        var subjects: [(number: Int, name: String)] = []
        for entry in entries where entry.hasPrefix("s") {
            var isDirectory: ObjCBool = false
            guard let number = Int(entry.dropFirst()), number > 0,
                  fm.fileExists(atPath: directory.appendingPathComponent(entry).path, isDirectory: &isDirectory),
                  isDirectory.boolValue
            else { continue }
            subjects.append((number, entry))
        }
        subjects.sort { $0.number < $1.number }
        guard !subjects.isEmpty else {
            throw DatasetError(.missingFile, file: directory.path, "expected subject folders s1, s2, …, found none")
        }
        for (k, subject) in subjects.enumerated() where subject.number != k + 1 {
            throw DatasetError(.mismatch, file: directory.path,
                               "expected subject folders s1…s\(subjects.count) without gaps, found \(subject.name) in place of s\(k + 1)")
        }
        var images: [(label: Int, url: URL)] = []
        for subject in subjects {
            let folder = directory.appendingPathComponent(subject.name)
            let names = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { $0.hasSuffix(".pgm") }
                .sorted { (Int($0.dropLast(4)) ?? Int.max, $0) < (Int($1.dropLast(4)) ?? Int.max, $1) }
            guard !names.isEmpty else {
                throw DatasetError(.missingFile, file: folder.path, "expected .pgm images of subject \(subject.name), found none")
            }
            for name in names { images.append((subject.number - 1, folder.appendingPathComponent(name))) }
        }
        return try assemble(images, classNames: subjects.map(\.name), pixelScaling: pixelScaling, reader: reader)
    }

    /// Loads exactly the registry's ORL files (`orl-faces/sN/K.pgm`), in subject then image order.
    ///
    /// An `sN` folder or a `.pgm` in a subject folder that is not among `files` is an error
    /// naming it: loading it would change the data the checksums describe, and dropping it
    /// silently would hide that the folder is not the known dataset. Other entries are ignored.
    static func loadKnown(_ files: [KnownFile], in directory: DataDirectory, pixelScaling: PixelScaling,
                          reader: FileReader) throws(DatasetError) -> LabeledData {
        var parsed: [(subject: Int, image: Int, file: KnownFile)] = []
        for file in files {
            let parts = file.relativePath.split(separator: "/")
            guard parts.count == 3, parts[1].hasPrefix("s"), let subject = Int(parts[1].dropFirst()),
                  parts[2].hasSuffix(".pgm"), let image = Int(parts[2].dropLast(4)) else {
                throw DatasetError(.invalidArgument, file: directory.file(file.relativePath).path,
                                   "not an ORL image path of the form orl-faces/sN/K.pgm")
            }
            parsed.append((subject, image, file))
        }
        parsed.sort { ($0.subject, $0.image) < ($1.subject, $1.image) }
        let subjects = Array(Set(parsed.map(\.subject))).sorted()
        let root = directory.file("orl-faces")
        let known = Set(parsed.map { directory.file($0.file.relativePath).path })
        let fm = FileManager.default
        for entry in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            guard entry.hasPrefix("s"), let number = Int(entry.dropFirst()) else { continue }
            let folder = root.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard subjects.contains(number) else {
                throw DatasetError(.mismatch, file: folder.path,
                                   "not part of the checksummed ORL faces (subjects s\(subjects.first ?? 1)…s\(subjects.last ?? 0)); a named dataset loads only its known files: remove it, or load the folder as your own data (data: {images: …})")
            }
            for name in ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() where name.lowercased().hasSuffix(".pgm") {
                let url = folder.appendingPathComponent(name)
                guard known.contains(url.path) else {
                    throw DatasetError(.mismatch, file: url.path,
                                       "not one of the checksummed ORL images of \(entry); a named dataset loads only its known files: remove it, or load the folder as your own data (data: {images: …})")
                }
            }
        }
        let position = Dictionary(uniqueKeysWithValues: subjects.enumerated().map { ($1, $0) })
        return try assemble(parsed.map { (position[$0.subject]!, directory.file($0.file.relativePath)) },
                            classNames: subjects.map { "s\($0)" }, pixelScaling: pixelScaling, reader: reader)
    }

    /// Reads the images in order into one sample each, checking they share one size.
    static func assemble(_ images: [(label: Int, url: URL)], classNames: [String], pixelScaling: PixelScaling,
                         reader: FileReader) throws(DatasetError) -> LabeledData {
        var features: [Float] = []
        var labels: [Int32] = []
        var shape: (width: Int, height: Int)?
        var firstFile = ""
        for (label, url) in images {
            let image = try PGMImage.read(url, reader: reader)
            if let shape {
                guard shape.width == image.width && shape.height == image.height else {
                    throw DatasetError(.mismatch, file: url.path,
                                       "expected a \(shape.width)×\(shape.height) image like \(firstFile), found \(image.width)×\(image.height)")
                }
            } else {
                shape = (image.width, image.height)
                firstFile = url.path
                features.reserveCapacity(images.count * image.width * image.height)
            }
            let divisor = pixelScaling == .unitInterval ? Float(image.maxValue) : 1
            image.pixels.withUnsafeBufferPointer { p in
                for v in p { features.append(Float(v) / divisor) }
            }
            labels.append(Int32(label))
        }
        guard let (width, height) = shape else {
            throw DatasetError(.missingFile, file: classNames.first ?? "", "expected ORL images, found none")
        }
        return LabeledData(unchecked: features, sampleShape: [1, height, width], labels: labels, classCount: classNames.count,
                           classNames: classNames, featureNames: nil)
    }
}
