import SecretSharing

/// What a networked run computes, decoded from the spec's `task` and `output`.
public struct MPCJobParameters: Sendable, Equatable {
    public var task: MPCSpec.TaskKind
    public var split: MPCSpec.Split
    public var label: String?
    public var training: LogisticRegressionParameters
    /// The parties that learn the output.
    public var outputs: Set<Int>
    /// `mlp-inference`: the party holding the model.
    public var modelOwner: Int?

    public init(task: MPCSpec.TaskKind, split: MPCSpec.Split, label: String?,
                training: LogisticRegressionParameters, outputs: Set<Int>, modelOwner: Int? = nil) {
        self.task = task
        self.split = split
        self.label = label
        self.training = training
        self.outputs = outputs
        self.modelOwner = modelOwner
    }

    public init(_ spec: MPCSpec) {
        self.init(task: spec.task, split: spec.split, label: spec.label,
                  training: LogisticRegressionParameters(
                    epochs: spec.epochs, batchSize: spec.batchSize, learningRate: spec.learningRate,
                    sigmoidIterations: spec.sigmoidIterations, sigmoid: spec.sigmoid),
                  outputs: spec.outputIndices, modelOwner: spec.modelOwner)
    }
}

/// One party's result of a job.
public struct MPCJobResult: Sendable, Equatable {
    /// The revealed output (row-major) at an output party; nil elsewhere.
    public var output: [Double]?
    /// The output's shape (public).
    public var shape: [Int]
    /// Names of the output's columns: for logistic regression the feature names then `bias`
    /// (known to output parties; others' feature names are public metadata of the run).
    public var columns: [String]
}

/// The protocol of one networked run, the same code whether the parties are threads of one
/// process (`InMemoryNetwork`) or processes over TLS (`NetworkChannel`): so a run over the
/// network gives, for the same seeds, bit for bit the in-process engine's result.
///
/// Steps, at every party:
/// 1. Public metadata: every party announces its input's row and feature-column counts, whether
///    it holds the label column and the public bound of its features (`Party.publicBound(of:)`:
///    a power of two) — one round; shapes and bounds are public, values are not.
/// 2. Each party secret-shares its own block (`Party.share` with the announced bound: no message
///    once the runner has established pairwise keys); the blocks are joined in party order —
///    stacked (`split: rows`) or side by side (`split: columns`).
/// 3. The task: logistic-regression training (`SecureLogisticRegression`), or `relu` /
///    `sigmoid` of the joint table, or `matmul` of party 0's matrix by party 1's (revealed
///    before truncation, `Party.revealMatmul`, which merges steps 3 and 4).
/// 4. The result is revealed to the output parties only (`Party.reveal(_:to:)`).
///
/// `mlp-inference` runs `runMLP` instead (its own announcements: the model's widths).
public enum MPCJob {
    /// Runs the job at `party`: `input` is its CSV, `model` its model (`mlp-inference`'s model
    /// owner, which has no CSV).
    public static func run(
        party: Party, input: InputTable?, model: MLPModel? = nil, parameters: MPCJobParameters
    ) throws(SecretSharingError) -> MPCJobResult {
        if parameters.task == .mlpInference {
            return try runMLP(party: party, input: input, model: model, parameters: parameters)
        }
        guard let input else { throw .invalidArgument("party \(party.index) has no input table") }
        let n = party.partyCount
        // Local: features and, if held, the label column.
        var labelIndex: Int?
        if parameters.task == .logisticRegression, let label = parameters.label {
            labelIndex = input.columns.firstIndex(of: label)
        }
        let width = input.columns.count - (labelIndex == nil ? 0 : 1)
        var features: [Double] = []
        var labels: [Double] = []
        features.reserveCapacity(input.rows * width)
        for r in 0..<input.rows {
            for c in 0..<input.columns.count {
                let v = input.values[r * input.columns.count + c]
                if c == labelIndex {
                    guard v == 0 || v == 1 else {
                        throw .invalidArgument("the label column '\(parameters.label!)' must hold 0 or 1 (row \(r + 2))")
                    }
                    labels.append(v)
                } else {
                    features.append(v)
                }
            }
        }
        // 1. Public metadata, with the public bound of the party's features (so that sharing
        //    them needs no message of its own once pairwise keys exist).
        let announced = try party.channel.broadcastExchange(
            [UInt64(input.rows), UInt64(width), labelIndex == nil ? 0 : 1, party.publicBound(of: features).bitPattern])
        let limit = UInt64(1) << 32
        for (p, m) in announced.enumerated() where m[0] >= limit || m[1] >= limit || m[2] > 1 {
            throw .peerFailure(party: p, reason: "announced an impossible input shape")
        }
        let bounds = announced.map { Double(bitPattern: $0[3]) }
        for (p, b) in bounds.enumerated() where !(b.isFinite && b > 0) {
            throw .peerFailure(party: p, reason: "announced an impossible bound on its input")
        }
        let rows = announced.map { Int($0[0]) }, widths = announced.map { Int($0[1]) }
        let holdsLabel = announced.map { $0[2] == 1 }
        for p in 0..<n where rows[p] == 0 || (widths[p] == 0 && parameters.task != .logisticRegression) {
            throw .invalidArgument("party \(p)'s input has no values")
        }
        switch (parameters.task, parameters.split) {
        case (.matmul, _):
            guard n == 2, widths[0] == rows[1] else {
                throw .invalidArgument("matmul: party 0's matrix is \(rows[0])×\(widths[0]), party 1's \(rows[1])×\(widths[1]): they do not chain")
            }
        case (_, .rows):
            guard Set(widths).count == 1 else {
                throw .invalidArgument("split by rows: the parties' inputs have \(widths) feature columns; they must agree")
            }
            if parameters.task == .logisticRegression, let p = holdsLabel.firstIndex(of: false) {
                throw .invalidArgument("split by rows: party \(p)'s input has no label column '\(parameters.label ?? "")'")
            }
        case (_, .columns):
            guard Set(rows).count == 1 else {
                throw .invalidArgument("split by columns: the parties' inputs have \(rows) rows; they must agree")
            }
            if parameters.task == .logisticRegression && holdsLabel.filter({ $0 }).count != 1 {
                throw .invalidArgument("split by columns: exactly one party must hold the label column '\(parameters.label ?? "")'")
            }
        }
        // 2. Shares of every block.
        var blocks: [SecretTensor] = []
        for p in 0..<n {
            blocks.append(try party.share(p == party.index ? features : nil, shape: [rows[p], widths[p]], owner: p,
                                          bound: bounds[p]))
        }
        // 3. The task.
        let result: SecretTensor
        var shape: [Int]
        var columns: [String] = []
        switch parameters.task {
        case .matmul:
            // Revealed untruncated: the truncation happens in the clear (see `revealMatmul`).
            let revealed = try party.revealMatmul(blocks[0], blocks[1], to: parameters.outputs)
            return MPCJobResult(output: revealed, shape: [rows[0], widths[1]], columns: (0..<widths[1]).map { "c\($0)" })
        case .relu, .sigmoid:
            let x = try join(blocks, split: parameters.split, party: party)
            result = try parameters.task == .relu ? party.relu(x) : party.sigmoid(x)
            shape = x.shape
        case .mlpInference:
            preconditionFailure("mlp-inference runs in runMLP")
        case .logisticRegression:
            let x = try join(blocks, split: parameters.split, party: party)
            var y: SecretTensor
            switch parameters.split {
            case .rows:
                var parts: [SecretTensor] = []
                for p in 0..<n {
                    parts.append(try party.share(p == party.index ? labels : nil, shape: [rows[p], 1], owner: p, bound: 1))
                }
                y = try party.concatenate(parts)
            case .columns:
                let owner = holdsLabel.firstIndex(of: true)!
                y = try party.share(owner == party.index ? labels : nil, shape: [rows[0], 1], owner: owner, bound: 1)
            }
            let model = try SecureLogisticRegression.train(
                party: party, features: x, labels: y, parameters: parameters.training)
            let d = x.shape[1]
            result = try party.concatenate([model.weights.reshaped([d]), model.bias.reshaped([1])])
            shape = [d + 1]
            columns = []
        }
        // 4. Output.
        let revealed = try party.reveal(result, to: parameters.outputs)
        if parameters.task == .logisticRegression {
            columns = (0..<(shape[0] - 1)).map { "w\($0)" } + ["bias"]
        } else {
            columns = (0..<(shape.count == 2 ? shape[1] : 1)).map { "c\($0)" }
        }
        return MPCJobResult(output: revealed, shape: shape, columns: columns)
    }

    /// MLP inference: the model owner's secret model applied to the other parties' secret rows
    /// (joined by rows or columns, in party order); the logits go to the output parties.
    ///
    /// Steps: every party announces `[rows, columns, layers]` (the owner `[0, 0, L]`), then the
    /// owner announces the `L + 1` widths (the others send as many zeros): shapes are public,
    /// values are not. The owner shares each layer's weights (`[inputs, outputs]`) and bias, the
    /// others their rows; then `SecureMultilayerPerceptron.logits` (one Beaver matmul per layer,
    /// ReLU by the comparison protocol between layers) and the reveal.
    /// - Cost: 2 announcement rounds, 1 round per shared block, per layer 2 rounds (matmul and
    ///   its truncation) plus 8 per ReLU, and the reveal.
    static func runMLP(
        party: Party, input: InputTable?, model: MLPModel?, parameters: MPCJobParameters
    ) throws(SecretSharingError) -> MPCJobResult {
        let n = party.partyCount
        guard let owner = parameters.modelOwner, (0..<n).contains(owner) else {
            throw .invalidArgument("mlp-inference needs a model owner among the \(n) parties")
        }
        guard n >= 2 else { throw .invalidArgument("mlp-inference needs the model owner and at least one data party") }
        let mine: [UInt64]
        if party.index == owner {
            guard let model, !model.layers.isEmpty else { throw .invalidArgument("the model owner (party \(owner)) has no model") }
            mine = [0, 0, UInt64(model.layers.count)]
        } else {
            guard let input, input.rows > 0, !input.columns.isEmpty else {
                throw .invalidArgument("party \(party.index) has no rows to classify")
            }
            mine = [UInt64(input.rows), UInt64(input.columns.count), 0]
        }
        let announced = try party.channel.broadcastExchange(mine)
        let limit = UInt64(1) << 32
        for (p, m) in announced.enumerated() {
            if p == owner {
                guard m[0] == 0, m[1] == 0, (1...UInt64(MLPModel.maximumLayers)).contains(m[2]) else {
                    throw .peerFailure(party: p, reason: "announced an impossible model (\(m[2]) layers)")
                }
            } else if m[0] == 0 || m[0] >= limit || m[1] == 0 || m[1] >= limit || m[2] != 0 {
                throw .peerFailure(party: p, reason: "announced an impossible input shape")
            }
        }
        let layerCount = Int(announced[owner][2])
        let widthWords = try party.channel.broadcastExchange(
            party.index == owner ? model!.widths.map(UInt64.init) : [UInt64](repeating: 0, count: layerCount + 1))
        guard widthWords[owner].allSatisfy({ (1...UInt64(MLPModel.maximumWidth)).contains($0) }) else {
            throw .peerFailure(party: owner, reason: "announced a layer width outside 1…\(MLPModel.maximumWidth)")
        }
        let widths = widthWords[owner].map { Int($0) }
        let dataParties = (0..<n).filter { $0 != owner }
        let rows = announced.map { Int($0[0]) }, columns = announced.map { Int($0[1]) }
        switch parameters.split {
        case .rows:
            for p in dataParties where columns[p] != widths[0] {
                throw .invalidArgument("mlp-inference, split by rows: party \(p)'s rows have \(columns[p]) columns, the model takes \(widths[0])")
            }
        case .columns:
            guard Set(dataParties.map { rows[$0] }).count == 1 else {
                throw .invalidArgument("mlp-inference, split by columns: the data parties have \(dataParties.map { rows[$0] }) rows; they must agree")
            }
            let total = dataParties.reduce(0) { $0 + columns[$1] }
            guard total == widths[0] else {
                throw .invalidArgument("mlp-inference, split by columns: the parties' \(total) columns together do not match the model's \(widths[0]) inputs")
            }
        }
        // The model's layers, then the rows.
        var layers: [SecretDenseLayer] = []
        for l in 0..<layerCount {
            let (i, o) = (widths[l], widths[l + 1])
            let layer = party.index == owner ? model!.layers[l] : nil
            let w = try party.share(layer?.weights, shape: [i, o], owner: owner)
            let b = try party.share(layer?.bias, shape: [o], owner: owner)
            layers.append(SecretDenseLayer(weights: w, bias: b))
        }
        var blocks: [SecretTensor] = []
        for p in dataParties {
            blocks.append(try party.share(p == party.index ? input!.values : nil, shape: [rows[p], columns[p]], owner: p))
        }
        let x = try join(blocks, split: parameters.split, party: party)
        let logits = try SecureMultilayerPerceptron(layers: layers).logits(party: party, inputs: x)
        let revealed = try party.reveal(logits, to: parameters.outputs)
        return MPCJobResult(output: revealed, shape: logits.shape, columns: (0..<widths[layerCount]).map { "logit\($0)" })
    }

    /// The blocks joined in party order: stacked (rows) or side by side (columns).
    static func join(_ blocks: [SecretTensor], split: MPCSpec.Split, party: Party) throws(SecretSharingError) -> SecretTensor {
        switch split {
        case .rows:
            return try party.concatenate(blocks)
        case .columns:
            return party.transpose(try party.concatenate(blocks.map { party.transpose($0) }))
        }
    }
}
