import Platform
/// A self-contained SVG chart of a run over time: latency percentiles, offered and
/// successful rate, errors, and requests per pod, in four panels on one time axis.
/// Every line is labelled at its right end, so nothing needs a legend.
public struct SVGChart: Sendable {
    public let title: String
    public let points: [StatsEngine.SeriesPoint]
    public let podNames: [String]
    public let errorNames: [String]
    /// Where scaling stood at each point's end (kube-watch's lines), parallel to
    /// `points`; empty when the input had none: then no scaling panels.
    public let scaling: [ScalingState?]

    public init(
        title: String, points: [StatsEngine.SeriesPoint], podNames: [String], errorNames: [String],
        scaling: [ScalingState?] = []
    ) {
        self.title = title
        self.points = points
        self.podNames = podNames
        self.errorNames = errorNames
        self.scaling = scaling
    }

    static let width = 980.0, left = 70.0, right = 190.0, panelHeight = 170.0, gap = 58.0, top = 56.0
    static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
    ]

    struct Series {
        let label: String
        let color: String
        let values: [Double]  // NaN = no value in that window
        var dashed = false
        /// Drawn as steps over each window (replica counts), not through its middle.
        var stepped = false
    }

    /// The time axis shared by every panel.
    struct Axis {
        let t0: Double
        let xMax: Double
        let plotWidth = SVGChart.width - SVGChart.left - SVGChart.right
        func x(_ t: Double) -> Double { SVGChart.left + plotWidth * (t - t0) / xMax }
    }

    public func render() -> String {
        let t0 = points.first?.start ?? 0
        let axis = Axis(t0: t0, xMax: max(points.last.map { $0.end - t0 } ?? 1, 1e-9))
        let panels = self.panels()
        let height = SVGChart.top + Double(panels.count) * (SVGChart.panelHeight + SVGChart.gap) + 10
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(SVGChart.width))" height="\(Int(height))" viewBox="0 0 \(Int(SVGChart.width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(SVGChart.left))" y="26" font-size="16" font-weight="bold">\(SVGChart.escape(title))</text>

            """
        for (n, (name, series)) in panels.enumerated() {
            svg += panel(n, name, series, axis)
        }
        svg += "</svg>\n"
        return svg
    }

    func panels() -> [(String, [Series])] {
        latencyPanels() + ratePanels() + scalingPanels()
    }

    /// A count per window, per second of the window's span.
    private func perSecond(_ count: (StatsEngine.SeriesPoint) -> Int) -> [Double] {
        points.map { Double(count($0)) / ($0.end - $0.start) }
    }

    private func latencyPanels() -> [(String, [Series])] {
        var panels: [(String, [Series])] = []
        panels.append(
            (
                "Latency (ms, from the scheduled send)",
                [
                    Series(label: "p99", color: "#d62728", values: points.map(\.p99)),
                    Series(label: "p90", color: "#ff7f0e", values: points.map(\.p90)),
                    Series(label: "p50", color: "#1f77b4", values: points.map(\.p50)),
                ]
            ))
        if points.contains(where: { !$0.ttftP50.isNaN || !$0.itlP50.isNaN }) {
            panels.append(
                (
                    "Tokens (ms: time to first token, inter-token gap)",
                    [
                        Series(label: "TTFT p99", color: "#d62728", values: points.map(\.ttftP99)),
                        Series(label: "TTFT p50", color: "#1f77b4", values: points.map(\.ttftP50)),
                        Series(label: "ITL p50", color: "#2ca02c", values: points.map(\.itlP50), dashed: true),
                    ]
                ))
        }
        return panels
    }

    private func ratePanels() -> [(String, [Series])] {
        var panels: [(String, [Series])] = []
        panels.append(
            (
                "Rate (requests/s)",
                [
                    Series(label: "offered", color: "#7f7f7f", values: perSecond(\.requests), dashed: true),
                    Series(label: "ok", color: "#2ca02c", values: perSecond(\.successes)),
                ]
            ))
        var errorSeries = [
            Series(label: "failures", color: "#d62728", values: perSecond { $0.requests - $0.successes })
        ]
        for (i, name) in errorNames.enumerated() {
            let values = perSecond { p in p.errors.first { $0.id == i }?.count ?? 0 }
            if values.contains(where: { $0 > 0 }) {
                let color = SVGChart.palette[(i + 1) % SVGChart.palette.count]
                errorSeries.append(Series(label: name, color: color, values: values, dashed: true))
            }
        }
        panels.append(("Failures (per s; error kinds dashed)", errorSeries))
        panels.append(
            (
                "Requests/s per pod",
                podNames.enumerated().map { i, name in
                    Series(
                        label: name, color: SVGChart.palette[i % SVGChart.palette.count],
                        values: perSecond { p in p.pods.first { $0.id == i }?.requests ?? 0 })
                }
            ))
        return panels
    }

    private func scalingPanels() -> [(String, [Series])] {
        guard scaling.count == points.count, scaling.contains(where: { $0 != nil }) else { return [] }
        func values(_ pick: (ScalingState) -> Int?) -> [Double] {
            scaling.map { $0.flatMap(pick).map(Double.init) ?? .nan }
        }
        return [
            (
                "Replicas (HPA desired and current, Deployment ready)",
                [
                    Series(label: "desired", color: "#9467bd", values: values(\.desired), dashed: true, stepped: true),
                    Series(label: "current", color: "#1f77b4", values: values(\.current), stepped: true),
                    Series(label: "ready", color: "#2ca02c", values: values(\.ready), stepped: true),
                ]
            ),
            (
                "HPA CPU (% of request; target dashed)",
                [
                    Series(label: "cpu", color: "#d62728", values: values(\.cpuPercent)),
                    Series(label: "target", color: "#7f7f7f", values: values(\.cpuTarget), dashed: true),
                ]
            ),
        ]
    }

    func panel(_ n: Int, _ name: String, _ series: [Series], _ axis: Axis) -> String {
        let y0 = SVGChart.top + Double(n) * (SVGChart.panelHeight + SVGChart.gap)
        let yMaxData =
            series.flatMap { zip($0.values, points).filter { !$1.isGap }.map(\.0) }.filter(\.isFinite).max() ?? 0
        let yMax = SVGChart.niceCeiling(max(yMaxData, 1e-9))
        var svg = "<g class=\"panel\" id=\"panel-\(n)\">\n"
        svg +=
            "<text x=\"\(Int(SVGChart.left))\" y=\"\(f(y0 - 8))\" font-weight=\"bold\">\(SVGChart.escape(name))</text>\n"
        svg += axes(y0: y0, yMax: yMax, axis)
        // A gap (no records at all for a long time) is a shaded band that breaks every line:
        // no data, not zero traffic.
        for p in points where p.isGap {
            let x1 = axis.x(p.start), x2 = axis.x(p.end)
            svg +=
                "<rect class=\"gap\" x=\"\(f(x1))\" y=\"\(f(y0))\" width=\"\(f(max(x2 - x1, 1)))\" height=\"\(f(SVGChart.panelHeight))\" fill=\"#f0f0f0\"/>\n"
            if n == 0 {
                svg +=
                    "<text x=\"\(f((x1 + x2) / 2))\" y=\"\(f(y0 + 14))\" text-anchor=\"middle\" fill=\"#888\">no records for \(SVGChart.escape(ReportFormatter.span(p.end - p.start)))</text>\n"
            }
        }
        var labels: [(y: Double, x: Double, text: String, color: String)] = []
        for s in series {
            let (path, end) = self.path(s, y0: y0, yMax: yMax, axis)
            guard let (lx, ly) = end else { continue }
            let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
            svg +=
                "<path class=\"series\" data-series=\"\(SVGChart.escape(s.label))\" d=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.8\"\(dash)/>\n"
            let last = s.values.last(where: \.isFinite) ?? 0
            labels.append(
                (ly + 4, lx + 6, "\(SVGChart.escape(SVGChart.shorten(s.label))) \(SVGChart.tickLabel(last))", s.color))
        }
        // Labels at the lines' ends, in the lines' order, 13 px apart, inside the panel.
        labels.sort { $0.y < $1.y }
        for i in labels.indices.dropFirst() where labels[i].y < labels[i - 1].y + 13 {
            labels[i].y = labels[i - 1].y + 13
        }
        let overflow = (labels.last?.y ?? 0) - (y0 + SVGChart.panelHeight - 3)
        if overflow > 0 { for i in labels.indices { labels[i].y -= overflow } }
        for label in labels {
            svg += "<text x=\"\(f(label.x))\" y=\"\(f(label.y))\" fill=\"\(label.color)\">\(label.text)</text>\n"
        }
        if series.isEmpty || series.allSatisfy({ !$0.values.contains(where: \.isFinite) }) {
            svg +=
                "<text x=\"\(f(SVGChart.left + axis.plotWidth / 2))\" y=\"\(f(y0 + SVGChart.panelHeight / 2))\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n"
        }
        return svg + "</g>\n"
    }

    func axes(y0: Double, yMax: Double, _ axis: Axis) -> String {
        var svg = ""
        for tick in 0...4 {
            let v = yMax * Double(tick) / 4
            let y = y0 + SVGChart.panelHeight * (1 - Double(tick) / 4)
            svg +=
                "<line x1=\"\(f(SVGChart.left))\" y1=\"\(f(y))\" x2=\"\(f(SVGChart.left + axis.plotWidth))\" y2=\"\(f(y))\" stroke=\"#e0e0e0\"/>\n"
            svg +=
                "<text x=\"\(f(SVGChart.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" fill=\"#555\">\(SVGChart.tickLabel(v))</text>\n"
        }
        let xStep = SVGChart.niceCeiling(axis.xMax / 6)
        var tick = 0.0
        while tick <= axis.xMax + 1e-9 {
            svg +=
                "<text x=\"\(f(axis.x(axis.t0 + tick)))\" y=\"\(f(y0 + SVGChart.panelHeight + 15))\" text-anchor=\"middle\" fill=\"#555\">\(SVGChart.tickLabel(tick))s</text>\n"
            tick += xStep
        }
        return svg
    }

    /// The series' path data, and where it ends (for its label). Gaps break it; a
    /// stepped series holds each value across its window.
    func path(_ s: Series, y0: Double, yMax: Double, _ axis: Axis) -> (String, (Double, Double)?) {
        var path = ""
        var end: (Double, Double)?
        var broken = true
        for (p, v) in zip(points, s.values) {
            if p.isGap { broken = true; continue }
            guard v.isFinite else { continue }
            let py = y0 + SVGChart.panelHeight * (1 - min(v / yMax, 1))
            if s.stepped {
                let (x1, x2) = (axis.x(p.start), axis.x(p.end))
                let move =
                    broken ? "M\(f(x1)),\(f(py))" : (end.map { f($0.0) } == f(x1) ? "" : "H\(f(x1)) ") + "V\(f(py))"
                path += (path.isEmpty ? "" : " ") + move + " H\(f(x2))"
                end = (x2, py)
            } else {
                let px = axis.x((p.start + p.end) / 2)
                path += (path.isEmpty ? "" : " ") + (broken ? "M" : "L") + "\(f(px)),\(f(py))"
                end = (px, py)
            }
            broken = false
        }
        return (path, end)
    }

    private func f(_ v: Double) -> String { Number.fixed(v, 1) }

    static func shorten(_ s: String) -> String { s.count > 22 ? String(s.prefix(10)) + "…" + String(s.suffix(11)) : s }

    public static func tickLabel(_ v: Double) -> String {
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

    public static func escape(_ s: String) -> String {
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
