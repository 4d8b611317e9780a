// NumPy `.npy` (and `.npz`) bytes: the array, its conversions, and the law
// `NumpyArray(npy: a.npyBytes()) == a`.
import FuzzSupport
import PrivacyLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    switch input.takeByte() % 3 {
    case 0:
        guard let array = try? NumpyArray(npy: input.bytes) else { return 0 }
        _ = array.doubles()
        _ = try? array.integers()
        _ = try? array.booleans()
        if array.count > 0 { _ = array.elementText(array.count - 1) }
        precondition((try? NumpyArray(npy: array.npyBytes())) == array, "npy: writing and reading back changed the array")
    case 1:
        _ = input.bytes.withUnsafeBytes { try? NumpyArray.header(npy: $0) }
    default:
        guard let archive = try? NumpyArchive(npz: input.bytes, maximumMemberBytes: 1 << 20) else { return 0 }
        for name in archive.names { _ = try? archive.array(named: name) }
    }
    return 0
}
