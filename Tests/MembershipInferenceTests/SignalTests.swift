import Foundation
import Testing
import LabRandom
import MembershipInference
import Tensors

@Suite("Prediction signals")
struct SignalTests {
    @Test("signals equal their textbook formulas on moderate logits")
    func formulas() throws {
        var random = LabRandom(seed: 1)
        let n = 50, c = 5
        let logits = Tensor(shape: [n, c]) { random.fillNormal($0, mean: 0, standardDeviation: 3) }
        let labels = (0..<n).map { $0 % c }
        let z = logits.scalars.map(Double.init)
        let loss = try PredictionSignal.loss.values(logits: logits, labels: labels)
        let confidence = try PredictionSignal.confidence.values(logits: logits, labels: labels)
        let phi = try PredictionSignal.scaledLogit.values(logits: logits, labels: labels)
        let entropy = try PredictionSignal.entropy.values(logits: logits, labels: labels)
        let mentr = try PredictionSignal.modifiedEntropy.values(logits: logits, labels: labels)
        for i in 0..<n {
            let row = Array(z[i * c ..< (i + 1) * c])
            let total = row.map(exp).reduce(0, +)
            let p = row.map { exp($0) / total }
            let y = labels[i]
            #expect(abs(loss[i] - (-log(p[y]))) < 1e-9)
            #expect(abs(confidence[i] - p[y]) < 1e-12)
            #expect(abs(phi[i] - log(p[y] / (1 - p[y]))) < 1e-8)
            #expect(abs(entropy[i] - (-p.map { $0 * log($0) }.reduce(0, +))) < 1e-9)
            var m = -(1 - p[y]) * log(p[y])
            for j in 0..<c where j != y { m -= p[j] * log(1 - p[j]) }
            #expect(abs(mentr[i] - m) < 1e-9)
        }
    }

    @Test("the scaled logit stays exact when the confidence rounds to 1")
    func stableScaledLogit() throws {
        // p_y = e^40 / (e^40 + 2): 1 − p_y ≈ 8.5e-18 is below Double's resolution near 1.
        let logits = Tensor(shape: [2, 3], scalars: [40, 0, 0, 0, 0, 60])
        let phi = try PredictionSignal.scaledLogit.values(logits: logits, labels: [0, 0])
        #expect(abs(phi[0] - (40 - log(2))) < 1e-12)
        #expect(abs(phi[1] - (0 - log(1 + exp(60)))) < 1e-9)
        let loss = try PredictionSignal.loss.values(logits: logits, labels: [0, 0])
        #expect(loss[0] > 0 && loss[0] < 1e-16)
        let mentr = try PredictionSignal.modifiedEntropy.values(logits: logits, labels: [0, 2])
        #expect(mentr.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    @Test("a label outside the logits' classes, or logits of the wrong shape, is a thrown error (no trap)")
    func labelsOutsideTheLogits() {
        // An imported model with 3 outputs audited on data whose labels run to 4.
        let logits = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        for signal in PredictionSignal.allCases {
            #expect(throws: MembershipInferenceError.self) { try signal.values(logits: logits, labels: [0, 4]) }
            #expect(throws: MembershipInferenceError.self) { try signal.values(logits: logits, labels: [-1, 0]) }
            #expect(throws: MembershipInferenceError.self) { try signal.values(logits: logits, labels: [0]) }
            #expect(throws: MembershipInferenceError.self) { try signal.values(logits: Tensor(zeros: [2, 0]), labels: [0, 0]) }
            #expect(throws: MembershipInferenceError.self) {
                try ThresholdAttack.scores(signal: signal, targetLogits: logits, labels: [3, 0])
            }
        }
    }

    @Test("threshold attacks orient every signal so that members score higher")
    func thresholdOrientation() throws {
        // Members (first half) are confidently right, non-members unsure.
        var table: [[Float]] = []
        for i in 0..<40 { table.append(i < 20 ? [6 + Float(i % 5), 0, 0] : [0.5 + Float(i % 5) * 0.1, 0.3, 0]) }
        let model = TableModel(table: table)
        let inputs = Tensor(shape: [40, 1], scalars: (0..<40).map(Float.init))
        let labels = [Int](repeating: 0, count: 40)
        for signal in PredictionSignal.allCases where signal != .scaledLogit {
            let scores = try ThresholdAttack.scores(signal: signal, targetLogits: model.logits(for: inputs), labels: labels)
            let worstMember = scores[0..<20].min()!, bestNonMember = scores[20...].max()!
            #expect(worstMember > bestNonMember, "\(signal)")
        }
    }
}
