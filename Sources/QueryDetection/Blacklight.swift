import Codecs

/// Blacklight (Li et al. 2022): query-based attacks send many nearly identical queries, and
/// nearly identical inputs share most of their quantised pixel windows. Every query is quantised
/// (a pixel value v in [0, `valueRange`] becomes ⌊255·v/valueRange / `quantizationStep`⌋), cut into
/// windows of `window` consecutive values at stride `stride`, and each window is hashed (SHA-256);
/// the query's fingerprint is its `top` largest distinct hashes. A query that shares at least
/// `threshold` fingerprint hashes with one earlier query of the client is flagged.
///
/// The fingerprint table keeps every query of the client (the paper's design: memory grows by
/// `top` hashes a query); `maximumQueries` bounds it, after which the oldest are forgotten.
/// Hashes are kept as their first 128 bits.
///
/// - Paper: H. Li, S. Shan, E. Wenger, J. Zhang, H. Zheng and B. Y. Zhao, "Blacklight: Scalable
///   Defense for Neural Networks against Query-Based Black-Box Attacks", USENIX Security 2022.
public struct Blacklight: QueryDetector {
    public let inputWidth: Int
    public let quantizationStep: Int
    public let window: Int
    public let stride: Int
    public let top: Int
    public let threshold: Int
    public let valueRange: Float
    public let maximumQueries: Int

    /// A window's SHA-256 hash, its first 128 bits.
    public struct WindowHash: Hashable, Comparable, Sendable {
        public var high: UInt64, low: UInt64
        public static func < (a: Self, b: Self) -> Bool { (a.high, a.low) < (b.high, b.low) }
    }

    /// hash → the queries (by number) whose fingerprints hold it.
    private var table: [WindowHash: [Int]] = [:]
    /// The fingerprints of the queries kept, oldest first, for forgetting.
    private var fingerprints: [[WindowHash]] = []
    private var firstKept = 0
    private var seen = 0

    /// - Throws: `QueryDetectionError` naming a setting out of range.
    public init(inputWidth: Int, quantizationStep: Int = 50, window: Int = 20, stride: Int = 1, top: Int = 50,
                threshold: Int = 25, valueRange: Float = 1, maximumQueries: Int = 100_000) throws(QueryDetectionError) {
        guard inputWidth > 0 else { throw QueryDetectionError("queries need at least one feature, got \(inputWidth)") }
        guard (1...255).contains(quantizationStep) else { throw QueryDetectionError("quantization_step: must be 1…255, got \(quantizationStep)") }
        guard window >= 1, window <= inputWidth else { throw QueryDetectionError("window: must be 1…\(inputWidth) (the query's features), got \(window)") }
        guard stride >= 1, stride <= inputWidth else { throw QueryDetectionError("stride: must be 1…\(inputWidth), got \(stride)") }
        guard top >= 1, top <= 10_000 else { throw QueryDetectionError("top: must be 1…10,000 hashes, got \(top)") }
        guard threshold >= 1, threshold <= top else { throw QueryDetectionError("threshold: must be 1…top (\(top)), got \(threshold)") }
        guard valueRange.isFinite, valueRange > 0 else { throw QueryDetectionError("value_range: must be finite and > 0, got \(valueRange)") }
        guard maximumQueries >= 1, maximumQueries <= 10_000_000 else { throw QueryDetectionError("maximum_queries: must be 1…10,000,000, got \(maximumQueries)") }
        self.inputWidth = inputWidth
        self.quantizationStep = quantizationStep
        self.window = window
        self.stride = stride
        self.top = top
        self.threshold = threshold
        self.valueRange = valueRange
        self.maximumQueries = maximumQueries
    }

    /// The query's fingerprint: its `top` largest distinct window hashes, largest first.
    public func fingerprint(_ query: UnsafeBufferPointer<Float>) -> [WindowHash] {
        var quantised = [UInt8](repeating: 0, count: inputWidth)
        let scale = 255 / valueRange
        for i in 0..<inputWidth {
            let level = min(max(query[i] * scale, 0), 255).rounded(.down)
            quantised[i] = UInt8(Int(level) / quantizationStep)
        }
        var hashes = Set<WindowHash>()
        quantised.withUnsafeBytes { bytes in
            var start = 0
            while start + window <= inputWidth {
                let digest = SHA256.hash(UnsafeRawBufferPointer(rebasing: bytes[start..<start + window])).bytes
                var high: UInt64 = 0, low: UInt64 = 0
                for b in 0..<8 { high = high << 8 | UInt64(digest[b]); low = low << 8 | UInt64(digest[8 + b]) }
                hashes.insert(WindowHash(high: high, low: low))
                start += stride
            }
        }
        return Array(hashes.sorted(by: >).prefix(top))
    }

    public mutating func observe(_ query: UnsafeBufferPointer<Float>, answer: Int) -> Bool {
        let print = fingerprint(query)
        var matches: [Int: Int] = [:]
        var best = 0
        for h in print {
            for earlier in table[h] ?? [] {
                let m = (matches[earlier] ?? 0) + 1
                matches[earlier] = m
                best = max(best, m)
            }
        }
        let id = seen
        seen += 1
        for h in print { table[h, default: []].append(id) }
        fingerprints.append(print)
        if fingerprints.count - firstKept > maximumQueries {
            // Forget the oldest query: its ids are the smallest in each list.
            let old = firstKept
            for h in fingerprints[old] {
                if var ids = table[h] {
                    if let i = ids.firstIndex(of: old) { ids.remove(at: i) }
                    table[h] = ids.isEmpty ? nil : ids
                }
            }
            fingerprints[old] = []
            firstKept += 1
        }
        return best >= threshold
    }
}
