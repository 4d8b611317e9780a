// MARK: Beaver multiplication.

internal import RingArithmetic

extension Party {
    /// Shares of `x ⊙ y` over Z(2^64), without truncation (Beaver 1991).
    ///
    /// With a triple `c = a·b` the parties open `e = x - a` and `f = y - b` (uniform, so they
    /// reveal nothing) and set `z = c + e·b + f·a + e·f`, the last term added by party 0 only;
    /// indeed `(a + e)(b + f) = ab + eb + af + ef`.
    /// - Cost: 1 round, `(n-1)·8·2·count` bytes per party.
    func beaverProduct(_ x: [UInt64], _ y: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        let count = x.count
        let t = try provider.pendingTriple(.elementwise(count: count))
        var masked = Ring.subtract(x, t.a)
        masked.append(contentsOf: Ring.subtract(y, t.b))
        try channel.sendOpening(masked)
        // c, possibly the dealer's work at this party, while the openings travel.
        let c = try t.c()
        let opened = try channel.receiveOpening(masked)
        let isFirst = index == 0
        defer {
            channel.recycle(masked)
            channel.recycle(opened)
            provider.recycle([t.a, t.b, c])
        }
        return [UInt64](unsafeUninitializedCapacity: count) { out, n in
            opened.withUnsafeBufferPointer { o in
                t.a.withUnsafeBufferPointer { a in
                    t.b.withUnsafeBufferPointer { b in
                        c.withUnsafeBufferPointer { c in
                            for i in 0..<count {
                                let e = o[i], f = o[count + i]
                                var z = c[i] &+ e &* b[i] &+ f &* a[i]
                                if isFirst { z &+= e &* f }
                                out[i] = z
                            }
                        }
                    }
                }
            }
            n = count
        }
    }

    /// `x ⊙ y` elementwise for secret fixed-point tensors: a Beaver product, then truncation.
    ///
    /// Refused with `possibleOverflow` when `bx·by ≥ 2^(62-2f)` (the product could wrap).
    /// Error: below `2^-f` (truncation) per element; bound `bx·by + 2^-f`.
    /// - Cost: 2 rounds (1 with `.localTwoParty`), `(n-1)·8·3·count` bytes per party
    ///   (`(n-1)·8·2·count` with `.localTwoParty`).
    /// - Reference: D. Beaver, "Efficient multiparty protocols using circuit randomization"
    ///   (CRYPTO 1991).
    public func multiply(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape == y.shape, "multiply: shapes \(x.shape) and \(y.shape) differ")
        let b = x.bound * y.bound
        try check("multiply", bound: b, limit: encoder.productLimit)
        let pairs = try prepareTruncation(count: x.count, shift: encoder.fractionalBits)
        let z = try beaverProduct(x.share, y.share)
        return SecretTensor(
            shape: x.shape, share: try truncate(z, shift: encoder.fractionalBits, prepared: pairs),
            bound: b + encoder.resolution)
    }

    /// `x ⊙ x` with a square pair `c = a²`: open `e = x - a`, set `z = c + 2e·a + e²` (the last
    /// term by party 0), then truncate. Same error as `multiply`, half its opening.
    /// - Cost: 2 rounds (1 with `.localTwoParty`), `(n-1)·8·2·count` bytes per party
    ///   (`(n-1)·8·count` with `.localTwoParty`).
    public func square(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let b = x.bound * x.bound
        try check("square", bound: b, limit: encoder.productLimit)
        let pairs = try prepareTruncation(count: x.count, shift: encoder.fractionalBits)
        let z = try squareProduct(x.share)
        return SecretTensor(
            shape: x.shape, share: try truncate(z, shift: encoder.fractionalBits, prepared: pairs),
            bound: b + encoder.resolution)
    }

    /// Shares of `x²` without truncation.
    func squareProduct(_ x: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        let count = x.count
        let pairs = try provider.squarePairs(count: count)
        let opened = try channel.openAdditive(Ring.subtract(x, pairs.a))
        let isFirst = index == 0
        return [UInt64](unsafeUninitializedCapacity: count) { out, n in
            opened.withUnsafeBufferPointer { o in
                pairs.a.withUnsafeBufferPointer { a in
                    pairs.c.withUnsafeBufferPointer { c in
                        for i in 0..<count {
                            let e = o[i]
                            var z = c[i] &+ 2 &* e &* a[i]
                            if isFirst { z &+= e &* e }
                            out[i] = z
                        }
                    }
                }
            }
            n = count
        }
    }

    /// The matrix product `x·y` of a secret m×k and a secret k×n fixed-point matrix.
    ///
    /// With a matrix triple `C = A·B` the parties open `E = X - A` and `F = Y - B` in one round
    /// and set `Z = C + E·B + (A + E)·F` (party 0 adds `E`, the others do not), which sums to
    /// `AB + EB + AF + EF = XY`; then truncate. Refused when `k·bx·by ≥ 2^(62-2f)`.
    /// Error: below `2^-f` per element (one truncation; the ring product itself is exact).
    /// - Cost: 2 rounds (1 with `.localTwoParty`), `(n-1)·8·(mk + kn + mn)` bytes per party
    ///   (`(n-1)·8·(mk + kn)` with `.localTwoParty`); two m×k×n ring products per party.
    public func matmul(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape.count == 2 && y.shape.count == 2 && x.shape[1] == y.shape[0],
                     "matmul: shapes \(x.shape) and \(y.shape) do not chain")
        let (m, n) = (x.shape[0], y.shape[1])
        let b = Double(x.shape[1]) * x.bound * y.bound
        try check("matmul", bound: b, limit: encoder.productLimit)
        let pairs = try prepareTruncation(count: m * n, shift: encoder.fractionalBits)
        let z = try matrixProduct(x, y)
        return SecretTensor(
            shape: [m, n], share: try truncate(z, shift: encoder.fractionalBits, prepared: pairs),
            bound: b + encoder.resolution)
    }

    /// The matrix product `x·y` revealed to `receivers` (nil elsewhere), with its truncation
    /// done in the clear: the untruncated ring product (scale `2f`) is opened to the receivers,
    /// who divide by `2^(2f)` and round once. One round less than `reveal(matmul(x, y), to:)`
    /// and no truncation error: each element is the exact `Σ_k x_k·y_k` of the encoded inputs,
    /// rounded to the nearest `Double`. Opening the product before truncation reveals nothing
    /// more than its value: the receivers learn the same sum. Refused when `k·bx·by ≥ 2^(62-2f)`.
    /// Throws `boundViolated` when an opened value exceeds its bound, as `reveal` does.
    /// - Cost: `matmul`'s opening, then the product's opening to the receivers (two network
    ///   latencies; counted as 1 round, one run of receives); `(n-1)·8·(mk + kn)` bytes per
    ///   party plus `|receivers \ {self}|·8·mn`.
    public func revealMatmul(_ x: SecretTensor, _ y: SecretTensor, to receivers: Set<Int>) throws(SecretSharingError) -> [Double]? {
        precondition(x.shape.count == 2 && y.shape.count == 2 && x.shape[1] == y.shape[0],
                     "matmul: shapes \(x.shape) and \(y.shape) do not chain")
        let b = Double(x.shape[1]) * x.bound * y.bound
        try check("matmul", bound: b, limit: encoder.productLimit)
        guard let sum = try open(try matrixProduct(x, y), to: receivers) else { return nil }
        let scale = encoder.scale * encoder.scale
        let slack = b + 4 * encoder.resolution
        var values = [Double](repeating: 0, count: sum.count)
        for i in 0..<sum.count {
            let v = Double(Int64(bitPattern: sum[i])) / scale
            guard abs(v) <= slack else { throw .boundViolated(operation: "reveal", value: v, bound: b) }
            values[i] = v
        }
        return values
    }

    /// Shares of the untruncated product `x·y` (scale `2f`) and its bound, with `matmul`'s
    /// overflow check: for a consumer that truncates it on its own schedule.
    func untruncatedMatmul(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> (share: [UInt64], bound: Double) {
        precondition(x.shape.count == 2 && y.shape.count == 2 && x.shape[1] == y.shape[0],
                     "matmul: shapes \(x.shape) and \(y.shape) do not chain")
        let b = Double(x.shape[1]) * x.bound * y.bound
        try check("matmul", bound: b, limit: encoder.productLimit)
        return (try matrixProduct(x, y), b)
    }

    /// `s·(x·y)` for a public real `s` with a single truncation: the ring product (scale `2f`)
    /// is multiplied by `s` encoded at `f` bits and truncated once by `2f` — one round less than
    /// `multiply(matmul(x, y), byScalar: s)`, and no intermediate rounding. Used for gradient
    /// steps (`η/B · Xᵀe`). Refused when `k·bx·by·|s| ≥ 2^(62-3f)`.
    /// Error: below `2^-f` per element, plus `k·bx·by·2^-(f+1)` from the encoding of `s`.
    /// - Cost: as `matmul`.
    public func matmul(_ x: SecretTensor, _ y: SecretTensor, scaledBy s: Double) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape.count == 2 && y.shape.count == 2 && x.shape[1] == y.shape[0],
                     "matmul: shapes \(x.shape) and \(y.shape) do not chain")
        let (m, n) = (x.shape[0], y.shape[1])
        let f = encoder.fractionalBits
        let raw = Double(x.shape[1]) * x.bound * y.bound
        let b = raw * abs(s)
        try check("matmul", bound: raw, limit: encoder.productLimit)
        try check("scaled matmul", bound: b, limit: Double(sign: .plus, exponent: 62 - 3 * f, significand: 1))
        let sEnc = UInt64(bitPattern: Int64((s * encoder.scale).rounded()))
        let pairs = try prepareTruncation(count: m * n, shift: 2 * f)
        let z = Ring.scale(try matrixProduct(x, y), by: sEnc)
        return SecretTensor(
            shape: [m, n], share: try truncate(z, shift: 2 * f, prepared: pairs),
            bound: b + raw * encoder.resolution + encoder.resolution)
    }

    /// Shares of the untruncated ring product `x·y` (scale `2f`), by a matrix Beaver triple.
    /// Written for few buffers: one for the masked opening, one for the result, `E` and `F` read
    /// in place from the opened message; buffers no longer needed go back to the channel and the
    /// provider for reuse.
    func matrixProduct(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> [UInt64] {
        let (m, k, n) = (x.shape[0], x.shape[1], y.shape[1])
        let t = try provider.pendingTriple(.matrix(m: m, k: k, n: n))
        let (mk, kn) = (m * k, k * n)
        var masked = channel.buffer(count: mk + kn)
        masked.withUnsafeMutableBufferPointer { out in
            x.share.withUnsafeBufferPointer { px in
                t.a.withUnsafeBufferPointer { pa in
                    for i in 0..<mk { out[i] = px[i] &- pa[i] }
                }
            }
            y.share.withUnsafeBufferPointer { py in
                t.b.withUnsafeBufferPointer { pb in
                    for i in 0..<kn { out[mk + i] = py[i] &- pb[i] }
                }
            }
        }
        try channel.sendOpening(masked)
        // C — at the triple's explicit party the dealer's work — while the openings travel.
        var z = try t.c()
        let opened = try channel.receiveOpening(masked)
        // Party 0 computes (A + E)·F, the others A·F: build A + E in a buffer only at party 0.
        var left = t.a
        if index == 0 {
            left = channel.buffer(count: mk)
            left.withUnsafeMutableBufferPointer { out in
                opened.withUnsafeBufferPointer { o in
                    t.a.withUnsafeBufferPointer { pa in
                        for i in 0..<mk { out[i] = pa[i] &+ o[i] }
                    }
                }
            }
        }
        opened.withUnsafeBufferPointer { o in
            let e = UnsafeBufferPointer(rebasing: o[0..<mk]), f = UnsafeBufferPointer(rebasing: o[mk...])
            t.b.withUnsafeBufferPointer { pb in
                left.withUnsafeBufferPointer { pl in
                    z.withUnsafeMutableBufferPointer { pz in
                        WrappingMatrix.multiplyAccumulate(e, pb, into: pz, m: m, k: k, n: n)
                        WrappingMatrix.multiplyAccumulate(pl, f, into: pz, m: m, k: k, n: n)
                    }
                }
            }
        }
        channel.recycle(masked)
        channel.recycle(opened)
        if index == 0 { channel.recycle(left) }
        provider.recycle([t.a, t.b])
        return z
    }

    /// `b ⊙ x` for secret bits `b` and a secret fixed-point `x`: a Beaver product without
    /// truncation (the bits are integers). Exact.
    /// - Cost: 1 round, `(n-1)·8·2·count` bytes per party.
    public func select(_ bits: SecretBits, _ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(bits.count == x.count, "select: \(bits.count) bits for \(x.count) elements")
        return SecretTensor(shape: x.shape, share: try beaverProduct(bits.share, x.share), bound: x.bound)
    }

    /// `b ? x : y` elementwise: `y + b·(x - y)`. Exact.
    /// - Cost: 1 round, `(n-1)·8·2·count` bytes per party.
    public func choose(_ bits: SecretBits, _ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let diff = try subtract(x, y)
        var out = try select(bits, diff)
        Ring.addInPlace(&out.share, y.share)
        out.bound = Swift.max(x.bound, y.bound)
        return out
    }
}
