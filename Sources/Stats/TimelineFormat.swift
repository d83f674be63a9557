import JSON
import Platform

/// The scaling timeline in each format: times are seconds after the load change
/// (after the rescale when no step in the offered rate was found).
extension ReportFormatter {
    public func timeline(_ t: ScalingTimeline) -> String {
        switch format {
        case .text: return timelineText(t)
        case .json:
            return t.rescales.map {
                String(decoding: timelineJSON($0).serialized(realPrecision: 16), as: UTF8.self) + "\n"
            }.joined()
        case .csv:
            let header =
                "rescale_at,direction,from,to,load_change,load_from,load_to,crossed_s,rescale_s,pods,pods_first_s,pods_last_s,serving_first_s,serving_last_s,p99_before_ms,p99_back_s"
            return "\n" + header + "\n" + t.rescales.map { timelineCells($0).joined(separator: ",") + "\n" }.joined()
        case .markdown:
            let header = [
                "rescale at", "change", "load step", "over/under target", "rescale", "pods", "pods ready or gone",
                "serving (first..last)", "p99 back",
            ]
            var out =
                "\n### Scaling timeline\n\nSeconds after the load change.\n\n| " + header.joined(separator: " | ")
                + " |\n|"
            out += header.map { _ in "---:" }.joined(separator: "|") + "|\n"
            for r in t.rescales {
                let c = summary(r)
                out +=
                    "| "
                    + [
                        clock(r.at), c.change, c.load, c.crossed, c.rescale, String(r.pods.count), c.second, c.served,
                        c.p99,
                    ].joined(separator: " | ") + " |\n"
            }
            return out
        }
    }

    /// Offsets from the rescale's base time, as text.
    struct TimelineSummary {
        var change = "", load = "-", crossed = "-", rescale = "-", second = "-", served = "-", p99 = "-"
    }

    func summary(_ r: ScalingTimeline.Rescale) -> TimelineSummary {
        let base = r.loadChange ?? r.at
        func off(_ t: Double?) -> String { t.map { (($0 - base) >= 0 ? "+" : "") + Number.fixed($0 - base, 1) } ?? "-" }
        func range(_ ts: [Double]) -> String {
            guard let lo = ts.min(), let hi = ts.max() else { return "-" }
            return lo == hi ? off(lo) : off(lo) + ".." + off(hi)
        }
        var s = TimelineSummary()
        s.change = "\(r.up ? "up" : "down") \(r.from.map(String.init) ?? "?")→\(r.to)"
        if let from = r.loadFrom, let to = r.loadTo, let at = r.loadChange {
            s.load = "\(Number.fixed(from, 1))→\(Number.fixed(to, 1)) req/s at \(clock(at))"
        }
        s.crossed = off(r.crossed)
        s.rescale = off(r.at)
        s.second = range(r.pods.compactMap(\.second))
        s.served = range(r.pods.compactMap(\.served))
        s.p99 = off(r.p99Back)
        return s
    }

    func timelineText(_ t: ScalingTimeline) -> String {
        var out = "\nScaling timeline (seconds after the load change)\n"
        if t.rescales.isEmpty { return out + "  no rescale in the input\n" }
        for r in t.rescales {
            let s = summary(r)
            out += "  " + pad(clock(r.at), 9) + pad(s.change, 11) + "load " + s.load + "\n"
            out += "  " + pad("", 20) + (r.up ? "over" : "under") + " target \(s.crossed)   rescale \(s.rescale)"
            if r.up { out += "   p99 back \(s.p99)" + (r.p99Before.map { " (under \(ms3($0)) ms)" } ?? "") }
            out += "\n"
            let base = r.loadChange ?? r.at
            func off(_ t: Double?) -> String { t.map { "+" + Number.fixed($0 - base, 1) } ?? "-" }
            for pod in r.pods {
                out += "  " + pad("", 20) + pad(pod.pod, 38)
                out +=
                    r.up
                    ? "created \(off(pod.first))  ready \(off(pod.second))  first served \(off(pod.served))\n"
                    : "terminating \(off(pod.first))  deleted \(off(pod.second))  last served \(off(pod.served))\n"
            }
        }
        return out
    }

    func timelineJSON(_ r: ScalingTimeline.Rescale) -> JSONObject {
        let o = JSONObject()
        let base = r.loadChange ?? r.at
        func t(_ v: Double?) -> JSONValue { v.map { .real($0) } ?? .null }
        func off(_ v: Double?) -> JSONValue { v.map { .real((($0 - base) * 1000).rounded() / 1000) } ?? .null }
        o.set("type", .string("rescale"))
        o.set("at", .real(r.at))
        o.set("direction", .string(r.up ? "up" : "down"))
        o.set("from", r.from.map { .integer($0) } ?? .null)
        o.set("to", .integer(r.to))
        o.set("load_change", t(r.loadChange))
        o.set("load_from", t(r.loadFrom))
        o.set("load_to", t(r.loadTo))
        o.set("crossed_s", off(r.crossed))
        o.set("rescale_s", off(r.at))
        o.set("p99_before_ms", t(r.p99Before))
        o.set("p99_back_s", off(r.p99Back))
        o.set(
            "pods",
            objects: r.pods.map { pod in
                let p = JSONObject()
                p.set("pod", .string(pod.pod))
                p.set(r.up ? "created_s" : "terminating_s", off(pod.first))
                p.set(r.up ? "ready_s" : "deleted_s", off(pod.second))
                p.set(r.up ? "first_served_s" : "last_served_s", off(pod.served))
                return p
            })
        return o
    }

    func timelineCells(_ r: ScalingTimeline.Rescale) -> [String] {
        let base = r.loadChange ?? r.at
        func off(_ v: Double?) -> String { v.map { Number.fixed($0 - base, 3) } ?? "" }
        func num(_ v: Double?, _ d: Int) -> String { v.map { Number.fixed($0, d) } ?? "" }
        let second = r.pods.compactMap(\.second), served = r.pods.compactMap(\.served)
        return [
            Number.fixed(r.at, 6), r.up ? "up" : "down", r.from.map(String.init) ?? "", String(r.to),
            num(r.loadChange, 6), num(r.loadFrom, 3), num(r.loadTo, 3), off(r.crossed), off(r.at), String(r.pods.count),
            off(second.min()), off(second.max()), off(served.min()), off(served.max()), num(r.p99Before, 3),
            off(r.p99Back),
        ]
    }
}
