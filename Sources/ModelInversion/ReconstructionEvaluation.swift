import ModelAccess
import Tensors

/// How recognisable class reconstructions (MI-Face) are, measured as the field measures them.
///
/// For each reconstruction of a class y:
/// - identification: the class ranks of an *independently trained evaluation classifier*
///   (another architecture, its own initialisation) — top-1 and top-5 hits;
/// - nearest mean face: whether y's own mean training image is, among the mean images of all
///   classes, the most similar to the reconstruction by SSIM;
/// - SSIM to the class's own mean training image.
///
/// The evaluation classifier only needs to rank classes, so it is any `ProbabilityAccess`.
public enum ReconstructionEvaluation {
    /// The measures of one reconstruction.
    public struct Row: Sendable, Equatable {
        public var target: Int
        /// The target's rank among the evaluation classifier's classes (0 = most probable).
        public var rank: Int
        public var top1: Bool { rank == 0 }
        public var top5: Bool { rank < 5 }
        /// The class whose mean image is most similar (SSIM) to the reconstruction.
        public var nearestMeanClass: Int
        public var ssimToOwnMean: Double
    }

    public struct Summary: Sendable, Equatable {
        public var rows: [Row]
        public var top1Accuracy: Double { fraction { $0.top1 } }
        public var top5Accuracy: Double { fraction { $0.top5 } }
        public var nearestMeanMatches: Int { rows.filter { $0.nearestMeanClass == $0.target }.count }
        public var meanSSIMToOwnMean: Double { rows.isEmpty ? 0 : rows.map(\.ssimToOwnMean).reduce(0, +) / Double(rows.count) }
        func fraction(_ p: (Row) -> Bool) -> Double { rows.isEmpty ? 0 : Double(rows.filter(p).count) / Double(rows.count) }
    }

    /// The mean image of each class of `inputs` [N, C, H, W] (flattened per class); a class
    /// without examples has no mean (`nil`).
    /// - Complexity: O(N·C·H·W).
    public static func classMeans(_ inputs: Tensor, labels: [Int], classCount: Int) -> [[Float]?] {
        precondition(inputs.rank >= 2 && inputs.shape[0] == labels.count, "classMeans: \(labels.count) labels for inputs \(inputs.shape)")
        let d = inputs.scalarCount / max(1, labels.count)
        var sums = [[Double]](repeating: [Double](repeating: 0, count: d), count: classCount)
        var counts = [Int](repeating: 0, count: classCount)
        inputs.withUnsafeBufferPointer { x in
            for (i, y) in labels.enumerated() {
                counts[y] += 1
                for j in 0..<d { sums[y][j] += Double(x[i * d + j]) }
            }
        }
        return (0..<classCount).map { c in counts[c] == 0 ? nil : sums[c].map { Float($0 / Double(counts[c])) } }
    }

    /// Evaluates reconstructions (one per entry of `targets`, per-sample shape `sampleShape` =
    /// [C, H, W]) against an evaluation classifier and the class mean images.
    /// - Throws: `InversionError.invalidInput` when shapes or counts disagree or a target class
    ///   has no mean image.
    /// - Complexity: one batched query of the evaluator and targets × classes SSIM computations.
    public static func evaluate<Evaluator: ProbabilityAccess>(
        reconstructions: [[Float]], targets: [Int], sampleShape: [Int], evaluator: Evaluator, classMeans: [[Float]?]
    ) throws(InversionError) -> Summary {
        guard reconstructions.count == targets.count, sampleShape.count == 3 else {
            throw .invalidInput("\(reconstructions.count) reconstructions for \(targets.count) targets of shape \(sampleShape) (expected [C, H, W])")
        }
        let d = Tensor.elementCount(sampleShape)
        guard reconstructions.allSatisfy({ $0.count == d }) else { throw .invalidInput("a reconstruction does not hold \(d) values") }
        guard classMeans.count == evaluator.classCount else {
            throw .invalidInput("\(classMeans.count) class means for an evaluator of \(evaluator.classCount) classes")
        }
        if let missing = targets.first(where: { $0 < 0 || $0 >= classMeans.count || classMeans[$0] == nil }) {
            throw .invalidInput("class \(missing) has no mean image to compare with")
        }
        guard !targets.isEmpty else { return Summary(rows: []) }
        let batch = Tensor(shape: [targets.count] + sampleShape, scalars: reconstructions.flatMap { $0 })
        let probabilities = evaluator.probabilities(for: batch).scalars
        let k = evaluator.classCount
        var rows: [Row] = []
        for (i, target) in targets.enumerated() {
            let own = probabilities[i * k + target]
            var rank = 0
            for j in 0..<k where j != target {
                let p = probabilities[i * k + j]
                if p > own || (p == own && j < target) { rank += 1 }
            }
            var bestClass = -1, bestSSIM = -Double.infinity, ownSSIM = 0.0
            for (c, mean) in classMeans.enumerated() {
                guard let mean else { continue }
                let s = ImageMetrics.ssim(reconstructions[i], mean, height: sampleShape[1], width: sampleShape[2])
                if s > bestSSIM { bestSSIM = s; bestClass = c }
                if c == target { ownSSIM = s }
            }
            rows.append(Row(target: target, rank: rank, nearestMeanClass: bestClass, ssimToOwnMean: ownSSIM))
        }
        return Summary(rows: rows)
    }
}
