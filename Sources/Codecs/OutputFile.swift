// Writing the files the tool produces (keys, ciphertexts, exports, reports, notebooks, figures,
// checkpoints): atomic replacement of regular files, and never a rename over anything else.
import Foundation

#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Why a file could not be written. `description` reads `<path>: <reason>`.
public struct OutputFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The target exists and the caller asked not to replace it.
        case exists
        /// The target is a directory, a socket, or a symbolic link to nothing.
        case unsupportedTarget
        /// Permissions, a full disk, a FIFO with no reader, or other I/O.
        case unwritable
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

/// The one way PrivacyLab writes a file, whatever sits at the path.
///
/// | what the path names | what happens |
/// |---|---|
/// | nothing | a temporary file in the same folder (created with `mode`), written, flushed, renamed into place |
/// | a regular file | the same: readers see the old content or the whole new one, never a part |
/// | a symbolic link | followed: the file it points at is treated by these rules (a regular file is replaced atomically at its real path, so the link stays a link); a link to nothing is refused |
/// | a character or block device, a FIFO | opened for writing and written in place; never replaced (renaming over `/dev/null` as root would turn it into a regular file for the whole machine) |
/// | `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` | written to that descriptor of this process, in place |
/// | a directory, a socket | refused |
///
/// Laws: a regular file (or a new one) is never left half-written; nothing but a regular file
/// is ever unlinked or renamed over; a FIFO with no reader is an error, not a hang.
public enum OutputFile {
    /// Writes `bytes` to `url` by the rules above.
    /// - Parameters:
    ///   - mode: the permissions of a file this call creates or replaces (the temporary file is
    ///     created with them, so a secret never sits in a file with looser ones).
    ///   - replace: when false, an existing target (of any type, even a dangling link) is an
    ///     `.exists` error and nothing is written.
    public static func write(_ bytes: some Collection<UInt8>, to url: URL, mode: mode_t = 0o644,
                             replace: Bool = true) throws(OutputFileError) {
        let pending = try prepare(bytes, to: url, mode: mode, replace: replace)
        try pending.commit()
    }

    /// Writes `text` as UTF-8 (see `write(_:to:mode:replace:)`).
    public static func write(_ text: String, to url: URL, mode: mode_t = 0o644, replace: Bool = true) throws(OutputFileError) {
        try write(Array(text.utf8), to: url, mode: mode, replace: replace)
    }

    /// A write made ready but not yet visible: for a regular target, the temporary file is
    /// written and flushed; `commit()` renames it into place, `discard()` removes it. Several
    /// files that belong together (a key pair) are all prepared before any is committed, so a
    /// failure to write one leaves none of them changed.
    public final class Pending {
        enum Target {
            /// Rename `temporary` over `destination`.
            case replace(temporary: String, destination: String)
            /// Write the bytes in place into an existing device or FIFO.
            case inPlace(path: String)
            /// Write the bytes to this process's descriptor.
            case descriptor(Int32)
        }

        let target: Target
        let path: String
        var bytes: [UInt8]
        private var done = false

        init(target: Target, path: String, bytes: [UInt8]) {
            self.target = target
            self.path = path
            self.bytes = bytes
        }

        /// Makes the write visible (a rename, or the in-place write).
        public func commit() throws(OutputFileError) {
            guard !done else { return }
            done = true
            defer { clearBytes() }
            switch target {
            case let .replace(temporary, destination):
                guard rename(temporary, destination) == 0 else {
                    let reason = lastError()
                    unlink(temporary)
                    throw OutputFileError(.unwritable, path: path, "cannot be replaced: \(reason)")
                }
            case let .inPlace(devicePath):
                // O_NONBLOCK: a FIFO with no reader is refused (ENXIO) instead of waiting forever.
                let fd = open(devicePath, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                guard fd >= 0 else {
                    let code = errno
                    let reason = code == ENXIO ? "a FIFO with no reader" : String(cString: strerror(code))
                    throw OutputFileError(.unwritable, path: path, "cannot be opened for writing: \(reason)")
                }
                defer { close(fd) }
                let flags = fcntl(fd, F_GETFL)
                if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
                try OutputFile.writeAll(bytes, to: fd, path: path)
            case let .descriptor(fd):
                try OutputFile.writeAll(bytes, to: fd, path: path)
            }
        }

        /// Abandons the write, removing the temporary file if there is one.
        public func discard() {
            guard !done else { return }
            done = true
            if case let .replace(temporary, _) = target { unlink(temporary) }
            clearBytes()
        }

        private func clearBytes() {
            for i in bytes.indices { bytes[i] = 0 }
            bytes = []
        }

        deinit { discard() }
    }

    /// Prepares a write of `bytes` to `url` (see `Pending`).
    public static func prepare(_ bytes: some Collection<UInt8>, to url: URL, mode: mode_t = 0o644,
                               replace: Bool = true) throws(OutputFileError) -> Pending {
        let path = url.path
        let data = Array(bytes)
        if let fd = processDescriptor(path) {
            return Pending(target: .descriptor(fd), path: path, bytes: data)
        }
        var link = stat()
        if lstat(path, &link) != 0 {
            let code = errno
            guard code == ENOENT else {
                throw OutputFileError(.unwritable, path: path, "cannot be inspected: \(String(cString: strerror(code)))")
            }
            return try temporary(data, destination: path, reportedAs: path, mode: mode)
        }
        guard replace else { throw OutputFileError(.exists, path: path, "already exists; not replaced") }
        var info = link
        var destination = path
        if link.st_mode & S_IFMT == S_IFLNK {
            // Follow the link: the file it names is what gets written.
            guard stat(path, &info) == 0 else {
                throw OutputFileError(.unsupportedTarget, path: path, "is a symbolic link to a missing file; not replaced")
            }
            if info.st_mode & S_IFMT == S_IFREG {
                guard let resolved = realpath(path, nil) else {
                    throw OutputFileError(.unwritable, path: path, "its symbolic link cannot be resolved: \(lastError())")
                }
                destination = String(cString: resolved)
                free(resolved)
            }
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return try temporary(data, destination: destination, reportedAs: path, mode: mode)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            return Pending(target: .inPlace(path: path), path: path, bytes: data)
        case S_IFDIR:
            throw OutputFileError(.unsupportedTarget, path: path, "is a directory")
        default:
            throw OutputFileError(.unsupportedTarget, path: path, "is not a regular file, a device or a FIFO; not written")
        }
    }

    /// The descriptor a path names in this process (`/dev/stdout`, `/dev/fd/3`, …), if any.
    static func processDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdin": return nil
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                if let n = Int32(path.dropFirst(prefix.count)), n > 0 { return n }
            }
            return nil
        }
    }

    /// A temporary file beside `destination`, created exclusively with `mode`, written and flushed.
    static func temporary(_ bytes: [UInt8], destination: String, reportedAs path: String, mode: mode_t) throws(OutputFileError) -> Pending {
        let url = URL(fileURLWithPath: destination)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw OutputFileError(.unwritable, path: path, "cannot create a file in \(folder): \(lastError())")
        }
        do throws(OutputFileError) {
            // The umask may have narrowed the mode; set it exactly.
            guard fchmod(fd, mode) == 0 else { throw OutputFileError(.unwritable, path: path, "cannot set its mode: \(lastError())") }
            try writeAll(bytes, to: fd, path: path)
            guard fsync(fd) == 0 else { throw OutputFileError(.unwritable, path: path, "cannot be flushed: \(lastError())") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        return Pending(target: .replace(temporary: temporary, destination: destination), path: path, bytes: [])
    }

    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(OutputFileError) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { failure = EIO; return }
                offset += n
            }
        }
        if failure != 0 { throw OutputFileError(.unwritable, path: path, "write failed: \(String(cString: strerror(failure)))") }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
