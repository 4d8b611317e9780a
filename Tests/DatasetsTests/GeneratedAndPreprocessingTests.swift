import Datasets
import LabRandom
import Testing

/// Accuracy of the nearest-centroid rule with centroids estimated from `fit` and applied to `data`.
private func nearestCentroidAccuracy(fit: LabeledData, data: LabeledData) -> Double {
    let w = fit.featureCount
    var centroids = [Double](repeating: 0, count: fit.classCount * w)
    let counts = fit.classCounts()
    for i in 0..<fit.count {
        let c = Int(fit.labels[i])
        for (j, v) in fit.sample(i).enumerated() { centroids[c * w + j] += Double(v) / Double(counts[c]) }
    }
    var correct = 0
    for i in 0..<data.count {
        let x = Array(data.sample(i))
        var best = 0, bestDistance = Double.infinity
        for c in 0..<fit.classCount {
            var d = 0.0
            for j in 0..<w { let e = Double(x[j]) - centroids[c * w + j]; d += e * e }
            if d < bestDistance { bestDistance = d; best = c }
        }
        if best == Int(data.labels[i]) { correct += 1 }
    }
    return Double(correct) / Double(data.count)
}

@Suite("Generated sets")
struct GeneratedSetTests {
    @Test("Gaussian mixture: balanced, deterministic per stream, separable when separation is large")
    func gaussianMixture() {
        var a = LabRandom(seed: 20).stream("data/gmm"), b = LabRandom(seed: 20).stream("data/gmm")
        let x = SyntheticDatasets.gaussianMixture(samples: 1000, features: 10, classes: 4, separation: 6, using: &a)
        let y = SyntheticDatasets.gaussianMixture(samples: 1000, features: 10, classes: 4, separation: 6, using: &b)
        #expect(x == y)
        #expect(x.batchShape == [1000, 10] && x.classCounts() == [250, 250, 250, 250])
        #expect(nearestCentroidAccuracy(fit: x, data: x) > 0.97)
        var c = LabRandom(seed: 21)
        let hard = SyntheticDatasets.gaussianMixture(samples: 4000, features: 10, classes: 4, separation: 0, using: &c)
        #expect(nearestCentroidAccuracy(fit: hard.prefix(2000), data: hard.subset(Array(2000..<4000))) < 0.35)
    }

    @Test("pattern images: NCHW in [0, 1], quiet corners, classes recognisable by their prototypes")
    func patternImages() {
        var random = LabRandom(seed: 22).stream("data/patterns")
        let d = SyntheticDatasets.patternImages(samplesPerClass: 30, classes: 10, side: 16, noise: 0.1, using: &random)
        #expect(d.batchShape == [300, 1, 16, 16] && d.classCounts() == [Int](repeating: 30, count: 10))
        #expect(d.features.allSatisfy { $0 >= 0 && $0 <= 1 })
        // The 2×2 bottom-right corner (where backdoor triggers go) holds only clipped noise,
        // whose mean is σ/√(2π) ≈ 0.04.
        var corner = 0.0
        for i in 0..<d.count {
            let x = Array(d.sample(i))
            for r in 14..<16 { for col in 14..<16 { corner += Double(x[r * 16 + col]) } }
        }
        #expect(corner / Double(d.count * 4) < 0.05)
        // The best match of a prototype, over the allowed one-pixel shifts, recovers the class.
        let prototypes = (0..<10).map { SyntheticDatasets.patternPrototype(label: $0, side: 16) }
        var correct = 0
        for i in 0..<d.count {
            let x = Array(d.sample(i))
            let scores = prototypes.map { p -> Float in
                let norm = p.reduce(0, +).squareRoot()
                var best = -Float.infinity
                for dy in -1...1 {
                    for dx in -1...1 {
                        var dot: Float = 0
                        for r in 0..<16 {
                            for c in 0..<16 where r - dy >= 0 && r - dy < 16 && c - dx >= 0 && c - dx < 16 {
                                dot += p[(r - dy) * 16 + c - dx] * x[r * 16 + c]
                            }
                        }
                        best = max(best, dot / norm)
                    }
                }
                return best
            }
            if scores.firstIndex(of: scores.max()!) == Int(d.labels[i]) { correct += 1 }
        }
        #expect(Double(correct) / Double(d.count) > 0.9)
        // Distinct prototypes.
        #expect(Set(prototypes.map { $0.map { Int($0) } }).count == 10)
        var again = LabRandom(seed: 22).stream("data/patterns")
        #expect(SyntheticDatasets.patternImages(samplesPerClass: 30, classes: 10, side: 16, noise: 0.1, using: &again) == d)
    }
}

@Suite("Preprocessing")
struct PreprocessingTests {
    private func data(_ seed: UInt64, _ n: Int) -> LabeledData {
        var random = LabRandom(seed: seed)
        let base = SyntheticDatasets.gaussianMixture(samples: n, features: 5, classes: 3, separation: 3, using: &random)
        // Shift and stretch features so scaling has work to do; make feature 4 constant.
        var f = base.features
        for i in 0..<n {
            for j in 0..<5 { f[i * 5 + j] = j == 4 ? 7 : f[i * 5 + j] * Float(j + 1) * 10 + 1000 }
        }
        return base.replacingFeatures(f)
    }

    @Test("standardize: fitted on train (mean 0, sd 1 there), applied with train's statistics to test")
    func standardize() {
        let train = data(30, 800), test = data(31, 200)
        let (scaled, scaler) = Dataset(name: "t", train: train, test: test).scaled(.standardize)
        for j in 0..<4 {
            let column = (0..<train.count).map { Double(scaled.train.features[$0 * 5 + j]) }
            let mean = column.reduce(0, +) / Double(column.count)
            let sd = (column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(column.count)).squareRoot()
            #expect(abs(mean) < 1e-3 && abs(sd - 1) < 1e-3)
        }
        #expect((0..<train.count).allSatisfy { scaled.train.features[$0 * 5 + 4] == 0 })  // constant feature
        let testScaled = scaled.test!
        for i in 0..<test.count {
            for j in 0..<5 {
                let expected = (test.features[i * 5 + j] - scaler.offset[j]) * scaler.factor[j]
                #expect(testScaled.features[i * 5 + j] == expected)
            }
        }
        #expect(scaler.offset[0] != FeatureScaler.fit(test, method: .standardize).offset[0])
    }

    @Test("min-max: train maps onto [low, high]; test may fall outside")
    func minMax() {
        let train = data(32, 500), test = data(33, 500)
        let scaler = FeatureScaler.fit(train, method: .minMax(low: -1, high: 1))
        let t = scaler.apply(to: train)
        for j in 0..<4 {
            let column = (0..<t.count).map { t.features[$0 * 5 + j] }
            #expect(abs(column.min()! + 1) < 1e-5 && abs(column.max()! - 1) < 1e-5)
        }
        let u = scaler.apply(to: test)
        #expect(u.features.contains { $0 < -1 || $0 > 1 })
    }

    @Test("one-hot labels, subsets and NHWC → NCHW")
    func labelsAndLayout() {
        let d = LabeledData(features: [1, 2, 3, 4, 5, 6], sampleShape: [2], labels: [2, 0, 1], classCount: 3)
        #expect(d.oneHotLabels() == [0, 0, 1, 1, 0, 0, 0, 1, 0])
        let s = d.subset([2, 0])
        #expect(s.features == [5, 6, 1, 2] && s.labels == [1, 2])
        // One 2×2 image with 3 channels: NHWC pixel (h, w) holds (r, g, b).
        let nhwc: [Float] = [1, 10, 100, 2, 20, 200, 3, 30, 300, 4, 40, 400]
        #expect(ImageLayout.nhwcToNCHW(nhwc, count: 1, height: 2, width: 2, channels: 3)
                == [1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400])
    }
}
