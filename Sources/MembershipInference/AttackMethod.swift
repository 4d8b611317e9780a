/// A membership-inference attack and its parameters, as an experiment names it.
public enum AttackMethod: Sendable, Hashable, Codable {
    /// Threshold on the loss (Yeom et al. 2018).
    case loss
    /// Threshold on the confidence p_y (Song & Mittal 2021).
    case confidence
    /// Threshold on the prediction entropy (Song & Mittal 2021).
    case entropy
    /// Threshold on the modified entropy (Song & Mittal 2021).
    case modifiedEntropy
    /// LiRA (Carlini et al. 2022), online or offline.
    case lira(online: Bool = true, globalVariance: Bool = false)
    /// RMIA (Zarifzadeh et al. 2024), online or offline.
    case rmia(online: Bool = true, offlineInterpolation: Double = 0.3, gamma: Double = 1, populationSize: Int = 1000)
    /// Shadow models with per-class attack models (Shokri et al. 2017); the reference models are
    /// the shadow models, observed on the first query view of the audited and population examples.
    case shadowModels(ShadowModelAttack.Options = ShadowModelAttack.Options())
    /// Label-only noise robustness (Choquette-Choo et al. 2021), on the first query view.
    case labelOnly(LabelOnlyAttack.Options = LabelOnlyAttack.Options())

    /// The part name of the attack's metrics (`lira` in `lira.auc`): loss, confidence, entropy,
    /// modified_entropy, lira or lira_offline, rmia or rmia_offline, shadow, label_only.
    public var name: String {
        switch self {
        case .loss: return "loss"
        case .confidence: return "confidence"
        case .entropy: return "entropy"
        case .modifiedEntropy: return "modified_entropy"
        case let .lira(online, _): return online ? "lira" : "lira_offline"
        case let .rmia(online, _, _, _): return online ? "rmia" : "rmia_offline"
        case .shadowModels: return "shadow"
        case .labelOnly: return "label_only"
        }
    }

    /// Whether the attack needs reference (shadow) models.
    public var needsReferenceModels: Bool {
        switch self {
        case .loss, .confidence, .entropy, .modifiedEntropy, .labelOnly: return false
        case .lira, .rmia, .shadowModels: return true
        }
    }

    /// Whether the attack needs reference models trained with the audited examples (an online
    /// design).
    public var needsOnlineDesign: Bool {
        switch self {
        case let .lira(online, _): return online
        case let .rmia(online, _, _, _): return online
        default: return false
        }
    }
}
