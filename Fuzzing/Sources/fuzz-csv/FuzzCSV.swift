// A user's labelled CSV tables. The first line gives the options (`label;cat1,cat2;ignored1`),
// the rest is the training table, then optionally a form feed (0x0C) and the test table.
import FuzzSupport
import PrivacyLab

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    let parts = input.split(0x0A, limit: 2)
    let fields = String(decoding: parts[0], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).map(String.init)
    func list(_ k: Int) -> [String] { k < fields.count ? fields[k].split(separator: ",").map(String.init) : [] }
    let options = CSVOptions(labelColumn: fields.first ?? "label", categorical: list(1), ignored: list(2))
    let tables = (parts.count > 1 ? parts[1] : []).split(separator: 0x0C, maxSplits: 1, omittingEmptySubsequences: false)
    let test = tables.count > 1 ? Array(tables[1]) : nil
    if let dataset = try? CSVLoader.load(trainBytes: Array(tables.first ?? []), trainFile: "train.csv", testBytes: test,
                                         testFile: "test.csv", options: options) {
        precondition(dataset.train.count == dataset.train.labels.count, "CSV: sample and label counts differ")
        precondition(dataset.train.labels.allSatisfy { $0 >= 0 && Int($0) < dataset.train.classCount }, "CSV: a label out of range")
    }
    return 0
}
