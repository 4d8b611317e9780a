import Foundation
import LabRandom
import ModelAccess
import Tensors
import Testing

/// A model that is not a network of the lab: two features through a tanh hidden layer of three
/// units to three classes, z = W₂·tanh(W₁·x + b₁) + b₂, written with tensor operations. It states
/// only the forward pass; every other answer comes from `ModelAccess`'s defaults.
struct TanhModel: DifferentiableModel, InputGradientAccess, LogitGradientAccess {
    let parameters: [Tensor]
    var parameterNames: [String] { ["hidden.weight", "hidden.bias", "head.weight", "head.bias"] }
    var inputShape: [Int] { [2] }
    var classCount: Int { 3 }

    init(seed: UInt64, scale: Float = 1) {
        var stream = LabRandom(seed: seed).stream("parameters")
        parameters = [[3, 2], [3], [3, 3], [3]].map { shape in
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in scale * Float(stream.nextNormal()) })
        }
    }

    init(parameters: [Tensor]) { self.parameters = parameters }

    func logits(for inputs: Tensor, parameters: [Tensor]) -> Tensor {
        let hidden = (Tensor.matmul(inputs, parameters[0], transposeB: true) + parameters[1]).tanh()
        return Tensor.matmul(hidden, parameters[2], transposeB: true) + parameters[3]
    }

    func logits(for inputs: Tensor) -> Tensor { logits(for: inputs, parameters: parameters) }
}

/// A model whose logits are the inputs themselves: answers chosen by the test.
struct EchoModel: LogitAccess, LossAccess {
    let classCount: Int
    func logits(for inputs: Tensor) -> Tensor { inputs }
}

/// log Σⱼ exp zⱼ in double precision, shifted by the maximum.
private func logSumExp(_ z: [Float]) -> Double {
    let m = Double(z.max()!)
    return m + log(z.reduce(0) { $0 + exp(Double($1) - m) })
}

private func batch(_ rows: [[Float]]) -> Tensor {
    Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })
}

@Suite("ModelAccess: the defaults every model gets from its forward pass")
struct ModelAccessTests {
    static let inputs = batch([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.9], [0.0, 0.0]])
    static let labels = [0, 2, 1, 1]

    @Test("probabilities are the softmax of the logits, each row sums to 1, and the label is the largest logit")
    func probabilitiesAndLabels() {
        let model = TanhModel(seed: 1)
        let z = model.logits(for: Self.inputs), p = model.probabilities(for: Self.inputs)
        #expect(p.shape == [4, 3])
        for row in 0..<4 {
            let zr = Array(z.scalars[3 * row..<3 * row + 3]), pr = Array(p.scalars[3 * row..<3 * row + 3])
            let lse = logSumExp(zr)
            for j in 0..<3 { #expect(abs(Double(pr[j]) - exp(Double(zr[j]) - lse)) < 1e-6) }
            #expect(abs(pr.reduce(0, +) - 1) < 1e-6)
            #expect(model.predictedLabels(for: Self.inputs)[row] == zr.indices.max { zr[$0] < zr[$1] })
        }
    }

    @Test("the predicted label is the first of tied largest logits")
    func ties() {
        let model = EchoModel(classCount: 3)
        #expect(model.predictedLabels(for: batch([[1, 5, 5], [7, 7, 7], [0, 0, 2]])) == [1, 0, 2])
    }

    @Test("losses are log Σ exp z − z_y, finite for logits far beyond exp's range")
    func losses() {
        let model = EchoModel(classCount: 3)
        let rows: [[Float]] = [[1, 2, 3], [1000, -1000, 0], [-500, -501, -499]]
        let labels = [0, 1, 2]
        let losses = model.losses(for: batch(rows), labels: labels)
        for (i, row) in rows.enumerated() {
            let expected = logSumExp(row) - Double(row[labels[i]])
            #expect(losses[i].isFinite)
            #expect(abs(Double(losses[i]) - expected) <= 1e-5 * max(1, abs(expected)))
        }
    }

    @Test("parameter gradients of the mean loss match central finite differences, with the parameters' shapes")
    func parameterGradients() {
        let model = TanhModel(seed: 2)
        let (meanLoss, gradients) = model.lossAndParameterGradients(for: Self.inputs, labels: Self.labels)
        let losses = model.losses(for: Self.inputs, labels: Self.labels)
        #expect(abs(meanLoss - losses.reduce(0, +) / 4) < 1e-6)
        #expect(gradients.map(\.shape) == model.parameters.map(\.shape))
        #expect(model.parameterScalarCount == 6 + 3 + 9 + 3)
        let h: Float = 1e-2
        for (t, tensor) in model.parameters.enumerated() {
            for k in 0..<tensor.scalarCount {
                func loss(_ delta: Float) -> Float {
                    var p = model.parameters
                    var s = p[t].scalars
                    s[k] += delta
                    p[t] = Tensor(shape: p[t].shape, scalars: s)
                    return TanhModel(parameters: p).lossAndParameterGradients(for: Self.inputs, labels: Self.labels).meanLoss
                }
                let numeric = (loss(h) - loss(-h)) / (2 * h)
                #expect(abs(gradients[t].scalars[k] - numeric) < 2e-3, "\(model.parameterNames[t])[\(k)]")
            }
        }
        // The gradient is that of the mean, not of the sum: a batch of two copies of one example
        // has the gradient of that example alone.
        let one = batch([[0.3, -1.2]]), two = batch([[0.3, -1.2], [0.3, -1.2]])
        let g1 = model.parameterGradients(for: one, labels: [0]), g2 = model.parameterGradients(for: two, labels: [0, 0])
        for (a, b) in zip(g1, g2) {
            for (x, y) in zip(a.scalars, b.scalars) { #expect(abs(x - y) < 1e-6) }
        }
    }

    @Test("input gradients are per example and match central finite differences")
    func inputGradients() {
        let model = TanhModel(seed: 3)
        let g = model.inputGradients(for: Self.inputs, labels: Self.labels)
        #expect(g.shape == Self.inputs.shape)
        let h: Float = 1e-2
        for i in 0..<4 {
            for j in 0..<2 {
                func loss(_ delta: Float) -> Float {
                    var s = Array(Self.inputs.scalars[2 * i..<2 * i + 2])
                    s[j] += delta
                    return model.losses(for: Tensor(shape: [1, 2], scalars: s), labels: [Self.labels[i]])[0]
                }
                #expect(abs(g.scalars[2 * i + j] - (loss(h) - loss(-h)) / (2 * h)) < 2e-3)
            }
        }
        // The same example alone has the same gradient as in the batch.
        let alone = model.inputGradients(for: batch([[1.5, 0.4]]), labels: [2])
        #expect(alone.scalars.map(\.bitPattern) == Array(g.scalars[2..<4]).map(\.bitPattern))
    }

    @Test("the logit vector–Jacobian product with softmax(z) − onehot(y) is the input gradient of the loss")
    func logitGradientLaw() {
        let model = TanhModel(seed: 4)
        let (z, viaLogits) = model.logitsAndInputGradients(for: Self.inputs) { z in
            let p = z.softmax().scalars
            return Tensor(shape: z.shape, scalars: p.enumerated().map { k, v in v - (Self.labels[k / 3] == k % 3 ? 1 : 0) })
        }
        #expect(z.scalars.map(\.bitPattern) == model.logits(for: Self.inputs).scalars.map(\.bitPattern))
        let direct = model.inputGradients(for: Self.inputs, labels: Self.labels)
        for (a, b) in zip(viaLogits.scalars, direct.scalars) { #expect(abs(a - b) < 1e-6) }
        // A cotangent of zeros gives a zero gradient; one picking class 0 gives ∂z₀/∂x.
        let (_, zero) = model.logitsAndInputGradients(for: Self.inputs) { Tensor(shape: $0.shape, scalars: [Float](repeating: 0, count: $0.scalarCount)) }
        #expect(zero.scalars.allSatisfy { $0 == 0 })
    }

    @Test("queries the model cannot answer are described by what is wrong")
    func errors() {
        let names = (0..<20).map { "layer\($0)" }
        let unknown = ModelAccessError.unknownLayer(name: "conv9", available: names).description
        #expect(unknown.contains("'conv9'") && unknown.contains("layer0") && unknown.contains("layer19") && !unknown.contains("layer10"))
        #expect(ModelAccessError.unknownLayer(name: "x", available: ["a", "b"]).description.hasSuffix("the layers are a, b"))
        #expect(ModelAccessError.inputShape(expected: [1, 28, 28], got: [5, 784]).description.contains("[1, 28, 28]"))
        #expect(ModelAccessError.parameterShapes(expected: [[3, 2]], got: [[2, 3]]).description.contains("[[2, 3]]"))
    }
}
