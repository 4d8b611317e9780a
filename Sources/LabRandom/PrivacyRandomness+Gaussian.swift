#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
extension PrivacyRandomness {
    /// Adds Gaussian noise in place: every element v of `out` becomes (v + σ·N(0, 1))·`scale`,
    /// computed in double precision and rounded once to Float. DP-SGD's noise.
    ///
    /// The lab's one sampler of DP noise: the ziggurat method (see `Ziggurat`), one 64-bit word
    /// per value but for the 1.2% of draws that fall outside their layer's rectangle.
    /// - Precondition: σ ≥ 0 and `scale` finite.
    public mutating func addGaussianNoise(to out: UnsafeMutableBufferPointer<Float>, standardDeviation sigma: Double, scale: Double = 1) {
        precondition(sigma >= 0 && sigma.isFinite && scale.isFinite, "addGaussianNoise: σ = \(sigma), scale = \(scale)")
        Ziggurat.addNoise(to: out, standardDeviation: sigma, scale: scale, random: &self)
    }

    /// Adds Gaussian noise in place: every element v of `values` becomes v + σ·N(0, 1).
    /// DP-FedAvg's server-side noise; the same sampler as the Float form.
    /// - Precondition: σ ≥ 0 and finite.
    public mutating func addGaussianNoise(to values: UnsafeMutableBufferPointer<Double>, standardDeviation sigma: Double) {
        precondition(sigma >= 0 && sigma.isFinite, "addGaussianNoise: σ = \(sigma)")
        let (xs, ks, fs) = Ziggurat.tables
        xs.withUnsafeBufferPointer { x in
            ks.withUnsafeBufferPointer { k in
                fs.withUnsafeBufferPointer { f in
                    for i in values.indices { values[i] += sigma * Ziggurat.sample(&self, x, k, f) }
                }
            }
        }
    }

    /// One standard normal value from the DP noise sampler.
    public mutating func nextGaussian() -> Double { Ziggurat.next(&self) }
}

/// Standard normal values by the ziggurat method (Marsaglia & Tsang 2000), in double precision.
///
/// 128 layers; each draw takes one 64-bit word: bits 0–6 pick the layer and bits 11–63 give a
/// signed 53-bit position u ∈ [−1, 1) (disjoint bits, avoiding the original's correlation
/// between layer and value, Doornik 2005). A point inside the layer's rectangle (98.8 %) is
/// returned at once; wedges and the tail (beyond r ≈ 3.4426, Marsaglia's exponential method)
/// are resolved by rejection, so the output is exactly N(0, 1) up to the 53-bit grid.
enum Ziggurat {
    static let layers = 128
    static let r = 3.442619855899
    static let volume = 9.91256303526217e-3

    /// Right edges X, direct-acceptance ratios K, and densities F (Marsaglia & Tsang's tables
    /// in real units for u ∈ [−1, 1)).
    static let tables: (x: [Double], k: [Double], f: [Double]) = {
        var x = [Double](repeating: 0, count: layers), k = x, f = x
        var dn = r, tn = r
        let q = volume / exp(-0.5 * dn * dn)
        k[0] = dn / q
        k[1] = 0
        x[0] = q
        x[layers - 1] = dn
        f[0] = 1
        f[layers - 1] = exp(-0.5 * dn * dn)
        for i in stride(from: layers - 2, through: 1, by: -1) {
            dn = (-2 * log(volume / dn + exp(-0.5 * dn * dn))).squareRoot()
            k[i + 1] = dn / tn
            tn = dn
            f[i] = exp(-0.5 * dn * dn)
            x[i] = dn
        }
        return (x, k, f)
    }()

    /// Replaces every element v of `out` by (v + σ·N(0, 1))·scale, computed in double and rounded
    /// once to Float. Words come in chunks of 1024 from the generator's bulk fill; rejections draw
    /// extra words.
    static func addNoise(to out: UnsafeMutableBufferPointer<Float>, standardDeviation sigma: Double, scale: Double = 1,
                         random: inout PrivacyRandomness) {
        let (xs, ks, fs) = tables
        let chunk = 1024
        let words = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: chunk)
        defer { words.deallocate() }
        xs.withUnsafeBufferPointer { x in
            ks.withUnsafeBufferPointer { k in
                fs.withUnsafeBufferPointer { f in
                    var start = 0
                    while start < out.count {
                        let count = Swift.min(chunk, out.count - start)
                        random.fill(UnsafeMutableBufferPointer(rebasing: words[0..<count]))
                        for j in 0..<count {
                            let word = words[j]
                            let layer = Int(word & 127)
                            let u = Double(Int64(bitPattern: word) >> 11) * 0x1p-52
                            let z = abs(u) < k[layer] ? u * x[layer] : resolve(u, layer, &random, x, k, f)
                            out[start + j] = Float((Double(out[start + j]) + sigma * z) * scale)
                        }
                        start += count
                    }
                }
            }
        }
    }

    /// One standard normal value.
    static func next(_ random: inout PrivacyRandomness) -> Double {
        let (xs, ks, fs) = tables
        return xs.withUnsafeBufferPointer { x in
            ks.withUnsafeBufferPointer { k in fs.withUnsafeBufferPointer { f in sample(&random, x, k, f) } }
        }
    }

    /// One draw from fresh words.
    @inline(__always)
    static func sample(_ random: inout PrivacyRandomness, _ x: UnsafeBufferPointer<Double>,
                       _ k: UnsafeBufferPointer<Double>, _ f: UnsafeBufferPointer<Double>) -> Double {
        let word = random.next()
        let layer = Int(word & 127)
        let u = Double(Int64(bitPattern: word) >> 11) * 0x1p-52      // [−1, 1)
        return abs(u) < k[layer] ? u * x[layer] : resolve(u, layer, &random, x, k, f)
    }

    /// The slow path for a point outside its layer's rectangle: the tail (layer 0) or a wedge
    /// test, then fresh draws until one is accepted.
    @inline(never)
    static func resolve(_ u0: Double, _ layer0: Int, _ random: inout PrivacyRandomness, _ x: UnsafeBufferPointer<Double>,
                        _ k: UnsafeBufferPointer<Double>, _ f: UnsafeBufferPointer<Double>) -> Double {
        var u = u0, layer = layer0
        while true {
            let value = u * x[layer]
            if abs(u) < k[layer] { return value }
            if layer == 0 {
                // The tail beyond r: Marsaglia (1964).
                var a: Double, b: Double
                repeat {
                    a = -log(random.nextOpenUnit()) / r
                    b = -log(random.nextOpenUnit())
                } while b + b < a * a
                return u > 0 ? r + a : -r - a
            }
            let y = f[layer] + random.nextOpenUnit() * (f[layer - 1] - f[layer])
            if y < exp(-0.5 * value * value) { return value }
            let word = random.next()
            layer = Int(word & 127)
            u = Double(Int64(bitPattern: word) >> 11) * 0x1p-52
        }
    }
}
