// MARK: Truncation.

extension Party {
    /// Shares of `≈ z / 2^d` from shares of `z`, for any `|z| < 2^62` (as a signed ring element).
    ///
    /// `.dealerAssisted` (any number of parties, one round). The dealer supplies shares of a
    /// uniform `r`, of `⌊r/2^d⌋` and of `msb(r)·2^(64-d)`. The parties open
    /// `c = z + 2^62 + r mod 2^64`, which is uniform and so reveals nothing. Since
    /// `z' = z + 2^62 ∈ [0, 2^63)`, the opening wrapped modulo 2^64 exactly when `msb(r) = 1` and
    /// `msb(c) = 0`, so the wrap bit `w = msb(r)·(1 - msb(c))` is linear in the shares, and
    ///
    ///     ⌊c/2^d⌋ - ⌊r/2^d⌋ + w·2^(64-d) - 2^(62-d)  =  ⌊z/2^d⌋ + carry,
    ///
    /// where `carry ∈ {0, 1}` is the carry out of the low `d` bits of `z' + r`, which is 1 with
    /// probability `(z mod 2^d)/2^d`. The result is therefore `z/2^d` rounded down or up,
    /// unbiased, with absolute error below one unit (`2^-f` after a fixed-point product) — always,
    /// not just with high probability. This is the `TruncPr` of Escudero et al. (CRYPTO 2020)
    /// with the wrap handled through the top bit of the mask, and it needs only the `|z| < 2^62`
    /// that the engine's overflow checks guarantee.
    ///
    /// `.localTwoParty` (two parties, no communication): party 0 takes `⌊z₀/2^d⌋`, party 1
    /// `-⌊-z₁/2^d⌋`. Off by at most one unit, except with probability `≤ 2^(ℓ+1-64)` for
    /// `|z| < 2^ℓ`, when it is off by about `2^(64-d)` (SecureML, Theorem 1).
    ///
    /// - Cost: `.dealerAssisted` 1 round, `(n-1)·8·count` bytes per party; `.localTwoParty` none.
    public func truncate(_ z: consuming [UInt64], shift d: Int) throws(SecretSharingError) -> [UInt64] {
        try truncate(z, shift: d, method: truncation)
    }

    /// `truncate` with an explicit method. The extended-precision steps of `exp` and polynomial
    /// evaluation always use `.dealerAssisted`: their products sit at 48 fractional bits and
    /// more, where local truncation would fail with probability about 2^-15 per element.
    func truncate(_ z: consuming [UInt64], shift d: Int, method: TruncationMethod) throws(SecretSharingError) -> [UInt64] {
        let shift = UInt64(d)
        switch method {
        case .localTwoParty:
            var out = z  // in place when the caller hands its last reference over
            out.withUnsafeMutableBufferPointer { p in
                if index == 0 {
                    for i in 0..<p.count { p[i] = p[i] >> shift }
                } else {
                    for i in 0..<p.count { p[i] = 0 &- ((0 &- p[i]) >> shift) }
                }
            }
            return out
        case .dealerAssisted:
            return try truncate(z, shift: d, pairs: provider.truncationPairs(count: z.count, shift: d))
        }
    }

    /// The correlations a later `truncate(_:shift:)` of `count` words will need, requested now:
    /// truncation pairs with `.dealerAssisted`, nothing with `.localTwoParty`. Products ask for
    /// them before their own triple, so that the dealer's work for both — which runs at each
    /// request's explicit party (see `TrustedDealer`) — proceeds at once on two parties.
    func prepareTruncation(count: Int, shift d: Int) throws(SecretSharingError) -> TruncationPairs? {
        truncation == .dealerAssisted ? try provider.truncationPairs(count: count, shift: d) : nil
    }

    /// `truncate(_:shift:)` with the pairs from `prepareTruncation` (local truncation when nil).
    func truncate(_ z: consuming [UInt64], shift d: Int, prepared: TruncationPairs?) throws(SecretSharingError) -> [UInt64] {
        guard let pairs = prepared else { return try truncate(z, shift: d, method: .localTwoParty) }
        return try truncate(z, shift: d, pairs: pairs)
    }

    /// The dealer-assisted truncation of `z` with the given pairs.
    private func truncate(_ z: consuming [UInt64], shift d: Int, pairs: TruncationPairs) throws(SecretSharingError) -> [UInt64] {
        let masked = truncationMask(z, pairs: pairs)
        let c = try channel.openAdditive(masked)
        defer {
            channel.recycle(masked)
            channel.recycle(c)
            provider.recycle([pairs.r, pairs.rHigh, pairs.wrap])
        }
        return finishTruncation(opened: c, shift: d, pairs: pairs)
    }

    /// The first half of a dealer-assisted truncation: the words every party opens,
    /// `z + r` (and `2^62` at party 0). See `truncate(_:shift:)`.
    func truncationMask(_ z: [UInt64], pairs: TruncationPairs) -> [UInt64] {
        var masked = Ring.add(z, pairs.r)
        if index == 0 {
            masked.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] &+= UInt64(1) << 62 }
            }
        }
        return masked
    }

    /// The second half: this party's share of the truncated value from the opened `c`.
    func finishTruncation(opened c: [UInt64], shift d: Int, pairs: TruncationPairs) -> [UInt64] {
        let shift = UInt64(d)
        let offset = UInt64(1) << (62 - shift)
        let isFirst = index == 0
        return [UInt64](unsafeUninitializedCapacity: c.count) { out, n in
            c.withUnsafeBufferPointer { pc in
                pairs.rHigh.withUnsafeBufferPointer { ph in
                    pairs.wrap.withUnsafeBufferPointer { pw in
                        for i in 0..<pc.count {
                            let ci = pc[i]
                            // w = msb(r)·(1 - msb(c)): keep the wrap share only when msb(c) = 0.
                            let keep = (ci >> 63) ^ 1
                            var v = (0 &- ph[i]) &+ pw[i] &* keep
                            if isFirst { v &+= (ci >> shift) &- offset }
                            out[i] = v
                        }
                    }
                }
            }
            n = c.count
        }
    }
}
