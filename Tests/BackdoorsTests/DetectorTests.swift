import Backdoors
import LabRandom
import ModelAccess
import Tensors
import Testing

/// Representations of a poisoned training set, without a network: every class is a Gaussian
/// blob; in class `target`, `poison` extra rows sit in a shifted blob (as a trigger's
/// population does in a backdoored network's last hidden layer).
func plantedRepresentations(perClass: Int, poison: Int, classes: Int = 4, d: Int = 24, shift: Float = 6,
                            target: Int = 1, seed: UInt64) -> (Tensor, labels: [Int], poisoned: [Bool]) {
    var random = LabRandom(seed: seed)
    var means = [Float](repeating: 0, count: (classes + 1) * d)
    means.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 3) }
    var labels: [Int] = [], poisoned: [Bool] = []
    for c in 0..<classes { for _ in 0..<perClass { labels.append(c); poisoned.append(false) } }
    for _ in 0..<poison { labels.append(target); poisoned.append(true) }
    let n = labels.count
    let x = Tensor(shape: [n, d]) { out in
        random.fillNormal(out, mean: 0, standardDeviation: 1)
        for i in 0..<n {
            for j in 0..<d {
                out[i * d + j] += means[labels[i] * d + j]
                if poisoned[i] { out[i * d + j] += shift * (means[classes * d + j] / 3) }
            }
        }
    }
    return (x, labels, poisoned)
}

@Suite("Detectors on planted representations")
struct DetectorTests {
    @Test("Spectral Signatures ranks the planted sub-population first and removes 1.5·ε·n")
    func spectralSignatures() throws {
        let (x, labels, poisoned) = plantedRepresentations(perClass: 270, poison: 30, seed: 3)
        let ss = SpectralSignatures(expectedPoisonFraction: 0.1, classes: .labels([1]))
        let (scores, flagged) = try ss.detect(representations: x, labels: labels, classCount: 4, random: LabRandom(seed: 1))
        #expect(flagged.count == 45)
        let caught = flagged.filter { poisoned[$0] }.count
        #expect(caught == 30)
        #expect(flagged.allSatisfy { labels[$0] == 1 })
        #expect(scores.indices.filter { labels[$0] != 1 }.allSatisfy { scores[$0] == 0 })
        let all = try SpectralSignatures(expectedPoisonFraction: 0.1).detect(representations: x, labels: labels, classCount: 4, random: LabRandom(seed: 1))
        // ⌈1.5 · 0.1 · 270⌉ = 41 from each clean class, 45 from the poisoned one.
        #expect(all.flaggedRows.count == 3 * 41 + 45)
        #expect(throws: BackdoorError.self) { try SpectralSignatures(expectedPoisonFraction: 1.5).detect(representations: x, labels: labels, classCount: 4, random: LabRandom(seed: 1)) }
    }

    @Test("Activation Clustering: relative size flags only the poisoned class; silhouette sees the split")
    func activationClustering() throws {
        let (x, labels, poisoned) = plantedRepresentations(perClass: 200, poison: 25, seed: 5)
        let ac = ActivationClustering(components: 10, criterion: .relativeSize(threshold: 0.35))
        let report = try ac.detect(representations: x, labels: labels, classCount: 4, random: LabRandom(seed: 2))
        let target = try #require(report.classes.first { $0.label == 1 })
        #expect(abs(target.relativeSize - 25.0 / 225.0) < 0.02)
        // Clean Gaussian blobs split about evenly, so only the poisoned class is flagged.
        #expect(report.poisonedClasses == [1])
        let caught = report.flaggedRows.filter { poisoned[$0] }.count
        #expect(caught >= 24 && report.flaggedRows.count - caught <= 2)
        let silhouette = ActivationClustering(components: 10, criterion: .silhouette(threshold: 0.3))
        let s = try silhouette.detect(representations: x, labels: labels, classCount: 4, random: LabRandom(seed: 2))
        #expect(s.poisonedClasses == [1])
        #expect(report.classes.filter { $0.label != 1 }.allSatisfy { $0.silhouette < target.silhouette })
    }

    @Test("Neural Cleanse's MAD anomaly index: a known answer, and only small norms are flagged")
    func anomalyIndex() {
        let norms: [Double] = [10, 11, 9, 10.5, 9.5, 10, 12, 8, 10, 1]
        let indices = NeuralCleanse.anomalyIndices(norms)
        // median 10, |L − 10| = [0,1,1,.5,.5,0,2,2,0,9], its median 0.75, MAD = 1.4826·0.75.
        #expect(abs(indices[9] - 9 / (1.4826 * 0.75)) < 1e-9)
        #expect(abs(indices[6] - 2 / (1.4826 * 0.75)) < 1e-9)
        func trigger(_ l: Int, _ norm: Double) -> NeuralCleanse.ReversedTrigger {
            .init(label: l, mask: [], pattern: [], maskNorm: Float(norm), attackSuccess: 1, reachedThreshold: true, stepsRun: 1)
        }
        let report = NeuralCleanse().report(norms.enumerated().map { trigger($0.offset, $0.element) })
        // Label 6 (norm 12) and 7 (norm 8) have index 1.8 — under 2; label 9 is flagged; a large norm never is.
        #expect(report.flaggedLabels == [9])
        let large = NeuralCleanse().report(norms.enumerated().map { trigger($0.offset, $0.offset == 9 ? 40 : $0.element) })
        #expect(large.flaggedLabels.isEmpty)
    }
}

/// A nearest-class-mean classifier: the retraining recipe of the exclusionary-reclassification
/// tests (its "training" is averaging the kept rows of each class).
struct NearestMeanRecipe: TrainingRecipe {
    struct Model: LabelAccess {
        let means: [[Float]]
        var classCount: Int { means.count }
        func predictedLabels(for inputs: Tensor) -> [Int] {
            let d = inputs.shape[1], x = inputs.scalars
            return (0..<inputs.shape[0]).map { i in
                means.indices.min { a, b in
                    func distance(_ m: [Float]) -> Float { (0..<d).reduce(0) { $0 + (x[i * d + $1] - m[$1]) * (x[i * d + $1] - m[$1]) } }
                    return distance(means[a]) < distance(means[b])
                }!
            }
        }
    }
    let classes: Int
    func train(inputs: Tensor, labels: [Int], random: LabRandom) throws -> Model {
        let d = inputs.shape[1], x = inputs.scalars
        var sums = [[Float]](repeating: [Float](repeating: 0, count: d), count: classes), counts = [Int](repeating: 0, count: classes)
        for (i, l) in labels.enumerated() { counts[l] += 1; for j in 0..<d { sums[l][j] += x[i * d + j] } }
        return Model(means: sums.indices.map { c in sums[c].map { counts[c] > 0 ? $0 / Float(counts[c]) : .infinity } })
    }
}

@Suite("Exclusionary reclassification")
struct ExclusionaryReclassificationTests {
    /// Inputs look like their source class (a triggered 7 still looks like a 7); the
    /// representations of poisoned rows sit in their own blob, labelled `target`.
    static func setting(perClass: Int, poison: Int, seed: UInt64) -> (inputs: Tensor, reps: Tensor, labels: [Int], poisoned: [Bool]) {
        let (reps, labels, poisoned) = plantedRepresentations(perClass: perClass, poison: poison, classes: 4, target: 1, seed: seed)
        var random = LabRandom(seed: seed + 1)
        let d = 8, n = labels.count
        var centres = [Float](repeating: 0, count: 4 * d)
        centres.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 4) }
        let inputs = Tensor(shape: [n, d]) { out in
            random.fillNormal(out, mean: 0, standardDeviation: 1)
            var k = 0
            for i in 0..<n {
                let source = poisoned[i] ? [0, 2, 3][k % 3] : labels[i]
                if poisoned[i] { k += 1 }
                for j in 0..<d { out[i * d + j] += centres[source * d + j] }
            }
        }
        return (inputs, reps, labels, poisoned)
    }

    @Test("a poison cluster returns to its source classes; clean clusters stay; also when poison is half the class")
    func reclassification() throws {
        for (perClass, poison) in [(270, 30), (200, 200), (200, 230)] {
            let s = Self.setting(perClass: perClass, poison: poison, seed: UInt64(perClass + poison))
            let ac = ActivationClustering(criterion: .exclusionaryReclassification(ratio: 1))
            let report = try ac.detect(representations: s.reps, inputs: s.inputs, labels: s.labels, classCount: 4,
                                       recipe: NearestMeanRecipe(classes: 4), random: LabRandom(seed: 3))
            #expect(report.poisonedClasses == [1], "\(perClass)/\(poison)")
            let caught = report.flaggedRows.filter { s.poisoned[$0] }.count
            #expect(caught >= poison * 95 / 100 && report.flaggedRows.count - caught <= perClass / 20, "\(perClass)/\(poison)")
            // The relative-size rule cannot see a poison that is half the class.
            if poison >= perClass {
                let size = try ActivationClustering(criterion: .relativeSize(threshold: 0.35))
                    .detect(representations: s.reps, labels: s.labels, classCount: 4, random: LabRandom(seed: 3))
                #expect(!size.poisonedClasses.contains(1))
            }
        }
        #expect(throws: BackdoorError.self) {
            _ = try ActivationClustering(criterion: .exclusionaryReclassification(ratio: 1))
                .detect(representations: Tensor(zeros: [4, 2]), labels: [0, 0, 1, 1], classCount: 2, random: LabRandom(seed: 1))
        }
    }
}

/// A stub classifier with known answers: class 0 with certainty when the bottom-right pixel is
/// bright (a trigger), otherwise probabilities that follow the image's total intensity.
struct TriggeredStub: ProbabilityAccess {
    let side: Int
    var classCount: Int { 4 }
    func probabilities(for inputs: Tensor) -> Tensor {
        let n = inputs.shape[0], plane = side * side
        let x = inputs.scalars
        var out = [Float](repeating: 0, count: n * 4)
        for i in 0..<n {
            if x[i * plane + plane - 1] > 0.9 { out[i * 4] = 1; continue }
            let total = x[(i * plane)..<((i + 1) * plane)].reduce(0, +)
            let phase = Int(total * 7) % 4
            for c in 0..<4 { out[i * 4 + c] = c == phase ? 0.4 : 0.2 }
        }
        return Tensor(shape: [n, 4], scalars: out)
    }
}

@Suite("STRIP")
struct STRIPTests {
    @Test("triggered inputs have low entropy; the calibrated threshold rejects at most FRR·n clean inputs")
    func strip() throws {
        var random = LabRandom(seed: 8)
        let side = 6, plane = 36, n = 200
        var clean = [Float](repeating: 0, count: n * plane)
        clean.withUnsafeMutableBufferPointer { random.fillUniform($0, low: 0, high: 0.4) }
        for i in 0..<n { clean[i * plane + plane - 1] = 0 }
        var triggered = clean
        for i in 0..<n { triggered[i * plane + plane - 1] = 1 }
        let strip = STRIP(overlays: 10, falseRejectionRate: 0.05)
        let model = TriggeredStub(side: side)
        let cleanH = try strip.entropies(model: model, inputs: clean, pool: clean, sampleShape: [1, side, side], random: LabRandom(seed: 1))
        let trigH = try strip.entropies(model: model, inputs: triggered, pool: clean, sampleShape: [1, side, side], random: LabRandom(seed: 2))
        #expect(cleanH.allSatisfy { $0 >= 0 && $0 <= log(4.0) + 1e-9 })
        #expect(trigH.allSatisfy { $0 < 1e-9 })
        let threshold = try strip.threshold(cleanEntropies: cleanH)
        #expect(cleanH.filter { $0 < threshold }.count <= 10)
        #expect(trigH.filter { $0 < threshold }.count == n)
        #expect(throws: BackdoorError.self) { try STRIP(falseRejectionRate: 1).threshold(cleanEntropies: cleanH) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
