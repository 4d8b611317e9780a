// Errors for outside input: every message names the file and what was expected.

/// Why a dataset file could not be used.
///
/// `description` reads `<file>[: <location>]: <message>`, e.g.
/// `…/mnist/train-images-idx3-ubyte.gz: expected 47040016 bytes of pixels after the 16-byte header, found 1000`.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad class of failure, for callers that branch on it.
    public enum Kind: String, Sendable, Equatable {
        /// A file the loader needs does not exist.
        case missingFile
        /// The file exists but could not be read (permissions, I/O).
        case unreadable
        /// The bytes do not follow the format (bad magic, ragged or non-numeric row, bad gzip…).
        case malformed
        /// The file is well formed but disagrees with another file or with what was expected
        /// (image and label counts, unknown category, wrong shape).
        case mismatch
        /// A known file's sha256 or size differs from the registry's.
        case checksumMismatch
        /// An argument outside the file (a data directory, a saved design) is unusable.
        case invalidArgument
    }

    public let kind: Kind
    /// The file's path (or another name for the input).
    public let file: String
    /// Where in the file: `line 12`, `byte offset 16`, `column 3 (workclass)`; `nil` for the whole file.
    public let location: String?
    /// What was expected and what was found.
    public let message: String

    public init(_ kind: Kind, file: String, location: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        if let location { return "\(file): \(location): \(message)" }
        return "\(file): \(message)"
    }
}
