// Whole-file reads with POSIX calls, and transparent gzip.
import Codecs
import Foundation

#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// Raw file access shared by the loaders.
enum FileBytes {
    /// Reads a whole file into memory with one allocation.
    ///
    /// - Throws: `.missingFile` when it does not exist, `.unreadable` otherwise.
    static func read(_ url: URL) throws(DatasetError) -> [UInt8] {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw DatasetError(.missingFile, file: path, "file not found")
            }
            throw DatasetError(.unreadable, file: path, "cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw DatasetError(.unreadable, file: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw DatasetError(.unreadable, file: path, "expected a file, found a directory")
        }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = systemRead(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 {
            throw DatasetError(.unreadable, file: path, "read failed: \(String(cString: strerror(failure)))")
        }
        if bytes.count < size {
            throw DatasetError(.unreadable, file: path, "file shrank while reading: expected \(size) bytes, read \(bytes.count)")
        }
        return bytes
    }

    /// Whether a regular file exists at `url`.
    static func exists(_ url: URL) -> Bool {
        var info = stat()
        return stat(url.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}

/// Reads files for the loaders, checking size and sha256 of those it has expectations for.
///
/// The registry builds one with the known files of a dataset, so checksums are verified on the
/// bytes being parsed (one read, one hash pass); direct loader calls use `.plain`.
struct FileReader: Sendable {
    /// Expected size and sha256 by absolute path.
    var expectations: [String: KnownFile] = [:]

    static let plain = FileReader()

    func read(_ url: URL) throws(DatasetError) -> [UInt8] {
        let bytes = try FileBytes.read(url)
        if let expected = expectations[url.path] {
            try FileBytes.check(bytes, against: expected, file: url.path)
        }
        return bytes
    }

    func readMaybeGzip(_ url: URL) throws(DatasetError) -> [UInt8] {
        let raw = try read(url)
        guard Gzip.hasMagic(raw) else { return raw }
        do {
            return try Gzip.decompress(raw)
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

    /// The sha256 and size of a file, read in 1 MiB pieces.
    static func sha256(of url: URL) throws(DatasetError) -> (digest: SHA256Digest, byteCount: Int) {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw DatasetError(.missingFile, file: path, "file not found") }
            throw DatasetError(.unreadable, file: path, "cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var hasher = SHA256()
        var total = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = systemRead(fd, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError(.unreadable, file: path, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
            total += n
        }
        return (hasher.finalize(), total)
    }
}
