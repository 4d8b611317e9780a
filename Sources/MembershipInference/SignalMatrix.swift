/// Per-example signals of several models, as attacks consume them (ML Privacy Meter's signal
/// matrices): `self[model, example, query]` is one number, e.g. the scaled logit of model m on
/// example i queried with augmentation q.
///
/// Stored row-major in (model, example, query) order.
public struct SignalMatrix: Sendable, Equatable {
    public let modelCount: Int
    public let exampleCount: Int
    /// Queries per example (augmentations; 1 without).
    public let queryCount: Int
    public private(set) var values: [Double]

    public init(modelCount: Int, exampleCount: Int, queryCount: Int = 1, values: [Double]) {
        precondition(modelCount >= 0 && exampleCount >= 0 && queryCount >= 1, "SignalMatrix: invalid extents")
        precondition(values.count == modelCount * exampleCount * queryCount,
                     "SignalMatrix: \(values.count) values for \(modelCount)×\(exampleCount)×\(queryCount)")
        self.modelCount = modelCount
        self.exampleCount = exampleCount
        self.queryCount = queryCount
        self.values = values
    }

    /// One model's signals as a single-model matrix.
    public init(signals: [Double], queryCount: Int = 1) {
        self.init(modelCount: 1, exampleCount: signals.count / queryCount, queryCount: queryCount, values: signals)
    }

    /// Stacks single-model rows (each `exampleCount × queryCount` values).
    public init(rows: [[Double]], exampleCount: Int, queryCount: Int = 1) {
        var values: [Double] = []
        values.reserveCapacity(rows.count * exampleCount * queryCount)
        for row in rows {
            precondition(row.count == exampleCount * queryCount, "SignalMatrix: a row has \(row.count) values, expected \(exampleCount * queryCount)")
            values.append(contentsOf: row)
        }
        self.init(modelCount: rows.count, exampleCount: exampleCount, queryCount: queryCount, values: values)
    }

    public subscript(model: Int, example: Int, query: Int) -> Double {
        values[(model * exampleCount + example) * queryCount + query]
    }

    public subscript(model: Int, example: Int) -> Double {
        self[model, example, 0]
    }

    /// The signals of the given examples (columns), in that order.
    public func selecting(examples: [Int]) -> SignalMatrix {
        var out = [Double](repeating: 0, count: modelCount * examples.count * queryCount)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                for m in 0..<modelCount {
                    for (j, i) in examples.enumerated() {
                        for q in 0..<queryCount {
                            o[(m * examples.count + j) * queryCount + q] = v[(m * exampleCount + i) * queryCount + q]
                        }
                    }
                }
            }
        }
        return SignalMatrix(modelCount: modelCount, exampleCount: examples.count, queryCount: queryCount, values: out)
    }

    /// The signals of the given models (rows), in that order.
    public func selecting(models: [Int]) -> SignalMatrix {
        let width = exampleCount * queryCount
        var out: [Double] = []
        out.reserveCapacity(models.count * width)
        for m in models { out.append(contentsOf: values[m * width ..< (m + 1) * width]) }
        return SignalMatrix(modelCount: models.count, exampleCount: exampleCount, queryCount: queryCount, values: out)
    }
}

/// Which examples each model was trained on: `self[model, example]` is true when the example was
/// in the model's training set (IN).
public struct MembershipMatrix: Sendable, Equatable {
    public let modelCount: Int
    public let exampleCount: Int
    public private(set) var bits: [Bool]

    public init(modelCount: Int, exampleCount: Int, bits: [Bool]) {
        precondition(bits.count == modelCount * exampleCount, "MembershipMatrix: \(bits.count) bits for \(modelCount)×\(exampleCount)")
        self.modelCount = modelCount
        self.exampleCount = exampleCount
        self.bits = bits
    }

    /// The membership of `examples` (indices into a population) in each model's training set.
    public init(trainingSets: [[Int]], examples: [Int], populationSize: Int) {
        var bits = [Bool](repeating: false, count: trainingSets.count * examples.count)
        var inSet = [Bool](repeating: false, count: populationSize)
        for (m, set) in trainingSets.enumerated() {
            for i in set { inSet[i] = true }
            for (j, e) in examples.enumerated() where inSet[e] { bits[m * examples.count + j] = true }
            for i in set { inSet[i] = false }
        }
        self.init(modelCount: trainingSets.count, exampleCount: examples.count, bits: bits)
    }

    public subscript(model: Int, example: Int) -> Bool {
        bits[model * exampleCount + example]
    }

    /// How many models have `example` IN.
    public func inCount(example: Int) -> Int {
        var count = 0
        for m in 0..<modelCount where bits[m * exampleCount + example] { count += 1 }
        return count
    }

    /// The membership of the given examples (columns), in that order.
    public func selecting(examples: [Int]) -> MembershipMatrix {
        var out = [Bool](repeating: false, count: modelCount * examples.count)
        for m in 0..<modelCount {
            for (j, i) in examples.enumerated() { out[m * examples.count + j] = bits[m * exampleCount + i] }
        }
        return MembershipMatrix(modelCount: modelCount, exampleCount: examples.count, bits: out)
    }
}
