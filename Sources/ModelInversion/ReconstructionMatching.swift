/// Pairs a reconstructed batch with the true batch before measuring it: the order of a batch is
/// not identifiable from its update, so each reconstruction is compared with the original it
/// resembles, under the one-to-one assignment that maximises the total PSNR (every permutation
/// for batches up to 8, greedy best pairs beyond).
public enum ReconstructionMatching {
    public struct Match: Sendable, Equatable {
        /// `assignment[i]` is the original matched with reconstruction i.
        public var assignment: [Int]
        /// PSNR and SSIM of each reconstruction against its original.
        public var psnr: [Double]
        public var ssim: [Double]
        public var meanPSNR: Double { psnr.isEmpty ? 0 : psnr.map { min($0, 100) }.reduce(0, +) / Double(psnr.count) }
        public var meanSSIM: Double { ssim.isEmpty ? 0 : ssim.reduce(0, +) / Double(ssim.count) }
    }

    /// Matches `reconstructions` with `originals` (equal counts; images of `height × width`
    /// planes, values in [0, `dataRange`]). PSNR is capped at 100 dB in the means.
    /// - Complexity: B² PSNR computations and B! assignments for B ≤ 8 (40 320 at most).
    public static func match(reconstructions: [[Float]], originals: [[Float]], height: Int, width: Int,
                             dataRange: Float = 1) -> Match {
        precondition(reconstructions.count == originals.count, "ReconstructionMatching: \(reconstructions.count) reconstructions for \(originals.count) originals")
        let b = originals.count
        let table = reconstructions.map { r in originals.map { o in min(ImageMetrics.psnr(r, o, dataRange: dataRange), 100) } }
        var assignment = Array(0..<b)
        if b <= 8 {
            var best = -Double.infinity
            var current = Array(0..<b)
            func search(_ k: Int) {
                if k == b {
                    let total = (0..<b).reduce(0.0) { $0 + table[$1][current[$1]] }
                    if total > best { best = total; assignment = current }
                    return
                }
                for i in k..<b {
                    current.swapAt(k, i)
                    search(k + 1)
                    current.swapAt(k, i)
                }
            }
            search(0)
        } else {
            var usedR = Set<Int>(), usedO = Set<Int>()
            let pairs = (0..<b).flatMap { r in (0..<b).map { (r, $0) } }.sorted { table[$0.0][$0.1] > table[$1.0][$1.1] }
            for (r, o) in pairs where !usedR.contains(r) && !usedO.contains(o) {
                assignment[r] = o; usedR.insert(r); usedO.insert(o)
            }
        }
        let psnr = (0..<b).map { ImageMetrics.psnr(reconstructions[$0], originals[assignment[$0]], dataRange: dataRange) }
        let ssim = (0..<b).map { ImageMetrics.ssim(reconstructions[$0], originals[assignment[$0]], height: height, width: width, dataRange: dataRange) }
        return Match(assignment: assignment, psnr: psnr, ssim: ssim)
    }
}
