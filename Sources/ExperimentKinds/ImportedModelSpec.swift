import Codecs
import Datasets
import ExperimentSpecs
import ExperimentStore
import Foundation
import ModelImport

/// A `model:` that names a classifier trained in PyTorch instead of describing one for the lab
/// to train: its state dict and its layer list (issue #18).
///
/// ```yaml
/// model:
///   checkpoint: target.safetensors   # safetensors.torch.save_file(model.state_dict(), "target.safetensors")
///   layers: target-layers.json       # the nn.Sequential's layer list (PyTorchArchitecture JSON), or the mapping inline
///   members: target-members.npy      # membership-inference only: (N,) 0/1, 1 = the record trained the target
///   epochs: 30                       # membership-inference only: the recipe of the lab-trained reference and shadow models
/// ```
///
/// - `checkpoint`: what `safetensors.torch.save_file(model.state_dict(), path)` writes
///   (`ImportedModel` says which tensors and dtypes).
/// - `layers`: a JSON file, or the same document inline as a mapping
///   (`{input_shape: [446], layers: [{type: Linear, in_features: 446, out_features: 128}, …]}`);
///   `PyTorchArchitecture` lists the module types and arguments.
/// - `members`: an `.npy` of one 0/1 (or bool) per record of the data, in the order the data
///   section loads them, with both values present.
///
/// Paths are relative to the spec's folder (or absolute); the content of each file is part of
/// the trial's key and of every artifact computed in the trial, so a changed checkpoint, layer
/// list or membership file is never answered from the cache. The files are read when the trial
/// runs; their errors name the file and the field (`ModelImportError`, `ImportedModelInputError`).
///
/// The model answers in evaluation mode and sees the records exactly as the data section loads
/// them: `data.scaling` is refused (scale the data as the model was trained before saving it),
/// and the per-sample shape and class count of the data must be the layer list's `input_shape`
/// and output width. The lab never trains the imported model; with `members`, the recipe keys
/// (`epochs`, `batch_size`, `optimizer`, `learning_rate`, `momentum`, `weight_decay`,
/// `schedule`) say how the reference and shadow models of the same architecture train
/// (`ImportedModelRecipe`: PyTorch's default initialisation, then the lab's trainer).
public struct ImportedModelSpec: Sendable, Equatable {
    /// Where the layer list comes from.
    public enum LayerList: Sendable, Equatable {
        case file(URL)
        /// Given in the spec; `source` names it in errors (`spec.yaml:7 model.layers`).
        case inline(PyTorchArchitecture, source: String)
    }

    /// How a kind uses an imported model.
    public enum Use: Sendable, Equatable {
        /// The kind trains its own model: `checkpoint` is an error.
        case refused
        /// The model is attacked as it is (evasion, MI-Face): `checkpoint` and `layers` only.
        case attacked
        /// The model's membership is audited: `members` is required, and the recipe keys train
        /// the reference models.
        case audited
    }

    public var checkpoint: URL
    public var layers: LayerList
    /// The target's training records, as a 0/1 mask over the data's records (`.audited` only).
    public var members: URL?

    /// The keys of an imported model.
    static let keys = ["checkpoint", "layers", "members"]
    /// The keys that describe an architecture for the lab to build: meaningless beside a layer list.
    static let labArchitectureKeys = ["architecture", "hidden", "channels", "kernel_size", "stride", "padding", "pooling",
                                      "activation", "dropout"]
    /// The keys of a training recipe (used by the reference models of an audit).
    static let recipeKeys = ["epochs", "batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "schedule"]
    /// The most bytes a membership file may hold (8 bytes a record for a billion records).
    static let maximumMembersBytes = 8 << 30

    /// The outside files the spec names, for the trial's key.
    public var inputFiles: [URL] {
        var files = [checkpoint]
        if case let .file(url) = layers { files.append(url) }
        if let members { files.append(members) }
        return files
    }

    /// Reads the imported model's keys of a `model:` mapping that names one (any of `keys`),
    /// refusing lab-architecture keys beside them and, unless `use` is `.audited`, `members`
    /// and the recipe keys.
    static func decode(_ reader: SpecReader, use: Use) throws(SpecError) -> ImportedModelSpec {
        let present = keys.filter { reader.contains($0) }
        guard let first = present.first else {
            throw reader.error("checkpoint", "is required for an imported model")
        }
        guard use != .refused else {
            throw reader.error(first, "names a model trained outside the lab, but this kind trains its own model; "
                               + "an imported model can be the target of membership-inference, evasion and model-inversion (mi-face)")
        }
        guard present.contains("checkpoint") else {
            throw reader.error(first, "belongs to an imported model, which needs checkpoint (its safetensors state dict)")
        }
        for key in labArchitectureKeys where reader.contains(key) {
            throw reader.error(key, "describes an architecture for the lab to build, but checkpoint names an imported model, "
                               + "whose architecture is its layer list (layers); remove \(key)")
        }
        if use == .attacked {
            for key in ["members"] + recipeKeys where reader.contains(key) {
                throw reader.error(key, key == "members"
                                   ? "is read only by membership-inference (which records trained the target)"
                                   : "trains reference models in membership-inference; this kind never trains the imported model")
            }
        }
        let checkpoint = try reader.inputFile("checkpoint")
        let layers: LayerList
        guard let node = reader.node("layers") else {
            throw reader.error("layers", "is required with checkpoint: the model's layer list (a JSON file, or the mapping inline)")
        }
        switch node.value {
        case .mapping:
            let source = "\(reader.file):\(node.line.map(String.init) ?? "?") \(reader.keyPath("layers"))"
            do {
                layers = .inline(try PyTorchArchitecture(json: Data(node.canonicalJSON.utf8), source: source), source: source)
            } catch {
                throw reader.error("layers", "\(error.field): \(error.reason)")
            }
        default:
            layers = .file(try reader.inputFile("layers"))
        }
        let members = use == .audited ? try reader.inputFile("members") : nil
        return ImportedModelSpec(checkpoint: checkpoint, layers: layers, members: members)
    }

    // MARK: Reading the files

    /// The layer list and the name its errors give.
    public func architecture() throws(ModelImportError) -> (architecture: PyTorchArchitecture, source: String) {
        switch layers {
        case let .inline(architecture, source): return (architecture, source)
        case let .file(url): return (try PyTorchArchitecture(contentsOf: url), url.path)
        }
    }

    /// The model, after checking that its architecture takes the records of `data` (described
    /// in errors as `dataDescription`): the same per-sample shape and class count.
    /// - Throws: `ModelImportError` for the layer list or checkpoint, `ImportedModelInputError`
    ///   when the model and the data disagree.
    public func load(for data: LabeledData, dataDescription: String) throws -> ImportedModel {
        let (architecture, source) = try architecture()
        let outputs = try architecture.validated(source: source).outputShape
        guard architecture.inputShape == data.sampleShape else {
            throw ImportedModelInputError(file: source, field: "input_shape",
                                          message: "the model takes records of shape \(architecture.inputShape), but the data (\(dataDescription)) hold records of shape \(data.sampleShape)")
        }
        guard outputs == [data.classCount] else {
            throw ImportedModelInputError(file: source, field: "layers",
                                          message: "the model outputs \(outputs.count == 1 ? "\(outputs[0]) classes" : "shape \(outputs)"), but the data (\(dataDescription)) have \(data.classCount) classes"
                                            + " (for label arrays, data.classes declares the count)")
        }
        return try ImportedModel(checkpoint: checkpoint, architecture: architecture, architectureSource: source)
    }

    /// The membership mask: one flag per record of the data.
    /// - Throws: `ImportedModelInputError` naming the file: unreadable or not `.npy`, another
    ///   shape than (`records`,), values other than 0/1, or all records on one side.
    public func readMembers(records: Int) throws(ImportedModelInputError) -> [Bool] {
        guard let url = members else {
            throw ImportedModelInputError(file: "spec", field: "model.members", message: "is required to audit an imported model")
        }
        return try Self.readMembers(url, records: records)
    }

    /// The membership mask of a members file (`model.members`): one 0/1 per record, both present.
    public static func readMembers(_ url: URL, records: Int) throws(ImportedModelInputError) -> [Bool] {
        func failure(_ message: String) -> ImportedModelInputError {
            ImportedModelInputError(file: url.path, field: "model.members", message: message)
        }
        let bytes: [UInt8]
        do { bytes = try InputFile.read(url, maximumBytes: Self.maximumMembersBytes) } catch { throw failure(error.reason) }
        let array: NumpyArray
        do { array = try NumpyArray(npy: bytes) } catch { throw failure(error.reason) }
        guard array.shape == [records] else {
            let shape = "(" + array.shape.map(String.init).joined(separator: ", ") + (array.shape.count == 1 ? ",)" : ")")
            throw failure("expected shape (\(records),) — one 0/1 per record of the data — got \(shape)")
        }
        let mask: [Bool]
        do { mask = try array.booleans() } catch { throw failure("a membership mask must be 0/1: \(error.reason)") }
        let count = mask.filter { $0 }.count
        guard count > 0, count < records else {
            throw failure("all \(records) records are \(count > 0 ? "members" : "non-members"); an audit needs both members and non-members")
        }
        return mask
    }

    // MARK: The data an imported model sees

    /// The data section for an imported model: never scaled (the model saw the records as they
    /// are stored), and with `keepsEveryRecord` (a membership mask over the records) neither
    /// limited nor split.
    static func data(_ data: DataSpec, section reader: SpecReader, keepsEveryRecord: Bool) throws(SpecError) -> DataSpec {
        if reader.contains("scaling") && data.scaling != .none {
            throw reader.error("scaling", "an imported model sees the records as they are stored; scale them as the model was trained before saving them, or remove scaling")
        }
        if keepsEveryRecord {
            for key in ["limit", "test_fraction"] where reader.contains(key) {
                throw reader.error(key, "the members file (model.members) gives one 0/1 per record of the data, so an imported target's audit keeps every record; remove \(key)")
            }
        }
        var adjusted = data
        adjusted.scaling = .none
        return adjusted
    }
}

/// An imported model's input that does not fit: one error naming the file, the field and what
/// was expected.
public struct ImportedModelInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let field: String
    public let message: String

    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String { "\(file) (\(field)): \(message)" }
}

extension ImportedModel {
    /// `<part>.test_accuracy` and `<part>.test_loss` (mean cross-entropy) on `test`: what
    /// describes a model whose training data the trial does not know.
    func testMetrics(_ test: LabeledData, part: String) -> [Metric] {
        let x = test.featureTensor, y = test.intLabels
        let losses = losses(for: x, labels: y)
        return [Metric(part: part, "test_accuracy", network.accuracy(x, labels: y)),
                Metric(part: part, "test_loss", losses.reduce(0.0) { $0 + Double($1) } / Double(max(1, losses.count)))]
    }
}
