import Datasets
import Foundation
import Testing

/// Reading chosen rows of a named dataset (`DatasetRegistry.openRows`) gives exactly the rows of
/// a full load, from the same checksummed files.
@Suite("Row reading", .enabled(if: referenceDataDirectory != nil, skipReason), .serialized)
struct RowReadingTests {
    let dir = referenceDataDirectory!

    @Test("MNIST by rows: labels, shape and every chosen row's bits equal the full load's subset")
    func mnistRowsMatchFullLoad() throws {
        let full = try DatasetRegistry.load(.mnist, from: dir)
        let rows = try #require(try DatasetRegistry.openRows(.mnist, from: dir))
        #expect(rows.trainLabels == full.train.labels)
        #expect(rows.testLabels == full.test?.labels)
        #expect(rows.sampleShape == full.train.sampleShape && rows.classCount == full.train.classCount)
        // First, last, neighbours and a spread of rows (rows straddle the inflater's pieces).
        let chosen = [0, 1, 2, 333, 334, 1000, 29_999, 30_000, 45_678, 59_998, 59_999]
        let part = try rows.train(rows: chosen)
        let expected = full.train.subset(chosen)
        #expect(part.features.map(\.bitPattern) == expected.features.map(\.bitPattern))
        #expect(part == expected)
        let testPart = try rows.test(rows: [0, 9_999])
        #expect(testPart == full.test!.subset([0, 9_999]))
        #expect(try rows.train(rows: []).count == 0)
        // Something else read would differ: the check can fail.
        #expect(try rows.train(rows: [1]) != full.train.subset([0]))
    }

    @Test("a row selection out of order or out of range is one clear error; other datasets are not row-readable")
    func badSelections() throws {
        let rows = try #require(try DatasetRegistry.openRows(.mnist, from: dir))
        for bad in [[5, 5], [7, 3], [60_000], [-1]] {
            let error = datasetError { _ = try rows.train(rows: bad) }
            #expect(error?.description.contains("strictly increasing sample indices in 0..<60000") == true, "\(bad): \(String(describing: error))")
        }
        #expect(try DatasetRegistry.openRows(.digits, from: dir) == nil)
    }
}
