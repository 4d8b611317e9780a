/// The communication a protocol costs each party, from its documented formula.
public struct ProtocolCost: Sendable, Equatable {
    /// Rounds (waits for messages).
    public var rounds: Int
    /// Bytes each party sends.
    public var bytesPerParty: Int

    public init(rounds: Int, bytesPerParty: Int) {
        self.rounds = rounds
        self.bytesPerParty = bytesPerParty
    }

    static func + (a: ProtocolCost, b: ProtocolCost) -> ProtocolCost {
        ProtocolCost(rounds: a.rounds + b.rounds, bytesPerParty: a.bytesPerParty + b.bytesPerParty)
    }
}

/// The online communication of the engine's protocols as closed formulas, for `n` parties and
/// `count` elements. The tests check the channels' counts against these, so the formulas in the
/// doc comments are the measured truth.
public enum CostModel {
    /// Opening `words` ring words to everyone: 1 round, `(n-1)·8·words` bytes.
    public static func open(words: Int, parties n: Int) -> ProtocolCost {
        ProtocolCost(rounds: 1, bytesPerParty: (n - 1) * 8 * words)
    }

    /// Truncation of `count` products.
    public static func truncate(count: Int, parties n: Int, method: TruncationMethod) -> ProtocolCost {
        method == .localTwoParty ? ProtocolCost(rounds: 0, bytesPerParty: 0) : open(words: count, parties: n)
    }

    /// `Party.multiply`: open `x - a` and `y - b`, then truncate.
    public static func multiply(count: Int, parties n: Int, method: TruncationMethod) -> ProtocolCost {
        open(words: 2 * count, parties: n) + truncate(count: count, parties: n, method: method)
    }

    /// `Party.square`: open `x - a`, then truncate.
    public static func square(count: Int, parties n: Int, method: TruncationMethod) -> ProtocolCost {
        open(words: count, parties: n) + truncate(count: count, parties: n, method: method)
    }

    /// `Party.matmul` of m×k by k×n: open `E` and `F`, then truncate the m×n product.
    public static func matmul(m: Int, k: Int, n: Int, parties: Int, method: TruncationMethod) -> ProtocolCost {
        open(words: m * k + k * n, parties: parties) + truncate(count: m * n, parties: parties, method: method)
    }

    /// AND words of the comparison tree for `count` elements:
    /// `N + ⌈N/2⌉ + ⌈N/4⌉ + ⌈N/8⌉ + ⌈N/16⌉ + ⌈N/32⌉`.
    public static func comparisonAndWords(count: Int) -> Int {
        var total = 0
        for perWord in [1, 2, 4, 8, 16, 32] { total += (count + perWord - 1) / perWord }
        return total
    }

    /// `Party.isNegative`: open `x + r` (1 round), six AND levels (each opens 2 words per AND
    /// word), and the daBit conversion (`⌈N/64⌉` words): 8 rounds.
    public static func isNegative(count: Int, parties n: Int) -> ProtocolCost {
        let andWords = comparisonAndWords(count: count)
        return ProtocolCost(
            rounds: 8,
            bytesPerParty: (n - 1) * 8 * (count + 2 * andWords + (count + 63) / 64))
    }

    /// `Party.relu`: `isNegative` with the Beaver product `[x<0]·x` opened in its last round:
    /// 8 rounds.
    public static func relu(count: Int, parties n: Int) -> ProtocolCost {
        fused(isNegative(count: count, parties: n), productWords: count, parties: n)
    }

    /// A comparison whose bit conversion also carries a Beaver product of `productWords` words.
    static func fused(_ comparison: ProtocolCost, productWords: Int, parties n: Int) -> ProtocolCost {
        ProtocolCost(rounds: comparison.rounds,
                     bytesPerParty: comparison.bytesPerParty + (n - 1) * 8 * 2 * productWords)
    }

    /// `Party.exp` with `t` squarings when the bound leaves `t` extra bits (`p = t`); its
    /// truncations are always dealer-assisted.
    public static func exp(count: Int, iterations t: Int, parties n: Int) -> ProtocolCost {
        var cost = square(count: count, parties: n, method: .dealerAssisted)  // u²/2
        for _ in 0..<t { cost = cost + square(count: count, parties: n, method: .dealerAssisted) }
        return cost
    }

    /// `Party.sigmoid` with dealer or local truncation; `clamped` when `|x|` may exceed `2^t`.
    public static func sigmoid(
        count: Int, iterations t: Int = 6, clamped: Bool, parties n: Int, method: TruncationMethod
    ) -> ProtocolCost {
        var cost = fused(isNegative(count: clamped ? 3 * count : count, parties: n),
                         productWords: count, parties: n)  // |x| in the comparison's last round
        if clamped { cost = cost + open(words: 2 * count, parties: n) }
        cost = cost + exp(count: count, iterations: t, parties: n)
        // Degree-6 polynomial: x², then x³ and x⁴, then x⁵ and x⁶; one final truncation.
        cost = cost + multiply(count: count, parties: n, method: method)
        cost = cost + multiply(count: 2 * count, parties: n, method: method)
        cost = cost + multiply(count: 2 * count, parties: n, method: method)
        cost = cost + truncate(count: count, parties: n, method: .dealerAssisted)
        return cost + open(words: 2 * count, parties: n)  // s + (1 - 2s)·σ(a)
    }

    /// `Party.piecewiseSigmoid`: a comparison of `21·count` differences whose last round also
    /// carries as many products, with riders in its rounds (their bytes, no rounds of their own):
    /// `x²` and `x³` (a square and a product, each truncated with `method`) and the dealer-
    /// assisted truncation of the `20·count` pieces: 8 rounds.
    public static func piecewiseSigmoid(count: Int, parties n: Int, method: TruncationMethod) -> ProtocolCost {
        let comparisons = count * (2 * PiecewiseSigmoid.reach + 1)
        let riders = square(count: count, parties: n, method: method) + multiply(count: count, parties: n, method: method)
            + truncate(count: count * 2 * PiecewiseSigmoid.reach, parties: n, method: .dealerAssisted)
        return fused(isNegative(count: comparisons, parties: n), productWords: comparisons, parties: n)
            + ProtocolCost(rounds: 0, bytesPerParty: riders.bytesPerParty)
    }

    /// `Party.maxWithIndex` on `rows` rows of `k` elements: per tournament level with `q` pairs,
    /// a comparison of `q·rows` differences whose last round also carries a product of
    /// `2·q·rows` words: 8 rounds a level.
    public static func maxWithIndex(rows: Int, k: Int, parties n: Int) -> ProtocolCost {
        var cost = ProtocolCost(rounds: 0, bytesPerParty: 0)
        var width = k
        while width > 1 {
            let half = (width / 2) * rows
            cost = cost + fused(isNegative(count: half, parties: n), productWords: 2 * half, parties: n)
            width = width / 2 + width % 2
        }
        return cost
    }
}
