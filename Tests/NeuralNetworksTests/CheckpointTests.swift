import Foundation
import Testing
import LabRandom
import NeuralNetworks
import Tensors

@Suite("Safetensors checkpoints")
struct CheckpointTests {
    static let layers: [Layer] = [.conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, stride: 1, padding: 0), .relu,
                                  .flatten, .dense(inputs: 32, outputs: 3)]

    func model(seed: UInt64 = 5) throws -> Sequential {
        try Sequential(inputShape: [1, 6, 6], layers: Self.layers, random: LabRandom(seed: seed))
    }

    @Test("the byte layout is the safetensors format, exactly")
    func byteLayout() throws {
        let data = Checkpoint.encode(tensors: [("a", Tensor(shape: [2], scalars: [1, -2])), ("b", Tensor(shape: [1, 1], scalars: [0.5]))],
                                     metadata: ["k": "v"])
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}"#
        var padded = Array(header.utf8)
        while padded.count % 8 != 0 { padded.append(0x20) }
        var expected = [UInt8]()
        expected += withUnsafeBytes(of: UInt64(padded.count).littleEndian) { Array($0) }
        expected += padded
        for v: Float in [1, -2, 0.5] { expected += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #expect(Array(data) == expected)
        let (tensors, metadata) = try Checkpoint.decode(data, source: "mem")
        #expect(metadata == ["k": "v"])
        #expect(tensors.map(\.name) == ["a", "b"])
        #expect(tensors[1].tensor.shape == [1, 1] && tensors[1].tensor.scalars == [0.5])
    }

    @Test("a model survives a round trip through a file, architecture included")
    func roundTrip() throws {
        let original = try model()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pl-roundtrip-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.saveCheckpoint(to: url)
        let restored = try Sequential(checkpointAt: url)
        #expect(restored.layers == original.layers && restored.inputShape == original.inputShape)
        #expect(restored.parameters.map(\.scalars) == original.parameters.map(\.scalars))
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.size] as? Int ?? 0) == original.checkpointData().count)
    }

    /// Each corruption must give a `CheckpointError` whose message names the field or tensor.
    @Test("corrupt or mismatched checkpoints give errors naming the tensor or field")
    func corruption() throws {
        let good = try model().checkpointData()
        let headerLength = Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = String(decoding: good[8..<(8 + headerLength)], as: UTF8.self)
        func withHeader(_ edit: (String) -> String) -> Data {
            var h = Array(edit(header).utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var d = Data(withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) })
            d.append(contentsOf: h)
            d.append(good[(8 + headerLength)...])
            return d
        }
        let cases: [(String, Data, String)] = [
            ("empty file", Data(), "header length"),
            ("truncated data", good.prefix(good.count - 4), "data"),
            ("header length past the end", Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + good.dropFirst(8), "header length"),
            ("not JSON", withHeader { _ in "{not json" }, "header"),
            ("wrong dtype", withHeader { $0.replacingOccurrences(of: #""layers.0.bias":{"dtype":"F32""#, with: #""layers.0.bias":{"dtype":"F16""#) }, "layers.0.bias.dtype"),
            ("shape/size mismatch", withHeader { $0.replacingOccurrences(of: #""shape":[2]"#, with: #""shape":[3]"#) }, "layers.0.bias"),
            ("missing format", withHeader { $0.replacingOccurrences(of: "privacy-lab.format", with: "other.format") }, "privacy-lab.format"),
            ("future format", withHeader { $0.replacingOccurrences(of: #""privacy-lab.format":"1""#, with: #""privacy-lab.format":"9""#) }, "privacy-lab.format"),
            ("renamed tensor", withHeader { $0.replacingOccurrences(of: "layers.3.weight", with: "layers.3.kernel") }, "layers.3.weight"),
        ]
        for (name, data, field) in cases {
            do {
                _ = try Sequential(checkpoint: data, source: "model.safetensors")
                Issue.record("\(name): no error")
            } catch {
                #expect(error.description.contains("model.safetensors") && error.description.contains(field),
                        "\(name): \(error.description)")
            }
        }
        // A checkpoint of another architecture does not load into this one.
        let other = try Sequential(inputShape: [1, 6, 6], layers: [.flatten, .dense(inputs: 36, outputs: 3)], random: LabRandom(seed: 1))
        #expect(throws: CheckpointError.self) { try model().loadingParameters(checkpoint: other.checkpointData(), source: "other") }
        // Non-finite values are refused.
        var poisoned = try model()
        poisoned.parameters[1].withUnsafeMutableBufferPointer { $0[0] = .nan }
        #expect(throws: CheckpointError.self) { try Sequential(checkpoint: poisoned.checkpointData(), source: "nan") }
    }

    /// A checkpoint's metadata describes its architecture; its sizes come from the file. Found by
    /// fuzzing (Fuzzing/, fuzz-safetensors): a few hundred bytes describing a model of terabytes
    /// aborted on allocation, and sizes near Int.max trapped on overflow, before the tensors
    /// were even looked at.
    @Test("an architecture larger than the checkpoint's tensors, or with overflowing sizes, is an error naming the field")
    func hostileArchitecture() throws {
        func checkpoint(_ architecture: String) -> Data {
            Checkpoint.encode(tensors: [("layers.0.bias", Tensor(shape: [2], scalars: [0, 0])),
                                        ("layers.0.weight", Tensor(shape: [2, 1], scalars: [1, -1]))],
                              metadata: ["privacy-lab.format": "1", "privacy-lab.architecture": architecture])
        }
        let cases = [
            ("terabytes of weights", #"{"inputShape": [1048576], "layers": [{"dense": {"inputs": 1048576, "outputs": 1048576}}]}"#),
            ("weights whose count overflows", #"{"inputShape": [4611686018427387904], "layers": [{"dense": {"inputs": 4611686018427387904, "outputs": 4}}]}"#),
            ("padding that overflows", #"{"inputShape": [1, 4, 4], "layers": [{"conv2d": {"inChannels": 1, "outChannels": 1, "kernelSize": 1, "stride": 1, "padding": 9223372036854775807}}]}"#),
            ("a flattened size that overflows", #"{"inputShape": [4294967296, 4294967296, 4], "layers": [{"flatten": {}}]}"#),
            ("a negative input extent", #"{"inputShape": [-3], "layers": [{"relu": {}}]}"#),
        ]
        for (name, architecture) in cases {
            do {
                _ = try Sequential(checkpoint: checkpoint(architecture), source: "model.safetensors")
                Issue.record("\(name): no error")
            } catch {
                #expect(error.description.contains("model.safetensors") && error.description.contains("privacy-lab.architecture"),
                        "\(name): \(error.description)")
            }
        }
        // The size check counts what the model needs: a model of 4 values in a file of 4 loads.
        let small = try Sequential(checkpoint: checkpoint(#"{"inputShape": [1], "layers": [{"dense": {"inputs": 1, "outputs": 2}}]}"#),
                                   source: "small")
        #expect(small.parameters.map(\.scalars) == [[1, -1], [0, 0]])
    }

    @Test("layer shapes and sizes that overflow Int are errors, not traps")
    func overflowingLayerSizes() {
        let huge = Int.max / 2 + 1
        #expect(throws: ModelError.self) { try Sequential.stateElementCount(inputShape: [1, 4, 4], layers: [
            .conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, stride: 1, padding: huge)]) }
        #expect(throws: ModelError.self) { try Sequential.stateElementCount(inputShape: [huge, huge, 2], layers: [.flatten]) }
        #expect(throws: ModelError.self) { try Sequential.stateElementCount(inputShape: [huge], layers: [.dense(inputs: huge, outputs: 4)]) }
        #expect((try? Sequential.stateElementCount(inputShape: [1, 6, 6], layers: Self.layers)) == 2 * 9 + 2 + 3 * 32 + 3)
    }

    /// Runs when PRIVACY_LAB_PYTHON names a Python with numpy and safetensors (CI sets one up).
    @Test("Python's safetensors reads our checkpoint and we read what it writes",
          .enabled(if: PythonInterop.hasSafetensors))
    func pythonRoundTrip() throws {
        let original = try model(seed: 9)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pl-py-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ours = directory.appendingPathComponent("ours.safetensors"), theirs = directory.appendingPathComponent("theirs.safetensors")
        try original.saveCheckpoint(to: ours)
        let script = """
        import sys, json
        from safetensors import safe_open
        from safetensors.numpy import load_file, save_file
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="numpy") as f: meta = f.metadata()
        print(json.dumps({k: [list(v.shape), float(v.astype('float64').sum())] for k, v in t.items()}))
        save_file({k: v * 2 for k, v in t.items()}, sys.argv[2], metadata=meta)
        """
        let output = try PythonInterop.run(script, arguments: [ours.path, theirs.path])
        let summary = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: [Any]]
        for (name, tensor) in zip(original.parameterNames, original.parameters) {
            let entry = try #require(summary[name])
            #expect((entry[0] as! [Int]) == tensor.shape)
            #expect(abs((entry[1] as! Double) - Double(tensor.sum().scalar)) < 1e-4)
        }
        let doubled = try Sequential(checkpointAt: theirs)
        #expect(doubled.parameters.map(\.scalars) == original.parameters.map { ($0 * 2).scalars })
    }
}

enum PythonInterop {
    static var python: String? { ProcessInfo.processInfo.environment["PRIVACY_LAB_PYTHON"] }
    static var hasSafetensors: Bool {
        guard python != nil else { return false }
        return (try? run("import safetensors, numpy", arguments: [])) != nil
    }
    static func run(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return String(decoding: data, as: UTF8.self)
    }
}
