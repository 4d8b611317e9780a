// MARK: Input, output and local (communication-free) operations.

extension Party {
    /// Secret-shares `values` held by party `owner` among all parties.
    ///
    /// The owner encodes the values (throwing `encodingOverflow` for any value out of range),
    /// draws `n - 1` uniform shares from its CSPRNG, sends one to each other party and keeps
    /// `encode(x) - Σ others`. The public bound travels with the shares: `bound` when given (the
    /// owner checks that every `|x_i| ≤ bound`), else the smallest power of two `≥ max |x_i|`
    /// (which reveals that power of two, nothing more).
    ///
    /// Every party calls this with the same `shape` and `owner`; only the owner passes `values`.
    ///
    /// With pairwise keys (`establishPairwiseKeys`) and a `bound` every party passes (public,
    /// agreed beforehand), nothing is sent: each other party's share is the next `count` words
    /// of the keystream it shares with the owner, who keeps `encode(x) - Σ` of them.
    /// - Cost: 1 round; the owner sends `(n-1)·8·(count+1)` bytes. With pairwise keys and a
    ///   bound: none.
    public func share(
        _ values: [Double]?, shape: [Int], owner: Int, bound: Double? = nil
    ) throws(SecretSharingError) -> SecretTensor {
        let count = shape.reduce(1, *)
        guard (0..<partyCount).contains(owner) else {
            throw .invalidArgument("owner \(owner) is not a party of \(partyCount)")
        }
        if let bound, hasPairwiseKeys {
            guard bound.isFinite, bound > 0 else {
                throw .invalidArgument("the declared bound \(bound) must be positive and finite")
            }
            guard index == owner else {
                return SecretTensor(shape: shape, share: pairwise[owner].words(count), bound: bound)
            }
            guard let values, values.count == count else {
                throw .invalidArgument(
                    "the owner must pass \(count) values for shape \(shape), got \(values?.count ?? 0)")
            }
            var maxAbs = 0.0
            for v in values { maxAbs = Swift.max(maxAbs, abs(v)) }
            guard maxAbs <= bound else {
                throw .invalidArgument("a value of magnitude \(maxAbs) exceeds the declared bound \(bound)")
            }
            var own = try encoder.encode(values)
            for p in 0..<partyCount where p != owner {
                own.withUnsafeMutableBufferPointer { o in
                    var g = pairwise[p]
                    var block = [UInt64](repeating: 0, count: Swift.min(count, 4096))
                    var start = 0
                    while start < count {
                        let n = Swift.min(block.count, count - start)
                        block.withUnsafeMutableBufferPointer { b in
                            g.fill(UnsafeMutableBufferPointer(rebasing: b[0..<n]))
                            for i in 0..<n { o[start + i] &-= b[i] }
                        }
                        start += n
                    }
                    pairwise[p] = g
                }
            }
            return SecretTensor(shape: shape, share: own, bound: bound)
        }
        if index == owner {
            guard let values, values.count == count else {
                throw .invalidArgument(
                    "the owner must pass \(count) values for shape \(shape), got \(values?.count ?? 0)")
            }
            let encoded = try encoder.encode(values)
            var maxAbs = 0.0
            for v in values { maxAbs = Swift.max(maxAbs, abs(v)) }
            let publicBound: Double
            if let bound {
                guard maxAbs <= bound else {
                    throw .invalidArgument("a value of magnitude \(maxAbs) exceeds the declared bound \(bound)")
                }
                publicBound = bound
            } else {
                publicBound = self.publicBound(of: values)
            }
            var own = encoded
            for p in 0..<partyCount where p != owner {
                var message = random.words(count)
                Ring.subtractInPlace(&own, message)
                message.append(publicBound.bitPattern)
                try channel.send(message, to: p)
            }
            return SecretTensor(shape: shape, share: own, bound: publicBound)
        } else {
            var message = try channel.receive(from: owner)
            guard message.count == count + 1 else {
                throw .malformedMessage(from: owner, expected: count + 1, received: message.count)
            }
            let publicBound = Double(bitPattern: message.removeLast())
            guard publicBound.isFinite, publicBound > 0 else {
                throw .invalidArgument("party \(owner) sent an invalid public bound \(publicBound)")
            }
            return SecretTensor(shape: shape, share: message, bound: publicBound)
        }
    }

    /// The public bound `share` gives values when none is declared: the smallest power of two
    /// `≥ max |x_i|` (at least the resolution), which reveals that power of two and nothing more.
    /// An owner may announce it before sharing, so that the sharing itself sends nothing.
    public func publicBound(of values: [Double]) -> Double {
        var maxAbs = 0.0
        for v in values { maxAbs = Swift.max(maxAbs, abs(v)) }
        return maxAbs == 0 ? encoder.resolution : Swift.max(
            encoder.resolution, Double(sign: .plus, exponent: maxAbs.exponent + 1, significand: 1))
    }

    /// A public tensor as a (trivially) shared secret: party 0 holds the encoding, others zero.
    /// - Cost: local.
    public func constant(_ values: [Double], shape: [Int]) throws(SecretSharingError) -> SecretTensor {
        precondition(shape.reduce(1, *) == values.count, "constant: shape \(shape) does not fit")
        var maxAbs = encoder.resolution
        for v in values { maxAbs = Swift.max(maxAbs, abs(v)) }
        let encoded = try encoder.encode(values)
        return SecretTensor(
            shape: shape, share: index == 0 ? encoded : [UInt64](repeating: 0, count: values.count),
            bound: maxAbs)
    }

    /// Opens `x` to every party and decodes it.
    ///
    /// Throws `boundViolated` if a revealed value exceeds the public bound (beyond the fixed-point
    /// resolution): that can only follow a false `assumingBound` or a protocol failure, and is
    /// reported rather than returned as if it were right.
    /// - Cost: 1 round, `(n-1)·8·count` bytes per party.
    public func reveal(_ x: SecretTensor) throws(SecretSharingError) -> [Double] {
        let opened = try channel.openAdditive(x.share)
        let values = encoder.decode(opened)
        let slack = x.bound + 4 * encoder.resolution
        for v in values where abs(v) > slack {
            throw .boundViolated(operation: "reveal", value: v, bound: x.bound)
        }
        return values
    }

    /// Opens `x` to the parties in `receivers` only, who decode it; every other party gets nil.
    /// Every party sends its share to every other receiver; a receiver learns `x`, a
    /// non-receiver learns nothing (it receives nothing).
    ///
    /// Throws `boundViolated` as `reveal` does, and `invalidArgument` for a receiver that is not
    /// a party.
    /// - Cost: 1 round at a receiver (none elsewhere); `|receivers \ {self}|·8·count` bytes.
    public func reveal(_ x: SecretTensor, to receivers: Set<Int>) throws(SecretSharingError) -> [Double]? {
        guard let sum = try open(x.share, to: receivers) else { return nil }
        let values = encoder.decode(sum)
        let slack = x.bound + 4 * encoder.resolution
        for v in values where abs(v) > slack {
            throw .boundViolated(operation: "reveal", value: v, bound: x.bound)
        }
        return values
    }

    /// The sum of every party's `share`, at the parties in `receivers` only (nil elsewhere).
    /// - Cost: 1 round at a receiver (none elsewhere); `|receivers \ {self}|·8·count` bytes.
    func open(_ share: [UInt64], to receivers: Set<Int>) throws(SecretSharingError) -> [UInt64]? {
        for r in receivers where !(0..<partyCount).contains(r) {
            throw .invalidArgument("output receiver \(r) is not a party of \(partyCount)")
        }
        for r in receivers.sorted() where r != index { try channel.send(share, to: r) }
        guard receivers.contains(index) else { return nil }
        var sum = share
        for p in 0..<partyCount where p != index {
            let message = try channel.receive(from: p)
            guard message.count == sum.count else {
                throw .malformedMessage(from: p, expected: sum.count, received: message.count)
            }
            Ring.addInPlace(&sum, message)
        }
        return sum
    }

    /// Opens secret bits to every party.
    /// - Cost: 1 round, `(n-1)·8·count` bytes per party.
    public func reveal(_ bits: SecretBits) throws(SecretSharingError) -> [Bool] {
        let opened = try channel.openAdditive(bits.share)
        var out = [Bool](repeating: false, count: opened.count)
        for i in opened.indices {
            guard opened[i] <= 1 else {
                throw .boundViolated(operation: "reveal bits", value: Double(opened[i]), bound: 1)
            }
            out[i] = opened[i] == 1
        }
        return out
    }

    /// `x + y`. Local; bound `bx + by`.
    public func add(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape == y.shape, "add: shapes \(x.shape) and \(y.shape) differ")
        let b = x.bound + y.bound
        try check("add", bound: b, limit: encoder.limit)
        return SecretTensor(shape: x.shape, share: Ring.add(x.share, y.share), bound: b)
    }

    /// `x - y`. Local; bound `bx + by`.
    public func subtract(_ x: SecretTensor, _ y: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape == y.shape, "subtract: shapes \(x.shape) and \(y.shape) differ")
        let b = x.bound + y.bound
        try check("subtract", bound: b, limit: encoder.limit)
        return SecretTensor(shape: x.shape, share: Ring.subtract(x.share, y.share), bound: b)
    }

    /// `-x`. Local.
    public func negate(_ x: SecretTensor) -> SecretTensor {
        SecretTensor(shape: x.shape, share: Ring.scale(x.share, by: UInt64.max), bound: x.bound)
    }

    /// `x + c` for a public tensor `c` of the same shape (party 0 adds the encoding). Local.
    public func add(_ x: SecretTensor, public c: [Double]) throws(SecretSharingError) -> SecretTensor {
        precondition(c.count == x.count, "add public: \(c.count) values for \(x.count) elements")
        var maxAbs = 0.0
        for v in c { maxAbs = Swift.max(maxAbs, abs(v)) }
        let b = x.bound + maxAbs
        try check("add public", bound: b, limit: encoder.limit)
        var share = x.share
        if index == 0 { Ring.addInPlace(&share, try encoder.encode(c)) }
        return SecretTensor(shape: x.shape, share: share, bound: b)
    }

    /// `x + c` for a public scalar `c`. Local.
    public func add(_ x: SecretTensor, scalar c: Double) throws(SecretSharingError) -> SecretTensor {
        let b = x.bound + abs(c)
        try check("add scalar", bound: b, limit: encoder.limit)
        var share = x.share
        if index == 0 {
            let e = try encoder.encode(c)
            share.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] &+= e } }
        }
        return SecretTensor(shape: x.shape, share: share, bound: b)
    }

    /// `k·x` for a public integer `k`: no truncation. Local.
    public func multiply(_ x: SecretTensor, byInteger k: Int) throws(SecretSharingError) -> SecretTensor {
        let b = x.bound * Double(k.magnitude)
        try check("multiply by integer", bound: b, limit: encoder.limit)
        return SecretTensor(shape: x.shape, share: Ring.scale(x.share, by: UInt64(bitPattern: Int64(k))), bound: b)
    }

    /// `s·x` for a public real `s`: a local product followed by truncation (local with
    /// `.localTwoParty`, one round with `.dealerAssisted`).
    ///
    /// Error below `2^-f·(1 + |x|/2)` beyond the rounding of `x` itself: the encoding of `s` is
    /// off by at most `2^-(f+1)` and the truncation by less than `2^-f` (see `truncate`).
    /// Refused when `bx·|s| ≥ 2^(62-2f)`.
    public func multiply(_ x: SecretTensor, byScalar s: Double) throws(SecretSharingError) -> SecretTensor {
        let b = x.bound * abs(s)
        try check("multiply by scalar", bound: b, limit: encoder.productLimit)
        let e = try encoder.encode(s)
        let product = Ring.scale(x.share, by: e)
        let truncated = try truncate(product, shift: encoder.fractionalBits)
        return SecretTensor(shape: x.shape, share: truncated, bound: b + encoder.resolution * (1 + x.bound))
    }

    /// `x ⊙ c` elementwise for a public tensor `c`: local product, then truncation.
    public func multiply(_ x: SecretTensor, byPublic c: [Double]) throws(SecretSharingError) -> SecretTensor {
        precondition(c.count == x.count, "multiply public: \(c.count) values for \(x.count) elements")
        var maxAbs = 0.0
        for v in c { maxAbs = Swift.max(maxAbs, abs(v)) }
        let b = x.bound * maxAbs
        try check("multiply by public tensor", bound: b, limit: encoder.productLimit)
        let product = Ring.multiply(x.share, try encoder.encode(c))
        let truncated = try truncate(product, shift: encoder.fractionalBits)
        return SecretTensor(shape: x.shape, share: truncated, bound: b + encoder.resolution * (1 + x.bound))
    }

    /// `x·W` for a secret m×k matrix `x` and a public k×n matrix `W`: local product, then
    /// truncation.
    public func matmul(_ x: SecretTensor, public w: [Double], shape wShape: [Int]) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape.count == 2 && wShape.count == 2 && x.shape[1] == wShape[0]
                     && w.count == wShape[0] * wShape[1],
                     "matmul public: shapes \(x.shape) and \(wShape) do not chain")
        let (m, k, n) = (x.shape[0], x.shape[1], wShape[1])
        var maxAbs = 0.0
        for v in w { maxAbs = Swift.max(maxAbs, abs(v)) }
        let b = Double(k) * x.bound * maxAbs
        try check("matmul by public matrix", bound: b, limit: encoder.productLimit)
        let product = Ring.matmul(x.share, try encoder.encode(w), m: m, k: k, n: n)
        let truncated = try truncate(product, shift: encoder.fractionalBits)
        return SecretTensor(shape: [m, n], share: truncated, bound: b + encoder.resolution * (1 + Double(k) * x.bound))
    }

    /// The sum of the elements of each row of a 2-D tensor (shape [rows, 1]), or of a 1-D
    /// tensor (shape [1]). Local.
    public func sumRows(_ x: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        let (rows, cols) = x.shape.count == 2 ? (x.shape[0], x.shape[1]) : (1, x.count)
        let b = x.bound * Double(cols)
        try check("sum", bound: b, limit: encoder.limit)
        var out = [UInt64](repeating: 0, count: rows)
        x.share.withUnsafeBufferPointer { p in
            for i in 0..<rows {
                var s: UInt64 = 0
                for j in 0..<cols { s &+= p[i * cols + j] }
                out[i] = s
            }
        }
        return SecretTensor(shape: x.shape.count == 2 ? [rows, 1] : [1], share: out, bound: b)
    }

    /// The transpose of a 2-D tensor. Local.
    public func transpose(_ x: SecretTensor) -> SecretTensor {
        precondition(x.shape.count == 2, "transpose needs a 2-D tensor, got \(x.shape)")
        return SecretTensor(
            shape: [x.shape[1], x.shape[0]],
            share: Ring.transpose(x.share, rows: x.shape[0], cols: x.shape[1]), bound: x.bound)
    }

    /// Adds a secret row vector `v` (n elements) to every row of an m×n tensor `x`. Local.
    public func addRowVector(_ x: SecretTensor, _ v: SecretTensor) throws(SecretSharingError) -> SecretTensor {
        precondition(x.shape.count == 2 && v.count == x.shape[1],
                     "addRowVector: \(v.count) elements for rows of \(x.shape)")
        let b = x.bound + v.bound
        try check("add row vector", bound: b, limit: encoder.limit)
        var share = x.share
        let n = x.shape[1]
        share.withUnsafeMutableBufferPointer { p in
            v.share.withUnsafeBufferPointer { q in
                for i in 0..<x.shape[0] { for j in 0..<n { p[i * n + j] &+= q[j] } }
            }
        }
        return SecretTensor(shape: x.shape, share: share, bound: b)
    }

    /// Concatenates tensors along the first axis (flat for 1-D). Local.
    /// - Throws: `invalidArgument` for no parts, or parts whose shapes differ past the first axis.
    public func concatenate(_ parts: [SecretTensor]) throws(SecretSharingError) -> SecretTensor {
        guard let first = parts.first else { throw .invalidArgument("concatenate: no tensors") }
        for p in parts where p.shape.count != first.shape.count || p.shape.dropFirst() != first.shape.dropFirst() {
            throw .invalidArgument("concatenate: shapes \(first.shape) and \(p.shape) differ past the first axis")
        }
        var share: [UInt64] = []
        share.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var rows = 0
        var b = 0.0
        for p in parts {
            share.append(contentsOf: p.share)
            rows += p.shape.first ?? 1
            b = Swift.max(b, p.bound)
        }
        var shape = parts[0].shape
        if shape.isEmpty { shape = [share.count] } else { shape[0] = rows }
        return SecretTensor(shape: shape, share: share, bound: b)
    }
}
