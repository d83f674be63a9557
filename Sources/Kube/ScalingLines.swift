import JSON

/// kube-watch's lines (infer-records(5), "Scaling lines"): what the autoscaler, the
/// Deployment, its pods and the metrics API did, one JSON object per change, each
/// with `ts` (when we saw it, Unix seconds, infer-load's clock) and a `type`. Holds
/// what was last said about each object, so a watch event that changes nothing the
/// lines carry (the HPA is rewritten every 15 s) says nothing, and a relist after a
/// dropped watch repeats nothing.
public struct ScalingLines {
    private var lastHPA: [String: [UInt8]] = [:]
    private var lastDeployment: [String: [UInt8]] = [:]
    private var podStages: [String: Set<String>] = [:]
    private var lastSample: [String: Double] = [:]
    private var lastEvent: [String: [UInt8]] = [:]

    public init() {}

    /// A line of `type` at `ts`, the caller's fields to follow.
    static func line(_ type: String, ts: Double) -> JSONObject {
        let line = JSONObject()
        line.set("ts", .real(ts))
        line.set("type", .string(type))
        return line
    }

    /// Lines for an HPA object seen at `ts`: one when its status changed.
    public mutating func hpa(_ new: JSONObject?, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        let fields = HPAStatus(new).fields()
        let key = fields.serialized()
        guard lastHPA[new.name] != key else { return [] }
        lastHPA[new.name] = key
        return [Self.stamped(fields, "hpa", ts: ts)]
    }

    /// Lines for the scale target: one when its replica counts changed.
    public mutating func deployment(_ new: JSONObject?, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        let fields = JSONObject()
        fields.set("name", .string(new.name))
        fields.set("spec_replicas", .integer(new.int("spec", "replicas") ?? 1))
        // The API server leaves out counts that are zero.
        for (key, path) in [("replicas", "replicas"), ("updated", "updatedReplicas"), ("ready", "readyReplicas"),
                            ("available", "availableReplicas"), ("terminating", "terminatingReplicas")] {
            fields.set(key, .integer(new.int("status", path) ?? 0))
        }
        let key = fields.serialized()
        guard lastDeployment[new.name] != key else { return [] }
        lastDeployment[new.name] = key
        return [Self.stamped(fields, "deployment", ts: ts)]
    }

    /// Lines for a pod: one per lifecycle stage it reached since last seen (created,
    /// scheduled, started, ready, terminating), unready when Ready turned False, and
    /// deleted when it went (`new` nil).
    public mutating func pod(old: JSONObject?, new: JSONObject?, initial: Bool, ts: Double) -> [JSONObject] {
        guard let new else {
            guard let old, podStages.removeValue(forKey: old.name) != nil else { return [] }
            return [PodStages.line(pod: old.name, stage: "deleted", at: nil, ts: ts, initial: false)]
        }
        let reached = PodStages(new)
        let before = podStages[new.name] ?? []
        var lines: [JSONObject] = []
        for (stage, at) in reached.stages where !before.contains(stage) {
            let line = PodStages.line(pod: new.name, stage: stage, at: at, ts: ts, initial: initial)
            if stage == "scheduled", let node = new.string("spec", "nodeName") { line.set("node", .string(node)) }
            lines.append(line)
        }
        var now = Set(reached.stages.map(\.stage))
        if before.contains("ready") && !now.contains("ready") {
            lines.append(PodStages.line(pod: new.name, stage: "unready", at: reached.readyChanged, ts: ts, initial: initial))
        }
        now.formUnion(before.subtracting(["ready"]))  // a stage once reached stays reached, but Ready can come again
        podStages[new.name] = now
        return lines
    }

    /// Lines for a PodMetrics list: one per pod with a sample newer than the last.
    public mutating func podMetrics(_ items: [JSONObject], ts: Double) -> [JSONObject] {
        var lines: [JSONObject] = []
        for item in items {
            guard let sample = item.string("timestamp").flatMap(KubeValues.time), sample > lastSample[item.name] ?? -1 else { continue }
            lastSample[item.name] = sample
            let line = Self.line("pod_metrics", ts: ts)
            line.set("pod", .string(item.name))
            line.set("sample_ts", .real(sample))
            if let window = item.string("window").flatMap(Self.seconds) { line.set("window_s", .real(window)) }
            let containers = item.objects("containers")
            let cpu = containers.compactMap { $0.string("usage", "cpu").flatMap(KubeValues.quantity) }.reduce(0, +)
            let memory = containers.compactMap { $0.string("usage", "memory").flatMap(KubeValues.quantity) }.reduce(0, +)
            line.set("cpu_millicores", .real((cpu * 1e6).rounded() / 1e3))
            line.set("memory_bytes", .integer(Int(memory)))
            lines.append(line)
        }
        return lines
    }

    /// Lines for an Event about the HPA: one when it is new, or when a reused Event
    /// object's count or last time moved (the API server counts repeats in place).
    /// Events from the first list are history, not news: they are only remembered.
    public mutating func event(_ new: JSONObject?, initial: Bool, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        let uid = new.string("metadata", "uid") ?? new.name
        let key = Array("\(new.int("count") ?? 0) \(new.string("lastTimestamp") ?? "") \(new.string("message") ?? "")".utf8)
        guard lastEvent[uid] != key else { return [] }
        lastEvent[uid] = key
        guard !initial else { return [] }
        let line = Self.line("hpa_event", ts: ts)
        line.set("name", .string(new.string("involvedObject", "name") ?? ""))
        line.set("reason", .string(new.string("reason") ?? ""))
        line.set("event_type", .string(new.string("type") ?? ""))
        let message = new.string("message") ?? ""
        line.set("message", .string(message))
        if let size = Self.newSize(message) { line.set("new_size", .integer(size)) }
        if let count = new.int("count") { line.set("count", .integer(count)) }
        if let last = new.string("lastTimestamp").flatMap(KubeValues.time) { line.set("at", .real(last)) }
        return [line]
    }

    /// A line saying a watch or poll of `what` failed and is being retried, so a gap
    /// in the other lines is visible as one.
    public static func problem(_ what: String, _ message: String, ts: Double) -> JSONObject {
        let line = line("watch_error", ts: ts)
        line.set("watch", .string(what))
        line.set("message", .string(message))
        return line
    }

    static func stamped(_ fields: JSONObject, _ type: String, ts: Double) -> JSONObject {
        let line = Self.line(type, ts: ts)
        for key in fields.keys { line.copy(key, from: fields) }
        return line
    }

    /// "15s", "14.997s" → seconds.
    static func seconds(_ text: String) -> Double? {
        guard text.hasSuffix("s") else { return Double(text) }
        return Double(text.dropLast())
    }

    /// The size in a SuccessfulRescale message, "New size: 3; reason: ...".
    static func newSize(_ message: String) -> Int? {
        let marker = "New size: "
        guard message.hasPrefix(marker) else { return nil }
        return Int(message.dropFirst(marker.count).prefix { $0.isNumber })
    }
}
