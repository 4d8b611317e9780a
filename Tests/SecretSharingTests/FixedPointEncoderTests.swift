import RingArithmetic
import SecretSharing
import Testing

@Suite("Secret sharing's fixed-point encoder")
struct FixedPointEncoderTests {
    @Test("it is the lab's fixed-point code with all 63 value bits, refusing what the code refuses")
    func isTheLabCode() throws {
        let xs = [1.25, -3.5, 1000.0078125, -0.0000152587890625, 0x1p45]
        for f in [8, 16, 30] {
            let encoder = FixedPointEncoder(fractionalBits: f)
            let code = try #require(FixedPointCode(fractionalBits: f))
            #expect(encoder.code == code)
            #expect(encoder.limit == code.limit && encoder.limit == Double(sign: .plus, exponent: 62 - f, significand: 1))
            let inRange = xs.filter { abs($0) < code.limit }
            #expect(try encoder.encode(inRange) == inRange.map { code.encode($0)! })
            #expect(throws: SecretSharingError.encodingOverflow(value: code.limit, limit: code.limit, index: 1)) {
                try encoder.encode([0, code.limit])
            }
        }
    }
}
