internal import CGMP

// MARK: Random values

extension BigInteger {
    /// A uniform value in `0 ..< 2^bits`, drawn from `generator`.
    ///
    /// With the default `SystemRandomNumberGenerator` (the OS CSPRNG: `getrandom` on Linux,
    /// `arc4random` on Apple platforms) the value is fit for keys and masks; with a seeded generator
    /// it is reproducible and must never reach cryptographic use.
    ///
    /// - Complexity: O(bits / 64) generator calls.
    public static func random<G: RandomNumberGenerator>(bits: Int, using generator: inout G) -> BigInteger {
        precondition(bits >= 0, "BigInteger.random(bits:): negative bit count \(bits)")
        if bits == 0 { return BigInteger() }
        let wordCount = (bits + 63) / 64
        var words = [UInt64](repeating: 0, count: wordCount)
        let result = GMPStorage()
        words.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<wordCount { buffer[index] = generator.next() }
            let excess = wordCount * 64 - bits
            if excess > 0 { buffer[wordCount - 1] &= UInt64.max >> UInt64(excess) }
            // Least significant word first, native byte order within a word.
            __gmpz_import(result.pointer, wordCount, -1, 8, 0, 0, buffer.baseAddress)
            secureZero(UnsafeMutableRawPointer(buffer.baseAddress!), wordCount * 8)
        }
        return BigInteger(storage: result)
    }

    /// A uniform value in `0 ..< 2^bits` from the OS CSPRNG.
    public static func random(bits: Int) -> BigInteger {
        var system = SystemRandomNumberGenerator()
        return random(bits: bits, using: &system)
    }

    /// A uniform value in `0 ..< bound` (bound > 0), by rejection sampling on `bitWidth(bound)` bits.
    ///
    /// - Complexity: expected fewer than two draws of `bitWidth(bound)` bits.
    public static func random<G: RandomNumberGenerator>(below bound: BigInteger, using generator: inout G) -> BigInteger {
        precondition(bound.signum > 0, "BigInteger.random(below:): bound must be positive")
        let bits = bound.bitWidth
        while true {
            let candidate = random(bits: bits, using: &generator)
            if candidate < bound { return candidate }
        }
    }

    /// A uniform value in `0 ..< bound` from the OS CSPRNG.
    public static func random(below bound: BigInteger) -> BigInteger {
        var system = SystemRandomNumberGenerator()
        return random(below: bound, using: &system)
    }

    /// A uniform value in `range` (non-empty).
    public static func random<G: RandomNumberGenerator>(in range: Range<BigInteger>, using generator: inout G) -> BigInteger {
        precondition(!range.isEmpty, "BigInteger.random(in:): empty range")
        return range.lowerBound + random(below: range.upperBound - range.lowerBound, using: &generator)
    }
}

// MARK: Primes

extension BigInteger {
    /// True when `self` is a probable prime: GMP's trial division, Baillie–PSW, then
    /// `rounds − 24` extra Miller–Rabin rounds with random bases.
    ///
    /// A composite passes with probability below 4^−rounds (no BPSW pseudoprime is known).
    /// Negative values are tested by their magnitude, as GMP does.
    public func isProbablePrime(rounds: Int = 40) -> Bool {
        __gmpz_probab_prime_p(storage.pointer, Int32(rounds)) > 0
    }

    /// The smallest probable prime greater than `self` (GMP's sieve-based `mpz_nextprime`).
    public func nextProbablePrime() -> BigInteger {
        BigInteger.make { __gmpz_nextprime($0, storage.pointer) }
    }

    /// A random probable prime of exactly `bits` bits whose two top bits are set (so that a
    /// product of two of them has exactly `2·bits` bits).
    ///
    /// Incremental search (Brandt–Damgård, CRYPTO '92): from a uniform odd start with the top two
    /// bits set, a window of odd candidates is sieved by the odd primes below 2^16, and the
    /// survivors are tested in order with `isProbablePrime(rounds:)` (Baillie–PSW plus
    /// `rounds − 24` Miller–Rabin rounds); a fresh start is drawn if the window holds no prime.
    /// The first prime after a random point is slightly biased toward primes after long gaps,
    /// which costs at most a few bits of entropy and is the standard practice (also phe's).
    ///
    /// - Complexity: about ln(2^bits)/2 · 0.08 probable-prime tests (BPSW on a random
    ///   composite usually stops after its first base-2 test), each one exponentiation mod p.
    public static func randomProbablePrime<G: RandomNumberGenerator>(
        bits: Int, rounds: Int = 25, using generator: inout G
    ) -> BigInteger {
        precondition(bits >= 3, "BigInteger.randomProbablePrime: need at least 3 bits")
        if bits <= 20 {
            // Too small to sieve with primes up to 2^16: test every candidate.
            while true {
                var candidate = random(bits: bits, using: &generator)
                candidate.setBit(bits - 1); candidate.setBit(bits - 2); candidate.setBit(0)
                if candidate.isProbablePrime(rounds: rounds) { return candidate }
            }
        }
        let primes = SmallPrimes.odd
        let window = 8192  // odd candidates start + 2j, j < window
        var composite = [Bool](repeating: false, count: window)
        while true {
            var start = random(bits: bits, using: &generator)
            start.setBit(bits - 1)
            start.setBit(bits - 2)
            start.setBit(0)
            for j in 0..<window { composite[j] = false }
            composite.withUnsafeMutableBufferPointer { marks in
                for prime in primes {
                    // start + 2j ≡ 0 (mod prime)  ⇔  j ≡ −start · 2⁻¹ (mod prime).
                    let residue = UInt(__gmpz_fdiv_ui(start.storage.pointer, prime))
                    let halfInverse = (prime + 1) / 2
                    var j = Int(((prime - residue) % prime * halfInverse) % prime)
                    while j < window {
                        marks[j] = true
                        j += Int(prime)
                    }
                }
            }
            for j in 0..<window where !composite[j] {
                let candidate = start + BigInteger(2 * j)
                guard candidate.bitWidth == bits else { break }
                if candidate.isProbablePrime(rounds: rounds) { return candidate }
            }
        }
    }
}

/// The odd primes below 2^16, for sieving prime candidates.
enum SmallPrimes {
    static let odd: [UInt] = {
        let limit = 1 << 16
        var isComposite = [Bool](repeating: false, count: limit)
        var primes: [UInt] = []
        var i = 3
        while i < limit {
            if !isComposite[i] {
                primes.append(UInt(i))
                var k = i * i
                while k < limit { isComposite[k] = true; k += 2 * i }
            }
            i += 2
        }
        return primes
    }()
}
