internal import CGMP

// MARK: Modular arithmetic

extension BigInteger {
    /// `self^exponent mod modulus`, in `0 ..< modulus`, with GMP's sliding-window `mpz_powm`.
    ///
    /// A negative exponent uses the inverse of `self` (which must then exist).
    ///
    /// - Complexity: O(k · M(m)) for a k-bit exponent and an m-bit modulus.
    ///
    /// Caveat: running time and memory access depend on the exponent: use
    /// `securePower(_:modulo:)` when the exponent is secret.
    public func power(_ exponent: BigInteger, modulo modulus: BigInteger) -> BigInteger {
        precondition(modulus.signum > 0, "BigInteger.power(_:modulo:): modulus must be positive")
        if exponent.isNegative {
            precondition(inverse(modulo: modulus) != nil,
                         "BigInteger.power(_:modulo:): negative exponent of a non-invertible base")
        }
        return BigInteger.make {
            __gmpz_powm($0, storage.pointer, exponent.storage.pointer, modulus.storage.pointer)
        }
    }

    /// `self^exponent mod modulus` with `mpz_powm_sec`, whose time and memory access pattern do not
    /// depend on the exponent's bits: the one to use for secret exponents (p − 1, λ, CRT exponents).
    ///
    /// Requires an odd modulus and a positive exponent.
    ///
    /// - Complexity: as `power(_:modulo:)`, about 1.2–1.7× slower.
    public func securePower(_ exponent: BigInteger, modulo modulus: BigInteger) -> BigInteger {
        precondition(modulus.signum > 0 && modulus.isOdd,
                     "BigInteger.securePower: modulus must be odd and positive")
        precondition(exponent.signum > 0, "BigInteger.securePower: exponent must be positive")
        return BigInteger.make {
            __gmpz_powm_sec($0, storage.pointer, exponent.storage.pointer, modulus.storage.pointer)
        }
    }

    /// The inverse of `self` modulo `modulus` in `0 ..< |modulus|`, or nil when
    /// `gcd(self, modulus) ≠ 1`.
    public func inverse(modulo modulus: BigInteger) -> BigInteger? {
        precondition(!modulus.isZero, "BigInteger.inverse: modulus is zero")
        let result = GMPStorage()
        guard __gmpz_invert(result.pointer, storage.pointer, modulus.storage.pointer) != 0 else {
            return nil
        }
        return BigInteger(storage: result)
    }

    /// `(self · other) mod modulus`, in `0 ..< |modulus|`.
    public func multiplied(by other: BigInteger, modulo modulus: BigInteger) -> BigInteger {
        precondition(!modulus.isZero, "BigInteger.multiplied(by:modulo:): modulus is zero")
        return BigInteger.make {
            __gmpz_mul($0, storage.pointer, other.storage.pointer)
            __gmpz_mod($0, $0, modulus.storage.pointer)
        }
    }

    /// In place: `self = (self · other) mod modulus`. Reuses `self`'s limbs when it is unique.
    public mutating func multiply(by other: BigInteger, modulo modulus: BigInteger) {
        precondition(!modulus.isZero, "BigInteger.multiply(by:modulo:): modulus is zero")
        makeUnique()
        __gmpz_mul(storage.pointer, storage.pointer, other.storage.pointer)
        __gmpz_mod(storage.pointer, storage.pointer, modulus.storage.pointer)
    }
}
