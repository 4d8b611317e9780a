import LabRandom
import Tensors

/// Spectral Signatures (Tran, Li and Madry 2018, "Spectral signatures in backdoor attacks").
///
/// For each examined class l with representations R (n_l × d), centred: R̂ = R − mean(R). Let v
/// be the top right singular vector of R̂. Each sample's outlier score is τᵢ = (r̂ᵢ · v)²; a
/// poisoned sub-population that shifts the class mean by a large amount dominates the top
/// singular direction (Lemma 3.1 of the paper). The ⌈`removalFactor` · ε · n_l⌉ highest scores
/// are removed, ε the fraction of poison expected in the class (1.5 × ε by default, as in the
/// paper). This is the paper's Algorithm 1: per class, class mean subtracted, squared
/// projection on the top singular vector (computed to a guaranteed angle, see
/// `LinearAlgebra.topSingularVector`).
///
/// Caveats:
/// - The guarantee needs the poison's mean shift to stand out against the clean class's own
///   spread. When the clean class has a direction of variance about as large as the poison's
///   shift, the top singular vector mixes the two and part of the poison scores low: on MNIST
///   (poison 10% of class 0, a small CNN's last hidden layer) the shift splits between the top
///   two singular directions and about 10–20% of the poison escapes the 1.5·ε·n removal, although
///   the poison is linearly separable along the difference of means.
/// - The authors' published code differs from the paper in two places: it scores |r · v| with
///   the *uncentred* representation r (which favours the side of the mean the poison lies on),
///   and it takes the flattened output of a late convolution stage of its ResNet rather than
///   the input of the classifier. We follow the paper; the representations are whatever the
///   caller passes (`representations(for:)` of a model with `ArchitectureAccess` gives the
///   input of its last dense layer).
/// - The paper runs the test on every label and evaluates the attacked one; removing 1.5·ε·n_l
///   samples from every class also removes that many clean samples from clean classes.
///   `classes` says which classes to examine.
public struct SpectralSignatures: Sendable, Equatable {
    public enum Classes: Sendable, Equatable, Hashable {
        case all
        case labels([Int])
    }

    /// ε: the expected fraction of poisoned samples in an examined class.
    public var expectedPoisonFraction: Double
    public var removalFactor: Double
    public var classes: Classes

    public init(expectedPoisonFraction: Double, removalFactor: Double = 1.5, classes: Classes = .all) {
        self.expectedPoisonFraction = expectedPoisonFraction
        self.removalFactor = removalFactor
        self.classes = classes
    }

    /// Outlier scores of every sample (0 for classes not examined) and the rows to remove.
    /// - Complexity: O(n_l·d·8) per subspace iteration per class (a few tens of iterations), and
    ///   O(n_l log n_l) to rank the scores.
    public func detect(representations: Tensor, labels: [Int], classCount: Int,
                       random: LabRandom) throws(BackdoorError) -> (scores: [Float], flaggedRows: [Int]) {
        guard expectedPoisonFraction > 0 && expectedPoisonFraction < 1 else {
            throw .invalidParameter("expected poison fraction must lie in (0, 1), got \(expectedPoisonFraction)")
        }
        guard removalFactor > 0 else { throw .invalidParameter("removal factor must be positive, got \(removalFactor)") }
        let examined: [Int]
        switch classes {
        case .all: examined = Array(0..<classCount)
        case let .labels(list):
            if let bad = list.first(where: { !(0..<classCount).contains($0) }) {
                throw .invalidParameter("class \(bad) outside 0..<\(classCount)")
            }
            examined = list
        }
        var scores = [Float](repeating: 0, count: labels.count)
        var flagged: [Int] = []
        for l in examined {
            let rows = labels.indices.filter { labels[$0] == l }
            guard rows.count >= 2 else { continue }
            var stream = random.stream("class/\(l)")
            let (centred, _) = LinearAlgebra.centred(representations.gatheringRows(rows))
            let (v, _) = LinearAlgebra.topSingularVector(centred, random: &stream)
            let projections = withoutGradients { Tensor.matmul(centred, Tensor(shape: [v.count, 1], scalars: v)) }.scalars
            for (i, row) in rows.enumerated() { scores[row] = projections[i] * projections[i] }
            let remove = min(rows.count, Int((removalFactor * expectedPoisonFraction * Double(rows.count) - 1e-9).rounded(.up)))
            let ranked = rows.indices.sorted { projections[$0] * projections[$0] > projections[$1] * projections[$1] }
            flagged += ranked.prefix(remove).map { rows[$0] }
        }
        return (scores, flagged.sorted())
    }
}
