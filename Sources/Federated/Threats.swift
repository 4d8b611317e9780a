import Datasets
import LabRandom

/// A trigger stamped on inputs: chosen feature positions set to a value.
///
/// For images, `pixelPattern` gives Bagdasaryan et al.'s pixel-pattern trigger: a small
/// checkerboard in the bottom-right corner of every channel.
public struct Trigger: Sendable, Equatable, Hashable {
    /// Flat feature indices within one sample.
    public var positions: [Int]
    /// The values written there (same count as `positions`).
    public var values: [Float]

    public init(positions: [Int], values: [Float]) {
        precondition(positions.count == values.count, "Trigger: \(positions.count) positions, \(values.count) values")
        self.positions = positions
        self.values = values
    }

    /// A size×size checkerboard (on = `high`, off = `low`) in the bottom-right corner, one pixel
    /// from the border, of every channel of a [C, H, W] or [H, W] sample; for a flat [F] sample,
    /// the last size² features alternate high and low.
    public static func pixelPattern(sampleShape: [Int], size: Int = 3, high: Float = 1, low: Float = 0) -> Trigger {
        precondition(size >= 1, "Trigger.pixelPattern: size must be ≥ 1")
        var positions: [Int] = [], values: [Float] = []
        let shape = sampleShape.count == 2 ? [1] + sampleShape : sampleShape
        if shape.count == 3, shape[1] > size + 1, shape[2] > size + 1 {
            let (c, h, w) = (shape[0], shape[1], shape[2])
            for channel in 0..<c {
                for i in 0..<size {
                    for j in 0..<size {
                        let y = h - 1 - size + i, x = w - 1 - size + j
                        positions.append(channel * h * w + y * w + x)
                        values.append((i + j) % 2 == 0 ? high : low)
                    }
                }
            }
        } else {
            let f = sampleShape.reduce(1, *)
            let k = Swift.min(size * size, f)
            for i in 0..<k {
                positions.append(f - k + i)
                values.append(i % 2 == 0 ? high : low)
            }
        }
        return Trigger(positions: positions, values: values)
    }

    /// `data` with the trigger stamped on the examples at `indices` (all when nil) and, when
    /// `relabel` is given, those examples' labels replaced by it.
    public func stamped(_ data: LabeledData, indices: [Int]? = nil, relabel: Int32? = nil) -> LabeledData {
        var features = data.features
        var labels = data.labels
        let f = data.featureCount
        for i in indices ?? Array(0..<data.count) {
            for (p, v) in zip(positions, values) { features[i * f + p] = v }
            if let relabel { labels[i] = relabel }
        }
        return LabeledData(unchecked: features, sampleShape: data.sampleShape, labels: labels, like: data)
    }
}

extension LabeledData {
    init(unchecked features: [Float], sampleShape: [Int], labels: [Int32], like other: LabeledData) {
        self = LabeledData(features: features, sampleShape: sampleShape, labels: labels, classCount: other.classCount,
                                classNames: other.classNames, featureNames: other.featureNames)
    }
}

/// Model replacement by a backdoored client (Bagdasaryan et al., "How To Backdoor Federated
/// Learning", AISTATS 2020).
///
/// The attacker trains on its own data with a `poisonFraction` of its examples stamped with the
/// trigger and relabelled `targetLabel` (the rest stay clean, which keeps the main task
/// accurate), then scales its update by γ = `boost` so that it survives averaging: with k clients
/// per round and server rate η, γ = k/η replaces the global model by the attacker's.
public struct Backdoor: Sendable, Equatable, Hashable {
    public var trigger: Trigger
    public var targetLabel: Int
    public var poisonFraction: Double
    public var boost: Float

    public init(trigger: Trigger, targetLabel: Int, poisonFraction: Double = 0.5, boost: Float = 10) {
        self.trigger = trigger
        self.targetLabel = targetLabel
        self.poisonFraction = poisonFraction
        self.boost = boost
    }
}

/// What a malicious client does instead of honest training.
public enum ClientAttack: Sendable, Equatable, Hashable {
    /// Trains on labels mapped y → C − 1 − y (Tolpegin et al., ESORICS 2020; Fang et al. 2020).
    case labelFlipping
    /// Trains honestly, then sends −scale·Δ (a sign-flipping Byzantine update).
    case signFlipping(scale: Float)
    /// Sends N(0, σ²·I) instead of an update (a Gaussian Byzantine client).
    case gaussianNoise(standardDeviation: Float)
    /// Bagdasaryan et al.'s scaled model replacement with a trigger.
    case backdoor(Backdoor)

    /// A short name for reports.
    public var name: String {
        switch self {
        case .labelFlipping: return "label-flip"
        case .signFlipping: return "sign-flip"
        case .gaussianNoise: return "gaussian-noise"
        case .backdoor: return "backdoor"
        }
    }
}

/// Which clients are malicious and what they do.
///
/// The malicious set is ⌊fraction·N⌉ clients drawn once, from the stream "threat/malicious";
/// they behave maliciously in every round they are sampled from `firstRound` on.
public struct ThreatModel: Sendable, Equatable, Hashable {
    public var attack: ClientAttack
    public var maliciousFraction: Double
    public var firstRound: Int

    public init(attack: ClientAttack, maliciousFraction: Double, firstRound: Int = 0) throws(FederatedError) {
        guard maliciousFraction >= 0, maliciousFraction <= 1 else {
            throw .invalidConfiguration(field: "threat.fraction", reason: "must lie in [0, 1], got \(maliciousFraction)")
        }
        if case let .backdoor(b) = attack {
            guard b.poisonFraction > 0, b.poisonFraction <= 1 else {
                throw .invalidConfiguration(field: "threat.poison_fraction", reason: "must lie in (0, 1], got \(b.poisonFraction)")
            }
            guard b.boost > 0, b.boost.isFinite else { throw .invalidConfiguration(field: "threat.boost", reason: "must be positive, got \(b.boost)") }
        }
        self.attack = attack
        self.maliciousFraction = maliciousFraction
        self.firstRound = firstRound
    }

    /// The malicious clients among `clientCount`, sorted.
    public func maliciousClients(clientCount: Int, random: LabRandom) -> [Int] {
        let k = Swift.min(clientCount, Int((maliciousFraction * Double(clientCount)).rounded()))
        var stream = random.stream("threat/malicious")
        return stream.sampleWithoutReplacement(k, from: clientCount).sorted()
    }
}
