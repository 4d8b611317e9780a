import Foundation
import ModelImport
import Tensors

enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    static func architecture(_ name: String) throws -> PyTorchArchitecture {
        try PyTorchArchitecture(contentsOf: url("\(name).json"))
    }

    static func model(_ name: String, checkpoint: String? = nil) throws -> ImportedModel {
        try ImportedModel(checkpoint: url(checkpoint ?? "\(name).safetensors"), architecture: architecture(name))
    }

    /// A reference file's tensors by name, labels as integers.
    struct Reference {
        let file: SafeTensors.File

        init(_ name: String) throws {
            file = try SafeTensors.parse(Fixtures.data(name), source: name)
        }

        func tensor(_ name: String) throws -> Tensor { try file.floats(file.entry(named: name)!) }

        func labels(_ name: String = "labels") throws -> [Int] { try file.integers(file.entry(named: name)!).map { Int($0) } }

        var names: [String] { file.entries.map(\.name) }
    }
}

/// The relative error in the max norm, ‖a − b‖∞ / ‖b‖∞: the measure the parity tests bound.
func relativeMaxError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "relativeMaxError: shapes \(a.shape) and \(b.shape)")
    let x = a.scalars, y = b.scalars
    var difference: Float = 0, scale: Float = 0
    for (u, v) in zip(x, y) {
        difference = max(difference, abs(u - v))
        scale = max(scale, abs(v))
    }
    return difference / max(scale, .leastNormalMagnitude)
}

/// The error a call throws, as a `ModelImportError`, or nil when it throws none (or another).
func importError<T>(_ body: () throws -> T) -> ModelImportError? {
    do { _ = try body(); return nil } catch let error as ModelImportError { return error } catch { return nil }
}

/// The bytes of a safetensors file with the given header text (padded to 8) and data section.
func rawSafeTensors(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
    var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { Array($0) }
    bytes += headerBytes
    bytes += data
    return Data(bytes)
}
