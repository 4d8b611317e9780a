import Codecs
import Foundation

/// Deterministic figures for reports: SVG line plots and PNG image grids. The same data give
/// byte-identical files (no timestamps, fixed number formatting).
public enum Figures {
    /// An SVG line plot of one or more series sharing axes; log scales when asked (log-log ROC
    /// curves). Non-positive values on a log axis are clamped to the smallest positive one.
    /// `yRange` fixes the vertical axis (accuracies on [0, 1]) instead of fitting it to the data.
    public static func linePlot(title: String, series: [Series], xLabel: String, yLabel: String,
                                logX: Bool = false, logY: Bool = false, diagonal: Bool = false,
                                yRange: ClosedRange<Double>? = nil) -> String {
        let width = 640.0, height = 440.0, left = 70.0, right = 170.0, top = 40.0, bottom = 55.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y)
        func positiveMin(_ v: [Double]) -> Double { v.filter { $0 > 0 }.min() ?? 1e-4 }
        func bounds(_ v: [Double], log: Bool) -> (Double, Double) {
            guard !v.isEmpty else { return (0, 1) }
            var low = log ? positiveMin(v) : v.min()!, high = v.max()!
            if log { low = pow(10, floor(log10(low))); high = pow(10, ceil(log10(max(high, low * 10)))) }
            if low == high { low -= 0.5; high += 0.5 }
            return (low, high)
        }
        let (x0, x1) = bounds(xs, log: logX)
        let (y0, y1) = yRange.map { ($0.lowerBound, $0.upperBound) } ?? bounds(ys, log: logY)
        func sx(_ v: Double) -> Double {
            let t = logX ? (log10(max(v, x0)) - log10(x0)) / (log10(x1) - log10(x0)) : (v - x0) / (x1 - x0)
            return left + t * plotW
        }
        func sy(_ v: Double) -> Double {
            let t = logY ? (log10(max(v, y0)) - log10(y0)) / (log10(y1) - log10(y0)) : (v - y0) / (y1 - y0)
            return top + plotH - t * plotH
        }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left + plotW / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        // Ticks and grid.
        func ticks(_ low: Double, _ high: Double, log: Bool) -> [Double] {
            if log {
                return stride(from: log10(low), through: log10(high) + 1e-9, by: 1).map { pow(10, $0.rounded()) }
            }
            let step = niceStep((high - low) / 5)
            let first = ceil(low / step) * step
            return stride(from: first, through: high + step * 1e-9, by: step).map { ($0 / step).rounded() * step }
        }
        for t in ticks(x0, x1, log: logX) {
            svg += "<line x1=\"\(f(sx(t)))\" y1=\"\(f(top))\" x2=\"\(f(sx(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<text x=\"\(f(sx(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
        }
        for t in ticks(y0, y1, log: logY) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(sy(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(sy(t)))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))\(logX ? " (log)" : "")</text>\n"
        svg += "<text transform=\"translate(16,\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))\(logY ? " (log)" : "")</text>\n"
        if diagonal {
            let low = max(x0, y0), high = min(x1, y1)
            if low < high {
                svg += "<line x1=\"\(f(sx(low)))\" y1=\"\(f(sy(low)))\" x2=\"\(f(sx(high)))\" y2=\"\(f(sy(high)))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
            }
        }
        for (i, s) in series.enumerated() {
            let color = colors[i % colors.count]
            let points = zip(s.x, s.y).map { "\(f(sx($0))),\(f(sy($1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(points)\"/>\n"
            if s.x.count <= 40 {
                for (x, y) in zip(s.x, s.y) { svg += "<circle cx=\"\(f(sx(x)))\" cy=\"\(f(sy(y)))\" r=\"2.5\" fill=\"\(color)\"/>\n" }
            }
            let ly = top + 14 + Double(i) * 18
            svg += "<line x1=\"\(f(left + plotW + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + plotW + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(f(left + plotW + 36))\" y=\"\(f(ly))\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// A robustness curve: robust accuracy (on a fixed [0, 1] axis) against the perturbation budget
    /// ε, one line per attack or model, as the field draws them (Madry et al. 2018, Fig. 4).
    public static func robustnessCurve(title: String, series: [Series], xLabel: String = "ε") -> String {
        linePlot(title: title, series: series, xLabel: xLabel, yLabel: "robust accuracy", yRange: 0...1)
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
