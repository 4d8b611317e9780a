// Reading files that come from outside (a user's arrays, checkpoints, images): regular files
// only, size checked before anything is allocated, never a hang on a FIFO or a device.
import Foundation

#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// Why an outside file could not be read. `description` reads `<path>: <reason>`.
public struct InputFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The path does not exist.
        case missing
        /// Not a regular file (a directory, FIFO, socket or device).
        case notRegularFile
        /// Larger than the caller allows.
        case tooLarge
        /// Permissions or I/O.
        case unreadable
    }

    public let kind: Kind
    public let path: String
    public let reason: String

    public init(_ kind: Kind, path: String, _ reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Bounded, type-checked reads of outside files.
///
/// Laws: a call never blocks on a FIFO or device (the file is opened non-blocking and checked to
/// be regular before any read), never allocates more than `maximumBytes` for the contents, and
/// either returns the whole file as it was when opened or throws.
public enum InputFile {
    /// The whole contents of the regular file at `url`.
    /// - Throws: `InputFileError` when the file is missing, not regular, larger than
    ///   `maximumBytes`, or unreadable.
    public static func read(_ url: URL, maximumBytes: Int) throws(InputFileError) -> [UInt8] {
        try readWithStatus(url, maximumBytes: maximumBytes).bytes
    }

    /// The whole contents of the regular file at `url` with its permission bits and owner, all
    /// from one open descriptor (no window between checking a key file's mode and reading it).
    public static func readWithStatus(_ url: URL, maximumBytes: Int) throws(InputFileError) -> (bytes: [UInt8], mode: mode_t, owner: uid_t) {
        var info = stat()
        let bytes = try withOpenFile(url, maximumBytes: maximumBytes, status: &info) { fd, size, path throws(InputFileError) in
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
            if failure != 0 { throw InputFileError(.unreadable, path: path, "read failed: \(String(cString: strerror(failure)))") }
            if bytes.count < size {
                throw InputFileError(.unreadable, path: path, "the file shrank while it was read: expected \(size) bytes, read \(bytes.count)")
            }
            return bytes
        }
        return (bytes, info.st_mode & 0o7777, info.st_uid)
    }

    /// The SHA-256 of the regular file at `url`, read in 1 MiB blocks (memory stays bounded
    /// whatever the file's size).
    public static func sha256(_ url: URL, maximumBytes: Int) throws(InputFileError) -> SHA256Digest {
        try withOpenFile(url, maximumBytes: maximumBytes) { fd, _, path throws(InputFileError) in
            var hasher = SHA256()
            var block = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = block.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw InputFileError(.unreadable, path: path, "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                block.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            return hasher.finalize()
        }
    }

    /// The size of the regular file at `url`, without reading it.
    public static func size(_ url: URL) throws(InputFileError) -> Int {
        try withOpenFile(url, maximumBytes: Int.max) { _, size, _ in size }
    }

    private static func withOpenFile<T>(_ url: URL, maximumBytes: Int,
                                        _ body: (Int32, Int, String) throws(InputFileError) -> T) throws(InputFileError) -> T {
        var info = stat()
        return try withOpenFile(url, maximumBytes: maximumBytes, status: &info, body)
    }

    private static func withOpenFile<T>(_ url: URL, maximumBytes: Int, status info: inout stat,
                                        _ body: (Int32, Int, String) throws(InputFileError) -> T) throws(InputFileError) -> T {
        let path = url.path
        // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw InputFileError(.missing, path: path, "file not found") }
            throw InputFileError(.unreadable, path: path, "cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else {
            throw InputFileError(.unreadable, path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let what = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR || type == S_IFBLK ? "a device" : "not a regular file"
            throw InputFileError(.notRegularFile, path: path, "expected a regular file, found \(what)")
        }
        let size = Int(info.st_size)
        guard size >= 0, size <= maximumBytes else {
            throw InputFileError(.tooLarge, path: path, "the file holds \(size) bytes, more than the \(maximumBytes) allowed here")
        }
        // Reads of a regular file never block; clear O_NONBLOCK all the same.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return try body(fd, size, path)
    }
}
