// IDX (MNIST's format, raw or gzip): a bare array with 0, 1 or 3 dimensions asked for, or an
// image file with its label file (two bytes give the label file's length, the rest is images).
import FuzzSupport
import PrivacyLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    switch input.takeByte() % 4 {
    case 0: _ = try? IDX.parse(input.bytes, file: "fuzz.idx")
    case 1: _ = try? IDX.parse(input.bytes, file: "fuzz-labels.idx", dimensionCount: 1)
    case 2: _ = try? IDX.parse(input.bytes, file: "fuzz-images.idx", dimensionCount: 3)
    default:
        let labels = input.takeLengthPrefixed()
        if let data = try? IDXImageLoader.load(imageBytes: input.bytes, imagesFile: "images.idx", labelBytes: labels,
                                               labelsFile: "labels.idx", classCount: 10) {
            precondition(data.count == data.labels.count, "IDX: sample and label counts differ")
        }
    }
    return 0
}
