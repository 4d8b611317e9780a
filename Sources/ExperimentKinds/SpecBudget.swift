import Datasets
import ExperimentSpecs
import NeuralNetworks

/// The resource limits a spec is checked against while it is decoded, before anything runs.
///
/// Each key of a spec has its own range, but memory goes by products: `samples × features`
/// values of data, `inputs × outputs` weights per dense layer, `batch_size × width` activations.
/// Two values that are each in range can still ask for terabytes, and an allocation that size
/// aborts the process (leaving its run marked `running`). So the products are computed here,
/// with overflow checks, and a spec past a limit gets one error naming the key and the limit.
///
/// The limits are generous for this lab's work (MNIST-sized data, models of millions of
/// parameters) and well below what a 24 GiB machine can hold.
public enum SpecBudget {
    /// The most values (Float32) a generated data set may hold: 2³⁰, 4 GiB.
    public static let maximumDataValues = 1 << 30
    /// The most trainable parameters of one model: 2²⁸ (1 GiB of Float32; an optimiser's state
    /// and gradients take about three times more).
    public static let maximumModelParameters = 1 << 28
    /// The most activations of one batch in one layer (`batch_size` × that layer's per-sample
    /// output, or its unfolded convolution input): 2³⁰ values, 4 GiB.
    public static let maximumBatchActivations = 1 << 30

    /// The product of `factors`, or `nil` when it overflows `Int`.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The sum of `terms`, or `nil` when it overflows `Int`.
    static func sum(_ terms: [Int]) -> Int? {
        var result = 0
        for term in terms {
            let (next, overflow) = result.addingReportingOverflow(term)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// `value` for messages: exact below 10⁶, else with its power of ten (`3.0e12`); "more than
    /// Int.max" when it overflowed.
    static func describe(_ value: Int?) -> String {
        guard let value else { return "more than \(Int.max)" }
        return value < 1_000_000 ? "\(value)" : "\(value) (≈\(String(format: "%.1e", Double(value))))"
    }
}

extension DataSpec {
    /// The shape of one sample and the number of classes, known from the spec alone (nil for data
    /// read from the user's files: their loaders bound what they read, and the model's budget is
    /// checked when the trial builds it).
    public var staticShape: (sample: [Int], classes: Int)? {
        switch source {
        case .files:
            return nil
        case let .registered(name):
            let descriptor = DatasetRegistry.descriptor(name)
            return (descriptor.sampleShape, descriptor.classCount)
        case let .gaussian(_, features, classes, _):
            return ([features], classes)
        case let .patterns(_, classes, side, _):
            return ([1, side, side], classes)
        }
    }

    /// Checks the size of a generated data set against `SpecBudget.maximumDataValues`.
    static func checkBudget(_ source: Source, reader: SpecReader) throws(SpecError) {
        let limit = SpecBudget.maximumDataValues
        switch source {
        case .registered, .files:
            return
        case let .gaussian(samples, features, _, _):
            let values = SpecBudget.product([samples, features])
            if values.map({ $0 > limit }) ?? true {
                throw reader.error("samples", "samples × features = \(samples) × \(features) = \(SpecBudget.describe(values)) values, "
                                   + "more than the limit of \(limit) values (4 GiB) for one data set")
            }
        case let .patterns(perClass, classes, side, _):
            let values = SpecBudget.product([perClass, classes, side, side])
            if values.map({ $0 > limit }) ?? true {
                throw reader.error("samples_per_class", "samples_per_class × classes × side² = \(perClass) × \(classes) × \(side)² = "
                                   + "\(SpecBudget.describe(values)) values, more than the limit of \(limit) values (4 GiB) for one data set")
            }
        }
    }
}

extension ModelSpec {
    /// Checks the model this spec builds for `data` against `SpecBudget`'s parameter and
    /// activation limits; errors name `hidden`, `channels` or `architecture` in `reader`, and
    /// the batch's key (`model.batch_size` unless `batch` names another, as federated
    /// `local.batch_size`).
    public func checkBudget(for data: DataSpec, reader: SpecReader,
                            batch: (size: Int, reader: SpecReader, key: String)? = nil) throws(SpecError) {
        guard let (sample, classes) = data.staticShape else { return }
        let layers: [Layer]
        do throws(ModelError) { layers = try self.layers(inputShape: sample, classes: classes) } catch {
            // Shapes that do not fit are reported by the kind when it builds the model.
            return
        }
        var shape = sample
        var parameters: Int? = 0
        var largest: (layer: Layer, count: Int?)? = nil
        var widest: (layer: Layer, count: Int?)? = nil
        for layer in layers {
            let count = SpecBudget.sum(layer.parameterShapes.map { SpecBudget.product($0.shape) ?? Int.max })
            if let total = parameters, let count { parameters = SpecBudget.sum([total, count]) } else { parameters = nil }
            if largest == nil || (count ?? .max) > (largest!.count ?? .max) { largest = (layer, count) }
            guard case let .success(output) = layer.outputShape(for: shape) else { return }
            var perSample = SpecBudget.product(output)
            if case let .conv2d(inChannels, _, kernel, _, _) = layer, output.count == 3 {
                // The unfolded (im2col) input: C·k² values for each output position.
                let unfolded = SpecBudget.product([inChannels, kernel, kernel, output[1], output[2]])
                if let unfolded, let values = perSample { perSample = max(values, unfolded) } else { perSample = nil }
            }
            if widest == nil || (perSample ?? .max) > (widest!.count ?? .max) { widest = (layer, perSample) }
            shape = output
        }
        if parameters.map({ $0 > SpecBudget.maximumModelParameters }) ?? true, let largest {
            let key: String
            if case .conv2d = largest.layer { key = "channels" } else { key = hidden.isEmpty || architecture == .logistic ? "architecture" : "hidden" }
            throw reader.error(key, "the model has \(SpecBudget.describe(parameters)) parameters (its largest layer, \(largest.layer), "
                               + "has \(SpecBudget.describe(largest.count))), more than the limit of \(SpecBudget.maximumModelParameters)")
        }
        let (size, batchReader, batchKey) = batch ?? (training.batchSize, reader, "batch_size")
        if let widest {
            let activations = widest.count.flatMap { SpecBudget.product([size, $0]) }
            if activations.map({ $0 > SpecBudget.maximumBatchActivations }) ?? true {
                throw batchReader.error(batchKey, "a batch of \(size) through \(widest.layer) holds \(size) × \(SpecBudget.describe(widest.count)) = "
                                        + "\(SpecBudget.describe(activations)) activations, more than the limit of \(SpecBudget.maximumBatchActivations)")
            }
        }
    }
}
