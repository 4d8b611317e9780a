import Datasets
import Foundation
import LabRandom

/// The training and test parts of `DataSpec.load`, known by their labels, with features read for
/// chosen rows only: `train(rows:)` is `load(...).train.subset(rows)` bit for bit (and `test`
/// likewise), without the whole dataset ever in memory.
public struct DataRows: Sendable {
    /// The training part's labels, as `load` gives the part (limited).
    public let trainLabels: [Int32]
    /// How many test examples `load` gives.
    public let testCount: Int
    public let sampleShape: [Int]
    public let classCount: Int
    public let classNames: [String]?

    let source: RowReadableDataset
    /// Row i of the training part is file row `trainRows[i]` (nil: the identity).
    let trainRows: [Int]?
    let testRows: [Int]?

    /// Training examples at `rows` (strictly increasing indices into the training part).
    public func train(rows: [Int]) throws -> LabeledData {
        try source.train(rows: trainRows.map { map in rows.map { map[$0] } } ?? rows)
    }

    /// Test examples at `rows` (strictly increasing indices into the test part).
    public func test(rows: [Int]) throws -> LabeledData {
        try source.test(rows: testRows.map { map in rows.map { map[$0] } } ?? rows)
    }

    /// No training example, with the part's shape and classes.
    public var emptyTrain: LabeledData {
        LabeledData(features: [], sampleShape: sampleShape, labels: [], classCount: classCount, classNames: classNames)
    }
}

extension DataSpec {
    /// `load`'s parts as `DataRows`, for a named dataset stored by rows (MNIST, Fashion-MNIST)
    /// with its published test part and no scaling (scaling is fitted on the whole training
    /// part); nil otherwise (use `load`). The same streams as `load` (`data/limit`,
    /// `data/limit/test`) choose the same examples.
    public func openRows(from directory: URL, random: LabRandom) throws -> DataRows? {
        guard case let .registered(name) = source, scaling == .none,
              let rows = try DatasetRegistry.openRows(name, from: DataDirectory(url: directory, origin: .experimentRun)) else { return nil }
        var trainRows: [Int]? = nil, testRows: [Int]? = nil
        var trainLabels = rows.trainLabels, testCount = rows.testLabels.count
        var limiter = random.stream("data/limit")
        if let limit, limit < trainLabels.count {
            let chosen = limiter.sampleWithoutReplacement(limit, from: trainLabels.count).sorted()
            trainLabels = chosen.map { trainLabels[$0] }
            trainRows = chosen
        }
        if let testLimit, testLimit < testCount {
            var testLimiter = random.stream("data/limit/test")
            testRows = testLimiter.sampleWithoutReplacement(testLimit, from: testCount).sorted()
            testCount = testLimit
        }
        guard trainLabels.count > 0, testCount > 0 else {
            throw DataSpecError("data: the \(trainLabels.count == 0 ? "training" : "test") part is empty (\(trainLabels.count) training, \(testCount) test examples); "
                                + "use more examples or another data.test_fraction")
        }
        return DataRows(trainLabels: trainLabels, testCount: testCount, sampleShape: rows.sampleShape, classCount: rows.classCount,
                        classNames: rows.classNames, source: rows, trainRows: trainRows, testRows: testRows)
    }
}
