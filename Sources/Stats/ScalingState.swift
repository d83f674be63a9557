import Records

/// Where scaling stands at a moment: the HPA's replicas and CPU against its target,
/// and the Deployment's ready replicas, as the latest lines said. Five numbers, so
/// keeping one per line (for the state at any window's end) costs no allocation.
public struct ScalingState: Sendable, Equatable {
    public var desired: Int?
    public var current: Int?
    public var ready: Int?
    public var cpuPercent: Int?
    public var cpuTarget: Int?

    public init() {}

    public mutating func apply(_ line: ScalingLine) {
        switch line.type {
        case "hpa":
            desired = line.desiredReplicas ?? desired
            current = line.currentReplicas ?? current
            cpuPercent = line.cpuPercent
            cpuTarget = line.cpuTarget ?? cpuTarget
        case "deployment":
            ready = line.ready ?? ready
        default:
            break
        }
    }

    /// "ready/desired", e.g. "3/6"; "-" for what is not known yet.
    public var replicasText: String { "\(ready.map(String.init) ?? "-")/\(desired.map(String.init) ?? "-")" }

    /// "87/60", CPU % against the target.
    public var cpuText: String { "\(cpuPercent.map(String.init) ?? "-")/\(cpuTarget.map(String.init) ?? "-")" }
}

/// How many scaling lines of each type the input had, and of types this version does
/// not read (counted and ignored, never malformed).
public struct ScalingTally: Sendable, Equatable {
    public private(set) var counts: [String: Int] = [:]
    public private(set) var unknown = 0

    public static let knownTypes: Set<String> = [
        "hpa", "deployment", "pod", "pod_metrics", "hpa_event", "watch_error", "requests",
    ]

    public init() {}

    /// Counts the line; false when its type is unknown.
    public mutating func add(_ line: ScalingLine) -> Bool {
        guard Self.knownTypes.contains(line.type) else {
            unknown += 1
            return false
        }
        counts[line.type, default: 0] += 1
        return true
    }

    /// Any line seen at all.
    public var seen: Bool { !counts.isEmpty || unknown > 0 }
}
