import BigIntegerModule
import Foundation
import Testing

@Suite struct ConversionTests {
    @Test func stringsRoundTripAndMatchSwift() {
        var rng = SplitMix64(seed: 20)
        for _ in 0..<2000 {
            let a = Int64(bitPattern: rng.next()) >> (rng.next() % 64)
            for radix in [2, 10, 16, 36] {
                #expect(BigInteger(a).toString(radix: radix) == String(a, radix: radix))
                #expect(BigInteger(String(a, radix: radix), radix: radix) == BigInteger(a))
            }
        }
        for _ in 0..<200 {
            let big = BigInteger.random(bits: 4000, using: &rng) * (rng.next() & 1 == 0 ? 1 : -1)
            #expect(BigInteger(big.description) == big)
            #expect(BigInteger(big.toString(radix: 16), radix: 16) == big)
        }
    }

    @Test func malformedTextIsRejected() {
        for text in ["", "-", "+", "12 3", " 1", "0x10", "1_000", "12a", "--1", "١٢"] {
            #expect(BigInteger(text) == nil, "accepted \(text)")
        }
        #expect(BigInteger("ff", radix: 16) == 255)
        #expect(BigInteger("FF", radix: 16) == 255)
        #expect(BigInteger("g", radix: 16) == nil)
        #expect(BigInteger("+42") == 42)
    }

    @Test func bigEndianBytesRoundTripAndMatchUInt64() {
        var rng = SplitMix64(seed: 21)
        for _ in 0..<2000 {
            let a = rng.next() >> (rng.next() % 64)
            let bytes = BigInteger(a).bigEndianBytes
            let expected = withUnsafeBytes(of: a.bigEndian) { Array($0) }.drop { $0 == 0 }
            #expect(bytes == Array(expected))
            #expect(BigInteger(bigEndianBytes: bytes) == BigInteger(a))
            #expect(BigInteger(a).bigEndianBytes(count: 8) == withUnsafeBytes(of: a.bigEndian) { Array($0) })
        }
        let big = BigInteger.random(bits: 3000, using: &rng)
        #expect(BigInteger(bigEndianBytes: [0, 0] + big.bigEndianBytes) == big)
        #expect(big.bigEndianBytes(count: 10) == nil)
        #expect(BigInteger(0).bigEndianBytes == [])
    }

    @Test func codableIsADecimalString() throws {
        let value = -BigInteger("98765432109876543210987654321")!
        let data = try JSONEncoder().encode([value])
        #expect(String(decoding: data, as: UTF8.self) == "[\"-98765432109876543210987654321\"]")
        #expect(try JSONDecoder().decode([BigInteger].self, from: data) == [value])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([BigInteger].self, from: Data("[\"12x\"]".utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([BigInteger].self, from: Data("[12]".utf8))
        }
    }

    @Test func roundedToDoubleMatchesCorrectRounding() {
        var rng = SplitMix64(seed: 22)
        for _ in 0..<3000 {
            // Exact for values below 2^53; rounding of wide values checked against Double(UInt64).
            let a = rng.next() >> (rng.next() % 64)
            #expect(BigInteger(a).roundedToDouble() == Double(a))
            #expect((-BigInteger(a)).roundedToDouble() == -Double(a))
            let scale = Int(rng.next() % 200) - 100
            #expect(BigInteger(a).roundedToDouble(timesPowerOfTwo: scale) == Double(sign: .plus, exponent: scale, significand: Double(a)))
        }
        #expect(BigInteger(1).roundedToDouble(timesPowerOfTwo: -1074) == Double.leastNonzeroMagnitude)
        #expect(BigInteger(3).roundedToDouble(timesPowerOfTwo: -1076) == Double.leastNonzeroMagnitude)
        #expect(BigInteger(1).roundedToDouble(timesPowerOfTwo: -1076) == 0)
        #expect((BigInteger(1) << 1024).roundedToDouble() == .infinity)
        #expect(BigInteger(exactly: 1e20) == BigInteger("100000000000000000000"))
        #expect(BigInteger(exactly: 0.5) == nil)
    }
}

@Suite struct PrimeAndRandomTests {
    @Test func knownPrimesAndComposites() {
        let mersenne127 = (BigInteger(1) << 127) - 1
        #expect(mersenne127.isProbablePrime())
        #expect(!((BigInteger(1) << 128) + 1).isProbablePrime())  // F7 is composite
        for carmichael in [561, 1105, 1729, 2465, 2821, 6601, 8911] {
            #expect(!BigInteger(carmichael).isProbablePrime())
        }
        for prime in [2, 3, 5, 7919, 104729] { #expect(BigInteger(prime).isProbablePrime()) }
        #expect(BigInteger(7919).nextProbablePrime() == 7927)
    }

    @Test func sievedPrimesAgreeWithTrialDivision() {
        var isPrime = [Bool](repeating: true, count: 5000)
        isPrime[0] = false; isPrime[1] = false
        for i in 2..<5000 where isPrime[i] {
            var j = i * i
            while j < 5000 { isPrime[j] = false; j += i }
        }
        for i in 0..<5000 { #expect(BigInteger(i).isProbablePrime() == isPrime[i]) }
    }

    @Test func randomPrimesHaveTheRequestedShape() {
        var rng = SplitMix64(seed: 30)
        for bits in [64, 256, 512] {
            let p = BigInteger.randomProbablePrime(bits: bits, using: &rng)
            #expect(p.bitWidth == bits && p.testBit(bits - 2) && p.isProbablePrime())
        }
    }

    @Test func randomValuesStayInRangeAndCoverIt() {
        var rng = SplitMix64(seed: 31)
        let bound = BigInteger(1000)
        var seen = Set<Int>()
        for _ in 0..<20000 {
            let value = BigInteger.random(below: bound, using: &rng)
            #expect(value >= 0 && value < bound)
            seen.insert(value.intValue!)
        }
        #expect(seen.count == 1000)
        for bits in [1, 63, 64, 65, 1000] {
            var top = false
            for _ in 0..<64 {
                let value = BigInteger.random(bits: bits, using: &rng)
                #expect(value.bitWidth <= bits)
                top = top || value.bitWidth == bits
            }
            #expect(top)
        }
        // The OS CSPRNG path: two 256-bit draws colliding would mean a broken source.
        #expect(BigInteger.random(bits: 256) != BigInteger.random(bits: 256))
    }
}
