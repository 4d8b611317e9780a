import AttackMetrics
import Codecs
import Datasets
import ExperimentKinds
import ExperimentReports
import ExperimentRunning
import ExperimentStore
import ExperimentTestSupport
import Foundation
import LabRandom
import MembershipInference
import ModelImport
import NeuralNetworks
import Testing

/// A model trained outside the lab (a PyTorch state dict and its layer list) as the target of
/// membership-inference, evasion and MI-Face specs: loaded, not trained; audited with its given
/// membership and lab-trained references; its files in the trial key; bad input named.
@Suite("Imported models as spec targets")
struct ImportedTargetTests {
    let runner = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self), AnyExperimentKind(MembershipInferenceKind.self),
                                          AnyExperimentKind(EvasionKind.self), AnyExperimentKind(ModelInversionKind.self)])

    static let features = 12, classes = 3, records = 300

    /// The architecture of the target: 12 → 32 → 3 with tanh, as PyTorch's layer list.
    static func architecture(hidden: Int = 32, inputs: Int = features) -> PyTorchArchitecture {
        PyTorchArchitecture(inputShape: [inputs], layers: [.linear(inFeatures: inputs, outFeatures: hidden), .tanh,
                                                            .linear(inFeatures: hidden, outFeatures: classes)])
    }

    static func layersJSON(_ architecture: PyTorchArchitecture) throws -> String {
        String(decoding: try JSONEncoder().encode(architecture), as: UTF8.self)
    }

    /// Overlapping Gaussian classes (an overfit model separates its members by loss), a target
    /// trained on `memberCount` random records with `ImportedModelRecipe`, and the files a
    /// PyTorch user would write: features, labels, state dict, layer list, members.
    struct Fixture {
        let workspace: Workspace
        let data: LabeledData
        let isMember: [Bool]
        let model: ImportedModel

        init(memberCount: Int = 100, epochs: Int = 60, trained: Bool = true) throws {
            workspace = try Workspace()
            var stream = LabRandom(seed: 11).stream("data")
            data = SyntheticDatasets.gaussianMixture(samples: ImportedTargetTests.records, features: ImportedTargetTests.features,
                                                     classes: ImportedTargetTests.classes, separation: 1, using: &stream)
            var pick = LabRandom(seed: 11).stream("members")
            let chosen = Set(pick.sampleWithoutReplacement(memberCount, from: data.count))
            isMember = (0..<data.count).map(chosen.contains)
            let architecture = ImportedTargetTests.architecture()
            if trained {
                let members = data.subset(chosen.sorted())
                model = try ImportedModelRecipe(architecture: architecture, configuration: TrainingConfiguration(epochs: epochs, batchSize: 16, learningRate: 0.01))
                    .train(inputs: members.featureTensor, labels: members.intLabels, random: LabRandom(seed: 12))
            } else {
                model = try ImportedModel(architecture: architecture, random: LabRandom(seed: 12))
            }
            try save("x.npy", NumpyArray(shape: [data.count, ImportedTargetTests.features], values: data.features))
            try save("y.npy", NumpyArray(shape: [data.count], values: data.intLabels))
            try save("members.npy", NumpyArray(shape: [data.count], values: isMember.map { $0 ? 1 : 0 }))
            try model.stateDictData().write(to: workspace.url.appendingPathComponent("target.safetensors"))
            _ = try workspace.write("layers.json", ImportedTargetTests.layersJSON(architecture))
        }

        func save(_ name: String, _ array: NumpyArray) throws {
            try array.npyData().write(to: workspace.url.appendingPathComponent(name))
        }

        func spec(methods: String = "[loss]", attack: String = "", model: String = "epochs: 3, batch_size: 16",
                  extra: String = "", data: String = "{features: x.npy, labels: y.npy, classes: 3}") throws -> URL {
            try workspace.write("s.yaml", """
                version: 1
                name: imported
                kind: membership-inference
                seed: 5
                data: \(data)
                model: {checkpoint: target.safetensors, layers: layers.json, members: members.npy, \(model)}
                attack: {methods: \(methods), reference_models: 2\(attack)}
                \(extra)
                """)
        }

        /// The fraction of `indices` the model labels correctly, computed here from its logits.
        func accuracy(_ indices: [Int]) -> Double {
            let subset = data.subset(indices)
            let predicted = model.predictedLabels(for: subset.featureTensor)
            return Double(zip(predicted, subset.intLabels).filter { $0 == $1 }.count) / Double(indices.count)
        }
    }

    func metric(_ summary: ExperimentRunner.Summary, _ name: String) throws -> Double {
        try #require(summary.trials[0].metrics.first { $0.name == name }, "missing \(name)").value
    }

    /// The error a run (planning or trial) stops with.
    func failure(_ url: URL, _ w: Workspace, kinds: ExperimentRunner? = nil) async -> String {
        do { _ = try await (kinds ?? runner).run(specURL: url, options: w.options(jobs: 1)); return "(no error)" } catch { return "\(error)" }
    }

    @Test("the imported target is audited as loaded: its accuracies are its own, audited records follow its membership, the loss attack sees its overfitting")
    func auditsTheLoadedTarget() async throws {
        let f = try Fixture()
        let summary = try await runner.run(specURL: try f.spec(), options: f.workspace.options(jobs: 1))
        let members = f.isMember.indices.filter { f.isMember[$0] }, outside = f.isMember.indices.filter { !f.isMember[$0] }
        #expect(try metric(summary, "target.train_accuracy") == f.accuracy(members))
        #expect(try metric(summary, "target.test_accuracy") == f.accuracy(outside))
        #expect(f.accuracy(members) > f.accuracy(outside) + 0.1, "the fixture's target should overfit")
        #expect(try metric(summary, "target.training_records") == 100)
        // Defaults: half of the members and half of the non-members are audited.
        #expect(try metric(summary, "target.members") == 50 && metric(summary, "target.non_members") == 100)
        #expect(try metric(summary, "loss.auc") > 0.65)

        // Every audited member is a record the members file marks 1, every non-member one it marks 0.
        let store = try ResultStore(url: f.workspace.url.appendingPathComponent("runs/store.sqlite"))
        let folder = f.workspace.url.appendingPathComponent("scores")
        _ = try ScoreExport.write(runID: summary.run.id, store: store, to: folder)
        func read(_ name: String) throws -> NumpyArray {
            try NumpyArray(npy: InputFile.read(folder.appendingPathComponent(name), maximumBytes: 1 << 20))
        }
        let audited = try read("indices.npy").integers(), labels = try read("members.npy").booleans()
        #expect(audited.count == 150 && Set(audited).count == 150)
        #expect(zip(audited, labels).allSatisfy { f.isMember[$0] == $1 })
        // The lab trained no target: no model artifact at all for a loss-only audit.
        #expect(try store.outcome(runID: summary.run.id, index: 0).artifacts.allSatisfy { !$0.role.contains("model") })
    }

    @Test("reference and shadow models train in the lab with ImportedModelRecipe and the spec's recipe, on the design's halves")
    func referencesFollowTheRecipe() async throws {
        let f = try Fixture()
        let spec = try f.spec(methods: "[lira, shadow]", attack: ", shadow: {models: 2, model: {epochs: 2}, hidden_units: 0, epochs: 5}",
                              model: "epochs: 3, batch_size: 16, learning_rate: 0.01")
        let summary = try await runner.run(specURL: spec, options: f.workspace.options(jobs: 2))
        #expect(try metric(summary, "lira.auc") >= 0 && metric(summary, "shadow.auc") >= 0)
        let store = try ResultStore(url: f.workspace.url.appendingPathComponent("runs/store.sqlite"))
        let artifacts = try store.outcome(runID: summary.run.id, index: 0).artifacts
        #expect(artifacts.filter { $0.role.hasPrefix("reference-model-") }.count == 2)
        #expect(artifacts.filter { $0.role.hasPrefix("shadow-model-") }.count == 2)

        // Reference 0, retrained here from the design the kind documents (stream "design", then
        // the recipe from stream "reference/0"), is bit for bit the stored one.
        let random = LabRandom(seed: summary.trials[0].seed)
        var designStream = random.stream("design")
        let design = MembershipDesign.auditing(knownMembership: f.isMember, targetMemberCount: 50, targetNonMemberCount: 100,
                                               referenceModels: 2, online: true, using: &designStream)
        let set = design.referenceMasks.members(ofModel: 0)
        let subset = f.data.subset(set)
        let expected = try ImportedModelRecipe(architecture: Self.architecture(),
                                               configuration: TrainingConfiguration(epochs: 3, batchSize: 16, learningRate: 0.01))
            .train(inputs: subset.featureTensor, labels: subset.intLabels, random: random.stream("reference/0"))
        let key = try #require(artifacts.first { $0.role == "reference-model-0" }).key
        let stored = try Sequential(checkpoint: try #require(try ArtifactCache.verifiedData(key: key, store: store)), source: key)
        #expect(stored.parameters.map(\.scalars) == expected.parameters.map(\.scalars))
    }

    @Test("one changed byte of the checkpoint is a new trial: recomputed, never reused")
    func checkpointBytesAreInTheKey() async throws {
        let f = try Fixture(epochs: 5)
        let spec = try f.spec()
        let first = try await runner.run(specURL: spec, options: f.workspace.options(jobs: 1))
        #expect(try await runner.run(specURL: spec, options: f.workspace.options(jobs: 1)).computed == 0)
        // The last byte of the file is the low mantissa byte of the last bias: still a valid model.
        let url = f.workspace.url.appendingPathComponent("target.safetensors")
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count - 4] ^= 1
        try Data(bytes).write(to: url)
        let changed = try await runner.run(specURL: spec, options: f.workspace.options(jobs: 1))
        #expect(changed.computed == 1 && changed.trials[0].trialKey != first.trials[0].trialKey)
        // The members file is in the key too.
        var mask = f.isMember
        mask[0].toggle()
        try f.save("members.npy", NumpyArray(shape: [mask.count], values: mask))
        let remasked = try await runner.run(specURL: spec, options: f.workspace.options(jobs: 1))
        #expect(remasked.computed == 1 && remasked.trials[0].trialKey != changed.trials[0].trialKey)
    }

    @Test("spec errors: lab-architecture keys, DP, limits and scaling beside a checkpoint; kinds that train their model")
    func specErrors() throws {
        let f = try Fixture(trained: false)
        func planError(_ url: URL) -> String {
            do { _ = try runner.plan(specText: String(contentsOf: url, encoding: .utf8), file: url.path, overrides: []); return "(no error)" }
            catch { return "\(error)" }
        }
        // Each case rewrites s.yaml, so each is planned as soon as it is written.
        let cases: [(() throws -> URL, String)] = [
            ({ try f.spec(model: "architecture: mlp") }, "model.architecture: describes an architecture for the lab to build, but checkpoint names an imported model"),
            ({ try f.spec(model: "hidden: [8]") }, "model.hidden: describes an architecture"),
            ({ try f.spec(extra: "privacy: {epsilon: 2}") }, "privacy: trains the target with DP-SGD, but model.checkpoint names a target trained outside the lab"),
            ({ try f.spec(data: "{features: x.npy, labels: y.npy, limit: 100}") }, "data.limit: the members file (model.members) gives one 0/1 per record"),
            ({ try f.spec(data: "{features: x.npy, labels: y.npy, scaling: standard}") }, "data.scaling: an imported model sees the records as they are stored"),
            ({ try f.spec(attack: ", shadow: {model: {checkpoint: other.safetensors}}") }, "attack.shadow.model.checkpoint: the shadow models train in the lab"),
        ]
        for (write, message) in cases {
            let error = planError(try write())
            #expect(error.contains(message), "\(error)")
        }
        let noMembers = try f.workspace.write("n.yaml", """
            version: 1
            name: n
            kind: membership-inference
            seed: 1
            data: {features: x.npy, labels: y.npy}
            model: {checkpoint: target.safetensors, layers: layers.json}
            """)
        #expect(planError(noMembers).contains("model.members: is required"))
        let train = try f.workspace.write("t.yaml", """
            version: 1
            name: t
            kind: train
            seed: 1
            data: {features: x.npy, labels: y.npy}
            model: {checkpoint: target.safetensors, layers: layers.json}
            """)
        #expect(planError(train).contains("model.checkpoint: names a model trained outside the lab, but this kind trains its own model"))
        let defended = try f.workspace.write("e.yaml", """
            version: 1
            name: e
            kind: evasion
            seed: 1
            data: {features: x.npy, labels: y.npy}
            model: {checkpoint: target.safetensors, layers: layers.json}
            defence: {method: adversarial-training, epsilon: 0.1}
            """)
        #expect(planError(defended).contains("defence.method: adversarial-training trains the model, but model.checkpoint names a model trained outside the lab"))
        let membersInEvasion = try f.workspace.write("m.yaml", """
            version: 1
            name: m
            kind: evasion
            seed: 1
            data: {features: x.npy, labels: y.npy}
            model: {checkpoint: target.safetensors, layers: layers.json, members: members.npy}
            """)
        #expect(planError(membersInEvasion).contains("model.members: is read only by membership-inference"))
    }

    @Test("input errors name the file and the field: members of the wrong length or not 0/1, a checkpoint for other records, a tensor of another shape")
    func inputErrors() async throws {
        let f = try Fixture(trained: false)
        let spec = try f.spec()
        let members = f.workspace.url.appendingPathComponent("members.npy").path

        try f.save("members.npy", NumpyArray(shape: [Self.records - 1], values: [Int](repeating: 1, count: Self.records - 1)))
        var error = await failure(spec, f.workspace)
        #expect(error.contains("\(members) (model.members): expected shape (300,) — one 0/1 per record of the data — got (299,)"), "\(error)")

        try f.save("members.npy", NumpyArray(shape: [Self.records], values: (0..<Self.records).map { $0 % 3 }))
        error = await failure(spec, f.workspace)
        #expect(error.contains("\(members) (model.members): a membership mask must be 0/1"), "\(error)")

        try f.save("members.npy", NumpyArray(shape: [Self.records], values: [Int](repeating: 1, count: Self.records)))
        error = await failure(spec, f.workspace)
        #expect(error.contains("all 300 records are members"), "\(error)")

        // A model of 13 inputs for records of 12 features.
        try f.save("members.npy", NumpyArray(shape: [Self.records], values: f.isMember))
        let wide = Self.architecture(inputs: Self.features + 1)
        try ImportedModel(architecture: wide, random: LabRandom(seed: 1)).stateDictData()
            .write(to: f.workspace.url.appendingPathComponent("target.safetensors"))
        _ = try f.workspace.write("layers.json", Self.layersJSON(wide))
        let layers = f.workspace.url.appendingPathComponent("layers.json").path
        error = await failure(spec, f.workspace)
        #expect(error.contains("\(layers) (input_shape): the model takes records of shape [13], but the data"), "\(error)")
        #expect(error.contains("hold records of shape [12]"), "\(error)")

        // A layer list whose hidden layer is wider than the checkpoint's.
        try f.model.stateDictData().write(to: f.workspace.url.appendingPathComponent("target.safetensors"))
        _ = try f.workspace.write("layers.json", Self.layersJSON(Self.architecture(hidden: 40)))
        error = await failure(spec, f.workspace)
        let checkpoint = f.workspace.url.appendingPathComponent("target.safetensors").path
        #expect(error.contains("\(checkpoint): 0.weight: has shape [32, 12] in the file but Linear at layers[0] needs [40, 12]"), "\(error)")

        // The layer list can be given inline; a bad one is a spec error naming its field.
        let inline = try f.spec(model: "layers: {input_shape: [12], layers: [{type: Linear, in_features: 12, out_features: 32}, {type: Tanhh}]}")
        let text = try String(contentsOf: inline, encoding: .utf8).replacingOccurrences(of: "layers: layers.json, ", with: "")
        _ = try f.workspace.write("s.yaml", text)
        error = await failure(inline, f.workspace)
        #expect(error.contains("model.layers: layers[1].type"), "\(error)")
    }

    @Test("evasion attacks an imported model as it is; MI-Face inverts one")
    func evasionAndInversion() async throws {
        let f = try Fixture(epochs: 20)
        let evasion = try f.workspace.write("e.yaml", """
            version: 1
            name: e
            kind: evasion
            seed: 1
            data: {features: x.npy, labels: y.npy, test_features: x.npy, test_labels: y.npy}
            model: {checkpoint: target.safetensors, layers: layers.json}
            attack: {methods: [fgsm, pgd], epsilons: [0, 2], steps: 5, step_size: 0.5, clip: [-100, 100], examples: 100}
            """)
        let summary = try await runner.run(specURL: evasion, options: f.workspace.options(jobs: 1))
        let all = f.accuracy(Array(0..<Self.records))
        #expect(try metric(summary, "target.test_accuracy") == all)
        #expect(try metric(summary, "target.clean_accuracy") == f.accuracy(Array(0..<100)))
        #expect(try metric(summary, "fgsm.robust_accuracy@0.0") == metric(summary, "target.clean_accuracy"))
        #expect(try metric(summary, "pgd.robust_accuracy@2.0") < metric(summary, "target.clean_accuracy") - 0.2)

        // MI-Face on 8×8 pattern images with an untrained imported softmax regression; the
        // evaluator (an MLP, as the default lab architecture) trains in the lab.
        let images = PyTorchArchitecture(inputShape: [1, 8, 8], layers: [.flatten, .linear(inFeatures: 64, outFeatures: 3)])
        try ImportedModel(architecture: images, random: LabRandom(seed: 2)).stateDictData()
            .write(to: f.workspace.url.appendingPathComponent("faces.safetensors"))
        _ = try f.workspace.write("faces.json", Self.layersJSON(images))
        let inversion = try f.workspace.write("i.yaml", """
            version: 1
            name: i
            kind: model-inversion
            seed: 1
            data: {dataset: synthetic-patterns, samples_per_class: 8, classes: 3, side: 8}
            model: {checkpoint: faces.safetensors, layers: faces.json}
            attack: {method: mi-face, max_iterations: 20, patience: 5, evaluator: {architecture: mlp, hidden: [8], epochs: 2}}
            """)
        let inverted = try await runner.run(specURL: inversion, options: f.workspace.options(jobs: 1))
        #expect(try metric(inverted, "mi_face.targets") == 3)
        #expect(inverted.trials[0].metrics.contains { $0.name == "target.test_accuracy" })
        #expect(!inverted.trials[0].metrics.contains { $0.name == "target.train_accuracy" })
    }
}
