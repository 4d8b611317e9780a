// Bounded reads of dataset files (regular files only, size known before any byte is read) and
// transparent gzip.
import Codecs
import Foundation

/// Raw file access shared by the loaders, through `Codecs.InputFile`.
enum FileBytes {
    /// The largest file a loader reads when no known size applies (a user's CSV, arrays or image):
    /// 4 GiB. Larger inputs are refused before anything is allocated for them.
    static let defaultMaximumBytes = 1 << 32

    /// Reads a whole regular file, refusing FIFOs, devices and directories at once (never
    /// blocking) and files larger than `maximumBytes` before reading.
    ///
    /// - Throws: `.missingFile` when nothing is there, `.unreadable` otherwise (naming what was found).
    static func read(_ url: URL, maximumBytes: Int = defaultMaximumBytes) throws(DatasetError) -> [UInt8] {
        do { return try InputFile.read(url, maximumBytes: maximumBytes) } catch { throw DatasetError(error) }
    }

    /// Whether anything that is not a directory exists at `url` (a FIFO or device counts: reading
    /// it then says what it is, instead of calling it missing).
    static func exists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

extension DatasetError {
    /// The dataset error for a file that `InputFile` refused.
    init(_ error: InputFileError) {
        self.init(error.kind == .missing ? .missingFile : .unreadable, file: error.path, error.reason)
    }
}

/// Reads files for the loaders: known files of a registry dataset are checked for size before
/// they are read and for sha256 after; other files are bounded by `maximumBytes`.
///
/// The registry builds one with every data file of the dataset and `knownOnly`, so a registry
/// load reads nothing but checksummed files; direct loader calls use `.plain`.
struct FileReader: Sendable {
    /// Expected size and sha256 by absolute path.
    var known: [String: KnownFile] = [:]
    /// Whether a known file's size and sha256 are checked; when false its known size is only an
    /// upper bound, checked before reading.
    var verifyDigests = true
    /// When true, reading a file that is not in `known` is an error.
    var knownOnly = false
    /// The size limit for files that are not known.
    var maximumBytes = FileBytes.defaultMaximumBytes
    /// The most bytes a gzip file may decompress to when the caller knows no size to expect.
    var maximumDecompressedBytes = Gzip.defaultMaximumOutputSize

    static let plain = FileReader()

    func read(_ url: URL) throws(DatasetError) -> [UInt8] {
        guard let expected = known[url.path] else {
            if knownOnly {
                throw DatasetError(.invalidArgument, file: url.path, "not one of the dataset's checksummed files; a named dataset reads only the files of its checksum list")
            }
            return try FileBytes.read(url, maximumBytes: maximumBytes)
        }
        // The size first, without reading (a 20 GB sparse file in place of a 10 KB one costs
        // nothing). Unverified reads (`verifyDigests == false`) take the known size as a bound.
        let size: Int
        do { size = try InputFile.size(url) } catch { throw DatasetError(error) }
        guard verifyDigests ? size == expected.byteCount : size <= expected.byteCount else {
            throw DatasetError(.checksumMismatch, file: url.path,
                               "expected \(verifyDigests ? "" : "at most ")\(expected.byteCount) bytes (the known \(expected.relativePath)), found \(size)")
        }
        let bytes = try FileBytes.read(url, maximumBytes: expected.byteCount)
        if verifyDigests { try FileBytes.check(bytes, against: expected, file: url.path) }
        return bytes
    }

    /// The file's bytes, decompressed when they are gzip (detected by the magic bytes), to at
    /// most `maximumDecompressedBytes`: inflating stops there, so a gzip bomb costs no more.
    /// (IDX files are inflated by `IDX.inflate`, bounded by the size their header announces.)
    func readMaybeGzip(_ url: URL) throws(DatasetError) -> [UInt8] {
        let raw = try read(url)
        guard Gzip.hasMagic(raw) else { return raw }
        do {
            return try Gzip.decompress(raw, maximumOutputSize: maximumDecompressedBytes)
        } catch .outputTooLarge(let limit) {
            throw DatasetError(.malformed, file: url.path, "gzip: decompresses to more than \(limit) bytes, the most a compressed data file may hold")
        } catch {
            throw DatasetError(.malformed, file: url.path, "gzip: \(error)")
        }
    }
}

extension FileBytes {
    /// Checks bytes against a known file's size and sha256.
    static func check(_ bytes: [UInt8], against expected: KnownFile, file: String) throws(DatasetError) {
        guard bytes.count == expected.byteCount else {
            throw DatasetError(.checksumMismatch, file: file,
                               "expected \(expected.byteCount) bytes (the known \(expected.relativePath)), found \(bytes.count)")
        }
        let digest = SHA256.hash(bytes).hex
        guard digest == expected.sha256 else {
            throw DatasetError(.checksumMismatch, file: file,
                               "expected sha256 \(expected.sha256) (the known \(expected.relativePath)), found \(digest)")
        }
    }
}
