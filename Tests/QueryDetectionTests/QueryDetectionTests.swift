import Foundation
import LabRandom
import QueryDetection
import Testing
import TestSupport

/// `count` rows of `width` uniform values in [0, 1).
func uniformRows(_ count: Int, _ width: Int, seed: UInt64) -> [Float] {
    var r = LabRandom(seed: seed).stream("rows")
    return (0..<count * width).map { _ in Float(r.nextDouble()) }
}

/// A probing stream: `count` copies of one row, each with small uniform noise of size `noise`.
func probingStream(_ count: Int, _ width: Int, noise: Float, seed: UInt64) -> [Float] {
    var r = LabRandom(seed: seed).stream("probe")
    let base = (0..<width).map { _ in Float(r.nextDouble()) }
    return (0..<count).flatMap { _ in base.map { min(1, max(0, $0 + noise * Float(2 * r.nextDouble() - 1))) } }
}

@Suite("Shapiro–Wilk statistic")
struct ShapiroWilkTests {
    @Test("Φ⁻¹ inverts Φ to about double precision over the whole range")
    func quantileInvertsCDF() {
        for p in [1e-300, 1e-20, 1e-8, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-12] {
            let x = ShapiroWilk.normalQuantile(p)
            let back = x <= 0 ? 0.5 * erfc(-x / 2.0.squareRoot()) : 1 - 0.5 * erfc(x / 2.0.squareRoot())
            #expect(abs(back - p) <= 1e-13 * p + 1e-16 * (x > 0 ? 1 : 0), "p = \(p): Φ(Φ⁻¹(p)) = \(back)")
        }
        #expect(ShapiroWilk.normalQuantile(0.5) == 0)
        #expect(abs(ShapiroWilk.normalQuantile(0.975) - 1.959963984540054) < 1e-14)
    }

    @Test("W is 1 for an exact normal-scores sample's shape, scale and shift free, and small for a skewed sample")
    func properties() throws {
        var r = LabRandom(seed: 7).stream("w")
        let normal = (0..<1000).map { _ in r.nextNormal() }
        let w = try ShapiroWilk.statistic(normal)
        #expect(w > 0.99 && w <= 1)
        let moved = try ShapiroWilk.statistic(normal.map { 3 * $0 + 100 })
        #expect(abs(moved - w) < 1e-12)
        let exponential = (0..<1000).map { _ in -log(1 - r.nextDouble()) }
        #expect(try ShapiroWilk.statistic(exponential) < 0.9)
        #expect(throws: QueryDetectionError.self) { try ShapiroWilk.statistic([1, 1, 1, 1]) }
        #expect(throws: QueryDetectionError.self) { try ShapiroWilk.statistic([1, 2]) }
        #expect(throws: QueryDetectionError.self) { try ShapiroWilk.statistic([1, .nan, 2]) }
        // The coefficients are a unit vector (Σ a_i² over both halves = 1).
        for n in [4, 5, 6, 11, 100, 5000] {
            let a = ShapiroWilk.coefficients(n)
            #expect(abs(2 * a.reduce(0) { $0 + $1 * $1 } - 1) < 1e-12, "n = \(n)")
        }
    }

    @Test("W equals SciPy's shapiro on normal, uniform, skewed and tied samples from n = 3 to 5000",
          .enabled(if: SciPy.python != nil, "set PRIVACY_LAB_PYTHON to a Python with SciPy"))
    func matchesSciPy() throws {
        var r = LabRandom(seed: 11).stream("samples")
        var samples: [[Double]] = []
        for n in [3, 4, 5, 6, 7, 11, 20, 50, 101, 500, 2000, 5000] {
            samples.append((0..<n).map { _ in r.nextNormal() })
            samples.append((0..<n).map { _ in r.nextDouble() })
            samples.append((0..<n).map { _ in exp(r.nextNormal()) })
            samples.append((0..<n).map { _ in (r.nextDouble() * 4).rounded(.down) })
        }
        samples = samples.filter { Set($0).count > 1 }
        let input = samples.map { $0.map { "\($0)" }.joined(separator: " ") }.joined(separator: "\n")
        let reference = try SciPy.run("""
            import sys, numpy as np
            from scipy.stats import shapiro
            for line in sys.stdin:
                x = np.array([float(v) for v in line.split()])
                print(repr(float(shapiro(x).statistic)))
            """, input: input)
        #expect(reference.count == samples.count)
        for (sample, expected) in zip(samples, reference) {
            let ours = try ShapiroWilk.statistic(sample)
            #expect(abs(ours - expected) < 1e-6, "n = \(sample.count): W = \(ours) against SciPy's \(expected)")
        }
    }
}

@Suite("Stateful k-NN detector (Chen, Carlini and Wagner)")
struct StatefulKNNTests {
    @Test("a probing stream is flagged once k queries are stored; distinct benign rows are not, at the calibrated threshold")
    func probingAgainstBenign() throws {
        let width = 64, k = 10
        let calibration = uniformRows(400, width, seed: 1)
        let threshold = try StatefulKNNDetector.calibrate(benign: calibration, k: k, falsePositiveRate: 0.01, encoder: .identity(width: width))
        let template = try StatefulKNNDetector(k: k, threshold: threshold, capacity: 1000, encoder: .identity(width: width))
        var attack = template
        let probe = probingStream(200, width, noise: 0.02, seed: 2)
        let outcome = try attack.replay(queries: probe, answers: Array(repeating: 3, count: 200))
        #expect(outcome.firstDetection == k + 1)
        // The buffer is cleared at each detection and keeps the flagged query: the next detection
        // comes k queries later, at 11, 21, …, 191.
        #expect(outcome.detections == (200 - (k + 1)) / k + 1)
        var benign = template
        let clean = try benign.replay(queries: uniformRows(300, width, seed: 3), answers: Array(repeating: 0, count: 300))
        #expect(clean.firstDetection == nil)
    }

    @Test("calibration flags at most the asked fraction of the benign rows it saw, and the threshold grows with the rate")
    func calibration() throws {
        let width = 16, k = 5, n = 300
        let rows = uniformRows(n, width, seed: 4)
        let low = try StatefulKNNDetector.calibrate(benign: rows, k: k, falsePositiveRate: 0.01, encoder: .identity(width: width))
        let high = try StatefulKNNDetector.calibrate(benign: rows, k: k, falsePositiveRate: 0.2, encoder: .identity(width: width))
        #expect(low < high)
        // Score each row against the others as calibration does, and count those below.
        var below = 0
        for i in 0..<n {
            var d: [Double] = []
            for j in 0..<n where j != i {
                var s = 0.0
                for f in 0..<width { let t = Double(rows[i * width + f] - rows[j * width + f]); s += t * t }
                d.append(s.squareRoot())
            }
            d.sort()
            if d.prefix(k).reduce(0, +) / Double(k) < high { below += 1 }
        }
        #expect(below <= Int(0.2 * Double(n)))
        #expect(below >= Int(0.2 * Double(n)) - 2)
    }

    @Test("average pooling averages blocks, partial edge blocks included")
    func pooling() {
        let encoder = QueryEncoder.averagePooling(height: 3, width: 3, channels: 1, factor: 2)
        #expect(encoder.outputWidth == 4)
        let image: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var out = [Float](repeating: 0, count: 4)
        image.withUnsafeBufferPointer { q in out.withUnsafeMutableBufferPointer { encoder.encode(q, into: $0) } }
        #expect(out == [3, 4.5, 7.5, 9])
        // Two channels, channels first: each channel pooled on its own.
        let two = QueryEncoder.averagePooling(height: 2, width: 2, channels: 2, factor: 2)
        var pooled = [Float](repeating: 0, count: 2)
        [Float]([1, 2, 3, 4, 10, 20, 30, 40]).withUnsafeBufferPointer { q in pooled.withUnsafeMutableBufferPointer { two.encode(q, into: $0) } }
        #expect(pooled == [2.5, 25])
    }

    @Test("bad settings and streams get one clear error")
    func badInput() throws {
        #expect(throws: QueryDetectionError.self) { try StatefulKNNDetector(k: 0, threshold: 1, encoder: .identity(width: 4)) }
        #expect(throws: QueryDetectionError.self) { try StatefulKNNDetector(k: 5, threshold: -1, encoder: .identity(width: 4)) }
        #expect(throws: QueryDetectionError.self) { try StatefulKNNDetector(k: 5, threshold: 1, capacity: 1 << 40, encoder: .identity(width: 4)) }
        #expect(throws: QueryDetectionError.self) { try StatefulKNNDetector(k: 5, threshold: 1, capacity: 1_000_000, encoder: .identity(width: 100_000)) }
        #expect(throws: QueryDetectionError.self) {
            try StatefulKNNDetector(k: 5, threshold: 1, encoder: .averagePooling(height: 28, width: 28, channels: 1, factor: 0))
        }
        #expect(throws: QueryDetectionError.self) {
            try StatefulKNNDetector.calibrate(benign: uniformRows(5, 4, seed: 1), k: 5, falsePositiveRate: 0.1, encoder: .identity(width: 4))
        }
        var d = try StatefulKNNDetector(k: 2, threshold: 1, encoder: .identity(width: 4))
        #expect(throws: QueryDetectionError.self) { try d.replay(queries: [0, 0, 0], answers: [1]) }
        #expect(throws: QueryDetectionError.self) { try d.replay(queries: [0, 0, .nan, 0], answers: [1]) }
        #expect(throws: QueryDetectionError.self) { try d.replay(queries: [0, 0, 0, 0], answers: [-1]) }
    }
}

@Suite("Blacklight")
struct BlacklightTests {
    @Test("a repeated or slightly changed query is flagged; unrelated queries are not")
    func matches() throws {
        let width = 784
        var detector = try Blacklight(inputWidth: width)
        let rows = uniformRows(50, width, seed: 5)
        let benign = try detector.replay(queries: rows, answers: Array(repeating: 0, count: 50))
        #expect(benign.detections == 0)
        // The first row again, with three pixels changed: most windows and their hashes survive.
        var again = Array(rows[0..<width])
        for i in [10, 400, 700] { again[i] = 1 - again[i] }
        let outcome = try detector.replay(queries: again, answers: [0])
        #expect(outcome.firstDetection == 1)
    }

    @Test("the fingerprint holds the top distinct window hashes, largest first, and fewer when the query has fewer windows")
    func fingerprint() throws {
        let detector = try Blacklight(inputWidth: 100, window: 20, top: 50)
        let row = uniformRows(1, 100, seed: 6)
        let print = row.withUnsafeBufferPointer { detector.fingerprint($0) }
        #expect(print.count == 50)
        #expect(print == print.sorted(by: >))
        #expect(Set(print).count == 50)
        let flat = [Float](repeating: 0.5, count: 100)
        #expect(flat.withUnsafeBufferPointer { detector.fingerprint($0) }.count == 1)
    }

    @Test("memory is bounded: a query older than maximum_queries is forgotten")
    func forgets() throws {
        let width = 200
        var detector = try Blacklight(inputWidth: width, maximumQueries: 5)
        let rows = uniformRows(7, width, seed: 8)
        _ = try detector.replay(queries: rows, answers: Array(repeating: 0, count: 7))
        #expect(try detector.replay(queries: Array(rows[0..<width]), answers: [0]).detections == 0)
        #expect(try detector.replay(queries: Array(rows[6 * width..<7 * width]), answers: [0]).detections == 1)
    }

    @Test("bad settings get one clear error")
    func badSettings() {
        #expect(throws: QueryDetectionError.self) { try Blacklight(inputWidth: 10, window: 20) }
        #expect(throws: QueryDetectionError.self) { try Blacklight(inputWidth: 100, quantizationStep: 0) }
        #expect(throws: QueryDetectionError.self) { try Blacklight(inputWidth: 100, top: 10, threshold: 11) }
        #expect(throws: QueryDetectionError.self) { try Blacklight(inputWidth: 100, valueRange: .nan) }
    }
}

@Suite("PRADA")
struct PRADATests {
    @Test("natural queries keep W high and are not flagged; synthetic steps from a few seeds are")
    func extractionAgainstBenign() throws {
        let width = 50
        var r = LabRandom(seed: 9).stream("prada")
        // Benign: independent Gaussian rows, answered by the sign of their first feature.
        let benignRows = (0..<400 * width).map { _ in Float(r.nextNormal()) }
        let benignAnswers = (0..<400).map { benignRows[$0 * width] > 0 ? 1 : 0 }
        var benign = try PRADA(inputWidth: width, delta: 0.9)
        let clean = try benign.replay(queries: benignRows, answers: benignAnswers)
        #expect(clean.detections == 0)
        #expect(try #require(benign.statistic) > 0.9)
        // Extraction-like: 5 seeds, each followed by steps of ±0.1 in every feature (Jacobian
        // augmentation's fixed-size steps): distances pile up at one value.
        var synthetic: [Float] = [], answers: [Int] = []
        for s in 0..<5 {
            var x = (0..<width).map { _ in Float(r.nextNormal()) }
            for _ in 0..<80 {
                synthetic += x
                answers.append(s % 2)
                x = x.map { $0 + (r.nextDouble() < 0.5 ? -0.1 : 0.1) }
            }
        }
        var attack = try PRADA(inputWidth: width, delta: 0.9)
        let caught = try attack.replay(queries: synthetic, answers: answers)
        // The first query of each class starts its growing set and adds no distance (queries 1 and
        // 81 here): the 101st distance, the first test, comes with query 103.
        #expect(caught.firstDetection == 103)
    }

    @Test("nothing is flagged before more than minimum_distances distances exist, and bad settings are refused")
    func warmUpAndSettings() throws {
        var d = try PRADA(inputWidth: 2, minimumDistances: 10)
        let same = [Float](repeating: 1, count: 2 * 11)
        let outcome = try d.replay(queries: same, answers: Array(repeating: 0, count: 11))
        // 11 queries give 10 distances (the first query starts the growing set): not yet more than 10.
        #expect(outcome.detections == 0)
        #expect(try d.replay(queries: [1, 1], answers: [0]).detections == 1)
        #expect(throws: QueryDetectionError.self) { try PRADA(inputWidth: 2, delta: 1) }
        #expect(throws: QueryDetectionError.self) { try PRADA(inputWidth: 2, minimumDistances: 2) }
        #expect(throws: QueryDetectionError.self) { try PRADA(inputWidth: 1 << 20, maximumGrowingSet: 1 << 20) }
    }
}

@Suite("Detection summaries")
struct DetectionSummaryTests {
    @Test("detection rate, median queries to detection and flagged-query rate count what they say")
    func summary() {
        let s = DetectionSummary([StreamOutcome(queries: 100, firstDetection: 10, detections: 3),
                                  StreamOutcome(queries: 50, firstDetection: nil, detections: 0),
                                  StreamOutcome(queries: 50, firstDetection: 30, detections: 1)])
        #expect(s.streams == 3)
        #expect(abs(s.detectionRate - 2.0 / 3) < 1e-15)
        #expect(s.medianQueriesToDetection == 20)
        #expect(s.flaggedQueryRate == 4.0 / 200)
        #expect(DetectionSummary([StreamOutcome(queries: 5, firstDetection: nil, detections: 0)]).medianQueriesToDetection == nil)
    }
}
