import JSON
import Records

/// What kube-watch says about an HorizontalPodAutoscaler (autoscaling/v2): replicas,
/// each metric against its target, the three conditions, the last scale time.
struct HPAStatus {
    let hpa: JSONObject

    init(_ hpa: JSONObject) { self.hpa = hpa }

    /// The line's fields (no `ts` or `type`), also what decides if anything changed.
    func fields() -> JSONObject {
        let f = ScalingLine.hpaFields(
            name: hpa.name, desired: hpa.int("status", "desiredReplicas"),
            current: hpa.int("status", "currentReplicas") ?? 0,
            min: hpa.int("spec", "minReplicas") ?? 1, max: hpa.int("spec", "maxReplicas") ?? 0)
        let metrics = self.metrics()
        if let cpu = metrics.first(where: { $0.string("name") == "cpu" }) {
            f.copy("current_utilization_pct", from: cpu)
            f.copy("target_utilization_pct", from: cpu)
        }
        // Flat, as every line the tools exchange is: metric_<name>_<field> for each metric.
        for metric in metrics {
            guard case .string(let name) = metric["name"] else { continue }
            let prefix = "metric_" + Self.keyPart(name) + "_"
            for key in metric.keys where key != "name" { f.copy(key, from: metric, as: prefix + key) }
        }
        for (type, key) in [
            ("AbleToScale", "able_to_scale"), ("ScalingActive", "scaling_active"),
            ("ScalingLimited", "scaling_limited"),
        ] {
            guard let condition = hpa.condition(type) else { continue }
            let status = condition.string("status") == "True"
            ScalingLine.setCondition(f, key, status: status, reason: condition.string("reason") ?? "")
            // Why scaling is not active is the one message worth a line (metrics missing).
            if type == "ScalingActive" && !status {
                f.set(key + "_message", .string(condition.string("message") ?? ""))
            }
        }
        f.set(
            "last_scale_time", hpa.string("status", "lastScaleTime").flatMap(KubeValues.time).map { .real($0) } ?? .null
        )
        return f
    }

    /// Each metric of the spec with its current value from the status (joined on type
    /// and name); status entries of type "" (no metrics yet) are skipped.
    func metrics() -> [JSONObject] {
        let current = hpa.object("status")?.objects("currentMetrics") ?? []
        return (hpa.object("spec")?.objects("metrics") ?? []).map { spec in
            let type = spec.string("type") ?? ""
            let source = Self.sourceKey(type)
            let name = spec.string(source, "name") ?? spec.string(source, "metric", "name") ?? type
            let metric = JSONObject()
            metric.set("name", .string(name))
            metric.set("source", .string(type))
            if let pct = spec.int(source, "target", "averageUtilization") {
                metric.set("target_utilization_pct", .integer(pct))
            }
            if let value = spec.string(source, "target", "averageValue") ?? spec.string(source, "target", "value") {
                metric.set("target_value", .string(value))
            }
            let now = current.first {
                $0.string("type") == type
                    && ($0.string(source, "name") ?? $0.string(source, "metric", "name") ?? type) == name
            }
            if let now {
                if let pct = now.int(source, "current", "averageUtilization") {
                    metric.set("current_utilization_pct", .integer(pct))
                }
                if let value = now.string(source, "current", "averageValue") ?? now.string(source, "current", "value") {
                    metric.set("current_value", .string(value))
                }
            }
            return metric
        }
    }

    /// A metric name as part of a key: "cpu" stays, "packets/s" becomes "packets_s".
    static func keyPart(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// "Resource" → "resource", "ContainerResource" → "containerResource", as the API nests them.
    static func sourceKey(_ type: String) -> String {
        guard let first = type.first else { return type }
        return first.lowercased() + type.dropFirst()
    }
}

/// The lifecycle stages a pod has reached, with when the API server says each was
/// reached (whole seconds): created, scheduled (or unschedulable), started, ready,
/// terminating.
struct PodStages {
    var stages: [(stage: String, at: Double?)] = []
    /// When Ready last changed, for an unready line.
    var readyChanged: Double?

    init(_ pod: JSONObject) {
        let time = { (text: String?) in text.flatMap(KubeValues.time) }
        stages.append(("created", time(pod.string("metadata", "creationTimestamp"))))
        if let scheduled = pod.condition("PodScheduled") {
            if scheduled.string("status") == "True" {
                stages.append(("scheduled", time(scheduled.string("lastTransitionTime"))))
            } else if scheduled.string("reason") == "Unschedulable" {
                stages.append(("unschedulable", time(scheduled.string("lastTransitionTime"))))
            }
        }
        let containers = pod.object("status")?.objects("containerStatuses") ?? []
        if !containers.isEmpty, containers.allSatisfy({ $0.object("state")?.object("running") != nil }) {
            stages.append(("started", containers.compactMap { time($0.string("state", "running", "startedAt")) }.max()))
        }
        if let ready = pod.condition("Ready") {
            readyChanged = time(ready.string("lastTransitionTime"))
            if ready.string("status") == "True" { stages.append(("ready", readyChanged)) }
        }
        // deletionTimestamp is when the grace period ends; it began that long before.
        if let deletion = time(pod.string("metadata", "deletionTimestamp")) {
            stages.append(("terminating", deletion - Double(pod.int("metadata", "deletionGracePeriodSeconds") ?? 0)))
        }
    }
}
