import BigIntegerModule
import Testing

/// Laws checked against Swift's own integer arithmetic on many random inputs.
@Suite struct ArithmeticLawTests {
    static let count = 4000

    /// Random Int64 values spread over all magnitudes (not just huge ones).
    static func sample(_ rng: inout SplitMix64) -> Int64 {
        let raw = Int64(bitPattern: rng.next())
        let shift = Int(rng.next() % 64)
        return raw >> shift
    }

    @Test func additionSubtractionNegationMatchInt64() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<Self.count {
            let a = Self.sample(&rng) >> 1, b = Self.sample(&rng) >> 1
            #expect(BigInteger(a) + BigInteger(b) == BigInteger(a + b))
            #expect(BigInteger(a) - BigInteger(b) == BigInteger(a - b))
            #expect(-BigInteger(a) == BigInteger(-a))
            #expect((BigInteger(a) + BigInteger(b)).intValue == Int(a + b))
        }
    }

    @Test func multiplicationMatchesFullWidthProduct() {
        var rng = SplitMix64(seed: 2)
        for _ in 0..<Self.count {
            let a = Self.sample(&rng), b = Self.sample(&rng)
            let (high, low) = a.multipliedFullWidth(by: b)
            let expected = (BigInteger(high) << 64) + BigInteger(low)
            #expect(BigInteger(a) * BigInteger(b) == expected)
        }
    }

    @Test func truncatingDivisionMatchesSwift() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<Self.count {
            let a = Self.sample(&rng)
            var b = Self.sample(&rng)
            if b == 0 || (a == .min && b == -1) { b = 7 }
            #expect(BigInteger(a) / BigInteger(b) == BigInteger(a / b))
            #expect(BigInteger(a) % BigInteger(b) == BigInteger(a % b))
            let (q, r) = BigInteger(a).quotientAndRemainder(dividingBy: BigInteger(b))
            #expect(q == BigInteger(a / b) && r == BigInteger(a % b))
            // modulo is the non-negative residue.
            let m = BigInteger(a).modulo(BigInteger(b))
            let expected = ((a % b) + (b.magnitude > Int64.max.magnitude ? 0 : abs(b))) % abs(b)
            #expect(m == BigInteger(expected))
        }
    }

    @Test func comparisonMatchesSwift() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<Self.count {
            let a = Self.sample(&rng), b = Self.sample(&rng)
            #expect((BigInteger(a) < BigInteger(b)) == (a < b))
            #expect((BigInteger(a) == BigInteger(b)) == (a == b))
            #expect((BigInteger(a) < Int(b)) == (a < b))
            #expect(BigInteger(a).signum == Int(a.signum()))
            #expect(BigInteger(a).bitWidth == (a == 0 ? 0 : 64 - a.magnitude.leadingZeroBitCount))
        }
    }

    @Test func shiftsMatchSwift() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<Self.count {
            let a = Self.sample(&rng)
            let s = Int(rng.next() % 63)
            #expect(BigInteger(a) >> s == BigInteger(a >> s))
            let (high, low) = a.multipliedFullWidth(by: Int64(1) << s)
            #expect(BigInteger(a) << s == (BigInteger(high) << 64) + BigInteger(low))
        }
    }

    @Test func gcdAndLcmMatchEuclid() {
        var rng = SplitMix64(seed: 6)
        func euclid(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : euclid(b, a % b) }
        for _ in 0..<Self.count {
            let a = rng.next() >> (rng.next() % 64), b = rng.next() >> (rng.next() % 64)
            let g = euclid(a, b)
            #expect(BigInteger.gcd(BigInteger(a), BigInteger(b)) == BigInteger(g))
            if g != 0 {
                #expect(BigInteger.lcm(BigInteger(a), BigInteger(b)) == BigInteger(a / g) * BigInteger(b))
            }
        }
    }

    @Test func modularPowerMatchesSquareAndMultiply() {
        var rng = SplitMix64(seed: 7)
        func powmod(_ base: UInt64, _ exponent: UInt64, _ modulus: UInt64) -> UInt64 {
            var result: UInt64 = 1 % modulus, b = base % modulus, e = exponent
            while e > 0 {
                if e & 1 == 1 { result = result.multipliedFullWidth(by: b).low % modulus }
                b = b.multipliedFullWidth(by: b).low % modulus
                e >>= 1
            }
            return result
        }
        for _ in 0..<Self.count {
            let modulus = (rng.next() >> 32) | 1  // odd, below 2^32 so products fit in 64 bits
            let base = rng.next() >> 32, exponent = (rng.next() >> 1) | 1
            let expected = BigInteger(powmod(base, exponent, modulus))
            #expect(BigInteger(base).power(BigInteger(exponent), modulo: BigInteger(modulus)) == expected)
            if modulus > 1 {
                #expect(BigInteger(base).securePower(BigInteger(exponent), modulo: BigInteger(modulus)) == expected)
            }
        }
    }

    @Test func inverseIsAnInverseOrAbsent() {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<Self.count {
            let m = BigInteger(rng.next() >> 1 | 2)
            let a = BigInteger(rng.next())
            if let inv = a.inverse(modulo: m) {
                #expect(a.multiplied(by: inv, modulo: m) == BigInteger(1).modulo(m))
                #expect(inv >= 0 && inv < m)
            } else {
                #expect(BigInteger.gcd(a, m) != 1)
            }
        }
    }
}

/// Ring and division laws on large random values (beyond machine integers).
@Suite struct LargeValueLawTests {
    @Test func ringAndDivisionLaws() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<500 {
            var a = BigInteger.random(bits: Int(rng.next() % 3000) + 1, using: &rng)
            var b = BigInteger.random(bits: Int(rng.next() % 3000) + 1, using: &rng)
            let c = BigInteger.random(bits: 700, using: &rng)
            if rng.next() & 1 == 0 { a = -a }
            if rng.next() & 1 == 0 { b = -b }
            #expect(a * (b + c) == a * b + a * c)
            #expect((a + b) - b == a)
            #expect(a * b == b * a)
            if !b.isZero {
                let (q, r) = a.quotientAndRemainder(dividingBy: b)
                #expect(q * b + r == a)
                #expect(r.compareMagnitude(b) < 0)
                #expect(r.isZero || r.signum == a.signum)
                #expect((a * b) / b == a)
                let m = a.modulo(b)
                #expect(m >= 0 && m.compareMagnitude(b) < 0 && (a - m).isDivisible(by: b))
            }
            let g = BigInteger.gcd(a, b)
            if !g.isZero { #expect(a.isDivisible(by: g) && b.isDivisible(by: g)) }
            let root = a.magnitude.squareRoot()
            #expect(root * root <= a.magnitude && (root + 1) * (root + 1) > a.magnitude)
        }
    }

    @Test func securePowerAgreesWithPowerOnLargeOperands() {
        var rng = SplitMix64(seed: 10)
        for _ in 0..<20 {
            var modulus = BigInteger.random(bits: 2048, using: &rng)
            modulus.setBit(0)
            let base = BigInteger.random(bits: 2100, using: &rng)
            let exponent = BigInteger.random(bits: 1024, using: &rng) + 1
            #expect(base.securePower(exponent, modulo: modulus) == base.power(exponent, modulo: modulus))
        }
    }

    @Test func copyOnWriteKeepsCopiesIndependent() {
        let a = BigInteger("123456789012345678901234567890")!
        var b = a
        b += 1
        #expect(a == BigInteger("123456789012345678901234567890")!)
        #expect(b == BigInteger("123456789012345678901234567891")!)
        var c = a
        c.multiply(by: 2, modulo: BigInteger(1) << 200)
        #expect(a == BigInteger("123456789012345678901234567890")!)
        #expect(c == a * 2)
        var d = a
        d.setBit(200)
        #expect(a.bitWidth < 200 && d.bitWidth == 201)
    }
}
