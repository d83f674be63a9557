import JSON
import Records

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

    /// Lines for an HPA object seen at `ts`: one when its status changed.
    public mutating func hpa(_ new: JSONObject?, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        let fields = HPAStatus(new).fields()
        let key = fields.serialized()
        guard lastHPA[new.name] != key else { return [] }
        lastHPA[new.name] = key
        return [ScalingLine.stamped(fields, "hpa", ts: ts)]
    }

    /// Lines for the scale target: one when its replica counts changed.
    public mutating func deployment(_ new: JSONObject?, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        // The API server leaves out counts that are zero.
        func count(_ path: String) -> Int { new.int("status", path) ?? 0 }
        let fields = ScalingLine.deploymentFields(
            name: new.name, specReplicas: new.int("spec", "replicas") ?? 1,
            replicas: count("replicas"), updated: count("updatedReplicas"),
            ready: count("readyReplicas"), available: count("availableReplicas"),
            terminating: count("terminatingReplicas"))
        let key = fields.serialized()
        guard lastDeployment[new.name] != key else { return [] }
        lastDeployment[new.name] = key
        return [ScalingLine.stamped(fields, "deployment", ts: ts)]
    }

    /// Lines for a pod: one per lifecycle stage it reached since last seen (created,
    /// scheduled, started, ready, terminating), unready when Ready turned False, and
    /// deleted when it went (`new` nil).
    public mutating func pod(old: JSONObject?, new: JSONObject?, initial: Bool, ts: Double) -> [JSONObject] {
        guard let new else {
            guard let old, podStages.removeValue(forKey: old.name) != nil else { return [] }
            return [ScalingLine.pod(old.name, event: "deleted", at: nil, ts: ts)]
        }
        let reached = PodStages(new)
        let before = podStages[new.name] ?? []
        var lines: [JSONObject] = []
        for (stage, at) in reached.stages where !before.contains(stage) {
            let line = ScalingLine.pod(new.name, event: stage, at: at, ts: ts, initial: initial)
            if stage == "scheduled", let node = new.string("spec", "nodeName") { line.set("node", .string(node)) }
            lines.append(line)
        }
        var now = Set(reached.stages.map(\.stage))
        if before.contains("ready") && !now.contains("ready") {
            lines.append(
                ScalingLine.pod(new.name, event: "unready", at: reached.readyChanged, ts: ts, initial: initial))
        }
        now.formUnion(before.subtracting(["ready"]))  // a stage once reached stays reached, but Ready can come again
        podStages[new.name] = now
        return lines
    }

    /// Lines for a PodMetrics list: one per pod with a sample newer than the last.
    public mutating func podMetrics(_ items: [JSONObject], ts: Double) -> [JSONObject] {
        var lines: [JSONObject] = []
        for item in items {
            guard let sample = item.string("timestamp").flatMap(KubeValues.time), sample > lastSample[item.name] ?? -1
            else { continue }
            lastSample[item.name] = sample
            let containers = item.objects("containers")
            let cpu = containers.compactMap { $0.string("usage", "cpu").flatMap(KubeValues.quantity) }.reduce(0, +)
            let memory = containers.compactMap { $0.string("usage", "memory").flatMap(KubeValues.quantity) }.reduce(
                0, +)
            lines.append(
                ScalingLine.podMetrics(
                    pod: item.name, sampleTs: sample, windowSeconds: item.string("window").flatMap(Self.seconds),
                    cpuMillicores: (cpu * 1e6).rounded() / 1e3, memoryBytes: Int(memory), ts: ts))
        }
        return lines
    }

    /// Lines for an Event about the HPA: one when it is new, or when a reused Event
    /// object's count or last time moved (the API server counts repeats in place).
    /// Events from the first list are history, not news: they are only remembered.
    public mutating func event(_ new: JSONObject?, initial: Bool, ts: Double) -> [JSONObject] {
        guard let new else { return [] }
        let uid = new.string("metadata", "uid") ?? new.name
        let key = Array(
            "\(new.int("count") ?? 0) \(new.string("lastTimestamp") ?? "") \(new.string("message") ?? "")".utf8)
        guard lastEvent[uid] != key else { return [] }
        lastEvent[uid] = key
        guard !initial else { return [] }
        let message = new.string("message") ?? ""
        let line = ScalingLine.hpaEvent(
            name: new.string("involvedObject", "name") ?? "", reason: new.string("reason") ?? "",
            eventType: new.string("type") ?? "", message: message, newSize: Self.newSize(message), ts: ts)
        if let count = new.int("count") { line.set("count", .integer(count)) }
        if let last = new.string("lastTimestamp").flatMap(KubeValues.time) { line.set("at", .real(last)) }
        return [line]
    }

    /// A line saying a watch or poll of `what` failed and is being retried, so a gap
    /// in the other lines is visible as one.
    public static func problem(_ what: String, _ message: String, ts: Double) -> JSONObject {
        let line = ScalingLine.object("watch_error", ts: ts)
        line.set("watch", .string(what))
        line.set("message", .string(message))
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
