// MARK: Comparison, sign, ReLU, max and argmax.

extension Party {
    /// Bitwise AND of XOR-shared packed words with packed Beaver triples: open `d = x ⊕ a` and
    /// `e = y ⊕ b`, then `z = c ⊕ (d & b) ⊕ (e & a) ⊕ (d & e)` (the last term by party 0).
    /// - Cost: 1 round, `(n-1)·8·2·count` bytes per party.
    func andShares(_ x: [UInt64], _ y: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        let count = x.count
        let t = try provider.binaryTriples(count: count)
        var masked = Ring.xor(x, t.a)
        masked.append(contentsOf: Ring.xor(y, t.b))
        let opened = try channel.openXOR(masked)
        let isFirst = index == 0
        return [UInt64](unsafeUninitializedCapacity: count) { out, n in
            opened.withUnsafeBufferPointer { o in
                t.a.withUnsafeBufferPointer { a in
                    t.b.withUnsafeBufferPointer { b in
                        t.c.withUnsafeBufferPointer { c in
                            for i in 0..<count {
                                let d = o[i], e = o[count + i]
                                var z = c[i] ^ (d & b[i]) ^ (e & a[i])
                                if isFirst { z ^= d & e }
                                out[i] = z
                            }
                        }
                    }
                }
            }
            n = count
        }
    }

    /// Arithmetic shares of `msb(x)` — the bit `x < 0` for a signed ring element — from
    /// arithmetic shares of `x`. Exact for every ring element.
    ///
    /// Protocol (dealer-assisted, via binary shares; semi-honest parties, trusted dealer):
    /// 1. With an edaBit (uniform `r` shared additively and bitwise), open `c = x + r`: uniform,
    ///    reveals nothing. Then `x = c - r` and
    ///    `msb(x) = c₆₃ ⊕ r₆₃ ⊕ [r_low > c_low]` with `low` the 63 lower bits (the borrow).
    /// 2. `[r_low > c_low]` is the carry out of `r_low + ~c_low`: with `c` public, the bitwise
    ///    generate `g = r & ~c` and propagate `p = r ⊕ ~c` are local on the XOR shares of `r`;
    ///    a Kogge–Stone prefix network, `G ← G ⊕ (P & (G ≪ s))`, `P ← P & (P ≪ s)` for
    ///    `s = 1, 2, …, 32`, leaves the carry in bit 62 of `G` (XOR replaces OR because the two
    ///    terms never are both 1). Six rounds of packed ANDs, 64 bit positions per word.
    /// 3. The resulting XOR-shared bit becomes an arithmetic share with a daBit `β`: open
    ///    `v = bit ⊕ β` (64 bits per word), then `[bit] = v + [β] - 2v[β]`.
    ///
    /// - Cost: 8 rounds; `(n-1)·8·(23·count + ⌈count/64⌉)` bytes per party.
    /// - Reference: Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved primitives for MPC over
    ///   mixed arithmetic-binary circuits" (CRYPTO 2020); Kogge, Stone (1973).
    func mostSignificantBit(_ x: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        let count = x.count
        let eda = try provider.edaBits(count: count)
        let c = try channel.openAdditive(Ring.add(x, eda.arithmetic))
        let isFirst = index == 0
        let low: UInt64 = (1 << 63) - 1
        var g = [UInt64](repeating: 0, count: count)
        var p = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let notC = ~c[i] & low
            let r = eda.binary[i] & low
            g[i] = r & notC
            p[i] = isFirst ? (r ^ notC) : r
        }
        var s: UInt64 = 1
        while s < 64 {
            if s < 32 {
                var left = p
                left.append(contentsOf: p)
                var right = [UInt64](repeating: 0, count: 2 * count)
                for i in 0..<count {
                    right[i] = g[i] << s
                    right[count + i] = p[i] << s
                }
                let t = try andShares(left, right)
                for i in 0..<count {
                    g[i] ^= t[i]
                    p[i] = t[count + i]
                }
            } else {
                var shifted = [UInt64](repeating: 0, count: count)
                for i in 0..<count { shifted[i] = g[i] << s }
                let t = try andShares(p, shifted)
                for i in 0..<count { g[i] ^= t[i] }
            }
            s <<= 1
        }
        // XOR share of msb(x), packed 64 to a word.
        let words = (count + 63) / 64
        var packed = [UInt64](repeating: 0, count: words)
        for i in 0..<count {
            var bit = ((g[i] >> 62) ^ (eda.binary[i] >> 63)) & 1
            if isFirst { bit ^= c[i] >> 63 }
            packed[i >> 6] |= bit << UInt64(i & 63)
        }
        return try bitsToArithmetic(packed, count: count)
    }

    /// Arithmetic shares of XOR-shared bits (packed 64 to a word) through daBits.
    /// - Cost: 1 round, `(n-1)·8·⌈count/64⌉` bytes per party.
    func bitsToArithmetic(_ packed: [UInt64], count: Int) throws(SecretSharingError) -> [UInt64] {
        let da = try provider.daBits(count: count)
        let v = try channel.openXOR(Ring.xor(packed, da.binary))
        let isFirst = index == 0
        var out = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let vi = (v[i >> 6] >> UInt64(i & 63)) & 1
            let beta = da.arithmetic[i]
            // v + β - 2vβ: β when v = 0, 1 - β when v = 1.
            out[i] = vi == 0 ? beta : ((isFirst ? 1 : 0) &- beta)
        }
        return out
    }

    /// The bits `x < 0`. Exact. See `mostSignificantBit` for the protocol.
    /// - Cost: 8 rounds; `(n-1)·8·(23·count + ⌈count/64⌉)` bytes per party.
    public func isNegative(_ x: SecretTensor) throws(SecretSharingError) -> SecretBits {
        SecretBits(shape: x.shape, share: try mostSignificantBit(x.share))
    }

    /// The bits `x < y`. Exact (given `bx + by` is in range, which is checked).
    /// - Cost: as `isNegative`.
    public func lessThan(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretBits {
        try isNegative(try subtract(x, y))
    }

    /// The bits `x ≥ y`. Exact.
    /// - Cost: as `isNegative`.
    public func greaterThanOrEqual(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretBits {
        not(try lessThan(x, y))
    }

    /// `1 - b`. Local.
    public func not(_ bits: SecretBits) -> SecretBits {
        var share = Ring.scale(bits.share, by: UInt64.max)
        if index == 0 {
            share.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] &+= 1 } }
        }
        return SecretBits(shape: bits.shape, share: share)
    }

    /// Bits as fixed-point values 0.0 and 1.0. Local.
    public func fixedPoint(_ bits: SecretBits) -> SecretTensor {
        SecretTensor(shape: bits.shape, share: Ring.scale(bits.share, by: one), bound: 1)
    }

    /// `sign(x)`: 1 for `x ≥ 0`, -1 for `x < 0` (fixed point), `1 - 2·[x < 0]`. Exact.
    /// - Cost: as `isNegative`.
    public func sign(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let negative = try isNegative(x)
        var share = Ring.scale(negative.share, by: 0 &- 2 &* one)
        if index == 0 {
            let unit = one
            share.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] &+= unit } }
        }
        return SecretTensor(shape: x.shape, share: share, bound: 1)
    }

    /// `max(x, 0)` elementwise: `x · (1 - [x < 0])`. Exact.
    /// - Cost: 9 rounds; `(n-1)·8·(25·count + ⌈count/64⌉)` bytes per party.
    public func relu(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let positive = not(try isNegative(x))
        return try select(positive, x)
    }

    /// The maximum of each row of a 2-D tensor (shape [rows, 1]) or of a 1-D tensor (shape
    /// [1]), with the index of the first maximal element (fixed point, same shape).
    ///
    /// A tournament: each level compares neighbouring candidates with `x_a ≥ x_b` (`a` covering
    /// the earlier part of the row) and keeps the winner's value and index in one batched selection, so ties go to
    /// the smaller index. Exact.
    /// - Cost: `⌈log₂ k⌉` levels of 9 rounds for rows of `k` elements.
    public func maxWithIndex(_ x: SecretTensor) throws(SecretSharingError) -> (max: SecretTensor, argmax: SecretTensor) {
        let (rows, k) = x.shape.count == 2 ? (x.shape[0], x.shape[1]) : (1, x.count)
        precondition(k >= 1, "max of an empty row")
        // Candidates column-major: candidate j of row i at [j * rows + i].
        var values = [UInt64](repeating: 0, count: rows * k)
        var indices = [UInt64](repeating: 0, count: rows * k)
        for i in 0..<rows {
            for j in 0..<k {
                values[j * rows + i] = x.share[i * k + j]
                if index == 0 { indices[j * rows + i] = UInt64(j) &* one }
            }
        }
        var width = k
        let indexBound = Double(k - 1)
        while width > 1 {
            let pairs = width / 2
            let half = pairs * rows
            // Pair neighbours (2q, 2q+1): each candidate stands for a contiguous range of the
            // row, so preferring `a` on ties prefers the smaller index.
            var a = [UInt64](repeating: 0, count: half), b = a, ia = a, ib = a
            for q in 0..<pairs {
                for i in 0..<rows {
                    a[q * rows + i] = values[(2 * q) * rows + i]
                    b[q * rows + i] = values[(2 * q + 1) * rows + i]
                    ia[q * rows + i] = indices[(2 * q) * rows + i]
                    ib[q * rows + i] = indices[(2 * q + 1) * rows + i]
                }
            }
            // a ≥ b  ⇔  not (a - b < 0); inputs are bounded by x.bound, so a - b is in range.
            let keepA = not(SecretBits(shape: [half], share: try mostSignificantBit(Ring.subtract(a, b))))
            var diffs = Ring.subtract(a, b)
            diffs.append(contentsOf: Ring.subtract(ia, ib))
            var bits = keepA.share
            bits.append(contentsOf: keepA.share)
            let chosen = try beaverProduct(bits, diffs)
            var next = Ring.add(Array(chosen[0..<half]), b)
            var nextIndices = Ring.add(Array(chosen[half...]), ib)
            if width % 2 == 1 {
                next.append(contentsOf: values[(2 * half)...])
                nextIndices.append(contentsOf: indices[(2 * half)...])
            }
            values = next
            indices = nextIndices
            width = pairs + width % 2
        }
        let shape = x.shape.count == 2 ? [rows, 1] : [1]
        return (SecretTensor(shape: shape, share: values, bound: x.bound),
                SecretTensor(shape: shape, share: indices, bound: Swift.max(indexBound, encoder.resolution)))
    }

    /// The maximum of each row (see `maxWithIndex`).
    public func max(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try maxWithIndex(x).max
    }

    /// The index of the first maximum of each row, as a fixed-point value (see `maxWithIndex`).
    public func argmax(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        try maxWithIndex(x).argmax
    }
}
