import Codecs
import Foundation

extension NumpyArray {
    /// Reads a stored artifact's `.npy` bytes (`Codecs.NumpyArray`'s reader), the error naming
    /// the file.
    public init(npy data: Data, source: String) throws(RunnerError) {
        do { self = try NumpyArray(npy: data) } catch {
            throw RunnerError.artifact(file: source, reason: error.reason)
        }
    }
}
