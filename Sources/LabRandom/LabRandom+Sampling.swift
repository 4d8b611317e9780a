// MARK: - Permutations and sampling

extension LabRandom {
    /// A uniformly random permutation of `0..<n`.
    ///
    /// Equals `shuffle` applied to `Array(0..<n)`: the Fisher–Yates (Durstenfeld) shuffle, which
    /// for `i` from `n − 1` down to 1 swaps element `i` with element `nextInt(below: i + 1)`.
    /// Each of the `n!` permutations has probability `1/n!`.
    ///
    /// - Complexity: O(n) time, n − 1 bounded draws.
    /// - Precondition: `n ≥ 0`.
    public mutating func permutation(_ n: Int) -> [Int] {
        precondition(n >= 0, "LabRandom.permutation(_:) needs n ≥ 0, got \(n)")
        var result = Array(0..<n)
        shuffle(&result)
        return result
    }

    /// Shuffles `array` in place uniformly at random (Fisher–Yates, as in ``permutation(_:)``).
    ///
    /// - Complexity: O(n).
    public mutating func shuffle<T>(_ array: inout [T]) {
        let n = array.count
        guard n > 1 else { return }
        array.withUnsafeMutableBufferPointer { buffer in
            var i = n - 1
            while i > 0 {
                let j = nextInt(below: i + 1)
                buffer.swapAt(i, j)
                i -= 1
            }
        }
    }

    /// `k` distinct integers drawn uniformly from `0..<n`, in draw order.
    ///
    /// A partial Fisher–Yates shuffle from the front: for `i` in `0..<k`, swap position `i` of the
    /// (virtual) array `0..<n` with position `i + nextInt(below: n − i)` and output position `i`.
    /// Every ordered k-tuple of distinct values has probability `(n − k)!/n!`, so the result's
    /// prefixes are samples too. When `k` is small next to `n` the virtual array is kept sparse
    /// (only displaced positions are stored); the values drawn are the same either way.
    ///
    /// - Complexity: O(k) draws; O(n) time and memory when `n ≤ 8k` (or small), else O(k) expected.
    /// - Precondition: `0 ≤ k ≤ n`.
    public mutating func sampleWithoutReplacement(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "LabRandom.sampleWithoutReplacement needs 0 ≤ k ≤ n, got k = \(k), n = \(n)")
        var result = [Int]()
        result.reserveCapacity(k)
        if n <= 4096 || n <= 8 * k {
            var pool = Array(0..<n)
            pool.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<k {
                    let j = i + nextInt(below: n - i)
                    buffer.swapAt(i, j)
                    result.append(buffer[i])
                }
            }
        } else {
            // Sparse virtual array: displaced[p] is the value now at position p (default p).
            var displaced = [Int: Int](minimumCapacity: 2 * k)
            for i in 0..<k {
                let j = i + nextInt(below: n - i)
                let atJ = displaced[j] ?? j
                let atI = displaced[i] ?? i
                displaced[j] = atI
                displaced[i] = atJ
                result.append(atJ)
            }
        }
        return result
    }
}
