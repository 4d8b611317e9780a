import Codecs
import ExperimentReports
import ExperimentStore
import Foundation
import TestSupport
import Testing

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

/// Renders figures with a real SVG renderer (`rsvg-convert`, Debian's librsvg2-bin) and checks
/// that nothing drawn leaves the canvas: each SVG is placed inside a larger white page, rendered,
/// and every non-white pixel must fall inside the original canvas.
@Suite("Figures rendered by librsvg")
struct FigureRenderingTests {
    static let renderer = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The bounding box of the non-white pixels of `svg` drawn on a page `margin` pixels larger
    /// on every side, in the SVG's own coordinates, with its width and height.
    func inkBounds(_ svg: String, margin: Int = 300) throws -> (minX: Int, minY: Int, maxX: Int, maxY: Int, width: Int, height: Int) {
        func attribute(_ name: String) throws -> Int {
            let range = try #require(svg.range(of: " \(name)=\""))
            return try #require(Int(svg[range.upperBound...].prefix { $0 != "\"" }))
        }
        let width = try attribute("width"), height = try attribute("height")
        let inner = svg.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"\(margin)\" y=\"\(margin)\" ")
        let page = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width + 2 * margin)\" height=\"\(height + 2 * margin)\">"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\(inner)</svg>"
        let folder = makeTemporaryFolder(prefix: "render")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("page.svg"), output = folder.appendingPathComponent("page.png")
        try page.write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.renderer))
        process.arguments = ["--format=png", "--background-color=white", "-o", output.path, input.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "rsvg-convert failed")
        let image = try PNG.decode([UInt8](try Data(contentsOf: output)))
        var box = (minX: Int.max, minY: Int.max, maxX: Int.min, maxY: Int.min)
        let c = image.channels, top = image.maxValue
        for y in 0..<image.height {
            for x in 0..<image.width {
                let base = (y * image.width + x) * c
                let colour = c >= 3 ? [0, 1, 2].map { Int(image.samples[base + $0]) } : [Int(image.samples[base])]
                guard colour.contains(where: { $0 < top * 9 / 10 }) else { continue }
                box = (min(box.minX, x), min(box.minY, y), max(box.maxX, x), max(box.maxY, y))
            }
        }
        return (box.minX - margin, box.minY - margin, box.maxX - margin, box.maxY - margin, width, height)
    }

    func expectInside(_ svg: String, _ name: String) throws {
        let b = try inkBounds(svg)
        #expect(b.minX >= 0 && b.minY >= 0 && b.maxX < b.width && b.maxY < b.height,
                "\(name): ink spans x \(b.minX)…\(b.maxX), y \(b.minY)…\(b.maxY) on a \(b.width)×\(b.height) canvas")
    }

    @Test("long legends, long titles, 24 series and ROC markers stay on the canvas", .enabled(if: renderer != nil, "rsvg-convert (librsvg2-bin) is not installed"))
    func generatedFiguresStayOnCanvas() throws {
        let long = (0..<30).map { i in
            Series(name: "strategy.name=fedavg-with-momentum server.learning_rate=0.\(i) clients=\(i)", x: [0.001, 0.01, 0.1, 1], y: [0.002, 0.03, 0.4, 1],
                   xLabel: "false positive rate", yLabel: "true positive rate", logX: true, logY: true)
        }
        try expectInside(Figures.linePlot(title: String(repeating: "a long title of a run ", count: 8), subtitle: "run r-20261207-000000-abcdef-0000",
                                          series: long, xLabel: "false positive rate", yLabel: "true positive rate",
                                          logX: true, logY: true, diagonal: true, marker: Figures.Marker(x: 1.0 / 450, label: "FPR floor 1/450")), "30 series")
        try expectInside(Figures.linePlot(title: "t", series: Array(long.prefix(3)), xLabel: "x", yLabel: "y"), "3 series")
        try expectInside(Figures.robustnessCurve(title: "robust accuracy against ε", series: Array(long.prefix(5))), "robustness")
    }

    @Test("every committed notebook figure stays on the canvas", .enabled(if: renderer != nil, "rsvg-convert (librsvg2-bin) is not installed"))
    func committedFiguresStayOnCanvas() throws {
        let folder = Self.repository.appendingPathComponent("notebooks-md/figures")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".svg") }
        #expect(files.count >= 10)
        for file in files {
            try expectInside(try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8), file)
        }
    }

    @Test("every committed figure is linked from a notebook, and every figure a notebook links is committed")
    func committedFiguresAreLinked() throws {
        let notebooks = Self.repository.appendingPathComponent("notebooks-md")
        let folder = notebooks.appendingPathComponent("figures")
        let committed = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        var linked = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: notebooks.path) where file.hasSuffix(".md") {
            let text = try String(contentsOf: notebooks.appendingPathComponent(file), encoding: .utf8)
            for part in text.components(separatedBy: "](figures/").dropFirst() {
                linked.insert(String(part.prefix { $0 != ")" }))
            }
        }
        #expect(!linked.isEmpty)
        #expect(committed.subtracting(linked).sorted() == [], "figures no notebook links")
        #expect(linked.subtracting(committed).sorted() == [], "linked figures that are missing")
    }
}
