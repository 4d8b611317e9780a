import Tensors

extension LabeledData {
    /// The features as a tensor [count, sampleShape…] (NCHW for images).
    public var featureTensor: Tensor {
        Tensor(shape: [count] + sampleShape, scalars: features)
    }

    /// The labels as `Int`s, as the training API takes them.
    public var intLabels: [Int] { labels.map { Int($0) } }
}

extension LabeledData {
    /// The features and labels as the threat targets take them.
    public var examples: LabeledExamples { LabeledExamples(inputs: featureTensor, labels: intLabels) }
}
