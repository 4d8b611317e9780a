/// Defences that watch the stream of queries one client sends to a model, and flag the stream
/// when it looks like a query-based attack (a black-box evasion attack probing around one input,
/// or a model-extraction attack synthesising its training set) rather than ordinary use.
///
/// A detector holds one client's state: give every client (every stream) its own copy. Streams
/// are replayed offline here (`replay`); a served model can call `observe` live.
public protocol QueryDetector: Sendable {
    /// The number of features a query must have.
    var inputWidth: Int { get }

    /// Observes the client's next query, a row of `inputWidth` features, with the label the model
    /// answered; `true` when the stream is flagged at this query.
    /// - Precondition: `query.count == inputWidth`, every value finite (`replay` checks both).
    mutating func observe(_ query: UnsafeBufferPointer<Float>, answer: Int) -> Bool
}

/// What a detector made of one stream of queries.
public struct StreamOutcome: Sendable, Equatable {
    /// Queries in the stream.
    public var queries: Int
    /// How many queries had been seen when the stream was first flagged (1-based), or `nil`.
    public var firstDetection: Int?
    /// Queries flagged in the stream (a detector that resets after a detection can flag again).
    public var detections: Int

    public init(queries: Int, firstDetection: Int?, detections: Int) {
        self.queries = queries
        self.firstDetection = firstDetection
        self.detections = detections
    }
}

/// Detection rate, queries until detection and the rate of flagged queries over many streams:
/// for attack streams the first two say how soon an attack is caught; for benign streams the
/// detection rate is the false-positive rate per client.
public struct DetectionSummary: Sendable, Equatable {
    public var streams: Int
    /// Streams flagged at least once.
    public var detectionRate: Double
    /// The median, over the flagged streams, of the queries seen when first flagged (`nil` when
    /// none was flagged).
    public var medianQueriesToDetection: Double?
    /// Flagged queries over all queries.
    public var flaggedQueryRate: Double

    public init(_ outcomes: [StreamOutcome]) {
        streams = outcomes.count
        let first = outcomes.compactMap(\.firstDetection).map(Double.init).sorted()
        detectionRate = outcomes.isEmpty ? 0 : Double(first.count) / Double(outcomes.count)
        if first.isEmpty {
            medianQueriesToDetection = nil
        } else {
            let m = first.count / 2
            medianQueriesToDetection = first.count % 2 == 1 ? first[m] : (first[m - 1] + first[m]) / 2
        }
        let queries = outcomes.reduce(0) { $0 + $1.queries }
        flaggedQueryRate = queries == 0 ? 0 : Double(outcomes.reduce(0) { $0 + $1.detections }) / Double(queries)
    }
}

/// A query stream or a detector's settings that cannot be used, named.
public struct QueryDetectionError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension QueryDetector {
    /// Replays one client's stream through this detector: `queries` holds `answers.count` rows of
    /// `inputWidth` features, row-major, and `answers` the labels the model gave.
    /// - Throws: `QueryDetectionError` when the sizes disagree or a value is not finite; the
    ///   detector is then unchanged.
    public mutating func replay(queries: [Float], answers: [Int]) throws(QueryDetectionError) -> StreamOutcome {
        let width = inputWidth
        let (product, overflow) = answers.count.multipliedReportingOverflow(by: width)
        guard !overflow, product == queries.count else {
            throw QueryDetectionError("a stream of \(answers.count) answers needs \(answers.count) × \(width) query values, got \(queries.count)")
        }
        if let bad = queries.firstIndex(where: { !$0.isFinite }) {
            throw QueryDetectionError("query \(bad / width) has a value that is not finite at feature \(bad % width)")
        }
        if let bad = answers.firstIndex(where: { $0 < 0 }) {
            throw QueryDetectionError("answer \(bad) is a negative label (\(answers[bad]))")
        }
        var first: Int? = nil
        var detections = 0
        queries.withUnsafeBufferPointer { all in
            for i in 0..<answers.count {
                let row = UnsafeBufferPointer(rebasing: all[i * width..<(i + 1) * width])
                if observe(row, answer: answers[i]) {
                    detections += 1
                    if first == nil { first = i + 1 }
                }
            }
        }
        return StreamOutcome(queries: answers.count, firstDetection: first, detections: detections)
    }
}

/// Squared Euclidean distance of two rows of equal length, accumulated in Double.
@inline(__always)
func squaredDistance(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Double {
    var s: Float = 0, total = 0.0
    var i = 0
    // Float partial sums of 64 terms, folded into Double: fast and accurate enough for ranking.
    while i < a.count {
        let end = min(i + 64, a.count)
        s = 0
        while i < end { let d = a[i] - b[i]; s += d * d; i += 1 }
        total += Double(s)
    }
    return total
}
