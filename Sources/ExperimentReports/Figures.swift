import Codecs
import ExperimentStore
import Foundation

/// Deterministic figures for reports: SVG line plots and PNG image grids. The same data give
/// byte-identical files (no timestamps, fixed number formatting).
public enum Figures {
    /// A vertical marker line on a plot (the FPR resolution floor of a ROC curve).
    public struct Marker: Sendable, Equatable {
        public var x: Double
        public var label: String
        public init(x: Double, label: String) {
            self.x = x
            self.label = label
        }
    }

    /// Series beyond this count are drawn as small multiples (panels of at most this many).
    public static let seriesPerPanel = 8
    /// Ten colours (the Tableau palette) × four dash patterns: 40 distinguishable series.
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let dashes = ["", "6 3", "2 2", "8 3 2 3"]

    /// The stroke of the `index`-th series: colour first, then dash pattern.
    static func style(_ index: Int) -> (color: String, dash: String) {
        (colors[index % colors.count], dashes[(index / colors.count) % dashes.count])
    }

    /// An estimate of the width in pixels of `text` in the plots' sans-serif font at `size`
    /// (generous: 0.62 em a character), used to size margins so that no text leaves the canvas.
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.62 }

    /// An SVG line plot of one or more series sharing axes; log scales when asked (log-log ROC
    /// curves). Non-positive values on a log axis are clamped to the smallest positive one.
    /// `yRange` fixes the vertical axis (accuracies on [0, 1]) instead of fitting it to the data.
    ///
    /// The legend sits outside the plot, to its right, and the canvas widens to hold its longest
    /// label and the title: no text is clipped. Series are told apart by colour and dash pattern
    /// (40 combinations); more than `seriesPerPanel` series are drawn as small multiples sharing
    /// axes. `diagonal` draws y = x; `marker` a labelled vertical line.
    public static func linePlot(title: String, subtitle: String? = nil, series: [Series], xLabel: String, yLabel: String,
                                logX: Bool = false, logY: Bool = false, diagonal: Bool = false,
                                yRange: ClosedRange<Double>? = nil, marker: Marker? = nil) -> String {
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y)
        func positiveMin(_ v: [Double]) -> Double { v.filter { $0 > 0 && $0.isFinite }.min() ?? 1e-4 }
        func bounds(_ v: [Double], log: Bool) -> (Double, Double) {
            let finite = v.filter(\.isFinite)
            guard !finite.isEmpty else { return log ? (1e-4, 1) : (0, 1) }
            var low = log ? positiveMin(finite) : finite.min()!, high = finite.max()!
            if log { low = pow(10, floor(log10(low))); high = pow(10, ceil(log10(max(high, low * 10)))) }
            if low == high { low -= 0.5; high += 0.5 }
            return (low, high)
        }
        let (x0, x1) = bounds(xs + (marker.map { [$0.x] } ?? []), log: logX)
        let (y0, y1) = yRange.map { ($0.lowerBound, $0.upperBound) } ?? bounds(ys, log: logY)
        func ticks(_ low: Double, _ high: Double, log: Bool) -> [Double] {
            if log {
                return stride(from: log10(low), through: log10(high) + 1e-9, by: 1).map { pow(10, $0.rounded()) }
            }
            let step = niceStep((high - low) / 5)
            let first = ceil(low / step) * step
            return stride(from: first, through: high + step * 1e-9, by: step).map { ($0 / step).rounded() * step }
        }
        let xTicks = ticks(x0, x1, log: logX), yTicks = ticks(y0, y1, log: logY)

        // Panels of at most `seriesPerPanel` series, two across.
        let panelCount = max(1, (series.count + seriesPerPanel - 1) / seriesPerPanel)
        let columns = panelCount == 1 ? 1 : 2
        let rows = (panelCount + columns - 1) / columns
        let plotW = panelCount == 1 ? 400.0 : 300.0, plotH = panelCount == 1 ? 320.0 : 220.0
        let yTickWidth = yTicks.map { textWidth(tickLabel($0), size: 12) }.max() ?? 20
        let left = 36 + yTickWidth
        let legendWidth = 40 + (series.map { textWidth($0.name, size: 12) }.max() ?? 0)
        let panelW = left + plotW + 14 + legendWidth + 12
        let legendRows = min(seriesPerPanel, series.count)
        let panelH = 24 + max(plotH, Double(legendRows) * 18) + 46
        let titleTop = 26.0, headerH = subtitle == nil ? 40.0 : 58.0
        let width = ceil(max(Double(columns) * panelW, textWidth(title, size: 15) + 24, textWidth(subtitle ?? "", size: 11) + 24))
        let height = ceil(headerH + Double(rows) * panelH)
        func f(_ v: Double) -> String { String(format: "%.2f", v) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="\(f(titleTop))" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        if let subtitle {
            svg += "<text x=\"\(f(width / 2))\" y=\"\(f(titleTop + 18))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">\(escape(subtitle))</text>\n"
        }
        for panel in 0..<panelCount {
            let ox = Double(panel % columns) * panelW, oy = headerH + Double(panel / columns) * panelH
            let top = oy + 14
            func sx(_ v: Double) -> Double {
                let t = logX ? (log10(max(v, x0)) - log10(x0)) / (log10(x1) - log10(x0)) : (v - x0) / (x1 - x0)
                return ox + left + min(max(t, 0), 1) * plotW
            }
            func sy(_ v: Double) -> Double {
                let t = logY ? (log10(max(v, y0)) - log10(y0)) / (log10(y1) - log10(y0)) : (v - y0) / (y1 - y0)
                return top + plotH - min(max(t, 0), 1) * plotH
            }
            for t in xTicks {
                svg += "<line x1=\"\(f(sx(t)))\" y1=\"\(f(top))\" x2=\"\(f(sx(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
                svg += "<text x=\"\(f(sx(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
            }
            for t in yTicks {
                svg += "<line x1=\"\(f(ox + left))\" y1=\"\(f(sy(t)))\" x2=\"\(f(ox + left + plotW))\" y2=\"\(f(sy(t)))\" stroke=\"#e5e5e5\"/>\n"
                svg += "<text x=\"\(f(ox + left - 6))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
            }
            svg += "<rect x=\"\(f(ox + left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
            svg += "<text x=\"\(f(ox + left + plotW / 2))\" y=\"\(f(top + plotH + 38))\" text-anchor=\"middle\">\(escape(xLabel))\(logX ? " (log)" : "")</text>\n"
            svg += "<text transform=\"translate(\(f(ox + 14)),\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))\(logY ? " (log)" : "")</text>\n"
            if diagonal {
                let low = max(x0, y0), high = min(x1, y1)
                if low < high {
                    svg += "<line x1=\"\(f(sx(low)))\" y1=\"\(f(sy(low)))\" x2=\"\(f(sx(high)))\" y2=\"\(f(sy(high)))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
                }
            }
            if let marker, marker.x >= x0, marker.x <= x1 {
                svg += "<line x1=\"\(f(sx(marker.x)))\" y1=\"\(f(top))\" x2=\"\(f(sx(marker.x)))\" y2=\"\(f(top + plotH))\" stroke=\"#666\" stroke-dasharray=\"1 3\"/>\n"
                svg += "<text x=\"\(f(sx(marker.x) + 4))\" y=\"\(f(top + plotH - 6))\" font-size=\"10\" fill=\"#555\">\(escape(marker.label))</text>\n"
            }
            let members = Array(series.indices).dropFirst(panel * seriesPerPanel).prefix(seriesPerPanel)
            for (row, i) in members.enumerated() {
                let s = series[i]
                let (color, dash) = style(i)
                let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
                let points = zip(s.x, s.y).filter { $0.isFinite && $1.isFinite }.map { "\(f(sx($0))),\(f(sy($1)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(dashAttribute) points=\"\(points)\"/>\n"
                if s.x.count <= 40 {
                    for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite {
                        svg += "<circle cx=\"\(f(sx(x)))\" cy=\"\(f(sy(y)))\" r=\"2.5\" fill=\"\(color)\"/>\n"
                    }
                }
                let lx = ox + left + plotW + 14, ly = top + 10 + Double(row) * 18
                svg += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 26))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dashAttribute)/>\n"
                svg += "<text x=\"\(f(lx + 32))\" y=\"\(f(ly))\">\(escape(s.name))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// A robustness curve: robust accuracy (on a fixed [0, 1] axis) against the perturbation budget
    /// ε, one line per attack or model, as the field draws them (Madry et al. 2018, Fig. 4).
    public static func robustnessCurve(title: String, subtitle: String? = nil, series: [Series], xLabel: String = "ε") -> String {
        linePlot(title: title, subtitle: subtitle, series: series, xLabel: xLabel, yLabel: "robust accuracy", yRange: 0...1)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    static func tickLabel(_ v: Double) -> String {
        if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(Int64(v)) }
        return String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A PNG (8-bit greyscale) of images laid out in a grid with a 2-pixel white gutter. Each
    /// image is `height × width` values in [0, 1] (clamped), row-major; `scale` enlarges pixels.
    public static func imageGridPNG(images: [[Float]], height: Int, width: Int, columns: Int, scale: Int = 2) -> [UInt8] {
        precondition(!images.isEmpty && columns > 0 && scale > 0, "imageGridPNG: nothing to draw")
        precondition(images.allSatisfy { $0.count == height * width }, "imageGridPNG: every image must hold \(height)×\(width) values")
        let gutter = 2, rows = (images.count + columns - 1) / columns
        let cellW = width * scale + gutter, cellH = height * scale + gutter
        let W = columns * cellW + gutter, H = rows * cellH + gutter
        var pixels = [UInt8](repeating: 255, count: W * H)
        for (n, image) in images.enumerated() {
            let ox = gutter + (n % columns) * cellW, oy = gutter + (n / columns) * cellH
            for y in 0..<(height * scale) {
                for x in 0..<(width * scale) {
                    let v = image[(y / scale) * width + x / scale]
                    pixels[(oy + y) * W + ox + x] = UInt8((min(max(v.isNaN ? 0 : v, 0), 1) * 255).rounded())
                }
            }
        }
        return png(greyscale: pixels, width: W, height: H)
    }

    /// PNG bytes of an 8-bit greyscale image (filter 0 on every row, one IDAT chunk).
    public static func png(greyscale pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width)..<((y + 1) * width)])
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let typeBytes = Array(type.utf8)
            return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(Zlib.crc32(typeBytes + data))
        }
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", Zlib.compress(raw, level: 9)) + chunk("IEND", [])
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
