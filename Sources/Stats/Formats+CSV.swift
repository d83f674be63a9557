import Platform

/// CSV rows: one header, the same columns for windows, gaps and the total.
extension ReportFormatter {
    func csvHeader() -> String { csvColumns.joined(separator: ",") }

    /// The columns of every CSV row.
    var csvColumns: [String] {
        var cells = [
            "type", "start", "end", "requests", "successes", "failures", "rate", "throughput", "success_ratio",
        ]
        for prefix in ["latency", "service"] {
            cells += ["min", "mean", "stdev"].map { "\(prefix)_\($0)_ms" }
            cells += percentiles.map { "\(prefix)_\(Report.label($0))_ms" }
            cells.append("\(prefix)_max_ms")
        }
        cells += ["bytes", "errors", "pods"]
        if tokenColumns {
            for prefix in ["ttft", "itl"] {
                cells += ["\(prefix)_mean_ms"] + percentiles.map { "\(prefix)_\(Report.label($0))_ms" }
            }
            cells += ["tokens_in", "tokens_out", "output_tokens_per_s"]
        }
        if scalingColumns {
            cells += [
                "desired_replicas", "current_replicas", "ready_replicas", "cpu_utilization_pct", "cpu_target_pct",
            ]
        }
        return cells
    }

    func csvRow(_ type: String, _ r: Report) -> String {
        var cells = [
            type, Number.fixed(r.start, 6), Number.fixed(r.end, 6), String(r.requests), String(r.successes),
            String(r.failures),
            Number.fixed(r.rate, 3), Number.fixed(r.throughput, 3), Number.fixed(r.successRatio, 6),
        ]
        for d in [r.latency, r.service] {
            cells += [d.min, d.mean, d.stdev].map { Number.fixed($0, 3) }
            cells += d.percentiles.map { Number.fixed($0.ms, 3) }
            cells.append(Number.fixed(d.max, 3))
        }
        cells.append(String(r.bytes))
        cells.append(csvField(r.errors.map { "\($0.kind):\($0.count)" }.joined(separator: ";")))
        cells.append(csvField(r.pods.map { "\($0.name):\($0.requests)" }.joined(separator: ";")))
        if tokenColumns {
            for d in [r.tokens?.ttft, r.tokens?.itl] {
                guard let d, d.count > 0 else {
                    cells += [String](repeating: "", count: percentiles.count + 1)
                    continue
                }
                cells.append(Number.fixed(d.mean, 3))
                cells += percentiles.map { p in d.percentiles.first { $0.p == p }.map { Number.fixed($0.ms, 3) } ?? "" }
            }
            cells += [
                r.tokens.map { String($0.tokensIn) } ?? "", r.tokens.map { String($0.tokensOut) } ?? "",
                r.tokens.map { Number.fixed($0.outputRate, 3) } ?? "",
            ]
        }
        if scalingColumns {
            let state = r.scaling
            cells += [state?.desired, state?.current, state?.ready, state?.cpuPercent, state?.cpuTarget].map {
                $0.map(String.init) ?? ""
            }
        }
        return cells.joined(separator: ",")
    }

    func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n")
            ? "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : s
    }
}
