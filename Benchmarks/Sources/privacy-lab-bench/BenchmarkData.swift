import Foundation
import PrivacyLab

/// Where the benchmark finds datasets (replaced by the Datasets registry once it lands).
enum BenchmarkData {
    static func mnist(directory: URL?) throws -> ((x: Tensor, y: [Int]), (x: Tensor, y: [Int]))? {
        nil
    }
}
