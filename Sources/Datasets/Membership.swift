// Saving and loading membership-inference designs (`AttackMetrics.MembershipDesign`) as
// versioned JSON.
import AttackMetrics
import Codecs
import Foundation

// MARK: - Saving and loading

extension MembershipDesign {
    /// The format version written by `save`; `load` refuses others.
    public static let formatVersion = 1
    static let formatName = "privacylab.membership-design"

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
