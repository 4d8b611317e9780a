import Foundation
import Testing
import AttackMetrics
import LabRandom
import MembershipInference
import Tensors
import ThreatTraining

/// The attacks on signals computed elsewhere (`MembershipAudit.run(signals:…)`).
@Suite("Audit on signals")
struct SignalAuditTests {
    /// K reference models and a target on N records of C classes: the true label's logit grows
    /// when a model trained on the record.
    struct World {
        let n: Int, c: Int, k: Int
        let labels: [Int]
        let isMember: [Bool]
        let target: [Double]      // [N, C]
        let references: [Double]  // [K, N, C]
        let membership: MembershipMatrix

        init(n: Int = 120, c: Int = 5, k: Int = 8, seed: UInt64 = 4) {
            self.n = n; self.c = c; self.k = k
            var r = LabRandom(seed: seed).stream("world")
            let labels = (0..<n).map { _ in r.nextInt(below: c) }
            let hardness = (0..<n).map { _ in r.nextNormal() }
            let isMember = (0..<n).map { _ in r.nextBernoulli(0.5) }
            var bits = [Bool](repeating: false, count: k * n)
            for i in 0..<n { for m in r.sampleWithoutReplacement(k / 2, from: k) { bits[m * n + i] = true } }
            func logits(_ trained: Bool, _ i: Int) -> [Double] {
                (0..<c).map { j in j == labels[i] ? 2 + hardness[i] + (trained ? 1 : 0) + 0.3 * r.nextNormal() : r.nextNormal() }
            }
            self.labels = labels
            self.isMember = isMember
            target = (0..<n).flatMap { logits(isMember[$0], $0) }
            references = (0..<k).flatMap { m in (0..<n).flatMap { logits(bits[m * n + $0], $0) } }
            membership = MembershipMatrix(modelCount: k, exampleCount: n, bits: bits)
        }

        func outputs(_ form: PredictionOutputs.Form, _ logits: [Double], models: Int) throws -> PredictionOutputs {
            let rows = logits.count / c
            switch form {
            case .logits:
                return try PredictionOutputs(form: .logits, modelCount: models, recordCount: n, classCount: c, values: logits)
            case .probabilities:
                let p = (0..<rows).flatMap { row -> [Double] in
                    let z = logits[(row * c)..<((row + 1) * c)]
                    let e = z.map { exp($0 - z.max()!) }
                    return e.map { $0 / e.reduce(0, +) }
                }
                return try PredictionOutputs(form: .probabilities, modelCount: models, recordCount: n, classCount: c, values: p)
            case .losses:
                let l = (0..<rows).map { row -> Double in
                    let z = logits[(row * c)..<((row + 1) * c)]
                    return log(z.map { exp($0) }.reduce(0, +)) - z[row * c + labels[row % n]]
                }
                return try PredictionOutputs(form: .losses, modelCount: models, recordCount: n, classCount: 1, values: l)
            }
        }

        func signals(_ form: PredictionOutputs.Form, isMember: [Bool]? = nil) throws -> AuditSignals {
            try AuditSignals(labels: labels, isMember: isMember ?? self.isMember, target: outputs(form, target, models: 1),
                             references: outputs(form, references, models: k), referenceMembership: membership)
        }
    }

    static let methods: [AttackMethod] = [.loss, .confidence, .lira(online: true), .lira(online: false, globalVariance: true),
                                          .rmia(online: true), .rmia(online: false)]

    @Test("probabilities and losses give the signals the logits give", arguments: [PredictionOutputs.Form.probabilities, .losses])
    func forms(form: PredictionOutputs.Form) throws {
        let world = World()
        let logits = try world.outputs(.logits, world.references, models: world.k)
        let other = try world.outputs(form, world.references, models: world.k)
        var signals: [PredictionSignal] = [.loss, .confidence, .scaledLogit]
        if form == .probabilities { signals += [.entropy, .modifiedEntropy] }
        for signal in signals {
            let a = try logits.signals(signal, labels: world.labels).values, b = try other.signals(signal, labels: world.labels).values
            for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-9 * max(1, abs(x)), "\(signal) from \(form)") }
        }
        #expect(!other.provides(.entropy) == (form == .losses))
    }

    @Test("confident probabilities saturate instead of overflowing; 1 − p_y is never formed by subtraction")
    func saturation() throws {
        // float32 softmax of a confident prediction: p_y rounds to 1, the others are tiny or 0.
        let p = try PredictionOutputs(form: .probabilities, modelCount: 1, recordCount: 2, classCount: 3,
                                      values: [1, 0, 0, 1 - 1e-12, 4e-13, 6e-13])
        let phi = try p.signals(.scaledLogit, labels: [0, 0]).values
        #expect(phi[0].isFinite && phi[0] > 700)
        // log(p_y) − log(1e-12): the subtraction 1 − p_y would have lost 4 digits.
        #expect(abs(phi[1] - (log(1 - 1e-12) - log(1e-12))) < 1e-9)
        let losses = try PredictionOutputs(form: .losses, modelCount: 1, recordCount: 2, classCount: 1, values: [0, 1e-15])
        let fromLoss = try losses.signals(.scaledLogit, labels: [0, 0]).values
        #expect(fromLoss[0].isFinite && fromLoss[0] > 700)
        #expect(abs(fromLoss[1] - (-1e-15 - log(-expm1(-1e-15)))) < 1e-12 && abs(fromLoss[1] - 34.538776394910684) < 1e-6)
    }

    @Test("the ground truth is only evaluated: permuting the membership labels leaves every score unchanged")
    func groundTruthNotRead() throws {
        let world = World()
        let configuration = MembershipAudit.Configuration(methods: Self.methods)
        let one = try MembershipAudit.run(signals: world.signals(.logits), configuration: configuration, random: LabRandom(seed: 1))
        let flipped = try MembershipAudit.run(signals: world.signals(.logits, isMember: world.isMember.reversed()),
                                              configuration: configuration, random: LabRandom(seed: 1))
        for (a, b) in zip(one, flipped) {
            #expect(a.scores == b.scores, "\(a.name)")
            #expect(a.isMember != b.isMember)
        }
        #expect(one.first { $0.name == "lira" }!.evaluation.auc > 0.7)
    }

    @Test("without population records RMIA ranks records by Pr(f(x)|θ) / Pr(x)")
    func rmiaWithoutPopulation() throws {
        let world = World()
        let signals = try world.signals(.logits)
        let result = try MembershipAudit.run(signals: signals, configuration: .init(methods: [.rmia(online: true, populationSize: 10_000)]),
                                             random: LabRandom(seed: 1))[0]
        let target = try signals.target.signals(.confidence, labels: world.labels)
        let references = try signals.references!.signals(.confidence, labels: world.labels)
        let ratio = (0..<world.n).map { i in
            target[0, i] / ((0..<world.k).map { references[$0, i] }.reduce(0, +) / Double(world.k))
        }
        for i in 0..<world.n {
            for j in 0..<world.n where ratio[i] < ratio[j] { #expect(result.scores[i] <= result.scores[j]) }
            // The fraction of the N audited records z with ratio_z < ratio_x (γ = 1).
            #expect(result.scores[i] == Double(ratio.filter { $0 < ratio[i] }.count) / Double(world.n))
        }
    }

    @Test("an attack the signals do not allow says what it needs")
    func requirements() throws {
        let world = World()
        let losses = try world.signals(.losses)
        #expect(losses.missing(for: .entropy) == [.targetClassOutputs])
        #expect(losses.missing(for: .shadowModels()) == [.targetClassOutputs, .referenceClassOutputs])
        #expect(losses.missing(for: .labelOnly()) == [.model])
        #expect(losses.missing(for: .lira()).isEmpty)
        let alone = try AuditSignals(labels: world.labels, isMember: world.isMember, target: world.outputs(.logits, world.target, models: 1))
        #expect(alone.missing(for: .rmia()) == [.references])
        #expect(throws: MembershipInferenceError.invalidParameter("entropy needs the target's logits or probabilities (losses alone do not give it)")) {
            try MembershipAudit.run(signals: losses, configuration: .init(methods: [.entropy]), random: LabRandom(seed: 1))
        }
        #expect(throws: MembershipInferenceError.self) {
            try AuditSignals(labels: world.labels, isMember: Array(world.isMember.dropLast()), target: world.outputs(.logits, world.target, models: 1))
        }
    }

    @Test("the shadow attack runs on reference probabilities as on logits")
    func shadowOnProbabilities() throws {
        let world = World(n: 200)
        let options = ShadowModelAttack.Options(features: .logProbabilities, hiddenUnits: 0, epochs: 30)
        let configuration = MembershipAudit.Configuration(methods: [.shadowModels(options)])
        let trainer = ShadowModelAttack.NetworkTrainer()
        let logits = try MembershipAudit.run(signals: world.signals(.logits), configuration: configuration, attackModelTrainer: trainer,
                                             random: LabRandom(seed: 3))[0]
        let probabilities = try MembershipAudit.run(signals: world.signals(.probabilities), configuration: configuration,
                                                    attackModelTrainer: trainer, random: LabRandom(seed: 3))[0]
        // log p from probabilities and log-softmax from logits agree to float precision, so the
        // attack models and their AUCs are close.
        #expect(abs(logits.evaluation.auc - probabilities.evaluation.auc) < 0.02)
        #expect(logits.evaluation.auc > 0.6)
        // Without a trainer of its attack models the attack is refused.
        #expect(throws: MembershipInferenceError.self) {
            try MembershipAudit.run(signals: world.signals(.logits), configuration: configuration, random: LabRandom(seed: 3))
        }
    }

    @Test("shadow models in their own setting: observed on their own records only, never on audited ones")
    func shadowSetting() async throws {
        // Record i's single feature is i, so a TableModel answers row i of its table.
        let size = 60, classes = 3
        let population = LabeledExamples(inputs: Tensor(shape: [size, 1], scalars: (0..<size).map(Float.init)),
                                         labels: (0..<size).map { $0 % classes })
        var random = LabRandom(seed: 8).stream("design")
        let design = MembershipDesign.make(populationSize: size, targetMemberCount: 20, targetNonMemberCount: 20,
                                           referenceModels: 2, online: true, using: &random)
        func table(trainedOn set: Set<Int>, stream: String) -> TableModel {
            var r = LabRandom(seed: 8).stream(stream)
            return TableModel(table: (0..<size).map { i in
                (0..<classes).map { c in Float(r.nextNormal()) + (c == i % classes ? (set.contains(i) ? 3 : 1) : 0) }
            })
        }
        let target = table(trainedOn: Set(design.targetMembers), stream: "target")
        var maskStream = LabRandom(seed: 8).stream("shadow-masks")
        let masks = MembershipMasks.balanced(modelCount: 4, examples: design.referencePool, using: &maskStream)
        let sets = (0..<4).map { masks.members(ofModel: $0) }
        let shadows = MembershipAudit.ShadowModels(
            models: ReferenceModels(models: (0..<4).map { table(trainedOn: Set(sets[$0]), stream: "shadow/\($0)") }, trainingSets: sets),
            records: design.referencePool)
        let options = ShadowModelAttack.Options(hiddenUnits: 0, epochs: 5)
        let configuration = MembershipAudit.Configuration(methods: [.shadowModels(options)])
        let viaModels = try await MembershipAudit.run(
            target: target, references: ReferenceModels<TableModel>(models: [], trainingSets: []), shadows: shadows,
            population: population, design: design, configuration: configuration,
            attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: LabRandom(seed: 1))[0]
        // The same attack on the signals: the shadow models' logits on the pool, nothing else.
        let pool = design.referencePool, (audited, isMember) = design.candidates
        let shadowLogits = try PredictionOutputs(form: .logits, modelCount: 4, recordCount: pool.count, classCount: classes,
                                                 values: (0..<4).flatMap { m in pool.flatMap { shadows.models.models[m].table[$0].map(Double.init) } })
        let signals = try AuditSignals(
            labels: audited.map { $0 % classes }, isMember: isMember,
            target: PredictionOutputs(form: .logits, modelCount: 1, recordCount: audited.count, classCount: classes,
                                      values: audited.flatMap { target.table[$0].map(Double.init) }),
            shadows: AuditSignals.ShadowSignals(labels: pool.map { $0 % classes }, outputs: shadowLogits,
                                                membership: shadows.models.membership(of: pool, populationSize: size)))
        let viaSignals = try MembershipAudit.run(signals: signals, configuration: configuration,
                                                 attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: LabRandom(seed: 1))[0]
        #expect(viaModels.scores == viaSignals.scores)
        // Shadow models observed on an audited record are refused.
        let leaky = MembershipAudit.ShadowModels(models: shadows.models, records: pool + [audited[0]])
        await #expect(throws: MembershipInferenceError.self) {
            try await MembershipAudit.run(target: target, references: ReferenceModels<TableModel>(models: [], trainingSets: []),
                                          shadows: leaky, population: population, design: design, configuration: configuration,
                                          attackModelTrainer: ShadowModelAttack.NetworkTrainer(), random: LabRandom(seed: 1))
        }
    }
}
