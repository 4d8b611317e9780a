import Foundation
import Testing
import LabRandom
import NeuralNetworks
import Tensors

/// The network's forward pass and gradients against PyTorch, on a checkpoint PyTorch wrote
/// (scripts/nn_reference.py), and the optimizers against torch.optim trajectories.
@Suite("Agreement with PyTorch")
struct ReferenceTests {
    @Test("a CNN from a PyTorch-written safetensors file gives PyTorch's logits, loss and gradients")
    func cnnMatchesPyTorch() throws {
        let data = try Data(contentsOf: Fixtures.url("reference-cnn.safetensors"))
        let (tensors, metadata) = try Checkpoint.decode(data, source: "reference-cnn.safetensors")
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) })
        let architecture = try JSONDecoder().decode(Checkpoint.Architecture.self,
                                                    from: Data(metadata["privacy-lab.architecture"]!.utf8))
        let skeleton = try Sequential(inputShape: architecture.inputShape, layers: architecture.layers, random: LabRandom(seed: 1))
        let model = try Sequential(inputShape: skeleton.inputShape, layers: skeleton.layers,
                                   parameters: skeleton.parameterNames.map { byName[$0]! })
        let x = byName["fixture.input"]!
        let labels = byName["fixture.labels"]!.scalars.map { Int($0) }
        #expect(closeness(model(x).scalars, byName["fixture.logits"]!.scalars) <= 1)

        var none: LabRandom? = nil
        let leaves = model.parameters.map { $0.requiringGradient() }
        let input = x.requiringGradient()
        let logits = model.forward(input, parameters: leaves, random: &none)
        let loss = Loss.softmaxCrossEntropy.mean(outputs: logits, labels: labels)
        #expect(abs(loss.scalar - byName["fixture.loss"]!.scalar) < 1e-5)
        let grads = gradients(of: loss, withRespectTo: leaves + [input])
        for (name, gradient) in zip(model.parameterNames + ["input"], grads) {
            let expected = byName["fixture.grad.\(name)"]!
            #expect(gradient.shape == expected.shape)
            #expect(closeness(gradient.scalars, expected.scalars, rtol: 1e-3, atol: 1e-6) <= 1, "gradient of \(name)")
        }
    }

    struct OptimizerFixture: Decodable {
        struct Case: Decodable {
            var optimizer: String
            var options: [String: Option]
            var trajectory: [[Float]]
        }
        enum Option: Decodable {
            case number(Float), flag(Bool), pair([Float])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let b = try? c.decode(Bool.self) { self = .flag(b) } else if let v = try? c.decode(Float.self) {
                    self = .number(v)
                } else { self = .pair(try c.decode([Float].self)) }
            }
            var number: Float { if case let .number(v) = self { return v }; return .nan }
        }
        var initial: [Float]
        var curvature: [Float]
        var target: [Float]
        var cases: [Case]
    }

    @Test("SGD, momentum, Nesterov, Adam and AdamW follow torch.optim's trajectories")
    func optimizersMatchTorch() throws {
        let fixture = try JSONDecoder().decode(OptimizerFixture.self, from: Data(contentsOf: Fixtures.url("optimizers.json")))
        let c = Tensor(fixture.curvature), t = Tensor(fixture.target)
        for item in fixture.cases {
            let o = item.options
            var optimizer: any Optimizer
            switch item.optimizer {
            case "sgd":
                var nesterov = false
                if case let .flag(flag)? = o["nesterov"] { nesterov = flag }
                optimizer = SGD(momentum: o["momentum"]?.number ?? 0, nesterov: nesterov, weightDecay: o["weight_decay"]?.number ?? 0)
            case "adam", "adamw":
                var betas: [Float] = [0.9, 0.999]
                if case let .pair(pair)? = o["betas"] { betas = pair }
                let decay = o["weight_decay"]?.number ?? (item.optimizer == "adamw" ? 0.01 : 0)
                optimizer = Adam(beta1: betas[0], beta2: betas[1], epsilon: o["eps"]?.number ?? 1e-8, weightDecay: decay,
                                 decoupledWeightDecay: item.optimizer == "adamw")
            default:
                Issue.record("unknown optimizer \(item.optimizer)"); continue
            }
            var parameters = [Tensor(fixture.initial)]
            for expected in item.trajectory {
                let gradient = c * (parameters[0] - t)
                optimizer.step(parameters: &parameters, gradients: [gradient], learningRate: o["lr"]!.number)
                #expect(closeness(parameters[0].scalars, expected, rtol: 1e-5, atol: 1e-6) <= 1,
                        "\(item.optimizer) \(o.keys.sorted()): \(parameters[0].scalars) vs \(expected)")
            }
        }
    }
}
