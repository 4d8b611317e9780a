// Checking a data directory's files against the registry's sizes and sha256s.
import Codecs
import Foundation

/// The outcome of checking one known file.
public struct FileCheck: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case ok
        case missing
        case sizeMismatch(expected: Int, found: Int)
        case checksumMismatch(expected: String, found: String)
        case unreadable(String)
    }

    public let file: KnownFile
    public let url: URL
    public let status: Status

    /// Whether this result makes a verification fail: any mismatch or unreadable file, or a
    /// missing file that loading needs. A missing documentation file is only reported.
    public var isFailure: Bool {
        switch status {
        case .ok: return false
        case .missing: return file.requiredForLoading
        default: return true
        }
    }

    /// One line: status word, relative path, details.
    public var summary: String {
        switch status {
        case .ok: return "ok        \(file.relativePath)"
        case .missing: return (file.requiredForLoading ? "MISSING   " : "absent    ") + file.relativePath + (file.requiredForLoading ? " (\(url.path))" : " (documentation, optional)")
        case let .sizeMismatch(expected, found): return "MISMATCH  \(file.relativePath): expected \(expected) bytes, found \(found)"
        case let .checksumMismatch(expected, found): return "MISMATCH  \(file.relativePath): expected sha256 \(expected), found \(found)"
        case let .unreadable(reason): return "UNREADABLE \(file.relativePath): \(reason)"
        }
    }
}

/// The checks of one dataset's files.
public struct VerificationReport: Sendable, Equatable {
    public let dataset: DatasetName
    public let directory: DataDirectory
    public let checks: [FileCheck]

    /// True when no file failed (see `FileCheck.isFailure`).
    public var passed: Bool { !checks.contains(where: \.isFailure) }
    /// True when no needed file exists at all: the dataset is simply not installed.
    public var isAbsent: Bool {
        checks.filter(\.file.requiredForLoading).allSatisfy { $0.status == .missing }
    }
    public var failures: [FileCheck] { checks.filter(\.isFailure) }
}

extension DatasetRegistry {
    /// Checks every known file of `name` under `directory`: existence, size, then sha256.
    ///
    /// - Complexity: reads every present file of the right size once (one SHA-256 pass over its
    ///   bytes); a file of another size is not read.
    public static func verify(_ name: DatasetName, in directory: DataDirectory) -> VerificationReport {
        let checks = descriptor(name).files.map { file -> FileCheck in
            let url = directory.file(file.relativePath)
            guard FileBytes.exists(url) else { return FileCheck(file: file, url: url, status: .missing) }
            do throws(InputFileError) {
                // The size before any read: a file of the wrong size is reported without hashing
                // it, and a FIFO or device is refused without waiting on it.
                let size = try InputFile.size(url)
                if size != file.byteCount {
                    return FileCheck(file: file, url: url, status: .sizeMismatch(expected: file.byteCount, found: size))
                }
                let digest = try InputFile.sha256(url, maximumBytes: file.byteCount)
                if digest.hex != file.sha256 {
                    return FileCheck(file: file, url: url, status: .checksumMismatch(expected: file.sha256, found: digest.hex))
                }
                return FileCheck(file: file, url: url, status: .ok)
            } catch {
                return FileCheck(file: file, url: url, status: error.kind == .missing ? .missing : .unreadable(error.reason))
            }
        }
        return VerificationReport(dataset: name, directory: directory, checks: checks)
    }
}
