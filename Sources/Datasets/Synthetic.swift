// Generated datasets that need no files, deterministic from a passed-in LabRandom.
import LabRandom

/// Datasets generated from a seed, for tests, quickstarts and controlled experiments.
public enum SyntheticDatasets {
    /// A Gaussian-mixture classification set.
    ///
    /// Class c has mean μ_c = `separation` · u_c, with u_c a uniformly random unit vector in
    /// ℝ^features; a sample of class c is μ_c + ε, ε ~ N(0, I). Classes are balanced (counts
    /// differ by at most one) and shuffled. Larger `separation` makes the task easier: two
    /// classes are about separation·√2 apart, in units of the noise's standard deviation.
    ///
    /// Draws, in order: the class means, the label permutation, the noise.
    /// - Complexity: O(samples × features).
    public static func gaussianMixture(
        samples: Int, features: Int, classes: Int, separation: Float, using random: inout LabRandom
    ) -> LabeledData {
        precondition(samples > 0 && features > 0 && classes > 1, "gaussianMixture: need samples > 0, features > 0, classes > 1")
        var means = [Float](repeating: 0, count: classes * features)
        for c in 0..<classes {
            var norm: Float = 0
            repeat {
                means.withUnsafeMutableBufferPointer { m in
                    random.fillNormal(UnsafeMutableBufferPointer(rebasing: m[c * features ..< (c + 1) * features]),
                                      mean: 0, standardDeviation: 1)
                }
                norm = means[c * features ..< (c + 1) * features].reduce(0) { $0 + $1 * $1 }.squareRoot()
            } while norm == 0
            for j in 0..<features { means[c * features + j] *= separation / norm }
        }
        var labels = (0..<samples).map { Int32($0 % classes) }
        random.shuffle(&labels)
        var x = [Float](repeating: 0, count: samples * features)
        x.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: 1) }
        x.withUnsafeMutableBufferPointer { xs in
            means.withUnsafeBufferPointer { m in
                for i in 0..<samples {
                    let c = Int(labels[i])
                    for j in 0..<features { xs[i * features + j] += m[c * features + j] }
                }
            }
        }
        return LabeledData(unchecked: x, sampleShape: [features], labels: labels, classCount: classes,
                           classNames: (0..<classes).map { "class_\($0)" }, featureNames: nil)
    }

    /// The names of the patterns of `patternImages`, in class order.
    public static let patternNames = [
        "horizontal-bar", "vertical-bar", "diagonal", "anti-diagonal", "square-outline",
        "filled-square", "plus", "cross", "ring", "two-bars",
    ]

    /// The noise-free, centred pattern of class `label` on a `side × side` grid, values in {0, 1}.
    ///
    /// Patterns stay inside a margin of `side / 6` pixels (at least 3), so that, shifted by one
    /// pixel, they leave the two outermost rows and columns to noise: corner triggers of backdoor
    /// tests do not overlap them. Model-inversion tests can compare a reconstruction
    /// with this prototype.
    public static func patternPrototype(label: Int, side: Int) -> [Float] {
        precondition(label >= 0 && label < patternNames.count, "patternPrototype: label \(label) outside 0..<\(patternNames.count)")
        precondition(side >= 8, "patternPrototype: side must be at least 8, got \(side)")
        var image = [Float](repeating: 0, count: side * side)
        let margin = max(3, side / 6)
        let lo = margin, hi = side - 1 - margin          // inclusive inner box
        let mid = side / 2
        let thick = max(1, side / 8)
        func set(_ r: Int, _ c: Int) { if r >= lo && r <= hi && c >= lo && c <= hi { image[r * side + c] = 1 } }
        for r in lo...hi {
            for c in lo...hi {
                let dr = r - mid, dc = c - mid
                let on: Bool
                switch label {
                case 0: on = dr >= -thick / 2 && dr < thick - thick / 2
                case 1: on = dc >= -thick / 2 && dc < thick - thick / 2
                case 2: on = abs((r - lo) - (c - lo)) < thick
                case 3: on = abs((r - lo) - (hi - c)) < thick
                case 4: on = r - lo < thick || hi - r < thick || c - lo < thick || hi - c < thick
                case 5: on = abs(dr) <= (hi - lo) / 4 && abs(dc) <= (hi - lo) / 4
                case 6: on = abs(dr) < thick || abs(dc) < thick
                case 7: on = abs((r - lo) - (c - lo)) < thick || abs((r - lo) - (hi - c)) < thick
                case 8:
                    let radius = Double(hi - lo) / 2 - Double(thick) / 2
                    let d = (Double(dr * dr + dc * dc)).squareRoot()
                    on = abs(d - radius) < Double(thick) / 2 + 0.5
                default: on = abs(c - (lo + (hi - lo) / 4)) < thick || abs(c - (hi - (hi - lo) / 4)) < thick
                }
                if on { set(r, c) }
            }
        }
        return image
    }

    /// A small image set of class-specific shapes with noise, NCHW `[1, side, side]`, values in [0, 1].
    ///
    /// A sample of class c is its prototype (`patternPrototype`) shifted by up to `maxShift`
    /// pixels in each direction, scaled by a brightness in [0.7, 1], plus N(0, noise²) pixel
    /// noise, clipped to [0, 1]. Classes are balanced and shuffled. Suited to backdoor tests
    /// (corners stay near 0, so a trigger patch is salient) and inversion tests (each class has a
    /// known prototype).
    ///
    /// Draws, in order: the label permutation, then per sample the shift, brightness and noise.
    /// - Complexity: O(samples × side²).
    public static func patternImages(
        samplesPerClass: Int, classes: Int = 10, side: Int = 16, noise: Float = 0.1, maxShift: Int = 1,
        using random: inout LabRandom
    ) -> LabeledData {
        precondition(classes >= 2 && classes <= patternNames.count, "patternImages: classes must be in 2…\(patternNames.count)")
        precondition(samplesPerClass > 0 && noise >= 0 && maxShift >= 0, "patternImages: invalid arguments")
        let prototypes = (0..<classes).map { patternPrototype(label: $0, side: side) }
        let n = samplesPerClass * classes
        var labels = (0..<n).map { Int32($0 % classes) }
        random.shuffle(&labels)
        let plane = side * side
        var x = [Float](repeating: 0, count: n * plane)
        var noiseBuffer = [Float](repeating: 0, count: plane)
        for i in 0..<n {
            let proto = prototypes[Int(labels[i])]
            let dy = random.nextInt(below: 2 * maxShift + 1) - maxShift
            let dx = random.nextInt(below: 2 * maxShift + 1) - maxShift
            let brightness = 0.7 + 0.3 * random.nextFloat()
            noiseBuffer.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: noise) }
            for r in 0..<side {
                for c in 0..<side {
                    let sr = r - dy, sc = c - dx
                    let base: Float = (sr >= 0 && sr < side && sc >= 0 && sc < side) ? proto[sr * side + sc] * brightness : 0
                    x[i * plane + r * side + c] = min(1, max(0, base + noiseBuffer[r * side + c]))
                }
            }
        }
        return LabeledData(unchecked: x, sampleShape: [1, side, side], labels: labels, classCount: classes,
                           classNames: Array(patternNames.prefix(classes)), featureNames: nil)
    }
}
