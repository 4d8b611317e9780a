/// How a query is compared with earlier ones: as it is, or as an image averaged over blocks of
/// `factor × factor` pixels (fewer features, less sensitive to the pixel-level noise an attack adds).
public enum QueryEncoder: Sendable, Equatable {
    case identity(width: Int)
    /// Images of `channels × height × width` (channels first, as the lab's tensors), averaged over
    /// `factor × factor` blocks; a partial block at the right or bottom edge averages what it holds.
    case averagePooling(height: Int, width: Int, channels: Int, factor: Int)

    public var inputWidth: Int {
        switch self {
        case let .identity(w): return w
        case let .averagePooling(h, w, c, _): return h * w * c
        }
    }

    public var outputWidth: Int {
        switch self {
        case let .identity(w): return w
        case let .averagePooling(h, w, c, f): return ((h + f - 1) / f) * ((w + f - 1) / f) * c
        }
    }

    func validate() throws(QueryDetectionError) {
        switch self {
        case let .identity(w):
            guard w > 0 else { throw QueryDetectionError("encoder: queries need at least one feature, got \(w)") }
        case let .averagePooling(h, w, c, f):
            guard h > 0, w > 0, c > 0 else { throw QueryDetectionError("encoder: an image of \(h) × \(w) × \(c) has no pixels") }
            guard f >= 1, f <= max(h, w) else { throw QueryDetectionError("encoder: the pooling factor \(f) must be between 1 and \(max(h, w))") }
            let (hw, o1) = h.multipliedReportingOverflow(by: w)
            let (_, o2) = hw.multipliedReportingOverflow(by: c)
            guard !o1, !o2 else { throw QueryDetectionError("encoder: an image of \(h) × \(w) × \(c) is too large") }
        }
    }

    /// Encodes `query` into `out` (`outputWidth` values).
    public func encode(_ query: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .identity:
            for i in 0..<query.count { out[i] = query[i] }
        case let .averagePooling(h, w, c, f):
            let ow = (w + f - 1) / f, oh = (h + f - 1) / f
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ch in 0..<c {
                        var s: Float = 0, n = 0
                        for y in (oy * f)..<min(h, oy * f + f) {
                            for x in (ox * f)..<min(w, ox * f + f) { s += query[(ch * h + y) * w + x]; n += 1 }
                        }
                        out[(ch * oh + oy) * ow + ox] = s / Float(n)
                    }
                }
            }
        }
    }
}

/// Stateful detection of query-based attacks (Chen, Carlini and Wagner 2020): the detector keeps
/// the client's earlier queries; a query whose mean distance to its `k` nearest earlier queries is
/// below `threshold` is flagged, because an attack probing around one input sends many nearly
/// equal queries while ordinary use does not. After a detection the buffer is cleared (the paper's
/// account-banning policy: each detection counts once), then the query is kept.
///
/// Distances are Euclidean between encoded queries (`QueryEncoder`); the paper learns a similarity
/// encoder, here the encoder is the identity or block averaging, and `calibrate` sets the threshold
/// at a chosen false-positive rate on benign data.
///
/// - Paper: S. Chen, N. Carlini and D. Wagner, "Stateful Detection of Black-Box Adversarial
///   Attacks", ACM SPAI 2020.
public struct StatefulKNNDetector: QueryDetector {
    public let k: Int
    public let threshold: Double
    /// The most queries kept; the oldest are dropped first.
    public let capacity: Int
    public let encoder: QueryEncoder
    public var inputWidth: Int { encoder.inputWidth }

    private var buffer: [Float]
    private var stored = 0
    private var nextSlot = 0
    private var scratch: [Float]

    /// - Throws: `QueryDetectionError` when `k < 1`, `capacity < k`, the threshold is negative or
    ///   not finite, the encoder is invalid, or `capacity × outputWidth` values would not fit.
    public init(k: Int = 50, threshold: Double, capacity: Int = 10_000, encoder: QueryEncoder) throws(QueryDetectionError) {
        try encoder.validate()
        guard k >= 1 else { throw QueryDetectionError("k: needs at least one neighbour, got \(k)") }
        guard capacity >= k, capacity <= 10_000_000 else { throw QueryDetectionError("capacity: must be between k (\(k)) and 10,000,000, got \(capacity)") }
        guard threshold.isFinite, threshold >= 0 else { throw QueryDetectionError("threshold: must be a finite distance ≥ 0, got \(threshold)") }
        let (size, overflow) = capacity.multipliedReportingOverflow(by: encoder.outputWidth)
        guard !overflow, size <= 1 << 30 else {
            throw QueryDetectionError("capacity: \(capacity) queries of \(encoder.outputWidth) encoded features exceed 2^30 values")
        }
        self.k = k
        self.threshold = threshold
        self.capacity = capacity
        self.encoder = encoder
        buffer = []
        scratch = [Float](repeating: 0, count: encoder.outputWidth)
    }

    /// The mean distance from `row` to its `k` nearest stored queries (`nil` with fewer than `k`).
    private func meanNearest(_ row: UnsafeBufferPointer<Float>) -> Double? {
        guard stored >= k else { return nil }
        let d = encoder.outputWidth
        var nearest = [Double](repeating: .infinity, count: k)   // sorted ascending
        buffer.withUnsafeBufferPointer { all in
            for j in 0..<stored {
                let dist = squaredDistance(row, UnsafeBufferPointer(rebasing: all[j * d..<(j + 1) * d]))
                if dist < nearest[k - 1] {
                    var p = k - 1
                    while p > 0 && nearest[p - 1] > dist { nearest[p] = nearest[p - 1]; p -= 1 }
                    nearest[p] = dist
                }
            }
        }
        return nearest.reduce(0) { $0 + $1.squareRoot() } / Double(k)
    }

    public mutating func observe(_ query: UnsafeBufferPointer<Float>, answer: Int) -> Bool {
        let d = encoder.outputWidth
        scratch.withUnsafeMutableBufferPointer { encoder.encode(query, into: $0) }
        let flagged = scratch.withUnsafeBufferPointer { row in meanNearest(row).map { $0 < threshold } ?? false }
        if flagged { stored = 0; nextSlot = 0 }
        if buffer.count < capacity * d && nextSlot * d == buffer.count {
            buffer += scratch
        } else {
            buffer.replaceSubrange(nextSlot * d..<(nextSlot + 1) * d, with: scratch)
        }
        nextSlot = (nextSlot + 1) % capacity
        stored = min(stored + 1, capacity)
        return flagged
    }

    /// The threshold that flags a fraction `falsePositiveRate` of benign queries: each of the
    /// `rows.count / encoder.inputWidth` benign rows is scored by its mean distance to its `k`
    /// nearest other rows, and the threshold is that score's `falsePositiveRate` quantile (the
    /// paper's calibration on the training set).
    /// - Throws: `QueryDetectionError` for fewer than `k + 1` rows, a rate outside (0, 1), a
    ///   ragged or non-finite array, or more than 20,000 rows.
    public static func calibrate(benign rows: [Float], k: Int, falsePositiveRate: Double,
                                 encoder: QueryEncoder) throws(QueryDetectionError) -> Double {
        try encoder.validate()
        let width = encoder.inputWidth
        guard falsePositiveRate > 0, falsePositiveRate < 1 else {
            throw QueryDetectionError("false_positive_rate: must be in (0, 1), got \(falsePositiveRate)")
        }
        guard rows.count % width == 0 else { throw QueryDetectionError("benign rows: \(rows.count) values are not whole rows of \(width)") }
        let n = rows.count / width
        guard n > k else { throw QueryDetectionError("benign rows: \(n) rows cannot calibrate k = \(k) neighbours (need more than k)") }
        guard n <= 20_000 else { throw QueryDetectionError("benign rows: \(n) rows exceed the 20,000 the pairwise calibration takes") }
        guard rows.allSatisfy(\.isFinite) else { throw QueryDetectionError("benign rows: a value is not finite") }
        let d = encoder.outputWidth
        var encoded = [Float](repeating: 0, count: n * d)
        rows.withUnsafeBufferPointer { src in
            encoded.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    encoder.encode(UnsafeBufferPointer(rebasing: src[i * width..<(i + 1) * width]),
                                   into: UnsafeMutableBufferPointer(rebasing: dst[i * d..<(i + 1) * d]))
                }
            }
        }
        var squared = [Double](repeating: 0, count: n * n)
        encoded.withUnsafeBufferPointer { e in
            for i in 0..<n {
                let a = UnsafeBufferPointer(rebasing: e[i * d..<(i + 1) * d])
                for j in (i + 1)..<max(i + 1, n) {
                    let s = squaredDistance(a, UnsafeBufferPointer(rebasing: e[j * d..<(j + 1) * d]))
                    squared[i * n + j] = s
                    squared[j * n + i] = s
                }
            }
        }
        var scores = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var row = Array(squared[i * n..<(i + 1) * n])
            row.remove(at: i)
            row.sort()
            scores[i] = row.prefix(k).reduce(0) { $0 + $1.squareRoot() } / Double(k)
        }
        scores.sort()
        // The largest threshold that flags at most the rate asked (a score is flagged when below).
        let flagged = Int((falsePositiveRate * Double(n)).rounded(.down))
        return scores[flagged]
    }
}
