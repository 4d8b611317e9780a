import Foundation
import LabRandom
import ModelInversion
import Tensors
import Testing

@Suite("Image metrics")
struct ImageMetricTests {
    static func images(_ h: Int, _ w: Int) -> ([Float], [Float]) {
        var a: [Float] = [], b: [Float] = []
        for i in 0..<h {
            for j in 0..<w {
                a.append(Float(0.5 + 0.5 * sin(Double(i) * 0.7 + Double(j) * 0.3)))
                b.append(Float(0.5 + 0.4 * cos(Double(i) * 0.5 - Double(j) * 0.2)))
            }
        }
        return (a, b)
    }

    @Test("PSNR: 20 dB for a uniform error of 0.1, infinite for identical images, symmetric")
    func psnr() {
        let a = [Float](repeating: 0.3, count: 50), b = [Float](repeating: 0.4, count: 50)
        #expect(abs(ImageMetrics.psnr(a, b) - 20) < 1e-4)
        #expect(ImageMetrics.psnr(a, a) == .infinity)
        let (x, y) = Self.images(10, 10)
        #expect(ImageMetrics.psnr(x, y) == ImageMetrics.psnr(y, x))
    }

    @Test("SSIM matches a NumPy evaluation of Wang et al.'s formula (11×11 Gaussian, σ 1.5, valid windows)")
    func ssimKnownAnswer() {
        let (a, b) = Self.images(20, 16)
        // numpy: separable 'valid' filtering with the normalised Gaussian window, C1 = 0.01², C2 = 0.03².
        #expect(abs(ImageMetrics.ssim(a, b, height: 20, width: 16) - (-0.13214501992458694)) < 1e-6)
    }

    @Test("SSIM laws: 1 for identical images, symmetric, at most 1, falls as noise grows")
    func ssimLaws() {
        var random = LabRandom(seed: 4)
        let (a, _) = Self.images(24, 24)
        #expect(abs(ImageMetrics.ssim(a, a, height: 24, width: 24) - 1) < 1e-9)
        var previous = 1.0
        for sigma in [0.02, 0.1, 0.3] as [Float] {
            var noise = [Float](repeating: 0, count: a.count)
            noise.withUnsafeMutableBufferPointer { random.fillNormal($0, mean: 0, standardDeviation: sigma) }
            let b = zip(a, noise).map { $0 + $1 }
            let s = ImageMetrics.ssim(a, b, height: 24, width: 24)
            #expect(abs(s - ImageMetrics.ssim(b, a, height: 24, width: 24)) < 1e-12)
            #expect(s < previous && s <= 1)
            previous = s
        }
    }

    @Test("total variation: the per-image values equal the differentiable batch value")
    func totalVariation() {
        var random = LabRandom(seed: 2)
        let x = Tensor(shape: [3, 2, 5, 4]) { random.fillUniform($0, low: 0, high: 1) }
        for tv in [TotalVariation.anisotropic, .squared] {
            let each = tv.perImage(x.scalars, shape: x.shape)
            for i in 0..<3 {
                #expect(abs(each[i] - Double(tv.value(x.slice(axis: 0, i..<(i + 1))).scalar)) < 1e-5)
            }
            #expect(abs(each.reduce(0, +) / 3 - Double(tv.value(x).scalar)) < 1e-5)
        }
    }

    @Test("reconstructions are paired with the originals they match, whatever their order")
    func matching() {
        var random = LabRandom(seed: 3)
        let originals = (0..<5).map { _ in (0..<64).map { _ in random.nextFloat() } }
        let order = [3, 0, 4, 1, 2]
        let recon = order.map { originals[$0].map { $0 + 0.01 } }
        let match = ReconstructionMatching.match(reconstructions: recon, originals: originals, height: 8, width: 8)
        #expect(match.assignment == order)
        #expect(match.psnr.allSatisfy { abs($0 - 40) < 1e-3 })
    }
}

@Suite("L-BFGS")
struct LBFGSTests {
    @Test("minimises the Rosenbrock function from (−1.2, 1) to (1, 1)")
    func rosenbrock() {
        let result = LBFGS(configuration: .init(maxIterations: 200)).minimize(from: [-1.2, 1]) { v in
            let (x, y) = (Double(v[0]), Double(v[1]))
            let f = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
            return (Float(f), [Float(-2 * (1 - x) - 400 * x * (y - x * x)), Float(200 * (y - x * x))])
        }
        #expect(abs(result.x[0] - 1) < 1e-3 && abs(result.x[1] - 1) < 1e-3)
        #expect(result.value < 1e-6)
    }

    @Test("a convex quadratic in 20 dimensions is solved in few iterations, each with sufficient decrease")
    func quadratic() {
        let n = 20
        let diagonal = (0..<n).map { 1 + Double($0) }
        let result = LBFGS(configuration: .init(maxIterations: 100, historySize: 30)).minimize(from: [Float](repeating: 1, count: n)) { v in
            var f = 0.0
            var g = [Float](repeating: 0, count: n)
            for i in 0..<n { f += 0.5 * diagonal[i] * Double(v[i]) * Double(v[i]); g[i] = Float(diagonal[i] * Double(v[i])) }
            return (Float(f), g)
        }
        #expect(result.x.allSatisfy { abs($0) < 1e-3 })
        #expect(result.iterations < 60)
        #expect(zip(result.history, result.history.dropFirst()).allSatisfy { $1 <= $0 + 1e-12 })
    }
}
