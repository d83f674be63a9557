import Histogram

/// Running totals of a load run: what the end-of-run line and the live progress line
/// say. Latencies go into HdrHistograms (µs, 3 significant digits): constant memory
/// however long the run.
public struct LoadSummary: Sendable {
    public private(set) var scheduled = 0
    public private(set) var sent = 0
    public private(set) var ok = 0
    public private(set) var errors = 0
    public private(set) var overload = 0
    public private(set) var errorKinds: [String: Int] = [:]
    /// Connections opened (a connection policy's cost: `--reuse`, `--connections`).
    public private(set) var connectionsOpened = 0
    /// Scheduled → last byte, µs.
    public private(set) var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000)
    /// When the generator acted on a request − when it was due, µs: how late the
    /// generator itself was (a new connection's connect time is not in it).
    public private(set) var scheduleLag = Histogram<UInt64>(highestTrackableValue: 3_600_000_000)

    /// Seconds from the start to the last scheduled send plus one mean gap: the
    /// window over which the rate is measured.
    public var sendWindowSeconds: Double {
        scheduled > 1 ? lastDueSeconds * Double(scheduled) / Double(scheduled - 1) : lastDueSeconds
    }
    private var lastDueSeconds = 0.0

    public init() {}

    mutating func didSchedule(atSeconds t: Double) {
        scheduled += 1
        lastDueSeconds = t
    }

    mutating func didFire(lagNanos: UInt64) { scheduleLag.record(lagNanos / 1000) }

    mutating func didSend() { sent += 1 }

    mutating func didOpenConnection() { connectionsOpened += 1 }

    mutating func didFinish(success: Bool, error: String?, latencyNanos: UInt64) {
        if success { ok += 1 } else { errors += 1 }
        if let error {
            errorKinds[error, default: 0] += 1
            if error == "overload" { overload += 1 }
        }
        if error == nil { latency.record(latencyNanos / 1000) }
    }

    /// Latency percentile in milliseconds (responses only).
    public func latencyMs(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    public func lagMs(_ percentile: Double) -> Double {
        scheduleLag.totalCount == 0 ? 0 : Double(scheduleLag.valueAtPercentile(percentile)) / 1000
    }
}
