import Foundation
import SecretSharing

/// A reproducible uniform generator for test inputs (not for masks).
struct TestRandom {
    var state: InsecureSplitMix64
    init(seed: UInt64) { state = InsecureSplitMix64(seed: seed) }
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(state.next() >> 11) / Double(UInt64(1) << 53)
    }
    mutating func values(_ count: Int, _ low: Double, _ high: Double) -> [Double] {
        (0..<count).map { _ in uniform(low, high) }
    }
    mutating func normal() -> Double {
        let u = uniform(1e-12, 1), v = uniform(0, 1)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// Runs `body` at `n` parties with seeded (insecure, reproducible) randomness; returns party 0's
/// result after checking that every party got the same one.
func mpc<T: Sendable & Equatable>(
    parties n: Int = 2, seed: UInt64 = 1, truncation: TruncationMethod = .dealerAssisted,
    encoder: FixedPointEncoder = FixedPointEncoder(),
    _ body: @escaping @Sendable (Party) throws -> T
) throws -> T {
    let results = try Party.insecureRunInMemory(
        partyCount: n, seed: seed, encoder: encoder, truncation: truncation, body)
    for r in results.dropFirst() where r != results[0] {
        throw SecretSharingError.invalidArgument("parties disagree on a revealed result")
    }
    return results[0]
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var m = 0.0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}
