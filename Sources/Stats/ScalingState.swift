import JSON

/// kube-watch's lines as infer-stats reads them (infer-records(5), "Scaling lines"):
/// a line with a `type` key is not a request record. The kinds it knows move the
/// scaling state; other types are counted and ignored, never malformed.
public struct ScalingLine: Sendable {
    public let ts: Double
    public let type: String
    let fields: JSONObject

    /// A scaling line, or nil when `bytes` is not a JSON object with a string
    /// `type` and a number `ts` (then it is just a malformed line).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard let object = try? JSONObject(parsing: bytes), case .string(let type) = object["type"],
              let ts = object["ts"].number else { return nil }
        self.ts = ts
        self.type = type
        fields = object
    }

    func int(_ key: String) -> Int? {
        if case .integer(let i) = fields[key] { return i }
        return nil
    }

    func string(_ key: String) -> String? {
        if case .string(let s) = fields[key] { return s }
        return nil
    }
}

/// Where scaling stands at a moment: the HPA's replicas and CPU against its target,
/// and the Deployment's ready replicas, as the latest lines said.
public struct ScalingState: Sendable, Equatable {
    public var desired: Int?
    public var current: Int?
    public var ready: Int?
    public var cpuPercent: Int?
    public var cpuTarget: Int?

    public init() {}

    /// Lines by type, and how many were of a type this version does not read.
    public private(set) var counts: [String: Int] = [:]
    public private(set) var unknown = 0

    public static let knownTypes: Set<String> = ["hpa", "deployment", "pod", "pod_metrics", "hpa_event", "watch_error"]

    public mutating func apply(_ line: ScalingLine) {
        guard Self.knownTypes.contains(line.type) else {
            unknown += 1
            return
        }
        counts[line.type, default: 0] += 1
        switch line.type {
        case "hpa":
            desired = line.int("desired_replicas") ?? desired
            current = line.int("current_replicas") ?? current
            cpuPercent = line.int("current_utilization_pct")
            cpuTarget = line.int("target_utilization_pct") ?? cpuTarget
        case "deployment":
            ready = line.int("ready") ?? ready
        default:
            break
        }
    }

    /// Any line seen at all.
    public var seen: Bool { !counts.isEmpty || unknown > 0 }

    /// "ready/desired", e.g. "3/6"; "-" for what is not known yet.
    public var replicasText: String { "\(ready.map(String.init) ?? "-")/\(desired.map(String.init) ?? "-")" }

    /// "87/60", CPU % against the target.
    public var cpuText: String { "\(cpuPercent.map(String.init) ?? "-")/\(cpuTarget.map(String.init) ?? "-")" }

    public static func == (a: ScalingState, b: ScalingState) -> Bool {
        a.desired == b.desired && a.current == b.current && a.ready == b.ready && a.cpuPercent == b.cpuPercent && a.cpuTarget == b.cpuTarget
    }
}
