import LabRandom
import ModelAccess
import Tensors

/// Which training examples a filter removes, and the suspicion score behind each decision.
public struct FilterDecision: Sendable, Equatable {
    /// Higher means more suspicious.
    public var scores: [Float]
    public var removed: [Bool]

    public var removedCount: Int { removed.lazy.filter { $0 }.count }
    /// The indices of the examples kept, in order.
    public var keptIndices: [Int] { removed.indices.filter { !removed[$0] } }
}

/// A filter that inspects a (possibly poisoned) training set before training and removes the
/// examples it suspects.
public protocol TrainingSetFilter: Sendable {
    /// The filter's decision for `inputs` [N, …] with the given (possibly flipped) labels.
    func filter(inputs: Tensor, labels: [Int], classCount: Int, random: LabRandom) throws -> FilterDecision
}

// MARK: - Loss-based filtering

/// Removes the examples with the largest loss under a model trained on the data itself: a flipped
/// label disagrees with what the rest of the data teaches, so its loss is high.
///
/// With `folds` = k ≥ 2 the scores are cross-fitted: the examples of fold f (a uniformly random
/// partition, stream "folds") are scored by a model trained on the other folds (stream "fold/f"),
/// so a model that memorises its training labels does not hide them. With k = 1 one model trained
/// on everything scores everything. The `removalFraction` of examples with the largest losses go.
/// - Complexity: k trainings and n loss evaluations.
/// - Caveat: hard but clean examples (ambiguous digits, a rare class) have high losses too, and a
///   model with capacity to memorise hides flipped labels at k = 1.
public struct LossFilter<Recipe: TrainingRecipe>: TrainingSetFilter where Recipe.Model: LossAccess {
    public var recipe: Recipe
    public var removalFraction: Double
    public var folds: Int

    public init(recipe: Recipe, removalFraction: Double, folds: Int = 2) {
        precondition(removalFraction >= 0 && removalFraction <= 1, "LossFilter: removal fraction must lie in [0, 1]")
        precondition(folds >= 1, "LossFilter: needs at least one fold")
        self.recipe = recipe
        self.removalFraction = removalFraction
        self.folds = folds
    }

    public func filter(inputs: Tensor, labels: [Int], classCount: Int, random: LabRandom) throws -> FilterDecision {
        let n = labels.count
        var scores = [Float](repeating: 0, count: n)
        if folds == 1 {
            let model = try recipe.train(inputs: inputs, labels: labels, random: random.stream("fold/0"))
            scores = model.losses(for: inputs, labels: labels)
        } else {
            var shuffle = random.stream("folds")
            let order = shuffle.permutation(n)
            for f in 0..<folds {
                let held = stride(from: f, to: n, by: folds).map { order[$0] }.sorted()
                let heldSet = Set(held)
                let train = (0..<n).filter { !heldSet.contains($0) }
                guard !held.isEmpty, !train.isEmpty else { continue }
                let model = try recipe.train(inputs: inputs.gatheringRows(train), labels: train.map { labels[$0] },
                                             random: random.stream("fold/\(f)"))
                let losses = model.losses(for: inputs.gatheringRows(held), labels: held.map { labels[$0] })
                for (k, index) in held.enumerated() { scores[index] = losses[k] }
            }
        }
        return FilterDecision(scores: scores, removed: removeLargest(scores, fraction: removalFraction))
    }
}

// MARK: - k-NN label consistency

/// Removes examples whose label disagrees with most of their k nearest neighbours (Euclidean
/// distance on the flattened inputs, the example itself excluded): score = the fraction of the k
/// neighbours with another label; an example is removed when its score exceeds `threshold`
/// (default ½: the majority disagrees).
/// - Complexity: O(n²·d) for the distances (BLAS, in row chunks of 512), O(n²·k) for the selection;
///   memory O(512·n).
/// - Paper: Paudice, Muñoz-González & Lupu, "Label sanitization against label flipping poisoning
///   attacks", ECML PKDD workshops 2018.
/// - Caveat: needs a feature space where neighbours share classes; raw pixels work for MNIST-like
///   data, less well for harder images.
public struct KNNLabelConsistencyFilter: TrainingSetFilter, Hashable {
    public var k: Int
    public var threshold: Double

    public init(k: Int = 10, threshold: Double = 0.5) {
        precondition(k >= 1, "KNNLabelConsistencyFilter: k must be ≥ 1")
        precondition(threshold >= 0 && threshold < 1, "KNNLabelConsistencyFilter: threshold must lie in [0, 1)")
        self.k = k
        self.threshold = threshold
    }

    public func filter(inputs: Tensor, labels: [Int], classCount: Int, random: LabRandom) throws -> FilterDecision {
        let neighbours = nearestNeighbours(inputs.flattenedBatch(), k: k)
        let n = labels.count
        var scores = [Float](repeating: 0, count: n)
        var removed = [Bool](repeating: false, count: n)
        for i in 0..<n {
            let list = neighbours[i]
            guard !list.isEmpty else { continue }
            var disagree = 0
            for j in list where labels[j] != labels[i] { disagree += 1 }
            scores[i] = Float(disagree) / Float(list.count)
            removed[i] = Double(scores[i]) > threshold
        }
        return FilterDecision(scores: scores, removed: removed)
    }
}

/// The indices of the k nearest rows of `x` [n, d] to each row (itself excluded), nearest first.
func nearestNeighbours(_ x: Tensor, k requested: Int) -> [[Int]] {
    let n = x.shape[0], d = x.shape[1]
    let k = min(requested, n - 1)
    guard k >= 1 else { return [[Int]](repeating: [], count: n) }
    var squaredNorms = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { v in
        for i in 0..<n { var s: Float = 0; for j in 0..<d { s += v[i * d + j] * v[i * d + j] }; squaredNorms[i] = s }
    }
    var result = [[Int]](repeating: [], count: n)
    let chunk = 512
    var start = 0
    var bestDistance = [Float](repeating: 0, count: k), bestIndex = [Int](repeating: 0, count: k)
    while start < n {
        let end = min(n, start + chunk)
        let products = withoutGradients { Tensor.matmul(x.slice(axis: 0, start..<end), x, transposeB: true) }
        products.withUnsafeBufferPointer { p in
            for r in 0..<(end - start) {
                let i = start + r
                var filled = 0
                for j in 0..<n where j != i {
                    let distance = squaredNorms[i] + squaredNorms[j] - 2 * p[r * n + j]
                    if filled == k && distance >= bestDistance[k - 1] { continue }
                    // Insert into the sorted top-k (ties keep the lower index first).
                    var position = filled == k ? k - 1 : filled
                    if filled < k { filled += 1 }
                    while position > 0 && bestDistance[position - 1] > distance {
                        bestDistance[position] = bestDistance[position - 1]
                        bestIndex[position] = bestIndex[position - 1]
                        position -= 1
                    }
                    bestDistance[position] = distance
                    bestIndex[position] = j
                }
                result[i] = Array(bestIndex[0..<filled])
            }
        }
        start = end
    }
    return result
}

// MARK: - Per-class outlier removal

/// Removes, within each (possibly flipped) label class, the examples farthest from the class
/// centroid: score = ‖xᵢ − μ_{yᵢ}‖₂ with μ_c the mean of the examples labelled c; in each class
/// the ⌊fraction·n_c⌉ largest scores go.
///
/// - Complexity: O(n·d).
/// - Paper: the "sphere" defence of Steinhardt, Koh & Liang, "Certified defenses for data poisoning
///   attacks", NeurIPS 2017 (outlier removal around class centroids).
/// - Caveat: flipped examples pull the centroid of their new class towards their true class; with
///   many flips per class the centroid moves and the filter weakens.
public struct CentroidOutlierFilter: TrainingSetFilter, Hashable {
    public var removalFraction: Double

    public init(removalFraction: Double) {
        precondition(removalFraction >= 0 && removalFraction <= 1, "CentroidOutlierFilter: removal fraction must lie in [0, 1]")
        self.removalFraction = removalFraction
    }

    public func filter(inputs: Tensor, labels: [Int], classCount: Int, random: LabRandom) throws -> FilterDecision {
        let n = labels.count
        let d = n == 0 ? 0 : inputs.scalarCount / n
        var centroids = [Float](repeating: 0, count: classCount * d)
        var counts = [Int](repeating: 0, count: classCount)
        var scores = [Float](repeating: 0, count: n)
        inputs.withUnsafeBufferPointer { v in
            for i in 0..<n {
                let c = labels[i]
                precondition(c >= 0 && c < classCount, "CentroidOutlierFilter: label \(c) outside 0..<\(classCount)")
                counts[c] += 1
                for j in 0..<d { centroids[c * d + j] += v[i * d + j] }
            }
            for c in 0..<classCount where counts[c] > 0 {
                let inverse = 1 / Float(counts[c])
                for j in 0..<d { centroids[c * d + j] *= inverse }
            }
            for i in 0..<n {
                let c = labels[i]
                var s: Float = 0
                for j in 0..<d { let e = v[i * d + j] - centroids[c * d + j]; s += e * e }
                scores[i] = s.squareRoot()
            }
        }
        var removed = [Bool](repeating: false, count: n)
        for c in 0..<classCount {
            let members = (0..<n).filter { labels[$0] == c }
            let classRemoved = removeLargest(members.map { scores[$0] }, fraction: removalFraction)
            for (k, index) in members.enumerated() where classRemoved[k] { removed[index] = true }
        }
        return FilterDecision(scores: scores, removed: removed)
    }
}

/// Marks the ⌊fraction·n⌉ largest scores (ties broken by the lower index staying).
func removeLargest(_ scores: [Float], fraction: Double) -> [Bool] {
    let count = Int((fraction * Double(scores.count)).rounded())
    var removed = [Bool](repeating: false, count: scores.count)
    let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 > $1 }
    for index in order.prefix(count) { removed[index] = true }
    return removed
}
