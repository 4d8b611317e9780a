/// The exact receiver operating characteristic of membership scores: one point per distinct
/// score, ties kept together.
///
/// An attack predicts "member" when its score is ≥ a threshold. For the k-th largest distinct
/// score sₖ, the curve holds the counts TPₖ = #{members with score ≥ sₖ} and
/// FPₖ = #{non-members with score ≥ sₖ}; the first point is (0, 0) at threshold +∞ and the
/// last is (1, 1). Examples with equal scores enter the curve together, so ties produce one
/// diagonal segment instead of an arbitrary staircase: this is scikit-learn's
/// `roc_curve(…, drop_intermediate=False)`.
///
/// Laws: the counts are non-decreasing; the curve depends only on the multiset of
/// (score, label) pairs (permutation invariance) and is unchanged by any strictly increasing
/// transform of the scores (only `thresholds` change).
///
/// - Complexity: O(n log n) to build (one sort); every metric below is O(points).
public struct ROCCurve: Sendable, Equatable {
    /// The thresholds, decreasing: `+infinity`, then each distinct score.
    public let thresholds: [Double]
    /// Members with score ≥ the threshold, per point.
    public let truePositives: [Int]
    /// Non-members with score ≥ the threshold, per point.
    public let falsePositives: [Int]
    /// The number of members (positives) evaluated.
    public let memberCount: Int
    /// The number of non-members (negatives) evaluated; it bounds the FPR resolution at 1/count.
    public let nonMemberCount: Int

    /// The curve of `scores` (higher = more likely a member) against the true membership.
    /// - Throws: `AttackMetricsError` when the lengths differ, a score is NaN, or either class
    ///   is empty.
    public init(scores: [Double], isMember: [Bool]) throws(AttackMetricsError) {
        guard scores.count == isMember.count else {
            throw .countMismatch(scores: scores.count, labels: isMember.count)
        }
        if let bad = scores.firstIndex(where: { $0.isNaN }) { throw .nonNumericScore(index: bad) }
        let members = isMember.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard members > 0, members < isMember.count else {
            throw .missingClass(members: members, nonMembers: isMember.count - members)
        }
        let ranked = RankedScores(scores: scores, isMember: isMember)
        self = ranked.curve(weights: nil)
    }

    init(thresholds: [Double], truePositives: [Int], falsePositives: [Int], memberCount: Int, nonMemberCount: Int) {
        self.thresholds = thresholds
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.memberCount = memberCount
        self.nonMemberCount = nonMemberCount
    }

    /// The number of points (distinct scores + 1).
    public var count: Int { thresholds.count }

    /// TPₖ / members at each point.
    public var truePositiveRates: [Double] {
        let p = Double(memberCount)
        return truePositives.map { Double($0) / p }
    }

    /// FPₖ / non-members at each point.
    public var falsePositiveRates: [Double] {
        let n = Double(nonMemberCount)
        return falsePositives.map { Double($0) / n }
    }

    /// The area under the curve, by the trapezoid rule over the exact points.
    ///
    /// Equals the probability that a random member outscores a random non-member, ties counted
    /// one half (the Mann–Whitney statistic), and scikit-learn's `roc_auc_score`.
    public var auc: Double {
        var twiceArea = 0.0
        truePositives.withUnsafeBufferPointer { tp in
            falsePositives.withUnsafeBufferPointer { fp in
                for k in 1..<tp.count {
                    twiceArea += Double(fp[k] - fp[k - 1]) * Double(tp[k] + tp[k - 1])
                }
            }
        }
        return twiceArea / (2 * Double(memberCount) * Double(nonMemberCount))
    }
}

/// Scores sorted once (decreasing), so that the curve of any reweighting of the examples (a
/// bootstrap resample) costs O(n) instead of another sort.
struct RankedScores: Sendable {
    /// Scores in decreasing order.
    let scores: [Double]
    /// Membership in the same order.
    let isMember: [Bool]
    /// The original index of each sorted position.
    let originalIndex: [Int]

    init(scores: [Double], isMember: [Bool]) {
        let order = scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
        self.scores = order.map { scores[$0] }
        self.isMember = order.map { isMember[$0] }
        self.originalIndex = order
    }

    /// The curve with each example counted `weights[originalIndex]` times (once when nil).
    /// Thresholds whose examples all have weight zero are skipped.
    func curve(weights: [Int]?) -> ROCCurve {
        let n = scores.count
        var thresholds: [Double] = [.infinity]
        var tps: [Int] = [0], fps: [Int] = [0]
        thresholds.reserveCapacity(n + 1); tps.reserveCapacity(n + 1); fps.reserveCapacity(n + 1)
        var tp = 0, fp = 0
        let unit = weights == nil ? [Int](repeating: 1, count: n) : []
        (weights ?? unit).withUnsafeBufferPointer { w in
            scores.withUnsafeBufferPointer { s in
                isMember.withUnsafeBufferPointer { m in
                    originalIndex.withUnsafeBufferPointer { o in
                        var i = 0
                        while i < n {
                            let value = s[i]
                            var added = 0
                            while i < n && s[i] == value {
                                let weight = w[o[i]]
                                if m[i] { tp += weight } else { fp += weight }
                                added += weight
                                i += 1
                            }
                            if added > 0 {
                                thresholds.append(value); tps.append(tp); fps.append(fp)
                            }
                        }
                    }
                }
            }
        }
        return ROCCurve(thresholds: thresholds, truePositives: tps, falsePositives: fps,
                        memberCount: tp, nonMemberCount: fp)
    }
}
