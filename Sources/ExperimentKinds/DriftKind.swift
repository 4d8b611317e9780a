import Datasets
import DriftDetection
import ExperimentRunning
import ExperimentSpecs
import ExperimentStore
import Foundation
import LabRandom

/// Kind `drift`: how well input-drift tests tell batches of shifted inputs from batches of clean
/// ones. A reference sample is drawn from the data's training part; each of `batches` rounds
/// draws a clean batch and another batch from the test part and shifts the second; every test
/// runs on both.
///
/// ```yaml
/// kind: drift
/// data: {dataset: adult}
/// shift: {method: feature_shift, amount: 0.25, features: [0, 2]}   # none | gaussian_noise | feature_shift | feature_scale
/// test: {methods: [ks, mmd], batches: 20, reference_size: 500, batch_size: 200,
///        significance: 0.05, correction: bonferroni, permutations: 100}
/// ```
///
/// `gaussian_noise` adds N(0, amount²) to each shifted value, `feature_shift` adds `amount`,
/// `feature_scale` multiplies by `amount`; `features` (default: all) names the columns shifted
/// and `fraction` (1) the share of a batch's rows shifted.
///
/// Metrics per test (`ks`, `mmd`): `detection_rate` (shifted batches flagged), `false_positive_rate`
/// (clean batches flagged), `median_p_shifted`, `median_p_clean`; `shift.rows` and
/// `shift.features` say what changed.
public enum DriftKind: ExperimentKind {
    public static let name = "drift"
    public static let summary = "draw clean and shifted batches; run the KS and MMD drift tests; report detection and false-positive rates"
    public static func inputFiles(of p: Parameters) -> [URL] { p.data.inputFiles }
    public static func inputFingerprints(of p: Parameters) -> [String] { p.data.inputFingerprints }

    public enum ShiftMethod: String, SpecEnum {
        case none
        case gaussianNoise = "gaussian_noise"
        case featureShift = "feature_shift"
        case featureScale = "feature_scale"
    }
    public enum TestName: String, SpecEnum { case ks, mmd }
    public enum CorrectionName: String, SpecEnum { case bonferroni, fdr }

    public struct ShiftSpec: Sendable, Equatable {
        public var method: ShiftMethod
        public var amount: Double
        public var features: [Int]?
        public var fraction: Double
    }

    public struct TestSpec: Sendable, Equatable {
        public var methods: [TestName]
        public var batches: Int
        public var referenceSize: Int
        public var batchSize: Int
        public var significance: Double
        public var correction: CorrectionName
        public var permutations: Int
    }

    public struct Parameters: Sendable {
        public var data: DataSpec
        public var shift: ShiftSpec
        public var test: TestSpec
    }

    public static func parameters(from body: SpecReader) throws(SpecError) -> Parameters {
        let data = try DataSpec.decode(body.section("data"))
        let s = try body.section("shift")
        let method: ShiftMethod = try s.optional("method", default: .featureShift)
        let shift = ShiftSpec(method: method,
                              amount: try s.optional("amount", default: method == .featureScale ? 1.5 : 0.5, in: -1000...1000),
                              features: try s.optional("features"),
                              fraction: try s.optional("fraction", default: 1.0, in: 0...1))
        if let features = shift.features {
            if features.isEmpty { throw s.error("features", "needs at least one feature index (or leave it out for all)") }
            if let bad = features.first(where: { $0 < 0 }) { throw s.error("features", "feature indices are ≥ 0, got \(bad)") }
        }
        if method == .gaussianNoise && shift.amount < 0 { throw s.error("amount", "is the noise's standard deviation: must be ≥ 0, got \(shift.amount)") }
        try s.finish()
        let t = try body.section("test")
        let methods: [TestName] = try t.optional("methods", default: [.ks, .mmd])
        if methods.isEmpty { throw t.error("methods", "needs at least one test") }
        let test = TestSpec(methods: methods,
                            batches: try t.optional("batches", default: 20, in: 1...10_000),
                            referenceSize: try t.optional("reference_size", default: 500, in: 2...100_000),
                            batchSize: try t.optional("batch_size", default: 200, in: 2...100_000),
                            significance: try t.optional("significance", default: 0.05, in: 0.0001...0.5),
                            correction: try t.optional("correction", default: .bonferroni),
                            permutations: try t.optional("permutations", default: 100, in: 1...100_000))
        try t.finish()
        return Parameters(data: data, shift: shift, test: test)
    }

    public static func run(_ p: Parameters, context: TrialContext) async throws -> TrialOutcome {
        let (train, test) = try await p.data.load(from: context.dataDirectory, cache: context.datasets, random: context.random)
        let width = train.featureCount
        guard train.count >= p.test.referenceSize else {
            throw DataSpecError("test.reference_size: \(p.test.referenceSize) rows asked, the data's training part has \(train.count)")
        }
        guard test.count >= p.test.batchSize else {
            throw DataSpecError("test.batch_size: \(p.test.batchSize) rows asked, the data's test part has \(test.count)")
        }
        let shifted = p.shift.features ?? Array(0..<width)
        if let bad = shifted.first(where: { $0 >= width }) {
            throw DataSpecError("shift.features: feature \(bad) does not exist in rows of \(width) features")
        }
        func rows(_ data: LabeledData, _ indices: [Int]) -> [Double] { data.doubleRows(indices) }
        var referenceStream = context.random.stream("reference")
        let reference = rows(train, Array(referenceStream.permutation(train.count).prefix(p.test.referenceSize)))
        let ks = p.test.methods.contains(.ks)
            ? try FeatureDriftTest(reference: reference, features: width, significance: p.test.significance,
                                   correction: p.test.correction == .fdr ? .falseDiscoveryRate : .bonferroni) : nil
        let mmd = p.test.methods.contains(.mmd)
            ? try MMDDriftTest(reference: reference, features: width, permutations: p.test.permutations, significance: p.test.significance) : nil

        var pValues: [TestName: (clean: [Double], shifted: [Double])] = [:]
        var flagged: [TestName: (clean: Int, shifted: Int)] = [:]
        var shiftedRows = 0
        context.progress("testing \(p.test.batches) clean and \(p.test.batches) shifted batches of \(p.test.batchSize) rows")
        for b in 0..<p.test.batches {
            var draw = context.random.stream("batches/\(b)")
            let clean = rows(test, Array(draw.permutation(test.count).prefix(p.test.batchSize)))
            var moved = rows(test, Array(draw.permutation(test.count).prefix(p.test.batchSize)))
            var noise = context.random.stream("batches/\(b)/shift")
            for r in 0..<p.test.batchSize where noise.nextDouble() < p.shift.fraction {
                shiftedRows += 1
                for f in shifted {
                    let v = moved[r * width + f]
                    switch p.shift.method {
                    case .none: break
                    case .gaussianNoise: moved[r * width + f] = v + p.shift.amount * noise.nextNormal()
                    case .featureShift: moved[r * width + f] = v + p.shift.amount
                    case .featureScale: moved[r * width + f] = v * p.shift.amount
                    }
                }
            }
            for name in p.test.methods {
                let (pClean, flagClean, pMoved, flagMoved): (Double, Bool, Double, Bool)
                switch name {
                case .ks:
                    let a = try ks!.test(clean), c = try ks!.test(moved)
                    (pClean, flagClean, pMoved, flagMoved) = (a.pValues.min()!, a.drift, c.pValues.min()!, c.drift)
                case .mmd:
                    let a = try mmd!.test(clean, random: context.random.stream("batches/\(b)/mmd/clean"))
                    let c = try mmd!.test(moved, random: context.random.stream("batches/\(b)/mmd/shifted"))
                    (pClean, flagClean, pMoved, flagMoved) = (a.pValue, a.drift, c.pValue, c.drift)
                }
                pValues[name, default: ([], [])].clean.append(pClean)
                pValues[name, default: ([], [])].shifted.append(pMoved)
                flagged[name, default: (0, 0)].clean += flagClean ? 1 : 0
                flagged[name, default: (0, 0)].shifted += flagMoved ? 1 : 0
            }
        }
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let batches = Double(p.test.batches)
        var metrics = [Metric(part: "shift", "rows", Double(shiftedRows) / batches), Metric(part: "shift", "features", Double(shifted.count))]
        for name in p.test.methods {
            let part = name.rawValue
            metrics += [
                Metric(part: part, "detection_rate", Double(flagged[name]!.shifted) / batches),
                Metric(part: part, "false_positive_rate", Double(flagged[name]!.clean) / batches),
                Metric(part: part, "median_p_shifted", median(pValues[name]!.shifted)),
                Metric(part: part, "median_p_clean", median(pValues[name]!.clean)),
            ]
        }
        return TrialOutcome(metrics: metrics)
    }
}

extension LabeledData {
    /// The features of rows `indices`, in that order, as Doubles row-major (what the drift and
    /// outlier tests take).
    func doubleRows(_ indices: [Int]) -> [Double] {
        let width = featureCount
        return indices.flatMap { i in features[i * width..<(i + 1) * width].map(Double.init) }
    }
}
