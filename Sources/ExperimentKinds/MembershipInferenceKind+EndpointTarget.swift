import AttackMetrics
import Codecs
import Datasets
import ExperimentRunning
import ExperimentStore
import Foundation
import MembershipInference
import ModelAccess
import ModelEndpoint
import NeuralNetworks
import Tensors

// MARK: - Auditing a target behind a prediction endpoint

extension MembershipInferenceKind {
    /// One trial auditing the model behind `model.endpoint` (`privacy-lab serve` or a server
    /// speaking its protocol) over HTTP, as a client holding a token would.
    ///
    /// - Records and design: as for an imported target (`runImported`): every record of the
    ///   data, in order; `model.members` marks which trained the model; `attack.members` and
    ///   `attack.non_members` are drawn from each side (half by default).
    /// - Attacks: those that need only the target's answers (loss, confidence, entropy,
    ///   modified entropy from its probabilities; label_only from its labels on perturbed
    ///   queries); the answers' logits are the logs of the rows renormalised (floored at 1e-30),
    ///   so a hardened answer (top-k, rounding, label-only) is attacked as the client sees it.
    /// - Metrics: `target.train_accuracy` and `target.test_accuracy` from the endpoint's labels
    ///   on the records marked 1 and 0, `target.members`, `target.non_members`,
    ///   `target.endpoint_queries` (rows the endpoint answered for the whole trial).
    /// - An endpoint that stops answering (a spent budget, a blocked client) fails the trial,
    ///   naming the refusal and the rows answered before it.
    static func runEndpoint(_ p: Parameters, _ endpoint: EndpointSpec, context: TrialContext) async throws -> TrialOutcome {
        let (records, _) = try await p.data.records(from: context.dataDirectory, cache: context.datasets, random: context.random)
        guard let membersURL = endpoint.members else { throw ImportedModelInputError(file: "spec", field: "model.members", message: "is required to audit a target behind an endpoint") }
        let isMember = try ImportedModelSpec.readMembers(membersURL, records: records.count)
        let remote = try endpoint.connect()
        guard remote.inputShape.reduce(1, *) == records.sampleShape.reduce(1, *) else {
            throw EndpointError("\(endpoint.url.absoluteString) takes inputs of shape \(remote.inputShape), the data's records have shape \(records.sampleShape)")
        }
        guard remote.classCount == records.classCount else {
            throw EndpointError("\(endpoint.url.absoluteString) answers \(remote.classCount) classes, the data has \(records.classCount)")
        }
        let inside = isMember.indices.filter { isMember[$0] }
        let outside = isMember.indices.filter { !isMember[$0] }
        let members = p.attack.members ?? max(1, inside.count / 2)
        let nonMembers = p.attack.nonMembers ?? max(1, outside.count / 2)
        guard members <= inside.count, nonMembers <= outside.count else {
            let (key, asked, available, side) = members > inside.count
                ? ("attack.members", members, inside.count, "members (1)") : ("attack.non_members", nonMembers, outside.count, "non-members (0)")
            throw RunnerError.trialFailed(index: context.trialIndex, parameters: "",
                                          reason: "\(key) (\(asked)) exceeds the \(available) records that \(membersURL.path) marks as \(side)")
        }
        var designStream = context.random.stream("design")
        let design = MembershipDesign.auditing(knownMembership: isMember, targetMemberCount: members, targetNonMemberCount: nonMembers,
                                               referenceModels: p.attack.referenceModels, online: p.attack.online, using: &designStream)
        let target = AnswerLogits(remote)
        context.progress("auditing \(endpoint.url.absoluteString) (output \(remote.output)) on \(members) of its \(inside.count) members and \(nonMembers) of \(outside.count) non-members")
        func accuracy(_ rows: [Int]) -> Double {
            let subset = records.subset(rows)
            let labels = remote.predictedLabels(for: subset.featureTensor)
            return Double(zip(labels, subset.intLabels).filter { $0 == $1 }.count) / Double(max(1, rows.count))
        }
        var metrics = [
            Metric(part: "target", "train_accuracy", accuracy(inside)),
            Metric(part: "target", "test_accuracy", accuracy(outside)),
            Metric(part: "target", "members", Double(members)),
            Metric(part: "target", "non_members", Double(nonMembers)),
        ]
        try remote.checkNotRefused("the target's accuracy")
        let outcome = try await audit(
            p, target: target, population: records, design: design, metrics: metrics, artifacts: [],
            train: { _, _, _, _ in throw EndpointError("a target behind an endpoint has no architecture to train reference models of") },
            recipe: { stream, indices in ModelRecipe(seed: context.seed, stream: stream, data: p.data.canonical, model: p.model.canonical, indices: indices, privacy: nil) },
            context: context)
        try remote.checkNotRefused("the membership attacks")
        metrics = outcome.metrics + [Metric(part: "target", "endpoint_queries", Double(remote.queries))]
        return TrialOutcome(metrics: metrics, series: outcome.series, artifacts: outcome.artifacts)
    }
}

/// The answers of a probability API read as logits: the log of each row renormalised to sum to
/// 1 (entries floored at 1e-30), so their softmax is the renormalised answer; labels are the
/// API's own (the first largest entry).
struct AnswerLogits<Base: ProbabilityAccess>: LogitAccess {
    let base: Base
    init(_ base: Base) { self.base = base }
    var classCount: Int { base.classCount }
    func probabilities(for inputs: Tensor) -> Tensor { base.probabilities(for: inputs) }
    func predictedLabels(for inputs: Tensor) -> [Int] { base.predictedLabels(for: inputs) }
    func logits(for inputs: Tensor) -> Tensor {
        let p = base.probabilities(for: inputs)
        let c = p.shape[1]
        var v = p.scalars
        for i in 0..<p.shape[0] {
            let sum = v[i * c..<(i + 1) * c].reduce(0, +)
            for j in 0..<c { v[i * c + j] = Foundation.log(max(sum > 0 ? v[i * c + j] / sum : 0, 1e-30)) }
        }
        return Tensor(shape: p.shape, scalars: v)
    }
}
