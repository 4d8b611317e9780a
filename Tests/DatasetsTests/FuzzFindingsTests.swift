import Datasets
import Foundation
import Testing

/// Inputs found by the fuzz targets of `Fuzzing/` (issue #20): each crashed, trapped or asked for
/// unbounded memory before its fix; each now gives one error naming the file.
@Suite("Fuzzing findings: dataset readers")
struct FuzzFindingsTests {
    /// scikit-learn's table format announces its width in the header; the reader sized a buffer
    /// from it (4 TB for 10¹² features) and added 1 to it (a trap at Int.max) before reading a row.
    @Test("a scikit-learn table header announcing more features than the file holds is an error, not a trap or a huge allocation")
    func sklearnHeaderWidth() {
        for width in ["9223372036854775807", "1000000000000", "5"] {
            let bytes = Array("1,\(width),a,b\n1,0\n".utf8)
            let error = datasetError { _ = try SklearnLoader.loadTable(bytes: bytes, file: "/data/table.csv") }
            #expect(error?.file == "/data/table.csv" && error?.location == "line 1", "\(width): \(String(describing: error))")
        }
        // A table that matches its header loads through the same entry point.
        let table = try? SklearnLoader.loadTable(bytes: Array("2,2,x,y\n1,2,0\n3,4,1\n".utf8), file: "/data/table.csv")
        #expect(table?.count == 2 && table?.features == [1, 2, 3, 4] && table?.labels == [0, 1])
    }
}
