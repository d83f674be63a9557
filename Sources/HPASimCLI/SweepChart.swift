import Platform
import Stats

/// A sweep as a chart: cost (replica-seconds) across, SLO misses up, one labelled point
/// per setting; the points nearest the bottom-left are the settings worth having.
struct SweepChart {
    let setting: String
    let rows: [SweepRow]
    let sloMs: Double

    func render() -> String {
        let width = 720.0, height = 440.0, left = 80.0, right = 30.0, top = 50.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let costs = rows.map(\.replicaSeconds), misses = rows.map { Double($0.sloMissSeconds) }
        let (x0, x1) = (costs.min() ?? 0, max(costs.max() ?? 1, (costs.min() ?? 0) + 1))
        let y1 = max(misses.max() ?? 1, 1)
        func x(_ v: Double) -> Double { left + plotW * (v - x0) / (x1 - x0) }
        func y(_ v: Double) -> Double { top + plotH * (1 - v / y1) }
        func f(_ v: Double) -> String { Number.fixed(v, 1) }
        let mid = f(top + plotH / 2)
        let yLabel =
            "<text x=\"20\" y=\"\(mid)\" transform=\"rotate(-90 20 \(mid))\" text-anchor=\"middle\" fill=\"#333\">seconds over the SLO (0–"
            + SVGChart.tickLabel(y1) + ")</text>"
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(left))" y="26" font-size="15" font-weight="bold">\(SVGChart.escape("Sweep of \(setting): cost against seconds with p99 over \(Number.fixed(sloMs, 0)) ms"))</text>
            <line x1="\(f(left))" y1="\(f(top + plotH))" x2="\(f(left + plotW))" y2="\(f(top + plotH))" stroke="#555"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(top + plotH))" stroke="#555"/>
            <text x="\(f(left + plotW / 2))" y="\(f(height - 18))" text-anchor="middle" fill="#333">replica-seconds (\(SVGChart.tickLabel(x0))–\(SVGChart.tickLabel(x1)))</text>
            \(yLabel)

            """
        let points = rows.map { (x($0.replicaSeconds), y(Double($0.sloMissSeconds)), $0.value) }
        svg +=
            "<path class=\"sweep\" d=\""
            + points.enumerated().map { i, p in (i == 0 ? "M" : "L") + "\(f(p.0)),\(f(p.1))" }.joined(separator: " ")
            + "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n"
        for (px, py, value) in points {
            svg += "<circle class=\"setting\" cx=\"\(f(px))\" cy=\"\(f(py))\" r=\"4\" fill=\"#1f77b4\"/>\n"
            svg +=
                "<text x=\"\(f(px + 6))\" y=\"\(f(py - 6))\" fill=\"#333\">\(SVGChart.escape("\(setting) \(SVGChart.tickLabel(value))"))</text>\n"
        }
        return svg + "</svg>\n"
    }
}
