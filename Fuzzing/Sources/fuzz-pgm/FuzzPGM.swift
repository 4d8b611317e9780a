// Netpbm grey maps (P5 binary, P2 ASCII), as the ORL faces and a user's image folders hold.
import FuzzSupport
import PrivacyLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPGM(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    if let image = try? PGMImage.parse(input.bytes, file: "fuzz.pgm") {
        precondition(image.pixels.count == image.width * image.height, "PGM: pixel count differs from width × height")
        precondition(image.pixels.allSatisfy { Int($0) <= image.maxValue }, "PGM: a pixel above maxval")
    }
    return 0
}
