import LabRandom
import ModelAccess
import Tensors

/// Activation Clustering (Chen et al. 2018, "Detecting backdoor attacks on deep neural networks
/// by activation clustering").
///
/// For each class l, the last-hidden-layer representations of the training samples labelled l
/// are reduced to `components` (10) dimensions and split by 2-means. A poisoned class holds two
/// populations — its own samples and triggered samples of other classes that the network
/// separates by the trigger — so one cluster is the poison. Which one, and whether the split
/// means anything, is decided by one of three criteria:
///
/// - relative size: the smaller cluster is poison when it holds at most `threshold` of the class
///   (Chen et al. use 0.35; fails when poison is half the class or more);
/// - silhouette: the smaller cluster is poison when the clustering's mean silhouette score is at
///   least `threshold` (well-separated clusters);
/// - exclusionary reclassification (Chen et al. §4.3): a model retrained without a cluster
///   classifies it; a clean cluster is still classified as l, a poisonous one as its source
///   classes. The cluster is poison when count(l) / count(most frequent other class) < T.
///
/// Dimension reduction (`reduction`): Chen et al. project each class on 10 independent
/// components (FastICA), which they found more effective than PCA. FastICA first whitens: it
/// projects the centred representations on the top 10 principal directions and scales each
/// score to unit variance (Z = X̂ V Λ^(−1/2)); the independent components are then S = Z Wᵀ with
/// W orthogonal (symmetric decorrelation keeps the whitened data white). An orthogonal W keeps
/// every Euclidean distance, so k-means (Lloyd's steps and k-means++ seeding use only
/// distances) partitions S exactly as it partitions Z, and the silhouette score is the same:
/// for Activation Clustering the paper's ICA *is* k-means on whitened principal components,
/// whatever rotation ICA settles on. `.whitenedPrincipalComponents` does that.
/// `.principalComponents` (the default, as ART's `reduce="PCA"` default) clusters the unscaled
/// PCA scores. In whitened coordinates a direction that is bimodal because of a small, far
/// population is the best 2-means split (for a 10% sub-population far from the rest, splitting
/// it removes about 0.9 of that direction's unit variance, splitting a Gaussian direction at
/// its mean 2/π ≈ 0.64), but the margin is small and every other direction, however little
/// variance it had, now weighs as much: Lloyd's algorithm often converges to a split along one
/// of them (about one k-means++ start in five reaches the poisoned split of a planted example),
/// and skewed directions of a ReLU layer split clean classes as well. On five MNIST victims
/// (notebooks-md/backdoor.md) both reductions isolated the poison in the target class, but the
/// whitened one also split 1–4 clean classes under the 0.35 threshold (2–12% of the clean
/// samples flagged, against 0–3.3% unscaled), hence the default.
/// Caveat of the whitened reduction: a direction with (numerically) zero variance is dropped
/// (scores 0) rather than amplified.
///
/// Exclusionary reclassification examines both clusters of every class at the cost of two
/// retrainings, not one per cluster: model A is trained without every class's smaller cluster,
/// model B without every class's larger cluster, and each cluster is classified by the model
/// that did not see it. A class is poisoned when its smaller cluster fails the test; the
/// flagged cluster is the smaller one, unless the larger fails as well — then both clusters
/// are foreign to each other and the flagged one is the cluster whose reclassification is more
/// spread out (the largest share of one other class is smaller): an all-to-one poison cluster
/// returns to its many source classes, a clean cluster that lost its class to the poison falls
/// into its one or two most similar classes. This keeps the criterion working when poison makes
/// up half the class and 2-means' "smaller" cluster is the clean one. A larger cluster that
/// fails alone is a clean class's style split and is not flagged. The spread tie-break assumes
/// an all-to-one attack (all-to-all poison clusters come from one source class).
public struct ActivationClustering: Sendable, Equatable {
    public enum Criterion: Sendable, Equatable, Hashable {
        case relativeSize(threshold: Double)
        case silhouette(threshold: Double)
        case exclusionaryReclassification(ratio: Double)
    }

    /// How each class's representations are reduced to `components` dimensions before 2-means.
    public enum Reduction: Sendable, Equatable, Hashable {
        /// Unscaled principal component scores (ART's default `reduce="PCA"`).
        case principalComponents
        /// Principal component scores scaled to unit variance: the paper's FastICA, as far as
        /// k-means and the silhouette can tell (see the type's documentation).
        case whitenedPrincipalComponents
    }

    public var components: Int
    public var criterion: Criterion
    public var reduction: Reduction
    /// Samples used for each class's silhouette score (the score is O(m·n)).
    public var silhouetteSamples: Int

    public init(components: Int = 10, criterion: Criterion = .relativeSize(threshold: 0.35),
                reduction: Reduction = .principalComponents, silhouetteSamples: Int = 1000) {
        self.components = components
        self.criterion = criterion
        self.reduction = reduction
        self.silhouetteSamples = silhouetteSamples
    }

    /// The 2-means split of one class.
    public struct ClassClusters: Sendable, Equatable {
        public var label: Int
        /// Training rows of the class in each cluster; `clusters[0]` is the smaller.
        public var clusters: [[Int]]
        /// |smaller| / |class|.
        public var relativeSize: Double
        /// The mean silhouette score of the split.
        public var silhouette: Double
    }

    /// Per-class clusters and the rows the criterion flags as poisoned.
    public struct Report: Sendable, Equatable {
        public var classes: [ClassClusters]
        /// For exclusionary reclassification: (count(l), count(most frequent other)) of each
        /// class's clusters as the model that did not see them classified them.
        public var reclassification: [[(own: Int, other: Int)]]? = nil
        /// Classes judged poisoned.
        public var poisonedClasses: [Int]
        /// Training rows flagged as poisoned, ascending.
        public var flaggedRows: [Int]

        public static func == (a: Report, b: Report) -> Bool {
            a.classes == b.classes && a.poisonedClasses == b.poisonedClasses && a.flaggedRows == b.flaggedRows
        }
    }

    /// Clusters every class's representations.
    /// - Parameters:
    ///   - representations: [N, d], row i the representation of training sample i.
    ///   - labels: the training labels (as poisoned).
    /// - Throws: when a class has fewer than two samples.
    /// - Complexity: O(n_l·d·10) per PCA iteration and O(n_l·10) per k-means iteration, per class.
    public func cluster(representations: Tensor, labels: [Int], classCount: Int,
                        random: LabRandom) throws(BackdoorError) -> [ClassClusters] {
        guard components >= 1 else { throw .invalidParameter("components must be ≥ 1, got \(components)") }
        var result: [ClassClusters] = []
        for l in 0..<classCount {
            let rows = labels.indices.filter { labels[$0] == l }
            if rows.isEmpty { continue }
            guard rows.count >= 2 else { throw .insufficientData("class \(l) has \(rows.count) sample; 2-means needs at least 2") }
            var stream = random.stream("class/\(l)")
            let reduced = LinearAlgebra.principalComponentScores(representations.gatheringRows(rows), components: components,
                                                                 whitened: reduction == .whitenedPrincipalComponents, random: &stream)
            let split = LinearAlgebra.kMeans(reduced, k: 2, restarts: 10, random: &stream)
            var a: [Int] = [], b: [Int] = []
            for (i, row) in rows.enumerated() { if split.assignments[i] == 0 { a.append(row) } else { b.append(row) } }
            if a.count > b.count || (a.count == b.count && (a.first ?? 0) > (b.first ?? 0)) { swap(&a, &b) }
            let s = LinearAlgebra.silhouette(reduced, assignments: split.assignments, k: 2, sampleLimit: silhouetteSamples, random: &stream)
            result.append(ClassClusters(label: l, clusters: [a, b], relativeSize: Double(a.count) / Double(rows.count), silhouette: s))
        }
        return result
    }

    /// Flags poisoned rows with the relative-size or silhouette criterion.
    /// - Precondition: the criterion is not exclusionary reclassification (use
    ///   `detect(…, recipe:)`).
    public func detect(representations: Tensor, labels: [Int], classCount: Int, random: LabRandom) throws(BackdoorError) -> Report {
        let classes = try cluster(representations: representations, labels: labels, classCount: classCount, random: random)
        var poisoned: [Int] = [], flagged: [Int] = []
        for c in classes {
            let isPoison: Bool
            switch criterion {
            case let .relativeSize(threshold): isPoison = c.relativeSize <= threshold
            case let .silhouette(threshold): isPoison = c.silhouette >= threshold
            case .exclusionaryReclassification:
                throw .invalidParameter("exclusionary reclassification needs a training recipe: call detect(…, recipe:)")
            }
            if isPoison { poisoned.append(c.label); flagged += c.clusters[0] }
        }
        return Report(classes: classes, poisonedClasses: poisoned, flaggedRows: flagged.sorted())
    }

    /// Flags poisoned rows with any criterion; exclusionary reclassification retrains twice with
    /// `recipe` (streams `reclassify/smaller` and `reclassify/larger` of `random`).
    public func detect<R: TrainingRecipe>(representations: Tensor, inputs: Tensor, labels: [Int], classCount: Int,
                                          recipe: R, random: LabRandom) throws -> Report where R.Model: LabelAccess {
        guard case let .exclusionaryReclassification(threshold) = criterion else {
            return try detect(representations: representations, labels: labels, classCount: classCount, random: random)
        }
        let classes = try cluster(representations: representations, labels: labels, classCount: classCount, random: random)
        var counts: [[(own: Int, other: Int)]] = classes.map { _ in [(0, 0), (0, 0)] }
        var spread: [[Double]] = classes.map { _ in [1, 1] }
        for side in 0..<2 {
            var excluded = [Bool](repeating: false, count: labels.count)
            for c in classes { for r in c.clusters[side] { excluded[r] = true } }
            let kept = excluded.indices.filter { !excluded[$0] }
            let model = try recipe.train(inputs: inputs.gatheringRows(kept), labels: kept.map { labels[$0] },
                                         random: random.stream(side == 0 ? "reclassify/smaller" : "reclassify/larger"))
            for (ci, c) in classes.enumerated() where !c.clusters[side].isEmpty {
                let predicted = BackdoorMetrics.predict(model, features: inputs.gatheringRows(c.clusters[side]).scalars,
                                                        sampleShape: Array(inputs.shape.dropFirst()), batchSize: 1000)
                var histogram = [Int](repeating: 0, count: classCount)
                for p in predicted { histogram[p] += 1 }
                let own = histogram[c.label]
                let other = histogram.indices.filter { $0 != c.label }.map { histogram[$0] }.max() ?? 0
                counts[ci][side] = (own, other)
                spread[ci][side] = Double(other) / Double(max(1, predicted.count))
            }
        }
        var poisoned: [Int] = [], flagged: [Int] = []
        for (ci, c) in classes.enumerated() {
            func fails(_ s: Int) -> Bool {
                !c.clusters[s].isEmpty && Double(counts[ci][s].own) < threshold * Double(counts[ci][s].other)
            }
            let pick: Int
            switch (fails(0), fails(1)) {
            case (true, true): pick = spread[ci][0] <= spread[ci][1] ? 0 : 1
            case (true, false): pick = 0
            default: continue
            }
            poisoned.append(c.label)
            flagged += c.clusters[pick]
        }
        return Report(classes: classes, reclassification: counts, poisonedClasses: poisoned, flaggedRows: flagged.sorted())
    }
}
