internal import CGMP

// MARK: Ring operations

extension BigInteger {
    public static func + (lhs: BigInteger, rhs: BigInteger) -> BigInteger {
        make { __gmpz_add($0, lhs.storage.pointer, rhs.storage.pointer) }
    }

    public static func - (lhs: BigInteger, rhs: BigInteger) -> BigInteger {
        make { __gmpz_sub($0, lhs.storage.pointer, rhs.storage.pointer) }
    }

    public static func * (lhs: BigInteger, rhs: BigInteger) -> BigInteger {
        make { __gmpz_mul($0, lhs.storage.pointer, rhs.storage.pointer) }
    }

    public static prefix func - (operand: BigInteger) -> BigInteger {
        make { __gmpz_neg($0, operand.storage.pointer) }
    }

    public static func += (lhs: inout BigInteger, rhs: BigInteger) {
        lhs.makeUnique()
        __gmpz_add(lhs.storage.pointer, lhs.storage.pointer, rhs.storage.pointer)
    }

    public static func -= (lhs: inout BigInteger, rhs: BigInteger) {
        lhs.makeUnique()
        __gmpz_sub(lhs.storage.pointer, lhs.storage.pointer, rhs.storage.pointer)
    }

    public static func *= (lhs: inout BigInteger, rhs: BigInteger) {
        lhs.makeUnique()
        __gmpz_mul(lhs.storage.pointer, lhs.storage.pointer, rhs.storage.pointer)
    }

    // MARK: Division (truncating, as Swift's integers)

    /// Quotient and remainder of truncating division: `self == q * divisor + r`, `|r| < |divisor|`,
    /// `r` has the sign of `self`.
    public func quotientAndRemainder(dividingBy divisor: BigInteger) -> (quotient: BigInteger, remainder: BigInteger) {
        precondition(!divisor.isZero, "BigInteger: division by zero")
        let q = GMPStorage(), r = GMPStorage()
        __gmpz_tdiv_qr(q.pointer, r.pointer, storage.pointer, divisor.storage.pointer)
        return (BigInteger(storage: q), BigInteger(storage: r))
    }

    public static func / (lhs: BigInteger, rhs: BigInteger) -> BigInteger {
        precondition(!rhs.isZero, "BigInteger: division by zero")
        return make { __gmpz_tdiv_q($0, lhs.storage.pointer, rhs.storage.pointer) }
    }

    public static func % (lhs: BigInteger, rhs: BigInteger) -> BigInteger {
        precondition(!rhs.isZero, "BigInteger: division by zero")
        return make { __gmpz_tdiv_r($0, lhs.storage.pointer, rhs.storage.pointer) }
    }

    /// Floor division: the largest q with `q * divisor <= self` for positive divisors.
    public func floorDivided(by divisor: BigInteger) -> BigInteger {
        precondition(!divisor.isZero, "BigInteger: division by zero")
        return BigInteger.make { __gmpz_fdiv_q($0, storage.pointer, divisor.storage.pointer) }
    }

    /// `self` reduced into `0 ..< |modulus|` (the mathematical residue, never negative).
    public func modulo(_ modulus: BigInteger) -> BigInteger {
        precondition(!modulus.isZero, "BigInteger: modulo zero")
        return BigInteger.make { __gmpz_mod($0, storage.pointer, modulus.storage.pointer) }
    }

    /// True when `divisor` divides `self` exactly.
    public func isDivisible(by divisor: BigInteger) -> Bool {
        __gmpz_divisible_p(storage.pointer, divisor.storage.pointer) != 0
    }

    // MARK: Powers, roots, shifts

    /// `self` raised to a non-negative machine exponent.
    public func power(_ exponent: Int) -> BigInteger {
        precondition(exponent >= 0, "BigInteger.power: negative exponent \(exponent)")
        return BigInteger.make { __gmpz_pow_ui($0, storage.pointer, UInt(exponent)) }
    }

    /// The integer square root ⌊√self⌋ of a non-negative value.
    public func squareRoot() -> BigInteger {
        precondition(signum >= 0, "BigInteger.squareRoot: negative operand")
        return BigInteger.make { __gmpz_sqrt($0, storage.pointer) }
    }

    /// `self · 2^shift`.
    public static func << (lhs: BigInteger, shift: Int) -> BigInteger {
        if shift < 0 { return lhs >> -shift }
        return make { __gmpz_mul_2exp($0, lhs.storage.pointer, mp_bitcnt_t(shift)) }
    }

    /// `⌊self / 2^shift⌋` (an arithmetic shift: rounds toward −∞ as Swift's `>>` does).
    public static func >> (lhs: BigInteger, shift: Int) -> BigInteger {
        if shift < 0 { return lhs << -shift }
        return make { __gmpz_fdiv_q_2exp($0, lhs.storage.pointer, mp_bitcnt_t(shift)) }
    }

    /// `self mod 2^bits`, in `0 ..< 2^bits`.
    public func lowBits(_ bits: Int) -> BigInteger {
        precondition(bits >= 0, "BigInteger.lowBits: negative count")
        return BigInteger.make { __gmpz_fdiv_r_2exp($0, storage.pointer, mp_bitcnt_t(bits)) }
    }

    // MARK: Number theory

    /// The greatest common divisor, always non-negative; `gcd(0, 0) == 0`.
    public static func gcd(_ a: BigInteger, _ b: BigInteger) -> BigInteger {
        make { __gmpz_gcd($0, a.storage.pointer, b.storage.pointer) }
    }

    /// The least common multiple, always non-negative; zero when either operand is zero.
    public static func lcm(_ a: BigInteger, _ b: BigInteger) -> BigInteger {
        make { __gmpz_lcm($0, a.storage.pointer, b.storage.pointer) }
    }

    /// The Jacobi symbol (self / n) for odd positive n: -1, 0 or 1.
    public func jacobi(_ n: BigInteger) -> Int {
        precondition(n.signum > 0 && n.isOdd, "BigInteger.jacobi: n must be odd and positive")
        return Int(__gmpz_jacobi(storage.pointer, n.storage.pointer))
    }
}
