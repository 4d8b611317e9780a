// CSV tables. A first byte of 1, 2 or 3 picks one of the numeric tables of the known datasets
// (scikit-learn's header-and-rows table, the digits table, the Location table), read from the
// rest; otherwise the input is a user's labelled CSV: the first line gives the options
// (`label;cat1,cat2;ignored1`), then the training table, then optionally a form feed (0x0C) and
// the test table.
import FuzzSupport
import PrivacyLab

func check(_ data: LabeledData) {
    precondition(data.features.count == data.count * data.featureCount, "CSV: features do not fill the samples")
    precondition(data.labels.allSatisfy { $0 >= 0 && Int($0) < data.classCount }, "CSV: a label out of range")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    switch input.bytes.first ?? 0 {
    case 1:
        _ = input.takeByte()
        if let table = try? SklearnLoader.loadTable(bytes: input.bytes, file: "table.csv") { check(table) }
    case 2:
        _ = input.takeByte()
        if let digits = try? SklearnLoader.loadDigits(bytes: input.bytes, file: "digits.csv") { check(digits) }
    case 3:
        _ = input.takeByte()
        if let location = try? LocationLoader.load(bytes: input.bytes, file: "bangkok") { check(location) }
    default:
        let parts = input.split(0x0A, limit: 2)
        let fields = String(decoding: parts[0], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        func list(_ k: Int) -> [String] { k < fields.count ? fields[k].split(separator: ",").map(String.init) : [] }
        let options = CSVOptions(labelColumn: fields.first ?? "label", categorical: list(1), ignored: list(2))
        let tables = (parts.count > 1 ? parts[1] : []).split(separator: 0x0C, maxSplits: 1, omittingEmptySubsequences: false)
        let test = tables.count > 1 ? Array(tables[1]) : nil
        if let dataset = try? CSVLoader.load(trainBytes: Array(tables.first ?? []), trainFile: "train.csv", testBytes: test,
                                             testFile: "test.csv", options: options) {
            check(dataset.train)
            if let test = dataset.test { check(test) }
        }
    }
    return 0
}
