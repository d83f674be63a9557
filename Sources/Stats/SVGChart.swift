import Platform
/// A self-contained SVG chart of a run over time: latency percentiles, offered and
/// successful rate, errors, and requests per pod, in four panels on one time axis.
/// Every line is labelled at its right end, so nothing needs a legend.
public struct SVGChart: Sendable {
    public let title: String
    public let points: [StatsEngine.SeriesPoint]
    public let podNames: [String]
    public let errorNames: [String]

    public init(title: String, points: [StatsEngine.SeriesPoint], podNames: [String], errorNames: [String]) {
        self.title = title
        self.points = points
        self.podNames = podNames
        self.errorNames = errorNames
    }

    static let width = 980.0, left = 70.0, right = 190.0, panelHeight = 170.0, gap = 58.0, top = 56.0
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"]

    struct Series {
        let label: String
        let color: String
        let values: [Double]  // NaN = no value in that window
        var dashed = false
    }

    public func render() -> String {
        let t0 = points.first?.start ?? 0
        let xs = points.map { ($0.start + $0.end) / 2 - t0 }
        let xMax = max(points.last.map { $0.end - t0 } ?? 1, 1e-9)
        let seconds = points.map { $0.end - $0.start }
        var panels: [(String, [Series])] = []
        panels.append(("Latency (ms, from the scheduled send)", [
            Series(label: "p99", color: "#d62728", values: points.map(\.p99)),
            Series(label: "p90", color: "#ff7f0e", values: points.map(\.p90)),
            Series(label: "p50", color: "#1f77b4", values: points.map(\.p50)),
        ]))
        panels.append(("Rate (requests/s)", [
            Series(label: "offered", color: "#7f7f7f", values: zip(points, seconds).map { Double($0.requests) / $1 }, dashed: true),
            Series(label: "ok", color: "#2ca02c", values: zip(points, seconds).map { Double($0.successes) / $1 }),
        ]))
        var errorSeries = [Series(label: "failures", color: "#d62728",
                                  values: zip(points, seconds).map { Double($0.requests - $0.successes) / $1 })]
        for (i, name) in errorNames.enumerated() {
            let values = zip(points, seconds).map { p, s in Double(p.errors.first { $0.id == i }?.count ?? 0) / s }
            if values.contains(where: { $0 > 0 }) {
                errorSeries.append(Series(label: name, color: SVGChart.palette[(i + 1) % SVGChart.palette.count], values: values, dashed: true))
            }
        }
        panels.append(("Failures (per s; error kinds dashed)", errorSeries))
        panels.append(("Requests/s per pod", podNames.enumerated().map { i, name in
            Series(label: name, color: SVGChart.palette[i % SVGChart.palette.count],
                   values: zip(points, seconds).map { p, s in Double(p.pods.first { $0.id == i }?.requests ?? 0) / s })
        }))

        let height = SVGChart.top + Double(panels.count) * (SVGChart.panelHeight + SVGChart.gap) + 10
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(SVGChart.width))" height="\(Int(height))" viewBox="0 0 \(Int(SVGChart.width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(SVGChart.left))" y="26" font-size="16" font-weight="bold">\(SVGChart.escape(title))</text>

            """
        let plotWidth = SVGChart.width - SVGChart.left - SVGChart.right
        for (n, (name, series)) in panels.enumerated() {
            let y0 = SVGChart.top + Double(n) * (SVGChart.panelHeight + SVGChart.gap)
            let yMaxData = series.flatMap { zip($0.values, points).filter { !$1.isGap }.map(\.0) }.filter(\.isFinite).max() ?? 0
            let yMax = SVGChart.niceCeiling(max(yMaxData, 1e-9))
            svg += "<g class=\"panel\" id=\"panel-\(n)\">\n"
            svg += "<text x=\"\(Int(SVGChart.left))\" y=\"\(f(y0 - 8))\" font-weight=\"bold\">\(SVGChart.escape(name))</text>\n"
            for tick in 0...4 {
                let v = yMax * Double(tick) / 4
                let y = y0 + SVGChart.panelHeight * (1 - Double(tick) / 4)
                svg += "<line x1=\"\(f(SVGChart.left))\" y1=\"\(f(y))\" x2=\"\(f(SVGChart.left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e0e0e0\"/>\n"
                svg += "<text x=\"\(f(SVGChart.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#555\">\(SVGChart.tickLabel(v))</text>\n"
            }
            let xStep = SVGChart.niceCeiling(xMax / 6)
            var tick = 0.0
            while tick <= xMax + 1e-9 {
                let x = SVGChart.left + plotWidth * tick / xMax
                svg += "<text x=\"\(f(x))\" y=\"\(f(y0 + SVGChart.panelHeight + 15))\" text-anchor=\"middle\" fill=\"#555\">\(SVGChart.tickLabel(tick))s</text>\n"
                tick += xStep
            }
            // A gap (no records at all for a long time) is a shaded band that breaks every line:
            // no data, not zero traffic.
            for p in points where p.isGap {
                let x1 = SVGChart.left + plotWidth * (p.start - t0) / xMax
                let x2 = SVGChart.left + plotWidth * (p.end - t0) / xMax
                svg += "<rect class=\"gap\" x=\"\(f(x1))\" y=\"\(f(y0))\" width=\"\(f(max(x2 - x1, 1)))\" height=\"\(f(SVGChart.panelHeight))\" fill=\"#f0f0f0\"/>\n"
                if n == 0 {
                    svg += "<text x=\"\(f((x1 + x2) / 2))\" y=\"\(f(y0 + 14))\" text-anchor=\"middle\" fill=\"#888\">no records for \(SVGChart.escape(ReportFormatter.span(p.end - p.start)))</text>\n"
                }
            }
            var labels: [(y: Double, x: Double, text: String, color: String)] = []
            for s in series {
                var path = ""
                var lastPoint: (Double, Double)?
                var broken = true
                for (i, (x, v)) in zip(xs, s.values).enumerated() {
                    if points[i].isGap { broken = true; continue }
                    guard v.isFinite else { continue }
                    let px = SVGChart.left + plotWidth * x / xMax
                    let py = y0 + SVGChart.panelHeight * (1 - min(v / yMax, 1))
                    path += (path.isEmpty ? "" : " ") + (broken ? "M" : "L") + "\(f(px)),\(f(py))"
                    broken = false
                    lastPoint = (px, py)
                }
                guard let (lx, ly) = lastPoint else { continue }
                let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
                svg += "<path class=\"series\" data-series=\"\(SVGChart.escape(s.label))\" d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\"\(dash)/>\n"
                let last = s.values.last(where: \.isFinite) ?? 0
                labels.append((ly + 4, lx + 6, "\(SVGChart.escape(SVGChart.shorten(s.label))) \(SVGChart.tickLabel(last))", s.color))
            }
            // Labels at the lines' ends, in the lines' order, 13 px apart, inside the panel.
            labels.sort { $0.y < $1.y }
            for i in labels.indices.dropFirst() where labels[i].y < labels[i - 1].y + 13 { labels[i].y = labels[i - 1].y + 13 }
            let overflow = (labels.last?.y ?? 0) - (y0 + SVGChart.panelHeight - 3)
            if overflow > 0 { for i in labels.indices { labels[i].y -= overflow } }
            for label in labels {
                svg += "<text x=\"\(f(label.x))\" y=\"\(f(label.y))\" fill=\"\(label.color)\">\(label.text)</text>\n"
            }
            if series.isEmpty || series.allSatisfy({ !$0.values.contains(where: \.isFinite) }) {
                svg += "<text x=\"\(f(SVGChart.left + plotWidth / 2))\" y=\"\(f(y0 + SVGChart.panelHeight / 2))\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n"
            }
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func f(_ v: Double) -> String { Number.fixed(v, 1) }

    static func shorten(_ s: String) -> String { s.count > 22 ? String(s.prefix(10)) + "…" + String(s.suffix(11)) : s }

    static func tickLabel(_ v: Double) -> String {
        if v >= 100 || v == v.rounded() { return Number.fixed(v, 0) }
        return Number.fixed(v, v >= 10 ? 1 : 2)
    }

    /// 1, 2 or 5 times a power of ten, at or above `v`.
    static func niceCeiling(_ v: Double) -> Double {
        var p = 1e-6
        while p * 10 <= v { p *= 10 }
        for m in [1.0, 2, 5, 10] where p * m >= v { return p * m }
        return p * 10
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
