import HPASim
import JSON
@testable import Kube
import Testing

/// hpa-sim writes what kube-watch writes: for each kind of line, the prediction's keys
/// are the real line's (from the objects a v1.36 cluster served), so infer-stats, jq and
/// charts read a prediction and a run alike.
@Suite struct PredictionLinesTests {
    static func predicted() -> [String: JSONObject] {
        var sim = Simulator(config: SimConfig(), start: 1_796_000_000, seconds: 400) { t in t < 200 ? 40 : 0 }
        var first: [String: JSONObject] = [:]
        sim.run { line in
            guard case .string(let type) = line["type"] else { return }
            // The first of each kind, and for the HPA the first with a CPU reading.
            if type == "hpa", line["current_utilization_pct"] == .null { return }
            if type == "pod", line["event"] != .string("ready") || line["initial"] == .bool(true) { return }
            if first[type] == nil { first[type] = line }
        }
        return first
    }

    @Test func theKeysAreKubeWatchs() throws {
        let predicted = Self.predicted()
        var lines = ScalingLines()
        let real: [String: JSONObject] = try [
            "hpa": #require(lines.hpa(ScalingLinesTests.object("hpa-scaling-limited.json"), ts: 1).first),
            "deployment": #require(lines.deployment(ScalingLinesTests.object("deployment-complete.json"), ts: 1).first),
            "pod_metrics": #require(
                lines.podMetrics(ScalingLinesTests.object("podmetrics-list.json").objects("items"), ts: 1).first),
            "hpa_event": #require(
                lines.event(ScalingLinesTests.object("event-rescale.json"), initial: false, ts: 1).first),
            "pod": #require(
                lines.pod(
                    old: nil, new: ScalingLinesTests.object("pods-ready.json").objects("items").first, initial: false,
                    ts: 1
                )
                .first { $0["event"] == .string("ready") }),
        ]
        // What a simulation has no value for: the metric's raw quantity and why scaling
        // is inactive (it always has metrics), memory, an Event's repeat count and time.
        let notModelled: [String: Set<String>] = [
            "hpa": ["metric_cpu_current_value", "scaling_active_message"],
            "pod_metrics": ["memory_bytes"], "hpa_event": ["count", "at"],
        ]
        for (type, line) in real {
            let sim = try #require(predicted[type], "hpa-sim wrote no \(type) line")
            let missing = Set(line.keys).subtracting(sim.keys).subtracting(notModelled[type] ?? [])
            #expect(missing.isEmpty, "\(type): hpa-sim lacks \(missing.sorted())")
            let extra = Set(sim.keys).subtracting(line.keys)
            #expect(extra.isEmpty, "\(type): hpa-sim adds \(extra.sorted())")
        }
    }
}
