import Foundation
import LabRandom
import Testing

/// The known-answer vectors of `Vectors/labrandom-v1.json`, written by the independent Python
/// reference `scripts/labrandom_reference.py` (which checks itself against published xoshiro256**
/// and SplitMix64 outputs).
struct KnownAnswerFile: Decodable {
    struct Raw: Decodable { let seed: String; let path: String?; let next: [String] }
    struct Bits: Decodable { let seed: String; let path: String; let bits: [String] }
    struct Ints: Decodable { let seed: String; let path: String; let bounds: [String]; let values: [String] }
    struct Bernoulli: Decodable { let seed: String; let path: String; let p: Double; let values: [Bool] }
    struct Permutation: Decodable { let seed: String; let path: String; let n: Int; let values: [Int] }
    struct Sample: Decodable {
        struct Case: Decodable { let k: Int; let n: Int; let values: [Int] }
        let seed: String; let path: String; let cases: [Case]
    }
    struct FillUniform: Decodable { let seed: String; let path: String; let low: Float; let high: Float; let bits: [String] }
    struct FillNormal: Decodable {
        let seed: String; let path: String; let mean: Float; let standardDeviation: Float; let bits: [String]
    }

    let algorithm: String
    let version: Int
    let next: [Raw]
    let double: Bits
    let float: Bits
    let int: Ints
    let normal: Bits
    let bernoulli: Bernoulli
    let permutation: Permutation
    let sample: Sample
    let fillUniform: FillUniform
    let fillNormal: FillNormal

    static func load() throws -> KnownAnswerFile {
        let url = try #require(Bundle.module.url(forResource: "labrandom-v1", withExtension: "json", subdirectory: "Vectors"),
                               "Vectors/labrandom-v1.json is missing from the test bundle")
        return try JSONDecoder().decode(KnownAnswerFile.self, from: Data(contentsOf: url))
    }
}

func hex64(_ s: String) throws -> UInt64 {
    try #require(UInt64(s, radix: 16), "not a 64-bit hex value: \(s)")
}

func hex32(_ s: String) throws -> UInt32 {
    try #require(UInt32(s, radix: 16), "not a 32-bit hex value: \(s)")
}

func generator(seed: String, path: String?) throws -> LabRandom {
    let root = LabRandom(seed: try hex64(seed))
    return path.map { root.stream($0) } ?? root
}

@Suite("LabRandom known-answer vectors")
struct KnownAnswerTests {
    let file: KnownAnswerFile

    init() throws { file = try KnownAnswerFile.load() }

    @Test func fileDescribesThisAlgorithmVersion() {
        #expect(file.algorithm == "LabRandom")
        #expect(file.version == LabRandom.algorithmVersion)
    }

    @Test func rawOutputOfRootsAndStreams() throws {
        #expect(file.next.count >= 10)
        for vector in file.next {
            var g = try generator(seed: vector.seed, path: vector.path)
            let got = (0..<vector.next.count).map { _ in g.next() }
            #expect(got == (try vector.next.map(hex64)), "seed \(vector.seed), path \(vector.path ?? "<root>")")
        }
    }

    @Test func uniformDoublesAndFloats() throws {
        var g = try generator(seed: file.double.seed, path: file.double.path)
        let doubles = (0..<file.double.bits.count).map { _ in g.nextDouble().bitPattern }
        #expect(doubles == (try file.double.bits.map(hex64)))
        var h = try generator(seed: file.float.seed, path: file.float.path)
        let floats = (0..<file.float.bits.count).map { _ in h.nextFloat().bitPattern }
        #expect(floats == (try file.float.bits.map(hex32)))
    }

    @Test func boundedIntegers() throws {
        var g = try generator(seed: file.int.seed, path: file.int.path)
        let bounds = try file.int.bounds.map(hex64)
        let got = bounds.map { UInt64(g.nextInt(below: Int($0))) }
        #expect(got == (try file.int.values.map(hex64)))
    }

    @Test func normals() throws {
        var g = try generator(seed: file.normal.seed, path: file.normal.path)
        for bits in file.normal.bits {
            let expected = Double(bitPattern: try hex64(bits))
            let got = g.nextNormal()
            #expect(abs(got - expected) <= 1e-13 * max(1, abs(expected)), "got \(got), expected \(expected)")
        }
    }

    @Test func bernoulli() throws {
        var g = try generator(seed: file.bernoulli.seed, path: file.bernoulli.path)
        let got = (0..<file.bernoulli.values.count).map { _ in g.nextBernoulli(file.bernoulli.p) }
        #expect(got == file.bernoulli.values)
    }

    @Test func permutationAndShuffle() throws {
        var g = try generator(seed: file.permutation.seed, path: file.permutation.path)
        #expect(g.permutation(file.permutation.n) == file.permutation.values)
        var h = try generator(seed: file.permutation.seed, path: file.permutation.path)
        var letters = (0..<file.permutation.n).map { "item\($0)" }
        h.shuffle(&letters)
        #expect(letters == file.permutation.values.map { "item\($0)" })
    }

    @Test func samplesWithoutReplacementDenseAndSparse() throws {
        for c in file.sample.cases {
            var g = try generator(seed: file.sample.seed, path: file.sample.path)
            #expect(g.sampleWithoutReplacement(c.k, from: c.n) == c.values, "k = \(c.k), n = \(c.n)")
        }
    }

    @Test func fillUniform() throws {
        let v = file.fillUniform
        var g = try generator(seed: v.seed, path: v.path)
        var out = [Float](repeating: .nan, count: v.bits.count)
        out.withUnsafeMutableBufferPointer { g.fillUniform($0, low: v.low, high: v.high) }
        #expect(out.map(\.bitPattern) == (try v.bits.map(hex32)))
    }

    @Test func fillNormal() throws {
        let v = file.fillNormal
        var g = try generator(seed: v.seed, path: v.path)
        var out = [Float](repeating: .nan, count: v.bits.count)
        out.withUnsafeMutableBufferPointer { g.fillNormal($0, mean: v.mean, standardDeviation: v.standardDeviation) }
        for (got, bits) in zip(out, v.bits) {
            let expected = Float(bitPattern: try hex32(bits))
            #expect(abs(got - expected) <= 1e-5 * max(1, abs(expected)), "got \(got), expected \(expected)")
        }
    }
}
