import Codecs
import Foundation

/// A stored artifact that cannot be read or written: the file (or artifact key) and why.
public struct ArtifactError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

extension NumpyArray {
    /// Reads a stored artifact's `.npy` bytes (`Codecs.NumpyArray`'s reader), the error naming
    /// the file.
    public init(npy data: Data, source: String) throws(ArtifactError) {
        do { self = try NumpyArray(npy: data) } catch {
            throw ArtifactError(file: source, reason: error.reason)
        }
    }
}
