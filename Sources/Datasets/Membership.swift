// Membership-inference designs: target members / non-members / reference pool, and the
// per-reference-model membership masks (saved and reloaded as versioned JSON).
import Codecs
import Foundation
import LabRandom

/// Which examples each reference (shadow) model trains on: a `modelCount × examples.count` bit
/// matrix over population indices.
///
/// Built so that every example is IN for ⌊M/2⌋ or ⌈M/2⌉ of the M models (exactly half when M is
/// even), as the online setting of LiRA needs: each example then has as many IN as OUT models
/// to fit its two Gaussians (Carlini et al., "Membership Inference Attacks From First
/// Principles", IEEE S&P 2022, §IV).
public struct MembershipMasks: Sendable, Equatable {
    /// The number of reference models.
    public let modelCount: Int
    /// The population indices the masks range over (columns), in order.
    public let examples: [Int]
    /// Row-major bits, `modelCount × examples.count`, packed 64 per word per row.
    private let words: [UInt64]
    private let wordsPerRow: Int

    init(modelCount: Int, examples: [Int], words: [UInt64]) {
        self.modelCount = modelCount
        self.examples = examples
        self.wordsPerRow = (examples.count + 63) / 64
        precondition(words.count == modelCount * wordsPerRow, "MembershipMasks: \(words.count) words for \(modelCount) rows")
        self.words = words
    }

    /// Draws masks over `examples`: for each example, a uniformly random set of ⌊M/2⌋ models
    /// (⌈M/2⌉ for every other example when M is odd, the extra one by coin flip) has it IN.
    public static func balanced(modelCount: Int, examples: [Int], using random: inout LabRandom) -> MembershipMasks {
        precondition(modelCount >= 1, "MembershipMasks: need at least one model")
        let wordsPerRow = (examples.count + 63) / 64
        var words = [UInt64](repeating: 0, count: modelCount * wordsPerRow)
        for column in examples.indices {
            var inCount = modelCount / 2
            if modelCount % 2 == 1 && random.nextBernoulli(0.5) { inCount += 1 }
            for model in random.sampleWithoutReplacement(inCount, from: modelCount) {
                words[model * wordsPerRow + column / 64] |= 1 << UInt64(column % 64)
            }
        }
        return MembershipMasks(modelCount: modelCount, examples: examples, words: words)
    }

    /// Whether column `column` (an example's position in `examples`) is IN for `model`.
    public func isMember(model: Int, column: Int) -> Bool {
        precondition(model >= 0 && model < modelCount && column >= 0 && column < examples.count,
                     "MembershipMasks: (model \(model), column \(column)) outside \(modelCount)×\(examples.count)")
        return words[model * wordsPerRow + column / 64] >> UInt64(column % 64) & 1 == 1
    }

    /// The population indices model `model` trains on, in `examples` order.
    public func members(ofModel model: Int) -> [Int] {
        examples.indices.filter { isMember(model: model, column: $0) }.map { examples[$0] }
    }

    /// The mask row of `model` as booleans over `examples`.
    public func row(_ model: Int) -> [Bool] {
        examples.indices.map { isMember(model: model, column: $0) }
    }

    /// How many models have column `column` IN.
    public func inCount(column: Int) -> Int {
        (0..<modelCount).reduce(0) { $0 + (isMember(model: $1, column: column) ? 1 : 0) }
    }

    var packedRows: [[UInt64]] {
        (0..<modelCount).map { Array(words[$0 * wordsPerRow ..< ($0 + 1) * wordsPerRow]) }
    }
}

/// A membership-inference experiment's data design over a population of `populationSize`
/// examples (population indices `0..<populationSize`).
///
/// - `targetMembers`: the target model's training set.
/// - `targetNonMembers`: held out from the target; with the members they form the audited
///   candidates, whose membership the attack must guess (members are label 1).
/// - `referencePool`: the rest, never audited: data the attacker may use (population data for
///   RMIA, training data of offline reference models).
/// - `referenceMasks`: which examples each reference model trains on. Online (LiRA online): over
///   candidates and pool together, every example IN for half the models. Offline: over the
///   pool only, so no reference model ever sees a candidate.
///
/// The four index lists are disjoint, sorted, and (with the pool) cover the population.
public struct MembershipDesign: Sendable, Equatable {
    /// The format version written by `save`; `load` refuses others.
    public static let formatVersion = 1
    static let formatName = "privacylab.membership-design"

    public let populationSize: Int
    public let targetMembers: [Int]
    public let targetNonMembers: [Int]
    public let referencePool: [Int]
    public let online: Bool
    public let referenceMasks: MembershipMasks

    /// Draws a design: a random `targetMemberCount` members and `targetNonMemberCount`
    /// non-members, the rest as pool, then balanced masks for `referenceModels` models.
    ///
    /// Draws, in order: one permutation of the population, then the masks.
    public static func make(
        populationSize: Int, targetMemberCount: Int, targetNonMemberCount: Int, referenceModels: Int, online: Bool,
        using random: inout LabRandom
    ) -> MembershipDesign {
        precondition(targetMemberCount >= 0 && targetNonMemberCount >= 0
                     && targetMemberCount + targetNonMemberCount <= populationSize,
                     "MembershipDesign: \(targetMemberCount) members + \(targetNonMemberCount) non-members exceed the population of \(populationSize)")
        precondition(referenceModels >= 1, "MembershipDesign: need at least one reference model")
        let order = random.permutation(populationSize)
        let members = Array(order[..<targetMemberCount]).sorted()
        let nonMembers = Array(order[targetMemberCount ..< targetMemberCount + targetNonMemberCount]).sorted()
        let pool = Array(order[(targetMemberCount + targetNonMemberCount)...]).sorted()
        let universe = online ? (members + nonMembers + pool).sorted() : pool
        let masks = MembershipMasks.balanced(modelCount: referenceModels, examples: universe, using: &random)
        return MembershipDesign(populationSize: populationSize, targetMembers: members, targetNonMembers: nonMembers,
                                referencePool: pool, online: online, referenceMasks: masks)
    }

    /// The audited candidates (members then non-members) and their membership labels (1 = IN).
    public var candidates: (indices: [Int], isMember: [Bool]) {
        (targetMembers + targetNonMembers,
         [Bool](repeating: true, count: targetMembers.count) + [Bool](repeating: false, count: targetNonMembers.count))
    }
}

// MARK: - Saving and loading

extension MembershipDesign {
    private struct Stored: Codable {
        var format: String
        var version: Int
        var populationSize: Int
        var online: Bool
        var targetMembers: [Int]
        var targetNonMembers: [Int]
        var referencePool: [Int]
        var referenceModels: Int
        var maskExamples: [Int]
        /// One base64 string per model: its row of bits, 64 per little-endian UInt64 word.
        var maskRows: [String]
    }

    /// Writes the design as versioned JSON (atomically: temp file, then rename).
    public func save(to url: URL) throws {
        let rows = referenceMasks.packedRows.map { row -> String in
            var bytes = [UInt8]()
            bytes.reserveCapacity(row.count * 8)
            for word in row { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(8 * k))) } }
            return Data(bytes).base64EncodedString()
        }
        let stored = Stored(format: Self.formatName, version: Self.formatVersion, populationSize: populationSize,
                            online: online, targetMembers: targetMembers, targetNonMembers: targetNonMembers,
                            referencePool: referencePool, referenceModels: referenceMasks.modelCount,
                            maskExamples: referenceMasks.examples, maskRows: rows)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try OutputFile.write(encoder.encode(stored), to: url)
    }

    /// Reads a design written by `save`, checking every field.
    ///
    /// - Throws: `DatasetError` naming the file and field: not JSON of this format, another
    ///   version, indices out of range, overlapping or non-covering index lists, masks of the
    ///   wrong size or with bits beyond their examples.
    public static func load(from url: URL) throws(DatasetError) -> MembershipDesign {
        let file = url.path
        let bytes = try FileBytes.read(url)
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: Data(bytes))
        } catch {
            throw DatasetError(.malformed, file: file, "expected a membership design (JSON, format \(formatName)): \(error)")
        }
        func fail(_ field: String, _ message: String) -> DatasetError {
            DatasetError(.malformed, file: file, location: "field \(field)", message)
        }
        guard stored.format == formatName else { throw fail("format", "expected \"\(formatName)\", found \"\(stored.format)\"") }
        guard stored.version == formatVersion else { throw fail("version", "expected \(formatVersion), found \(stored.version)") }
        let n = stored.populationSize
        guard n >= 0 else { throw fail("populationSize", "expected a non-negative size, found \(n)") }
        var seen = [Bool](repeating: false, count: n)
        for (field, list) in [("targetMembers", stored.targetMembers), ("targetNonMembers", stored.targetNonMembers),
                              ("referencePool", stored.referencePool)] {
            for i in list {
                guard i >= 0 && i < n else { throw fail(field, "index \(i) outside the population 0..<\(n)") }
                guard !seen[i] else { throw fail(field, "index \(i) appears twice across the member, non-member and pool lists") }
                seen[i] = true
            }
            guard list == list.sorted() else { throw fail(field, "expected indices in ascending order") }
        }
        if let gap = seen.firstIndex(of: false) {
            throw fail("referencePool", "index \(gap) is in none of the lists: expected members, non-members and pool to cover 0..<\(n)")
        }
        let expectedUniverse = stored.online
            ? (stored.targetMembers + stored.targetNonMembers + stored.referencePool).sorted() : stored.referencePool
        guard stored.maskExamples == expectedUniverse else {
            throw fail("maskExamples", "expected the \(stored.online ? "whole population" : "reference pool") (\(expectedUniverse.count) indices), found \(stored.maskExamples.count) other indices")
        }
        guard stored.referenceModels >= 1, stored.maskRows.count == stored.referenceModels else {
            throw fail("maskRows", "expected \(stored.referenceModels) rows (one per reference model, at least one), found \(stored.maskRows.count)")
        }
        let columns = stored.maskExamples.count
        let wordsPerRow = (columns + 63) / 64
        var words: [UInt64] = []
        words.reserveCapacity(stored.referenceModels * wordsPerRow)
        for (model, text) in stored.maskRows.enumerated() {
            guard let data = Data(base64Encoded: text), data.count == wordsPerRow * 8 else {
                throw fail("maskRows[\(model)]", "expected base64 of \(wordsPerRow * 8) bytes")
            }
            let b = [UInt8](data)
            for w in 0..<wordsPerRow {
                var word: UInt64 = 0
                for k in 0..<8 { word |= UInt64(b[w * 8 + k]) << UInt64(8 * k) }
                if w == wordsPerRow - 1 && columns % 64 != 0 && word >> UInt64(columns % 64) != 0 {
                    throw fail("maskRows[\(model)]", "bits set beyond the \(columns) examples")
                }
                words.append(word)
            }
        }
        let masks = MembershipMasks(modelCount: stored.referenceModels, examples: stored.maskExamples, words: words)
        return MembershipDesign(populationSize: n, targetMembers: stored.targetMembers,
                                targetNonMembers: stored.targetNonMembers, referencePool: stored.referencePool,
                                online: stored.online, referenceMasks: masks)
    }
}
