import ExperimentSpecs
import MembershipInference

/// Attack options shared by the `membership-inference` and `audit` kinds, decoded from
/// sections of `attack:` — every knob the attacks have, validated.
enum AttackOptionsSpec {
    enum ShadowFeatures: String, SpecEnum {
        case probabilities
        case logProbabilities = "log_probabilities"
    }

    /// `attack.shadow`: the per-class attack models of Shokri et al.
    ///
    /// ```yaml
    /// shadow: {features: probabilities, hidden_units: 64, epochs: 40, batch_size: 64,
    ///          learning_rate: 0.001, observations_per_class: 4000}
    /// ```
    static func shadow(_ attack: SpecReader, extraKeys: (SpecReader) throws(SpecError) -> Void = { _ in }) throws(SpecError) -> ShadowModelAttack.Options {
        let s = try attack.section("shadow")
        let defaults = ShadowModelAttack.Options()
        let features: ShadowFeatures = try s.optional("features", default: defaults.features == .probabilities ? .probabilities : .logProbabilities)
        let options = ShadowModelAttack.Options(
            features: features == .probabilities ? .probabilities : .logProbabilities,
            hiddenUnits: try s.optional("hidden_units", default: defaults.hiddenUnits, in: 0...4096),
            epochs: try s.optional("epochs", default: defaults.epochs, in: 1...10_000),
            batchSize: try s.optional("batch_size", default: defaults.batchSize, in: 1...1 << 20),
            learningRate: Float(try s.optional("learning_rate", default: Double(defaults.learningRate), in: 1e-7...10)),
            maximumObservationsPerClass: try s.optional("observations_per_class", default: defaults.maximumObservationsPerClass, in: 2...100_000_000))
        try extraKeys(s)
        try s.finish()
        return options
    }

    /// `attack.label_only`: Choquette-Choo et al.'s noise robustness.
    ///
    /// ```yaml
    /// label_only: {perturbations: 50, noise: 0.5}
    /// ```
    static func labelOnly(_ attack: SpecReader) throws(SpecError) -> LabelOnlyAttack.Options {
        let s = try attack.section("label_only")
        let defaults = LabelOnlyAttack.Options()
        let options = LabelOnlyAttack.Options(
            perturbations: try s.optional("perturbations", default: defaults.perturbations, in: 0...100_000),
            noiseStandardDeviation: Float(try s.optional("noise", default: Double(defaults.noiseStandardDeviation), in: 0...1e6)))
        try s.finish()
        return options
    }
}

/// A query augmentation as a spec writes it: `identity`, `flip` (horizontal), `shift` (one
/// pixel right and down) or `{shift: [dx, dy]}` (|dx|, |dy| ≤ 8 pixels).
public struct AugmentationSpec: SpecDecodable, Sendable, Equatable, CustomStringConvertible {
    public let augmentation: QueryAugmentation

    public static var specTypeDescription: String { "identity, flip, shift or {shift: [dx, dy]}" }

    public init(_ augmentation: QueryAugmentation) { self.augmentation = augmentation }

    public init(spec node: SpecNode, file: String, path: String) throws(SpecError) {
        if case let .mapping(entries) = node.value {
            guard entries.count == 1, entries[0].key == "shift" else {
                throw SpecError(file: file, line: node.line, keyPath: path, message: "expected \(Self.specTypeDescription), got a mapping with keys \(entries.map(\.key).joined(separator: ", "))")
            }
            let amounts = try [Int](spec: entries[0].value, file: file, path: "\(path).shift")
            guard amounts.count == 2, amounts.allSatisfy({ abs($0) <= 8 }), amounts != [0, 0] else {
                throw SpecError(file: file, line: entries[0].value.line ?? node.line, keyPath: "\(path).shift",
                                message: "expected [dx, dy]: two pixel offsets in -8…8, not both 0, got \(amounts)")
            }
            augmentation = .shift(dx: amounts[0], dy: amounts[1])
            return
        }
        let (text, _) = try node.scalarText(file: file, path: path, expected: Self.specTypeDescription)
        switch text {
        case "identity": augmentation = .identity
        case "flip": augmentation = .horizontalFlip
        case "shift": augmentation = .shift(dx: 1, dy: 1)
        default:
            var message = "unknown value '\(text)'"
            if let suggestion = closestMatch(text, among: ["identity", "flip", "shift"]) { message += " (did you mean '\(suggestion)'?)" }
            throw SpecError(file: file, line: node.line, keyPath: path, message: message + "; expected \(Self.specTypeDescription)")
        }
    }

    public var description: String {
        switch augmentation {
        case .identity: return "identity"
        case .horizontalFlip: return "flip"
        case let .shift(dx, dy): return "shift(\(dx),\(dy))"
        }
    }
}

/// The membership-inference attacks a spec names under `attack.methods`, for both the
/// `membership-inference` and the `audit` kinds (`label_only` queries a model with perturbed
/// inputs, so an audit of saved signals refuses it).
public enum MembershipAttackName: String, SpecEnum {
    case loss, confidence, entropy
    case modifiedEntropy = "modified_entropy"
    case lira
    case liraOffline = "lira_offline"
    case liraGlobal = "lira_global"
    case liraOfflineGlobal = "lira_offline_global"
    case rmia
    case rmiaOffline = "rmia_offline"
    case shadow
    case labelOnly = "label_only"

    /// The library's attack of this name, with the spec's options.
    func attackMethod(offlineInterpolation: Double, gamma: Double, rmiaPopulation: Int, shadow: ShadowModelAttack.Options,
                      labelOnly: LabelOnlyAttack.Options) -> AttackMethod {
        switch self {
        case .loss: return .loss
        case .confidence: return .confidence
        case .entropy: return .entropy
        case .modifiedEntropy: return .modifiedEntropy
        case .lira: return .lira(online: true, globalVariance: false)
        case .liraOffline: return .lira(online: false, globalVariance: false)
        case .liraGlobal: return .lira(online: true, globalVariance: true)
        case .liraOfflineGlobal: return .lira(online: false, globalVariance: true)
        case .rmia: return .rmia(online: true, offlineInterpolation: offlineInterpolation, gamma: gamma, populationSize: rmiaPopulation)
        case .rmiaOffline: return .rmia(online: false, offlineInterpolation: offlineInterpolation, gamma: gamma, populationSize: rmiaPopulation)
        case .shadow: return .shadowModels(shadow)
        case .labelOnly: return .labelOnly(labelOnly)
        }
    }
}
