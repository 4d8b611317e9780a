import Foundation
import Testing
import Experiments

@Suite("Figures")
struct FigureTests {
    func series(_ count: Int, label: (Int) -> String = { "strategy.name=fedavg-with-a-long-name trial \($0)" }) -> [Series] {
        (0..<count).map { i in
            Series(name: label(i), x: [0.001, 0.01, 0.1, 1], y: [0.001 * Double(i + 1), 0.02, 0.2, 1],
                   xLabel: "false positive rate", yLabel: "true positive rate", logX: true, logY: true)
        }
    }

    func strokes(_ svg: String) -> [String] {
        svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }.map { line in
            let stroke = line.range(of: "stroke=\"")!
            let rest = line[stroke.upperBound...]
            let color = rest.prefix { $0 != "\"" }
            let dash = line.range(of: "stroke-dasharray=\"").map { String(line[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
            return "\(color) \(dash)"
        }
    }

    @Test("24 series stay distinguishable: every series a distinct colour and dash, in panels of at most 8")
    func manySeriesAreDistinguishable() {
        let svg = Figures.linePlot(title: "t", series: series(24), xLabel: "x", yLabel: "y", logX: true, logY: true)
        let styles = strokes(svg)
        #expect(styles.count == 24)
        #expect(Set(styles).count == 24)
        let panels = svg.split(separator: "\n").filter { $0.hasPrefix("<rect") && $0.contains("stroke=\"#333\"") }
        #expect(panels.count == 3)
    }

    @Test("the canvas widens to hold the longest legend label and the title")
    func canvasHoldsLabels() throws {
        let long = String(repeating: "w", count: 120)
        let svg = Figures.linePlot(title: "a title " + long, series: series(2) { _ in long }, xLabel: "x", yLabel: "y")
        let widthText = try #require(svg.range(of: "width=\"").map { svg[$0.upperBound...].prefix { $0 != "\"" } })
        let width = try #require(Double(widthText))
        #expect(width >= 120 * 12 * 0.62)
        // Every legend label starts inside the canvas and its estimated end too.
        for line in svg.split(separator: "\n") where line.hasPrefix("<text") && line.contains(long) && !line.contains("font-size=\"15\"") {
            let x = try #require(line.range(of: "x=\"").flatMap { Double(line[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(x + 120 * 12 * 0.62 <= width)
        }
    }
}
