#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Image-quality measures for reconstructions: PSNR and SSIM.
///
/// Images are row-major `height × width` planes of values in a known data range (`[0, 1]` for
/// every image PrivacyLab loads); an image of several channels is `channels` planes one after
/// another, and its SSIM is the mean of the per-channel values (as scikit-image and the papers'
/// reference code compute it for colour images).
public enum ImageMetrics {
    /// Peak signal-to-noise ratio in decibels: 10·log₁₀(L² / MSE), with L the data range.
    ///
    /// Laws: symmetric; +∞ for identical images; lowering the MSE by a factor 10 adds 10 dB.
    /// - Complexity: O(n).
    public static func psnr(_ a: [Float], _ b: [Float], dataRange: Float = 1) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "ImageMetrics.psnr: images of \(a.count) and \(b.count) values")
        var sum = 0.0
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count { let d = Double(x[i]) - Double(y[i]); sum += d * d }
            }
        }
        let mse = sum / Double(a.count)
        if mse == 0 { return .infinity }
        return 10 * log10(Double(dataRange) * Double(dataRange) / mse)
    }

    /// The 11-tap Gaussian window of standard deviation 1.5 of Wang et al. (2004), normalised to
    /// sum 1; the 2-D window is its outer product.
    public static func gaussianWindow(size: Int = 11, sigma: Double = 1.5) -> [Double] {
        let center = Double(size - 1) / 2
        var w = (0..<size).map { i in exp(-((Double(i) - center) * (Double(i) - center)) / (2 * sigma * sigma)) }
        let total = w.reduce(0, +)
        for i in w.indices { w[i] /= total }
        return w
    }

    /// Structural similarity (Wang, Bovik, Sheikh, Simoncelli, "Image Quality Assessment: From
    /// Error Visibility to Structural Similarity", IEEE TIP 2004), as in the authors'
    /// `ssim_index.m`:
    ///
    ///     SSIM(x, y) = mean over windows of (2μₓμᵧ + C₁)(2σₓᵧ + C₂) / ((μₓ² + μᵧ² + C₁)(σₓ² + σᵧ² + C₂))
    ///
    /// with local statistics weighted by an 11×11 Gaussian window of σ = 1.5 (separable),
    /// evaluated at every position where the window fits inside the image ("valid" filtering, no
    /// padding), C₁ = (0.01·L)², C₂ = (0.03·L)², L the data range. Images smaller than the
    /// window use a window as large as the smaller side (odd), σ scaled alike.
    ///
    /// Laws: SSIM(x, x) = 1; symmetric; at most 1. Values agree with scikit-image's
    /// `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`
    /// up to its border handling (it pads and crops; we use only valid windows).
    /// - Complexity: O(channels·height·width·window), two passes of a separable filter over five maps.
    public static func ssim(_ a: [Float], _ b: [Float], height: Int, width: Int, dataRange: Float = 1) -> Double {
        let plane = height * width
        precondition(plane > 0 && a.count == b.count && a.count % plane == 0,
                     "ImageMetrics.ssim: images of \(a.count) and \(b.count) values are not planes of \(height)×\(width)")
        let channels = a.count / plane
        var size = min(11, min(height, width))
        if size % 2 == 0 { size -= 1 }
        let window = gaussianWindow(size: size, sigma: 1.5 * Double(size) / 11)
        let c1 = (0.01 * Double(dataRange)) * (0.01 * Double(dataRange))
        let c2 = (0.03 * Double(dataRange)) * (0.03 * Double(dataRange))
        let oh = height - size + 1, ow = width - size + 1
        // Five maps (x, y, x², y², xy) filtered along rows into [height × ow], then columns.
        var rows = [Double](repeating: 0, count: 5 * height * ow)
        var total = 0.0
        for c in 0..<channels {
            a.withUnsafeBufferPointer { xa in
                b.withUnsafeBufferPointer { ya in
                    rows.withUnsafeMutableBufferPointer { r in
                        let x = xa.baseAddress! + c * plane, y = ya.baseAddress! + c * plane
                        for i in 0..<height {
                            for j in 0..<ow {
                                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
                                for k in 0..<size {
                                    let u = Double(x[i * width + j + k]), v = Double(y[i * width + j + k]), w = window[k]
                                    s0 += w * u; s1 += w * v; s2 += w * u * u; s3 += w * v * v; s4 += w * u * v
                                }
                                let o = i * ow + j, n = height * ow
                                r[o] = s0; r[n + o] = s1; r[2 * n + o] = s2; r[3 * n + o] = s3; r[4 * n + o] = s4
                            }
                        }
                    }
                }
            }
            var channelSum = 0.0
            rows.withUnsafeBufferPointer { r in
                let n = height * ow
                for i in 0..<oh {
                    for j in 0..<ow {
                        var m = (0.0, 0.0, 0.0, 0.0, 0.0)
                        for k in 0..<size {
                            let o = (i + k) * ow + j, w = window[k]
                            m.0 += w * r[o]; m.1 += w * r[n + o]; m.2 += w * r[2 * n + o]; m.3 += w * r[3 * n + o]; m.4 += w * r[4 * n + o]
                        }
                        let (mx, my) = (m.0, m.1)
                        let vx = m.2 - mx * mx, vy = m.3 - my * my, cov = m.4 - mx * my
                        channelSum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
                    }
                }
            }
            total += channelSum / Double(oh * ow)
        }
        return total / Double(channels)
    }
}
