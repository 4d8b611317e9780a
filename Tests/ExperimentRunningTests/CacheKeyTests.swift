import Codecs
import ExperimentRunning
import Foundation
import Testing

@Suite("Typed cache keys")
struct CacheKeyTests {
    struct Recipe: Encodable, Sendable {
        var seed: UInt64
        var stream: String
        var noise: Double?
    }

    func key(kind: String = "models", code: String = "v", inputs: [InputDigest] = [], _ recipe: Recipe = Recipe(seed: 1, stream: "target")) throws -> String {
        try ArtifactKey(kind: kind, code: code, inputs: inputs, recipe: recipe).hash()
    }

    @Test("an artifact key is the SHA-256 of its canonical JSON, with keys sorted at every level")
    func canonicalJSON() throws {
        let text = String(decoding: try CanonicalJSON.encode(ArtifactKey(kind: "arrays", code: "v/1", inputs: [], recipe: Recipe(seed: 7, stream: "a/b", noise: 0.5))), as: UTF8.self)
        #expect(text == #"{"code":"v/1","format":"privacy-lab artifact v2","inputs":[],"kind":"arrays","recipe":{"noise":0.5,"seed":7,"stream":"a/b"}}"#)
        #expect(try key() == SHA256.hash(utf8: #"{"code":"v","format":"privacy-lab artifact v2","inputs":[],"kind":"models","recipe":{"seed":1,"stream":"target"}}"#).hex)
    }

    @Test("equal keys hash equal; any field that differs gives another key")
    func everyFieldCounts() throws {
        let base = try key()
        #expect(try key() == base)
        #expect(try key(kind: "arrays") != base)
        #expect(try key(code: "w") != base)
        #expect(try key(inputs: [InputDigest(path: "x.npy", sha256: "00")]) != base)
        #expect(try key(Recipe(seed: 2, stream: "target")) != base)
        #expect(try key(Recipe(seed: 1, stream: "reference/0")) != base)
        #expect(try key(Recipe(seed: 1, stream: "target", noise: 1)) != base)
    }

    @Test("input paths are relative to the folder holding every input, in path order")
    func relativeInputs() {
        let digests = InputDigest.relative(["/data/run/b/y.npy": "2", "/data/run/a/x.npy": "1"])
        #expect(digests == [InputDigest(path: "a/x.npy", sha256: "1"), InputDigest(path: "b/y.npy", sha256: "2")])
        // Moving the whole folder keeps the key; moving one file between class folders does not.
        #expect(InputDigest.relative(["/elsewhere/a/x.npy": "1", "/elsewhere/b/y.npy": "2"]) == digests)
        #expect(InputDigest.relative(["/data/run/a/y.npy": "2", "/data/run/a/x.npy": "1"]) != digests)
        #expect(InputDigest.relative(["/data/one.npy": "1"]) == [InputDigest(path: "one.npy", sha256: "1")])
        #expect(InputDigest.relative([:]).isEmpty)
    }

    @Test("a non-finite number in a recipe is an error, not a key")
    func nonFinite() {
        #expect(throws: EncodingError.self) { try key(Recipe(seed: 1, stream: "target", noise: .nan)) }
    }
}
