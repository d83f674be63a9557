import JSON
import Platform

/// The output formats of a report. Windows (with `--interval`) come out one row at a
/// time as they complete; the total comes last.
public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json, csv, markdown
}

/// What the total adds beside the figures: lines skipped, late records, a histogram.
public struct Extras: Sendable {
    public var skipped = 0
    public var late = 0
    public var histogram: [(upToMs: Double, count: Int)]?
    public init(skipped: Int = 0, late: Int = 0, histogram: [(upToMs: Double, count: Int)]? = nil) {
        self.skipped = skipped
        self.late = late
        self.histogram = histogram
    }
}

/// Renders reports in one format.
public struct ReportFormatter: Sendable {
    public let format: OutputFormat
    public let percentiles: [Double]
    /// Window rows (and a CSV total after them) carry the replicas and HPA CPU of
    /// kube-watch's lines: decided once, before the first row, so columns never shift.
    public var scalingColumns = false
    /// Window rows (and a CSV total) carry completions' TTFT, ITL and output tokens/s:
    /// decided the same way, when the records before the first row carried tokens.
    public var tokenColumns = false

    public init(format: OutputFormat, percentiles: [Double]) {
        self.format = format
        self.percentiles = percentiles
    }

    /// The three percentiles a text window row has room for: p50, p90 and p99 when
    /// asked for, then the others in order.
    public var rowPercentiles: [Double] {
        let preferred = [50.0, 90, 99].filter { percentiles.contains($0) }
        return Array((preferred + percentiles.filter { !preferred.contains($0) }).prefix(3)).sorted()
    }

    // MARK: Windows

    /// Printed once before the first window row; with `scalingColumns`, the replicas
    /// (ready/desired) and HPA CPU (current/target %) of kube-watch's lines too.
    public func windowHeader() -> String {
        switch format {
        case .text:
            var line = pad("window", 9) + padLeft("reqs", 7) + padLeft("rate/s", 9) + padLeft("ok%", 7)
            for p in rowPercentiles { line += padLeft(Report.label(p), 9) }
            line += padLeft("err", 6) + padLeft("pods", 5)
            if tokenColumns {
                line += padLeft("ttft50", 9) + padLeft("ttft99", 9) + padLeft("itl50", 8) + padLeft("tok/s", 8)
            }
            if scalingColumns { line += padLeft("replicas", 9) + padLeft("cpu%", 8) }
            return line + "\n"
        case .csv: return csvHeader() + "\n"
        case .markdown:
            let cells = markdownWindowColumns
            return "| " + cells.joined(separator: " | ") + " |\n|" + cells.map { _ in "---:" }.joined(separator: "|")
                + "|\n"
        case .json: return ""
        }
    }

    public func windowRow(_ r: Report) -> String {
        switch format {
        case .text:
            var line =
                pad(clock(r.start), 9) + padLeft(String(r.requests), 7) + padLeft(Number.fixed(r.rate, 1), 9)
                + padLeft(r.requests > 0 ? Number.fixed(r.successRatio * 100, 1) : "-", 7)
            for p in rowPercentiles {
                let ms = r.latency.percentiles.first { $0.p == p }?.ms
                line += padLeft(r.latency.count > 0 && ms != nil ? ms3(ms!) : "-", 9)
            }
            line += padLeft(String(r.failures), 6) + padLeft(String(r.pods.count), 5)
            if tokenColumns {
                let t = r.tokens
                line +=
                    padLeft(tokenCell(t?.ttft, 50), 9) + padLeft(tokenCell(t?.ttft, 99), 9)
                    + padLeft(tokenCell(t?.itl, 50), 8)
                    + padLeft(t.map { Number.fixed($0.outputRate, 1) } ?? "-", 8)
            }
            if scalingColumns, let state = r.scaling {
                line += padLeft(state.replicasText, 9) + padLeft(state.cpuText, 8)
            }
            return line + "\n"
        case .csv: return csvRow("window", r) + "\n"
        case .markdown:
            var cells = [
                clock(r.start), String(r.requests), Number.fixed(r.rate, 1),
                r.requests > 0 ? Number.fixed(r.successRatio * 100, 1) : "-",
            ]
            cells += r.latency.percentiles.map { r.latency.count > 0 ? ms3($0.ms) : "-" }
            cells += [String(r.failures), String(r.pods.count)]
            if tokenColumns {
                cells += [
                    tokenCell(r.tokens?.ttft, 50), tokenCell(r.tokens?.ttft, 99), tokenCell(r.tokens?.itl, 50),
                    r.tokens.map { Number.fixed($0.outputRate, 1) } ?? "-",
                ]
            }
            if scalingColumns { cells += [r.scaling?.replicasText ?? "-", r.scaling?.cpuText ?? "-"] }
            return "| " + cells.joined(separator: " | ") + " |\n"
        case .json:
            return String(decoding: json("window", r, nil).serialized(realPrecision: 15), as: UTF8.self) + "\n"
        }
    }

    /// A run of windows without records (see `Windows.longestEmptyRun`), in one row.
    public func gapRow(start: Double, end: Double) -> String {
        let note = "(no records for \(ReportFormatter.span(end - start)), until \(clock(end)))"
        switch format {
        case .text:
            return pad(clock(start), 9) + "  " + note + "\n"
        case .csv:
            let cells = ["gap", Number.fixed(start, 6), Number.fixed(end, 6), "0"]
            return (cells + [String](repeating: "", count: csvColumns.count - cells.count)).joined(separator: ",")
                + "\n"
        case .markdown:
            let cells = [clock(start), "0", note]
            return "| "
                + (cells + [String](repeating: "", count: markdownWindowColumns.count - cells.count)).joined(
                    separator: " | ") + " |\n"
        case .json:
            let o = JSONObject()
            o.set("type", .string("gap"))
            o.set("start", .real(start))
            o.set("end", .real(end))
            o.set("seconds", .real(end - start))
            o.set("requests", .integer(0))
            return String(decoding: o.serialized(realPrecision: 15), as: UTF8.self) + "\n"
        }
    }

    /// A length of time as a person reads it: "45 s", "12.5 min", "3.2 h", "16.7 days", "55.8 years".
    public static func span(_ seconds: Double) -> String {
        let units: [(Double, String, Int)] = [
            (365.25 * 86_400, "years", 1), (86_400, "days", 1), (3600, "h", 1), (60, "min", 1),
        ]
        for (size, name, decimals) in units where seconds >= 2 * size {
            return "\(Number.fixed(seconds / size, decimals)) \(name)"
        }
        return "\(Number.fixed(seconds, seconds < 10 ? 1 : 0)) s"
    }

    // MARK: Total

    public func total(_ r: Report, _ extras: Extras, windowsShown: Bool) -> String {
        switch format {
        case .text: return text(r, extras, windowsShown: windowsShown)
        case .json:
            return String(decoding: json("total", r, extras).serialized(realPrecision: 15), as: UTF8.self) + "\n"
        case .csv: return (windowsShown ? "" : csvHeader() + "\n") + csvRow("total", r) + "\n"
        case .markdown: return markdown(r, extras, windowsShown: windowsShown)
        }
    }

    private func text(_ r: Report, _ extras: Extras, windowsShown: Bool) -> String {
        var out = windowsShown ? "\n" : ""
        guard r.requests > 0 else {
            out += "No records" + (extras.skipped > 0 ? " (\(extras.skipped) malformed lines skipped)" : "") + ".\n"
            return out
        }
        let span = r.requests > 1 ? r.end - r.start : 0
        out += row(
            "Requests",
            "\(r.requests) over \(Number.fixed(span, 2)) s: \(Number.fixed(r.rate, 1)) req/s offered, \(Number.fixed(r.throughput, 1)) ok/s"
        )
        out += row("Success", "\(Number.fixed(r.successRatio * 100, 2))%  (\(r.successes) ok, \(r.failures) failed)")
        out += row(
            "Status", r.status.map { "\($0.code == 0 ? "none" : String($0.code)): \($0.count)" }.joined(separator: "  ")
        )
        if !r.errors.isEmpty {
            out += row("Errors", r.errors.map { "\($0.kind): \($0.count)" }.joined(separator: "  "))
        }
        out += distributionsText(r)
        if let t = r.tokens {
            out += row(
                "Tokens",
                "\(t.tokensIn) in, \(t.tokensOut) out over \(t.completions) completions: \(Number.fixed(t.outputRate, 1)) out/s"
            )
        }
        let answered = r.latency.count
        out += row(
            "Bytes",
            "\(r.bytes)" + (answered > 0 ? ", \(Number.fixed(Double(r.bytes) / Double(answered), 1)) per response" : "")
        )
        if !r.pods.isEmpty { out += podsText(r) }
        if let scaling = r.scalingTally {
            var text = scaling.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "  ")
            if scaling.unknown > 0 {
                text += (text.isEmpty ? "" : "; ") + "\(scaling.unknown) of types this version does not read, ignored"
            }
            out += row("Scaling", "kube-watch lines: " + text)
        }
        if extras.late > 0 {
            out += row("Late", "\(extras.late) records arrived after their window was printed (in the total only)")
        }
        if extras.skipped > 0 { out += row("Skipped", "\(extras.skipped) malformed lines") }
        if let histogram = extras.histogram, !histogram.isEmpty { out += histogramText(histogram) }
        return out
    }

    /// Latency, service time, tokens' and connects' distributions, two rows each.
    private func distributionsText(_ r: Report) -> String {
        var out = ""
        var distributions = [("Latency ms", r.latency), ("Service ms", r.service)]
        if let t = r.tokens { distributions += [("TTFT ms", t.ttft), ("ITL ms", t.itl)] }
        if let c = r.connect {
            out += row("Connects", "\(c.count) connections opened (connect_ms, the TLS handshake included)")
            distributions.append(("Connect ms", c))
        }
        for (title, d) in distributions where d.count > 0 {
            out += row(title, "min \(ms3(d.min))  mean \(ms3(d.mean))  stdev \(ms3(d.stdev))  max \(ms3(d.max))")
            out += row("", d.percentiles.map { "\(Report.label($0.p)) \(ms3($0.ms))" }.joined(separator: "  "))
        }
        return out
    }

    /// The text report's pod table and balance line.
    private func podsText(_ r: Report) -> String {
        let tokens = r.pods.contains { $0.tokens != nil }
        var out = row("Pods", "\(r.pods.count) (requests, share, ok" + (tokens ? ", TTFT p50 ms, out tok/s)" : ")"))
        for pod in r.pods {
            out +=
                "  " + pad(pod.name, 38) + padLeft(String(pod.requests), 9)
                + padLeft(Number.fixed(pod.share * 100, 1) + "%", 8) + padLeft(String(pod.successes), 9)
            if tokens {
                out +=
                    padLeft(tokenCell(pod.tokens?.ttft, 50), 10)
                    + padLeft(pod.tokens.map { Number.fixed($0.outputRate, 1) } ?? "-", 9)
            }
            out += "\n"
        }
        if let b = r.podBalance { out += row("Balance", balanceText(b, pods: r.pods.count)) }
        return out
    }

    /// `--histogram`: a bar per bucket, scaled to the fullest.
    private func histogramText(_ histogram: [(upToMs: Double, count: Int)]) -> String {
        var out = "\nLatency histogram (ms, at most)\n"
        let top = max(1, histogram.map(\.count).max() ?? 1)
        for (upTo, count) in histogram {
            let bar = String(repeating: "#", count: Int((Double(count) / Double(top) * 50).rounded()))
            out += padLeft(ms3(upTo), 11) + padLeft(String(count), 9) + " " + bar + "\n"
        }
        return out
    }

    private func markdown(_ r: Report, _ extras: Extras, windowsShown: Bool) -> String {
        var out = ""
        if windowsShown {
            var cells = [
                "**total**", String(r.requests), Number.fixed(r.rate, 1),
                r.requests > 0 ? Number.fixed(r.successRatio * 100, 1) : "-",
            ]
            cells += r.latency.percentiles.map { r.latency.count > 0 ? ms3($0.ms) : "-" }
            cells += [String(r.failures), String(r.pods.count)]
            out += "| " + cells.joined(separator: " | ") + " |\n\n"
        }
        guard r.requests > 0 else { return out + "No records.\n" }
        out += "| | |\n|---|---|\n"
        out +=
            "| requests | \(r.requests) |\n| rate | \(Number.fixed(r.rate, 1)) req/s |\n| throughput | \(Number.fixed(r.throughput, 1)) ok/s |\n"
        out += "| success | \(Number.fixed(r.successRatio * 100, 2)) % |\n"
        out += "| status | " + r.status.map { "\($0.code): \($0.count)" }.joined(separator: ", ") + " |\n"
        if !r.errors.isEmpty {
            out += "| errors | " + r.errors.map { "\($0.kind): \($0.count)" }.joined(separator: ", ") + " |\n"
        }
        if extras.skipped > 0 { out += "| skipped lines | \(extras.skipped) |\n" }
        out +=
            "\n| ms | min | mean | stdev | " + percentiles.map { Report.label($0) }.joined(separator: " | ")
            + " | max |\n"
        out += "|---|" + String(repeating: "---:|", count: percentiles.count + 4) + "\n"
        var distributions = [("latency", r.latency), ("service", r.service)]
        if let t = r.tokens { distributions += [("TTFT", t.ttft), ("ITL", t.itl)] }
        if let c = r.connect { distributions.append(("connect (\(c.count))", c)) }
        for (title, d) in distributions {
            out +=
                "| \(title) | \(ms3(d.min)) | \(ms3(d.mean)) | \(ms3(d.stdev)) | "
                + d.percentiles.map { ms3($0.ms) }.joined(separator: " | ") + " | \(ms3(d.max)) |\n"
        }
        if let t = r.tokens {
            out += "\n| tokens | in | out | out/s | completions |\n|---|---:|---:|---:|---:|\n"
            out += "| | \(t.tokensIn) | \(t.tokensOut) | \(Number.fixed(t.outputRate, 1)) | \(t.completions) |\n"
        }
        if !r.pods.isEmpty { out += podsMarkdown(r) }
        return out
    }

    /// The Markdown report's pod table and balance line.
    private func podsMarkdown(_ r: Report) -> String {
        var out = ""
        if r.pods.contains(where: { $0.tokens != nil }) {
            out += "\n| pod | requests | share | ok | TTFT p50 ms | out tok/s |\n|---|---:|---:|---:|---:|---:|\n"
            for pod in r.pods {
                out +=
                    "| \(pod.name) | \(pod.requests) | \(Number.fixed(pod.share * 100, 1)) % | \(pod.successes) | "
                    + "\(tokenCell(pod.tokens?.ttft, 50)) | \(pod.tokens.map { Number.fixed($0.outputRate, 1) } ?? "-") |\n"
            }
        } else {
            out += "\n| pod | requests | share | ok |\n|---|---:|---:|---:|\n"
            for pod in r.pods {
                out += "| \(pod.name) | \(pod.requests) | \(Number.fixed(pod.share * 100, 1)) % | \(pod.successes) |\n"
            }
        }
        if let b = r.podBalance { out += "\nBalance: \(balanceText(b, pods: r.pods.count))\n" }
        return out
    }

    // MARK: JSON

    /// Keys are stable and documented in infer-stats(1).
    func json(_ type: String, _ r: Report, _ extras: Extras?) -> JSONObject {
        let o = JSONObject()
        o.set("type", .string(type))
        o.set("start", .real(r.start))
        o.set("end", .real(r.end))
        o.set("requests", .integer(r.requests))
        o.set("successes", .integer(r.successes))
        o.set("failures", .integer(r.failures))
        o.set("rate", .real(round3(r.rate)))
        o.set("throughput", .real(round3(r.throughput)))
        o.set("success_ratio", .real((r.successRatio * 1e6).rounded() / 1e6))
        let status = JSONObject()
        for (code, count) in r.status { status.set(String(code), .integer(count)) }
        o.set("status", object: status)
        let errors = JSONObject()
        for (kind, count) in r.errors { errors.set(kind, .integer(count)) }
        o.set("errors", object: errors)
        o.set("latency_ms", object: json(r.latency))
        o.set("service_ms", object: json(r.service))
        o.set("bytes", .integer(r.bytes))
        if let t = r.tokens { setTokens(o, t) }
        if let c = r.connect { o.set("connect_ms", object: json(c)) }
        setScaling(o, type, r)
        o.set("pods", objects: r.pods.map(podJSON))
        if let extras { setExtras(o, extras) }
        return o
    }

    /// Balance across pods, and kube-watch's lines: their tally in a total, the state
    /// at a window's end in a window.
    private func setScaling(_ o: JSONObject, _ type: String, _ r: Report) {
        if let b = r.podBalance {
            let balance = JSONObject()
            balance.set("largest_vs_even", .real(round3(b.largest)))
            balance.set("smallest_vs_even", .real(round3(b.smallest)))
            balance.set("cv", .real(round3(b.cv)))
            o.set("pod_balance", object: balance)
        }
        if let state = r.scalingTally, type == "total" {
            let lines = JSONObject()
            for (kind, count) in state.counts { lines.set(kind, .integer(count)) }
            lines.set("unknown", .integer(state.unknown))
            o.set("scaling_lines", object: lines)
        }
        if let state = r.scaling, type == "window" {
            let scaling = JSONObject()
            for (key, value) in [
                ("desired_replicas", state.desired), ("current_replicas", state.current),
                ("ready_replicas", state.ready),
                ("cpu_utilization_pct", state.cpuPercent), ("cpu_target_pct", state.cpuTarget),
            ] {
                scaling.set(key, value.map { .integer($0) } ?? .null)
            }
            o.set("scaling", object: scaling)
        }
    }

    private func podJSON(_ pod: Report.Pod) -> JSONObject {
        let p = JSONObject()
        p.set("pod", .string(pod.name))
        p.set("requests", .integer(pod.requests))
        p.set("successes", .integer(pod.successes))
        p.set("share", .real((pod.share * 1e6).rounded() / 1e6))
        if let t = pod.tokens { setTokens(p, t) }
        return p
    }

    /// What only a total has: lines skipped or late, and --histogram's buckets.
    private func setExtras(_ o: JSONObject, _ extras: Extras) {
        o.set("skipped", .integer(extras.skipped))
        o.set("late", .integer(extras.late))
        if let histogram = extras.histogram {
            o.set(
                "histogram",
                objects: histogram.map { bucket in
                    let b = JSONObject()
                    b.set("le_ms", .real(round3(bucket.upToMs)))
                    b.set("count", .integer(bucket.count))
                    return b
                })
        }
    }

    /// A report's or a pod's token figures, as JSON keys.
    private func setTokens(_ o: JSONObject, _ t: TokenReport) {
        o.set("completions", .integer(t.completions))
        o.set("ttft_ms", object: json(t.ttft))
        o.set("itl_ms", object: json(t.itl))
        o.set("tokens_in", .integer(t.tokensIn))
        o.set("tokens_out", .integer(t.tokensOut))
        o.set("output_tokens_per_s", .real(round3(t.outputRate)))
    }

    private func json(_ d: Report.Distribution) -> JSONObject {
        let o = JSONObject()
        o.set("count", .integer(d.count))
        o.set("min", .real(round3(d.min)))
        o.set("mean", .real(round3(d.mean)))
        o.set("stdev", .real(round3(d.stdev)))
        for (p, ms) in d.percentiles { o.set(Report.label(p), .real(round3(ms))) }
        o.set("max", .real(round3(d.max)))
        return o
    }

    // MARK: Markdown

    /// The columns of a Markdown window row.
    var markdownWindowColumns: [String] {
        ["window (UTC)", "requests", "rate/s", "ok %"] + percentiles.map { Report.label($0) + " ms" } + [
            "errors", "pods",
        ]
            + (tokenColumns ? ["TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms", "out tok/s"] : [])
            + (scalingColumns ? ["replicas (ready/desired)", "HPA CPU % (current/target)"] : [])
    }

    // MARK: Helpers

    func row(_ title: String, _ value: String) -> String { pad(title, 13) + value + "\n" }
    func balanceText(_ b: Report.PodBalance, pods: Int) -> String {
        "largest share \(Number.fixed(b.largest, 2))× even, smallest \(Number.fixed(b.smallest, 2))×, CV \(Number.fixed(b.cv, 2)) over \(pods) pods"
    }

    /// A token distribution's percentile `p` for a cell ("-" when none).
    func tokenCell(_ d: Report.Distribution?, _ p: Double) -> String {
        guard let d, d.count > 0, let ms = d.percentiles.first(where: { $0.p == p })?.ms else { return "-" }
        return ms3(ms)
    }
    func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
    }
    func padLeft(_ s: String, _ n: Int) -> String {
        s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s
    }
    func ms3(_ v: Double) -> String { Number.fixed(v, v >= 100 ? 1 : (v >= 10 ? 2 : 3)) }
    func round3(_ v: Double) -> Double { v.isFinite ? (v * 1000).rounded() / 1000 : 0 }

    /// HH:MM:SS UTC of a Unix time.
    func clock(_ t: Double) -> String {
        let s = Int(t.rounded(.down)) % 86_400
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
        return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }
}
