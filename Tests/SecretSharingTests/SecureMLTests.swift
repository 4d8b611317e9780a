import Foundation
import SecretSharing
import Testing

/// A generated binary classification set: two Gaussian classes along a random direction, with a
/// fraction of flipped labels; features standardized. Stand-ins for breast-cancer and Adult
/// until the dataset loaders land.
struct GeneratedClassification {
    let features: [Double]
    let labels: [Double]
    let rows: Int
    let columns: Int

    init(rows: Int, columns: Int, separation: Double, flip: Double, positive: Double, seed: UInt64) {
        var rng = TestRandom(seed: seed)
        var direction = (0..<columns).map { _ in rng.normal() }
        let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
        direction = direction.map { $0 / norm }
        var x = [Double](repeating: 0, count: rows * columns)
        var y = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            let label = rng.uniform(0, 1) < positive ? 1.0 : 0.0
            for j in 0..<columns {
                x[i * columns + j] = rng.normal() + (label - 0.5) * separation * direction[j]
            }
            y[i] = rng.uniform(0, 1) < flip ? 1 - label : label
        }
        for j in 0..<columns {
            var mean = 0.0, sq = 0.0
            for i in 0..<rows { mean += x[i * columns + j] }
            mean /= Double(rows)
            for i in 0..<rows { sq += (x[i * columns + j] - mean) * (x[i * columns + j] - mean) }
            let sd = (sq / Double(rows)).squareRoot()
            for i in 0..<rows { x[i * columns + j] = (x[i * columns + j] - mean) / sd }
        }
        features = x; labels = y; self.rows = rows; self.columns = columns
    }

    func split(_ trainRows: Int) -> (train: ([Double], [Double]), test: ([Double], [Double])) {
        let d = columns
        return ((Array(features[0..<(trainRows * d)]), Array(labels[0..<trainRows])),
                (Array(features[(trainRows * d)...]), Array(labels[trainRows...])))
    }
}

@Suite("Secure ML against plaintext")
struct SecureMLTests {
    func compare(_ data: GeneratedClassification, trainRows: Int, parameters: LogisticRegressionParameters) throws {
        let ((xTrain, yTrain), (xTest, yTest)) = data.split(trainRows)
        try compareLogisticRegression(
            xTrain: xTrain, yTrain: yTrain, xTest: xTest, yTest: yTest, columns: data.columns,
            parameters: parameters)
    }

    @Test("secure logistic regression matches plaintext test accuracy within 1 point (breast-cancer-sized set)")
    func breastCancerSized() throws {
        let data = GeneratedClassification(rows: 569, columns: 30, separation: 2.5, flip: 0.03, positive: 0.37, seed: 569)
        try compare(data, trainRows: 455, parameters: LogisticRegressionParameters(epochs: 5, batchSize: 50, learningRate: 0.5))
    }

    @Test("secure logistic regression matches plaintext test accuracy within 1 point (Adult-like set)")
    func adultLike() throws {
        let data = GeneratedClassification(rows: 2500, columns: 14, separation: 1.6, flip: 0.1, positive: 0.24, seed: 48842)
        try compare(data, trainRows: 2000, parameters: LogisticRegressionParameters(epochs: 2, batchSize: 100, learningRate: 0.5))
    }

    @Test("MLP inference on secret inputs and weights matches plaintext logits and classes")
    func mlpInference() throws {
        var rng = TestRandom(seed: 77)
        let (n, input, hidden, classes) = (60, 20, 16, 4)
        let x = rng.values(n * input, -2, 2)
        let w1 = rng.values(input * hidden, -0.5, 0.5), b1 = rng.values(hidden, -0.1, 0.1)
        let w2 = rng.values(hidden * classes, -0.5, 0.5), b2 = rng.values(classes, -0.1, 0.1)
        struct Out: Sendable, Equatable { var logits: [Double]; var classes: [Double] }
        let out = try mpc(parties: 3) { p in
            // Party 0 owns the model, party 1 the inputs.
            func param(_ v: [Double], _ shape: [Int]) throws -> SecretTensor {
                try p.share(p.index == 0 ? v : nil, shape: shape, owner: 0)
            }
            let mlp = SecureMultilayerPerceptron(layers: [
                SecretDenseLayer(weights: try param(w1, [input, hidden]), bias: try param(b1, [hidden])),
                SecretDenseLayer(weights: try param(w2, [hidden, classes]), bias: try param(b2, [classes])),
            ])
            let sx = try p.share(p.index == 1 ? x : nil, shape: [n, input], owner: 1)
            let logits = try mlp.logits(party: p, inputs: sx)
            return Out(logits: try p.reveal(logits), classes: try p.reveal(try p.argmax(logits)))
        }
        for i in 0..<n {
            var h = [Double](repeating: 0, count: hidden)
            for j in 0..<hidden {
                var s = b1[j]
                for t in 0..<input { s += x[i * input + t] * w1[t * hidden + j] }
                h[j] = max(0, s)
            }
            var logits = [Double](repeating: 0, count: classes)
            for c in 0..<classes {
                var s = b2[c]
                for j in 0..<hidden { s += h[j] * w2[j * classes + c] }
                logits[c] = s
            }
            for c in 0..<classes { #expect(abs(out.logits[i * classes + c] - logits[c]) < 2e-3) }
            let sorted = logits.sorted(by: >)
            if sorted[0] - sorted[1] > 5e-3 {
                #expect(out.classes[i] == Double(logits.firstIndex(of: sorted[0])!))
            }
        }
    }
}

struct LogisticOutcome: Sendable, Equatable {
    var weights: [Double]
    var bias: Double
    var testPredictions: [Bool]
}

/// Trains logistic regression under MPC (party 0 holds the features, party 1 the labels) and in
/// plaintext with the same procedure; checks test accuracy within 1 point and the weights.
func compareLogisticRegression(
    xTrain: [Double], yTrain: [Double], xTest: [Double], yTest: [Double], columns d: Int,
    parameters: LogisticRegressionParameters, minimumAccuracy: Double = 0.75
) throws {
    let trainRows = yTrain.count, testRows = yTest.count
    let plain = PlaintextLogisticRegression.train(
        features: xTrain, labels: yTrain, rows: trainRows, columns: d, parameters: parameters)
    let secure = try mpc(parties: 2) { p in
        // Party 0 holds the features, party 1 the labels (vertically partitioned data).
        let x = try p.share(p.index == 0 ? xTrain : nil, shape: [trainRows, d], owner: 0)
        let y = try p.share(p.index == 1 ? yTrain : nil, shape: [trainRows, 1], owner: 1, bound: 1)
        let model = try SecureLogisticRegression.train(party: p, features: x, labels: y, parameters: parameters)
        let xt = try p.share(p.index == 0 ? xTest : nil, shape: [testRows, d], owner: 0)
        let predictions = try p.reveal(try model.labels(party: p, features: xt))
        return LogisticOutcome(weights: try p.reveal(model.weights), bias: try p.reveal(model.bias)[0],
                               testPredictions: predictions)
    }
    let plainAccuracy = PlaintextLogisticRegression.accuracy(
        weights: plain.weights, bias: plain.bias, features: xTest, labels: yTest)
    var correct = 0
    for i in 0..<testRows where (secure.testPredictions[i] ? 1.0 : 0.0) == yTest[i] { correct += 1 }
    let secureAccuracy = Double(correct) / Double(testRows)
    #expect(abs(secureAccuracy - plainAccuracy) <= 0.01)
    #expect(plainAccuracy > minimumAccuracy)  // the task is learnable, so the comparison means something
    #expect(maxAbsDifference(secure.weights, plain.weights) < 0.05)
    #expect(abs(secure.bias - plain.bias) < 0.05)
}
