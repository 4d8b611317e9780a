import LabRandom
import RingArithmetic
import Testing

@Suite("The fixed-point code")
struct FixedPointCodeTests {
    @Test("round trip within 2^-(f+1), refusal at the limit, and one code behind both encoders")
    func laws() throws {
        let code = try #require(FixedPointCode(fractionalBits: 16, valueBits: 48))
        #expect(code.limit == 0x1p31)
        var random = LabRandom(seed: 3)
        for _ in 0..<10_000 {
            let x = (random.nextDouble() * 2 - 1) * 1e6
            let word = try #require(code.encode(x))
            #expect(abs(code.decode(word) - x) <= 0x1p-17)
        }
        #expect(code.encode(0x1p31) == nil && code.encode(-0x1p31) == nil && code.encode(.nan) == nil && code.encode(.infinity) == nil)
        #expect(code.encode(0x1p31 - 1) != nil)
        #expect(FixedPointCode(fractionalBits: 0) == nil && FixedPointCode(fractionalBits: 20, valueBits: 21) == nil
                && FixedPointCode(fractionalBits: 20, valueBits: 64) == nil)
        // Additive in Z(2^64): the wrapping sum decodes to the sum of the rounded values.
        let xs = [1.25, -3.5, 1000.0078125, -0.0000152587890625]
        let words = xs.map { code.encode($0)! }
        #expect(code.decode(words.reduce(0, &+)) == xs.reduce(0, +))
    }
}
