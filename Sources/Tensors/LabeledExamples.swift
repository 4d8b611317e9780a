/// Examples with their class labels: a batch of inputs [N, per-sample shape…] and one label per
/// row, in row order.
///
/// What the threat targets take where they need labelled data (a population to draw reference
/// models' training sets from, a training set to poison, a test set to measure): tensors, so
/// that they need no dataset type (`Datasets.LabeledData.examples` gives a dataset's).
public struct LabeledExamples: Sendable, Equatable {
    /// The inputs [count, sampleShape…].
    public var inputs: Tensor
    /// The label of each row of `inputs`.
    public var labels: [Int]

    /// - Precondition: `inputs` has one row per label.
    public init(inputs: Tensor, labels: [Int]) {
        precondition(inputs.rank >= 1 && inputs.shape[0] == labels.count,
                     "LabeledExamples: \(labels.count) labels for inputs of shape \(inputs.shape)")
        self.inputs = inputs
        self.labels = labels
    }

    /// The number of examples.
    public var count: Int { labels.count }

    /// The shape of one input.
    public var sampleShape: [Int] { Array(inputs.shape.dropFirst()) }

    /// The examples at `indices`, in that order (repeats allowed).
    /// - Complexity: O(indices.count × the size of one input).
    public func subset(_ indices: [Int]) -> LabeledExamples {
        LabeledExamples(inputs: withoutGradients { inputs.gatheringRows(indices) }, labels: indices.map { labels[$0] })
    }

    /// Equal inputs (shape and values) and labels.
    public static func == (a: LabeledExamples, b: LabeledExamples) -> Bool {
        a.labels == b.labels && a.inputs.shape == b.inputs.shape && a.inputs.scalars == b.inputs.scalars
    }
}
