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
    /// Incremental search from a uniform odd start (Brandt–Damgård, CRYPTO '92): the first
    /// prime after the start, then a `rounds`-round probable-prime check; restarts if the search
    /// leaves the `bits`-bit range.
    public static func randomProbablePrime<G: RandomNumberGenerator>(
        bits: Int, rounds: Int = 40, using generator: inout G
    ) -> BigInteger {
        precondition(bits >= 3, "BigInteger.randomProbablePrime: need at least 3 bits")
        while true {
            var start = random(bits: bits, using: &generator)
            start.setBit(bits - 1)
            start.setBit(bits - 2)
            let candidate = start.nextProbablePrime()
            if candidate.bitWidth == bits && candidate.isProbablePrime(rounds: rounds) {
                return candidate
            }
        }
    }
}
