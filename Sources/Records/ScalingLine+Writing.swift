import JSON

/// Writing kube-watch's lines (infer-records(5), "Scaling lines"): the one place their
/// keys are spelled, for kube-watch, which reads them off the API, and hpa-sim, which
/// predicts them — so a prediction and a run are the same lines.
extension ScalingLine {
    /// A line of `type` at `ts` (Unix seconds), its fields to follow.
    public static func object(_ type: String, ts: Double) -> JSONObject {
        let line = JSONObject()
        line.set("ts", .real(ts))
        line.set("type", .string(type))
        return line
    }

    /// `fields` as a line of `type` at `ts`.
    public static func stamped(_ fields: JSONObject, _ type: String, ts: Double) -> JSONObject {
        let line = object(type, ts: ts)
        for key in fields.keys { line.copy(key, from: fields) }
        return line
    }

    /// A pod reaching a stage of its life (`created` … `deleted`) at `at`, per the API.
    public static func pod(_ pod: String, event: String, at: Double?, ts: Double, initial: Bool = false) -> JSONObject {
        let line = object("pod", ts: ts)
        line.set("pod", .string(pod))
        line.set("event", .string(event))
        line.set("at", at.map { .real($0) } ?? .null)
        if initial { line.set("initial", .bool(true)) }
        return line
    }

    /// The scale target's replica counts (the fields; kube-watch compares them before
    /// stamping a line).
    public static func deploymentFields(
        name: String, specReplicas: Int, replicas: Int, updated: Int, ready: Int,
        available: Int, terminating: Int
    ) -> JSONObject {
        let fields = JSONObject()
        fields.set("name", .string(name))
        fields.set("spec_replicas", .integer(specReplicas))
        for (key, value) in [
            ("replicas", replicas), ("updated", updated), ("ready", ready), ("available", available),
            ("terminating", terminating),
        ] {
            fields.set(key, .integer(value))
        }
        return fields
    }

    /// The HPA's replica counts and bounds (the fields; the metrics and conditions follow
    /// with `setCPU` and `setCondition`).
    public static func hpaFields(name: String, desired: Int?, current: Int, min: Int, max: Int) -> JSONObject {
        let fields = JSONObject()
        fields.set("name", .string(name))
        // desiredReplicas 0 before the first metrics means "not known yet": null.
        fields.set("desired_replicas", desired.map { .integer($0) } ?? .null)
        fields.set("current_replicas", .integer(current))
        fields.set("min_replicas", .integer(min))
        fields.set("max_replicas", .integer(max))
        return fields
    }

    /// The CPU metric, as `current/target_utilization_pct` and as the flat
    /// `metric_cpu_*` keys every metric gets.
    public static func setCPU(_ fields: JSONObject, current: Int?, target: Int) {
        fields.set("current_utilization_pct", current.map { .integer($0) } ?? .null)
        fields.set("target_utilization_pct", .integer(target))
        fields.set("metric_cpu_source", .string("Resource"))
        fields.set("metric_cpu_target_utilization_pct", .integer(target))
        if let current { fields.set("metric_cpu_current_utilization_pct", .integer(current)) }
    }

    /// One of the HPA's conditions: `key` (`able_to_scale`, `scaling_active`,
    /// `scaling_limited`), its status and reason.
    public static func setCondition(_ fields: JSONObject, _ key: String, status: Bool, reason: String) {
        fields.set(key, .bool(status))
        fields.set(key + "_reason", .string(reason))
    }

    /// An Event about the HPA (`SuccessfulRescale` with its `new_size`).
    public static func hpaEvent(
        name: String, reason: String, eventType: String, message: String, newSize: Int?,
        ts: Double
    ) -> JSONObject {
        let line = object("hpa_event", ts: ts)
        line.set("name", .string(name))
        line.set("reason", .string(reason))
        line.set("event_type", .string(eventType))
        line.set("message", .string(message))
        if let newSize { line.set("new_size", .integer(newSize)) }
        return line
    }

    /// A pod's CPU (and memory) sample from the metrics API, taken at `sampleTs` over
    /// `windowSeconds`.
    public static func podMetrics(
        pod: String, sampleTs: Double, windowSeconds: Double?, cpuMillicores: Double,
        memoryBytes: Int?, ts: Double
    ) -> JSONObject {
        let line = object("pod_metrics", ts: ts)
        line.set("pod", .string(pod))
        line.set("sample_ts", .real(sampleTs))
        if let windowSeconds { line.set("window_s", .real(windowSeconds)) }
        line.set("cpu_millicores", .real(cpuMillicores))
        if let memoryBytes { line.set("memory_bytes", .integer(memoryBytes)) }
        return line
    }
}
