import LabRandom
import ModelAccess
import Tensors

// MARK: - The L2 Square Attack

extension SquareAttack {
    /// The margin loss of each row of `batch` (examples `rows`): p_y − max_{k≠y} p_k, or
    /// max_{k≠t} p_k − p_t for a target t; < 0 once the attack has succeeded.
    static func marginLosses<M: ProbabilityAccess>(_ batch: [Float], rows: [Int], sample: [Int], labels: [Int], goal: AttackGoal,
                                                   model: M) -> [Float] {
        let classes = model.classCount
        let p = model.probabilities(for: Tensor(shape: [rows.count] + sample, scalars: batch)).scalars
        return rows.enumerated().map { r, i in
            let start = r * classes
            let mine = goal.target(i) ?? labels[i]
            var other: Float = -.infinity
            for k in 0..<classes where k != mine { other = max(other, p[start + k]) }
            return goal.target(i) == nil ? p[start + mine] - other : other - p[start + mine]
        }
    }

    /// The pattern η of a rows × cols window, unit L2 norm: its two halves (along the longer side)
    /// carry concentric squares of weight Σ_{k ≥ ring} 1/(k+1)² around their centres, with opposite
    /// signs. A 1 × 1 window is the single value 1.
    public static func windowPattern(rows: Int, cols: Int) -> [Float] {
        var eta = [Float](repeating: 0, count: rows * cols)
        guard rows * cols > 1 else { return [1] }
        let splitRows = rows >= cols
        let (halfRows, halfCols) = splitRows ? (rows / 2, cols) : (rows, cols / 2)
        let rings = max(halfRows, halfCols)
        var weight = [Float](repeating: 0, count: rings + 1)
        // weight[ring] = Σ_{k = ring}^{rings} 1/(k+1)²
        for ring in stride(from: rings, through: 0, by: -1) {
            weight[ring] = 1 / Float((ring + 1) * (ring + 1)) + (ring < rings ? weight[ring + 1] : 0)
        }
        let (cr, cc) = (halfRows / 2, halfCols / 2)
        for r in 0..<halfRows {
            for c in 0..<halfCols {
                let value = weight[max(abs(r - cr), abs(c - cc))]
                if splitRows {
                    eta[r * cols + c] = value
                    eta[(r + halfRows) * cols + c] = -value
                } else {
                    eta[r * cols + c] = value
                    eta[r * cols + c + halfCols] = -value
                }
            }
        }
        let norm = eta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return eta.map { $0 / norm }
    }

    /// η for a side × side window with a random orientation and sign (the sign drawn per channel
    /// by the caller).
    static func orientedPattern(_ base: [Float], rows: Int, cols: Int, random: inout LabRandom) -> [Float] {
        var eta = base
        if rows == cols && random.nextBernoulli(0.5) {
            for r in 0..<rows { for c in 0..<cols { eta[r * cols + c] = base[c * cols + r] } }
        }
        return eta
    }

    func runL2<M: ProbabilityAccess>(_ inputs: Tensor, labels: [Int], goal: AttackGoal, model: M, random: LabRandom) -> Result {
        let n = inputs.shape[0]
        let sample = Array(inputs.shape.dropFirst())
        let (c, h, w) = sample.count == 3 ? (sample[0], sample[1], sample[2]) : (1, 1, sample.reduce(1, *))
        let size = c * h * w
        let x = inputs.scalars
        let clip = domain.clamp
        var stream = random

        /// x + δ clipped into the domain and, against rounding, projected onto the ε-ball.
        func place(_ delta: inout [Float], example i: Int, into out: inout [Float], at offset: Int) {
            var total: Float = 0
            for k in 0..<size {
                let v = clip(x[i * size + k] + delta[k])
                delta[k] = v - x[i * size + k]
                total += delta[k] * delta[k]
            }
            let shrink: Float = total > epsilon * epsilon ? epsilon / total.squareRoot() : 1
            for k in 0..<size { out[offset + k] = clip(x[i * size + k] + delta[k] * shrink) }
        }

        // The start: a grid of 5 × 5 tiles of the pattern, a random sign per (example, channel, tile).
        let tile = max(1, h / 5), tileCols = h == 1 ? max(1, w / 25) : max(1, w / 5)
        let tiles = (h == 1 ? 1 : 5, h == 1 ? 25 : 5)
        let tilePattern = Self.windowPattern(rows: tile, cols: tileCols)
        var best = [Float](repeating: 0, count: n * size)
        for i in 0..<n {
            var delta = [Float](repeating: 0, count: size)
            for ch in 0..<c {
                for tr in 0..<tiles.0 {
                    for tc in 0..<tiles.1 {
                        let sign: Float = stream.nextBernoulli(0.5) ? 1 : -1
                        for r in 0..<tile where tr * tile + r < h {
                            for col in 0..<tileCols where tc * tileCols + col < w {
                                delta[(ch * h + tr * tile + r) * w + tc * tileCols + col] += sign * tilePattern[r * tileCols + col]
                            }
                        }
                    }
                }
            }
            let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let scale = norm > 0 ? epsilon / norm : 0
            for k in 0..<size { delta[k] *= scale }
            place(&delta, example: i, into: &best, at: i * size)
        }
        var loss = Self.marginLosses(best, rows: Array(0..<n), sample: sample, labels: labels, goal: goal, model: model)
        var queries = [Int](repeating: 1, count: n)
        let steps = maximumQueries - 1
        for step in 0..<steps {
            let active = (0..<n).filter { loss[$0] >= 0 }
            if active.isEmpty { break }
            let p = Self.fraction(initialFraction, step: step, of: steps)
            // An odd side of at least 3 (as the paper's code), inside the image.
            var side = max(3, Int((Float(h * w) * p).squareRoot().rounded()))
            if side % 2 == 0 { side += 1 }
            let rows = max(1, min(side, h > 1 ? h - 1 : 1)), cols = max(1, min(side, w > 1 ? w - 1 : 1))
            let base = Self.windowPattern(rows: rows, cols: cols)
            var candidate = [Float](repeating: 0, count: active.count * size)
            for (r, i) in active.enumerated() {
                let top1 = stream.nextInt(below: h - rows + 1), left1 = stream.nextInt(below: w - cols + 1)
                let top2 = stream.nextInt(below: h - rows + 1), left2 = stream.nextInt(below: w - cols + 1)
                var delta = (0..<size).map { best[i * size + $0] - x[i * size + $0] }
                let total = delta.reduce(0) { $0 + $1 * $1 }
                let unused = max(0, epsilon * epsilon - total)
                func inWindow(_ row: Int, _ col: Int, _ top: Int, _ left: Int) -> Bool {
                    row >= top && row < top + rows && col >= left && col < left + cols
                }
                for ch in 0..<c {
                    var first: Float = 0, union: Float = 0
                    for row in 0..<h {
                        for col in 0..<w {
                            let v = delta[(ch * h + row) * w + col]
                            let one = inWindow(row, col, top1, left1)
                            if one { first += v * v }
                            if one || inWindow(row, col, top2, left2) { union += v * v }
                        }
                    }
                    let eta = Self.orientedPattern(base, rows: rows, cols: cols, random: &stream)
                    let sign: Float = stream.nextBernoulli(0.5) ? 1 : -1
                    let firstNorm = first.squareRoot() + 1e-12
                    var window = [Float](repeating: 0, count: rows * cols)
                    for a in 0..<rows {
                        for b in 0..<cols {
                            window[a * cols + b] = sign * eta[a * cols + b] + delta[(ch * h + top1 + a) * w + left1 + b] / firstNorm
                        }
                    }
                    let windowNorm = window.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    let scale = windowNorm > 0 ? (unused / Float(c) + union).squareRoot() / windowNorm : 0
                    for a in 0..<rows { for b in 0..<cols { delta[(ch * h + top2 + a) * w + left2 + b] = 0 } }
                    for a in 0..<rows {
                        for b in 0..<cols { delta[(ch * h + top1 + a) * w + left1 + b] = window[a * cols + b] * scale }
                    }
                }
                place(&delta, example: i, into: &candidate, at: r * size)
            }
            let newLoss = Self.marginLosses(candidate, rows: active, sample: sample, labels: labels, goal: goal, model: model)
            for (r, i) in active.enumerated() {
                queries[i] += 1
                if newLoss[r] < loss[i] {
                    loss[i] = newLoss[r]
                    for k in 0..<size { best[i * size + k] = candidate[r * size + k] }
                }
            }
        }
        return Result(adversarial: Tensor(shape: inputs.shape, scalars: best), queries: queries, success: loss.map { $0 < 0 })
    }
}
