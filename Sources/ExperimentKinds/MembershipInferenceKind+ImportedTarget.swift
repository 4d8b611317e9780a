import AttackMetrics
import Codecs
import Datasets
import ExperimentRunning
import ExperimentStore
import Foundation
import MembershipInference
import ModelImport
import NeuralNetworks

// MARK: - Auditing a target trained outside the lab

extension MembershipInferenceKind {
    /// One trial auditing an imported target (`model.checkpoint`): the target is loaded, not
    /// trained; the design follows its known membership (`model.members`); reference and shadow
    /// models of its architecture train in the lab with the spec's recipe.
    ///
    /// - Records: every record of the data's training part, in order, unscaled (`DataSpec.records`):
    ///   the members file has one 0/1 per record.
    /// - Design (`MembershipDesign.auditing`, stream `design`): `attack.members` audited members
    ///   drawn from the records marked 1 (default half of them) and `attack.non_members` from
    ///   those marked 0 (default half); the rest form the reference pool. Online references train
    ///   on random halves of all records, offline ones on halves of the pool.
    /// - References and shadows: `ImportedModelRecipe` (PyTorch's default initialisation, then
    ///   the lab's trainer) with `model`'s recipe keys (`attack.shadow.model`'s for shadows),
    ///   cached like the lab's models.
    /// - Metrics: `target.train_accuracy` on every record marked 1, `target.test_accuracy` on the
    ///   data's test part when it has one, else on every record marked 0; `target.members` and
    ///   `target.non_members` (audited), `target.training_records` (records marked 1).
    static func runImported(_ p: Parameters, _ imported: ImportedModelSpec, context: TrialContext) async throws -> TrialOutcome {
        let (records, heldOut) = try await p.data.records(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let target = try imported.load(for: records, dataDescription: p.data.canonical)
        let isMember = try imported.readMembers(records: records.count)
        let membersFile = imported.members?.path ?? "model.members"
        let inside = isMember.indices.filter { isMember[$0] }
        let outside = isMember.indices.filter { !isMember[$0] }
        let members = p.attack.members ?? max(1, inside.count / 2)
        let nonMembers = p.attack.nonMembers ?? max(1, outside.count / 2)
        guard members <= inside.count, nonMembers <= outside.count else {
            let (key, asked, available, side) = members > inside.count
                ? ("attack.members", members, inside.count, "members (1)") : ("attack.non_members", nonMembers, outside.count, "non-members (0)")
            throw RunnerError.trialFailed(index: context.trialIndex, parameters: "",
                                          reason: "\(key) (\(asked)) exceeds the \(available) records that \(membersFile) marks as \(side)")
        }
        var designStream = context.random.stream("design")
        let design = MembershipDesign.auditing(knownMembership: isMember, targetMemberCount: members, targetNonMemberCount: nonMembers,
                                               referenceModels: p.attack.referenceModels, online: p.attack.online, using: &designStream)
        let architecture = target.architecture
        let dataSpec = p.data, modelSpec = p.model, shadowSpec = p.attack.shadow.model

        @Sendable func modelRecipe(_ stream: String, _ indices: [Int], model: ModelSpec = modelSpec) -> ModelRecipe {
            ModelRecipe(seed: context.seed, stream: stream, data: dataSpec.canonical, model: model.canonical, indices: indices, privacy: nil)
        }
        @Sendable func train(_ stream: String, _ indices: [Int], role: String, shadow: Bool) async throws -> (Sequential, ArtifactReference) {
            let model = shadow ? shadowSpec : modelSpec
            let training = ImportedModelRecipe(architecture: architecture, configuration: model.training)
            let subset = records.subset(indices)
            let random = context.random
            let result = try await context.cachedModel(role: role, recipe: modelRecipe(stream, indices, model: model)) {
                try training.train(inputs: subset.featureTensor, labels: subset.intLabels, random: random.stream(stream)).network
            }
            return (result.model, result.artifact)
        }

        context.progress("auditing the imported target on \(members) of its \(inside.count) members and \(nonMembers) of \(outside.count) non-members")
        let memberData = records.subset(inside)
        let testData = heldOut ?? records.subset(outside)
        let metrics = [
            Metric(part: "target", "train_accuracy", target.network.accuracy(memberData.featureTensor, labels: memberData.intLabels)),
            Metric(part: "target", "test_accuracy", target.network.accuracy(testData.featureTensor, labels: testData.intLabels)),
            Metric(part: "target", "members", Double(members)),
            Metric(part: "target", "non_members", Double(nonMembers)),
            Metric(part: "target", "training_records", Double(inside.count)),
        ]
        return try await audit(
            p, target: target, population: records, design: design, metrics: metrics, artifacts: [],
            train: { stream, indices, role, shadow in try await train(stream, indices, role: role, shadow: shadow) },
            recipe: { modelRecipe($0, $1) }, context: context)
    }
}
