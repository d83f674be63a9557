import Foundation
import JSON
@testable import Kube
import Testing

/// kube-watch's lines from the objects a real v1.36 cluster served (Fixtures/, from
/// ../shared/fixtures/kube-api and the recorded real run).
@Suite struct ScalingLinesTests {
    static func object(_ name: String) throws -> JSONObject {
        try JSONObject(parsing: Array(WaiterTests.fixture(name).utf8))
    }

    /// The object with `edit` applied to its Foundation form.
    static func edited(_ object: JSONObject, _ edit: (inout [String: Any]) -> Void) throws -> JSONObject {
        var tree = try #require(try JSONSerialization.jsonObject(with: Data(object.serialized())) as? [String: Any])
        edit(&tree)
        return try JSONObject(parsing: Array(try JSONSerialization.data(withJSONObject: tree)))
    }

    static func text(_ lines: [JSONObject]) -> [String] {
        lines.map { String(decoding: $0.serialized(realPrecision: 16), as: UTF8.self) }
    }

    @Test func quantitiesAndTimes() {
        #expect(KubeValues.quantity("179165741n") == 0.179165741)
        #expect(KubeValues.quantity("172909u")! == 0.172909)
        #expect(KubeValues.quantity("174m") == 0.174)
        #expect(KubeValues.quantity("2") == 2)
        #expect(KubeValues.quantity("3668Ki") == 3_756_032)
        #expect(KubeValues.quantity("1.5Gi") == 1_610_612_736)
        #expect(KubeValues.quantity("lots") == nil)
        #expect(KubeValues.time("2026-11-30T00:41:23Z") == 1_795_999_283)
        #expect(KubeValues.time("2026-11-30T00:41:23.250000Z") == 1_795_999_283.25)
        #expect(KubeValues.time("yesterday") == nil)
    }

    @Test func anHPAStatusBecomesOneLineAndARewriteWithoutChangeNone() throws {
        var lines = ScalingLines()
        let limited = try Self.object("hpa-scaling-limited.json")
        let first = lines.hpa(limited, ts: 100)
        #expect(first.count == 1)
        let line = try #require(first.first)
        #expect(line["type"] == .string("hpa"))
        #expect(line["ts"] == .real(100))
        #expect(line["desired_replicas"] == .integer(10))
        #expect(line["current_replicas"] == .integer(10))
        #expect(line["min_replicas"] == .integer(1))
        #expect(line["max_replicas"] == .integer(10))
        #expect(line["current_utilization_pct"] == .integer(103))
        #expect(line["target_utilization_pct"] == .integer(60))
        #expect(line["scaling_limited"] == .bool(true))
        #expect(line["scaling_limited_reason"] == .string("TooManyReplicas"))
        #expect(line["able_to_scale_reason"] == .string("ReadyForNewScale"))
        #expect(line["last_scale_time"] == .real(KubeValues.time("2026-11-30T00:48:54Z")!))
        // Every metric as flat keys: lines are objects of scalars, as records are.
        #expect(line["metric_cpu_current_utilization_pct"] == .integer(103))
        #expect(line["metric_cpu_current_value"] == .string("206m"))
        #expect(line["metric_cpu_target_utilization_pct"] == .integer(60))
        #expect(line.keys.allSatisfy { line[$0] != .nested }, "nothing nested: \(line.keys)")
        // The controller rewrites the HPA every 15 s; the same status says nothing.
        #expect(lines.hpa(limited, ts: 115).isEmpty)
        let calmer = try Self.edited(limited) { tree in
            var status = tree["status"] as! [String: Any]
            status["currentMetrics"] = [
                [
                    "type": "Resource",
                    "resource": ["name": "cpu", "current": ["averageUtilization": 58, "averageValue": "116m"]],
                ]
            ]
            tree["status"] = status
        }
        let next = lines.hpa(calmer, ts: 130)
        #expect(next.count == 1 && next.first?["current_utilization_pct"] == .integer(58))
    }

    @Test func anHPAWithoutMetricsSaysWhy() throws {
        var lines = ScalingLines()
        let line = try #require(lines.hpa(try Self.object("hpa-no-metrics.json"), ts: 1).first)
        #expect(line["scaling_active"] == .bool(false))
        #expect(line["scaling_active_reason"] == .string("FailedGetResourceMetric"))
        guard case .string(let message) = line["scaling_active_message"] else { Issue.record("no message"); return }
        #expect(message.contains("metrics"))
        #expect(line["current_utilization_pct"] == .missing, "no metric yet is no number, not 0")
    }

    @Test func aPodsLifeIsOneLinePerStageNeverTwice() throws {
        var lines = ScalingLines()
        let ready = try #require(try Self.object("pods-ready.json").objects("items").first)
        let pending = try Self.edited(ready) { tree in tree["status"] = ["phase": "Pending"] }
        let name = ready.string("metadata", "name")!
        let created = lines.pod(old: nil, new: pending, initial: false, ts: 10)
        #expect(created.map { $0["event"] } == [.string("created")])
        #expect(created.first?["pod"] == .string(name))
        #expect(created.first?["at"] == .real(KubeValues.time(ready.string("metadata", "creationTimestamp")!)!))
        let up = lines.pod(old: pending, new: ready, initial: false, ts: 12)
        #expect(up.map { $0["event"] } == [.string("scheduled"), .string("started"), .string("ready")])
        #expect(lines.pod(old: ready, new: ready, initial: false, ts: 13).isEmpty, "a MODIFIED that changes nothing")
        let unready = try Self.edited(ready) { tree in
            var status = tree["status"] as! [String: Any]
            status["conditions"] = (status["conditions"] as! [[String: Any]]).map { c in
                var c = c
                if c["type"] as? String == "Ready" { c["status"] = "False" }
                return c
            }
            tree["status"] = status
        }
        #expect(lines.pod(old: ready, new: unready, initial: false, ts: 14).map { $0["event"] } == [.string("unready")])
        #expect(lines.pod(old: unready, new: ready, initial: false, ts: 15).map { $0["event"] } == [.string("ready")])
        #expect(lines.pod(old: ready, new: nil, initial: false, ts: 16).map { $0["event"] } == [.string("deleted")])
        #expect(lines.pod(old: ready, new: nil, initial: false, ts: 17).isEmpty, "deleted once")
    }

    @Test func anUnschedulablePodSaysSo() throws {
        var lines = ScalingLines()
        let pod = try #require(try Self.object("pods-unschedulable.json").objects("items").first)
        #expect(
            lines.pod(old: nil, new: pod, initial: true, ts: 1).map { $0["event"] } == [
                .string("created"), .string("unschedulable"),
            ])
    }

    @Test func podMetricsOncePerSample() throws {
        var lines = ScalingLines()
        let items = try Self.object("podmetrics-list.json").objects("items")
        let first = lines.podMetrics(items, ts: 50)
        #expect(first.count == items.count)
        let line = try #require(first.first)
        #expect(line["pod"] == .string("dev-inference-sim-64db788756-522jv"))
        #expect(line["cpu_millicores"] == .real(39.291))
        #expect(line["memory_bytes"] == .integer(3736 * 1024))
        #expect(line["window_s"] == .real(15))
        #expect(line["sample_ts"] == .real(KubeValues.time("2026-11-30T00:42:47Z")!))
        #expect(lines.podMetrics(items, ts: 52).isEmpty, "the same sample read again is not news")
    }

    @Test func anEventIsNewsOnceAndAgainWhenTheServerCountsARepeat() throws {
        var lines = ScalingLines()
        let event = try Self.object("event-rescale.json")
        #expect(lines.event(event, initial: true, ts: 1).isEmpty, "events from the first list are history")
        let repeated = try Self.edited(event) { tree in
            tree["count"] = 2
            tree["lastTimestamp"] = "2026-11-30T00:46:54Z"
            tree["message"] = "New size: 6; reason: cpu resource utilization (percentage of request) above target"
        }
        let line = try #require(lines.event(repeated, initial: false, ts: 2).first)
        #expect(line["type"] == .string("hpa_event"))
        #expect(line["reason"] == .string("SuccessfulRescale"))
        #expect(line["new_size"] == .integer(6))
        #expect(line["count"] == .integer(2))
        #expect(line["name"] == .string("dev-inference-sim"))
        #expect(lines.event(repeated, initial: false, ts: 3).isEmpty)
    }
}
