// MARK: Comparison, sign, ReLU, max and argmax.

extension Party {
    /// Bitwise AND of XOR-shared packed words with packed Beaver triples: open `d = x ⊕ a` and
    /// `e = y ⊕ b`, then `z = c ⊕ (d & b) ⊕ (e & a) ⊕ (d & e)` (the last term by party 0).
    /// - Cost: 1 round, `(n-1)·8·2·count` bytes per party.
    func andShares(_ x: [UInt64], _ y: [UInt64], rider: Rider? = nil) throws(SecretSharingError) -> [UInt64] {
        let count = x.count
        let t = try provider.binaryTriples(count: count)
        var masked = Ring.xor(x, t.a)
        masked.append(contentsOf: Ring.xor(y, t.b))
        let opened = try exchange(masked, combiningByXOR: true, rider: rider)
        let isFirst = index == 0
        defer {
            channel.recycle(masked)
            channel.recycle(opened)
            provider.recycle([t.a, t.b, t.c])
        }
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
    ///    generate `g = r & ~c` and propagate `p = r ⊕ ~c` are local on the XOR shares of `r`
    ///    (bit 63 is set to "propagate"). A binary tree combines neighbouring groups,
    ///    `G = G_hi ⊕ (P_hi & G_lo)`, `P = P_hi & P_lo` (XOR replaces OR because the two terms are
    ///    never both 1), in six levels, one AND round each. The bits are kept in bit-reversed
    ///    order, so at every level the high groups are the upper half of the live bits and the
    ///    low groups the lower half; each level's two ANDs per group are packed side by side and
    ///    the elements are packed densely, 1, 2, 4, …, 32 to a word: about 2 AND words per
    ///    element in all.
    /// 3. The resulting XOR-shared bit becomes an arithmetic share with a daBit `β`: open
    ///    `v = bit ⊕ β` (64 bits per word), then `[bit] = v + [β] - 2v[β]`.
    ///
    /// - Cost: 8 rounds; `(n-1)·8·(N + 2·A + ⌈N/64⌉)` bytes per party for `N` elements, with
    ///   `A = N + ⌈N/2⌉ + ⌈N/4⌉ + ⌈N/8⌉ + ⌈N/16⌉ + ⌈N/32⌉` AND words (`CostModel.isNegative`).
    /// - Reference: Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved primitives for MPC over
    ///   mixed arithmetic-binary circuits" (CRYPTO 2020); Catrina, de Hoog, "Improved primitives
    ///   for secure multiparty integer computation" (SCN 2010) for the comparison circuit.
    func mostSignificantBit(_ x: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        try bitsToArithmetic(try mostSignificantBitXOR(x), count: x.count)
    }

    /// Steps 1–2 of `mostSignificantBit`: XOR shares of `msb(x)`, packed 64 to a word.
    /// - Cost: 7 rounds.
    ///
    /// `riders[i]`, when given, travels in round `i` (`i < 7`): see `Rider`.
    func mostSignificantBitXOR(_ x: [UInt64], riders: [Rider] = []) throws(SecretSharingError) -> [UInt64] {
        precondition(riders.count <= 7, "the comparison has 7 rounds to carry riders, not \(riders.count)")
        let count = x.count
        let eda = try provider.edaBits(count: count)
        let maskedX = Ring.add(x, eda.arithmetic)
        let c = try exchange(maskedX, combiningByXOR: false, rider: riders.first)
        channel.recycle(maskedX)
        defer {
            channel.recycle(c)
            provider.recycle([eda.arithmetic, eda.binary])
        }
        let isFirst = index == 0
        let low: UInt64 = (1 << 63) - 1
        var g = [UInt64](repeating: 0, count: count)
        var p = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let notC = ~c[i] & low
            let r = eda.binary[i] & low
            g[i] = bitReversed(r & notC)
            // Bit 63 propagates (party 0 sets it), so the tree's root is the carry of bits 0..<63.
            p[i] = bitReversed(isFirst ? (r ^ notC) | (1 << 63) : r)
        }
        var h = 32
        while h >= 1 {
            let chunk = 2 * h
            let perWord = 64 / chunk
            let words = (count + perWord - 1) / perWord
            let mask: UInt64 = h == 64 ? ~0 : (UInt64(1) << UInt64(h)) - 1
            var left = [UInt64](repeating: 0, count: words)
            var right = [UInt64](repeating: 0, count: words)
            let uh = UInt64(h)
            for i in 0..<count {
                let pLo = p[i] & mask, pHi = (p[i] >> uh) & mask, gLo = g[i] & mask
                let shift = UInt64((i % perWord) * chunk)
                left[i / perWord] |= (pHi | (pHi << uh)) << shift
                right[i / perWord] |= (gLo | (pLo << uh)) << shift
            }
            let level = 6 - h.trailingZeroBitCount  // 1…6
            let t = try andShares(left, right, rider: level < riders.count ? riders[level] : nil)
            for i in 0..<count {
                let part = t[i / perWord] >> UInt64((i % perWord) * chunk)
                let gHi = (g[i] >> uh) & mask
                g[i] = gHi ^ (part & mask)
                p[i] = (part >> uh) & mask
            }
            h /= 2
        }
        // XOR share of msb(x), packed 64 to a word.
        let words = (count + 63) / 64
        var packed = [UInt64](repeating: 0, count: words)
        for i in 0..<count {
            var bit = (g[i] ^ (eda.binary[i] >> 63)) & 1
            if isFirst { bit ^= c[i] >> 63 }
            packed[i >> 6] |= bit << UInt64(i & 63)
        }
        return packed
    }

    /// One round that opens `main` (summed, or XORed with `combiningByXOR`) and carries `rider`'s
    /// additive opening in the same message: returns `main`'s opening and hands the rider its own.
    /// - Cost: 1 round, `(n-1)·8·(main.count + rider's words)` bytes per party.
    func exchange(_ main: [UInt64], combiningByXOR: Bool, rider: Rider?) throws(SecretSharingError) -> [UInt64] {
        guard let rider else {
            return combiningByXOR ? try channel.openXOR(main) : try channel.openAdditive(main)
        }
        let side = try rider.words()
        let split = main.count
        var message = main
        message.append(contentsOf: side)
        for p in 0..<partyCount where p != index { try channel.send(message, to: p) }
        var sum = message
        for p in 0..<partyCount where p != index {
            let m = try channel.receive(from: p)
            guard m.count == message.count else {
                throw .malformedMessage(from: p, expected: message.count, received: m.count)
            }
            if combiningByXOR {
                for i in 0..<split { sum[i] ^= m[i] }
            } else {
                for i in 0..<split { sum[i] &+= m[i] }
            }
            for i in split..<sum.count { sum[i] &+= m[i] }
            channel.recycle(m)
        }
        try rider.opened(Array(sum[split...]))
        return Array(sum[0..<split])
    }

    /// Moves bit `i` to bit `rev₆(i)`, the 6-bit reversal of the index `i` (an involution,
    /// linear over XOR): three delta swaps exchange index bits 0↔5, 1↔4 and 2↔3.
    @inline(__always)
    func bitReversed(_ x: UInt64) -> UInt64 {
        var v = x
        var t = ((v >> 31) ^ v) & 0x0000_0000_AAAA_AAAA
        v ^= t ^ (t << 31)
        t = ((v >> 14) ^ v) & 0x0000_CCCC_0000_CCCC
        v ^= t ^ (t << 14)
        t = ((v >> 4) ^ v) & 0x00F0_00F0_00F0_00F0
        v ^= t ^ (t << 4)
        return v
    }

    /// Arithmetic shares of XOR-shared bits (packed 64 to a word) through daBits.
    /// - Cost: 1 round, `(n-1)·8·⌈count/64⌉` bytes per party.
    func bitsToArithmetic(_ packed: [UInt64], count: Int) throws(SecretSharingError) -> [UInt64] {
        let da = try provider.daBits(count: count)
        let v = try channel.openXOR(Ring.xor(packed, da.binary))
        defer { provider.recycle([da.arithmetic]) }
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

    /// Arithmetic shares of XOR-shared bits `b` (packed) together with the products `b·X` for a
    /// secret vector `X`, in one round. Word `i` of `X` is multiplied by bit `i mod count`
    /// (`X` holds a multiple of `count` words, or fewer than `count`).
    ///
    /// With a daBit `β`, `b = v ⊕ β` for the opened `v`, so `b = v + β - 2vβ` and
    /// `b·X = βX + v·(X - 2βX)`: the Beaver product `W = β·X` needs only values known before `v`,
    /// so its opening travels in the same message as `v`'s; then `b·X` is `W` where `v = 0` and
    /// `X - W` where `v = 1`. Exact.
    /// - Cost: 1 round, `(n-1)·8·(⌈count/64⌉ + 2·Σ|X|)` bytes per party.
    func bitsToArithmetic(
        _ packed: [UInt64], count: Int, multiplying values: [UInt64]
    ) throws(SecretSharingError) -> (bits: [UInt64], products: [UInt64]) {
        precondition(values.count % count == 0 || values.count < count,
                     "fused bit product: \(values.count) words for \(count) bits")
        let da = try provider.daBits(count: count)
        let total = values.count
        let t = try provider.multiplicationTriples(count: total)
        let words = packed.count
        var message = Ring.xor(packed, da.binary)
        message.reserveCapacity(words + 2 * total)
        for i in 0..<total { message.append(da.arithmetic[i % count] &- t.a[i]) }
        for i in 0..<total { message.append(values[i] &- t.b[i]) }
        let all = try channel.broadcastExchange(message)
        var opened = message
        for p in 0..<partyCount where p != index {
            let m = all[p]
            for i in 0..<words { opened[i] ^= m[i] }
            for i in words..<(words + 2 * total) { opened[i] &+= m[i] }
        }
        let isFirst = index == 0
        var bits = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let vi = (opened[i >> 6] >> UInt64(i & 63)) & 1
            let beta = da.arithmetic[i]
            bits[i] = vi == 0 ? beta : ((isFirst ? 1 : 0) &- beta)
        }
        var products = [UInt64](repeating: 0, count: total)
        for i in 0..<total {
            let e = opened[words + i], f = opened[words + total + i]
            var w = t.c[i] &+ e &* t.b[i] &+ f &* t.a[i]
            if isFirst { w &+= e &* f }
            let vi = (opened[(i % count) >> 6] >> UInt64((i % count) & 63)) & 1
            products[i] = vi == 0 ? w : values[i] &- w
        }
        channel.recycle(message)
        for p in 0..<partyCount where p != index { channel.recycle(all[p]) }
        provider.recycle([da.arithmetic, t.a, t.b, t.c])
        return (bits, products)
    }

    /// The bits `x < 0`. Exact. See `mostSignificantBit` for the protocol.
    /// - Cost: 8 rounds; see `CostModel.isNegative` for the bytes.
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

    /// `max(x, 0)` elementwise: `x - [x < 0]·x`, the product fused with the bit conversion
    /// (`bitsToArithmetic(_:count:multiplying:)`). Exact.
    /// - Cost: 8 rounds; `isNegative`'s bytes plus `(n-1)·8·2·count` per party.
    public func relu(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let packed = try mostSignificantBitXOR(x.share)
        let (_, negativePart) = try bitsToArithmetic(packed, count: x.count, multiplying: x.share)
        return SecretTensor(shape: x.shape, share: Ring.subtract(x.share, negativePart), bound: x.bound)
    }

    /// The maximum of each row of a 2-D tensor (shape [rows, 1]) or of a 1-D tensor (shape
    /// [1]), with the index of the first maximal element (fixed point, same shape).
    ///
    /// A tournament: each level compares neighbouring candidates with `x_a ≥ x_b` (`a` covering
    /// the earlier part of the row) and keeps the winner's value and index in one batched selection, so ties go to
    /// the smaller index. Exact.
    /// - Cost: `⌈log₂ k⌉` levels of 8 rounds for rows of `k` elements (`CostModel.maxWithIndex`).
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
            // Winner = a - [a < b]·(a - b), for the values and the indices, the products fused
            // with the comparison's last round.
            var diffs = Ring.subtract(a, b)
            let packed = try mostSignificantBitXOR(diffs)
            diffs.append(contentsOf: Ring.subtract(ia, ib))
            let (_, losses) = try bitsToArithmetic(packed, count: half, multiplying: diffs)
            var next = Ring.subtract(a, Array(losses[0..<half]))
            var nextIndices = Ring.subtract(ia, Array(losses[half...]))
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


/// An additive opening that travels in another protocol's round, so that independent work shares
/// its messages (one network round trip for both): `words()` gives this party's words to open,
/// called just before the round's message is sent; `opened(_:)` receives their sum over all
/// parties when the round's answers are in. `mostSignificantBitXOR(_:riders:)` carries one rider
/// per round; every party must give the same riders (the same word counts) in the same rounds.
struct Rider {
    var words: () throws(SecretSharingError) -> [UInt64]
    var opened: ([UInt64]) throws(SecretSharingError) -> Void
}
