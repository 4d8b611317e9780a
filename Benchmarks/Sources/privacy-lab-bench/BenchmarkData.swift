import Foundation
import PrivacyLab

/// Where the benchmark finds MNIST: the data folder given with --data-dir or $PRIVACY_LAB_DATA.
enum BenchmarkData {
    static func mnist(directory: URL?) throws -> ((x: Tensor, y: [Int]), (x: Tensor, y: [Int]))? {
        guard let directory else { return nil }
        let data = DataDirectory(url: directory)
        guard DatasetRegistry.isPresent(.mnist, in: data) else { return nil }
        let mnist = try DatasetRegistry.load(.mnist, from: data)
        return ((mnist.train.featureTensor, mnist.train.intLabels), (mnist.test!.featureTensor, mnist.test!.intLabels))
    }
}
