/// Everything a report says about a set of records, accumulated one record at a
/// time in memory that does not grow with the count (two histograms, counters, and
/// a counter per distinct pod, status and error kind).
public struct Aggregate: Sendable {
    public private(set) var requests = 0
    public private(set) var successes = 0
    public private(set) var firstTs = Double.infinity
    public private(set) var lastTs = -Double.infinity
    /// Latency of answered requests (no error), from the scheduled send time.
    public private(set) var latency: LatencyStats
    /// Service time of answered requests, from the actual send.
    public private(set) var service: LatencyStats
    public private(set) var bytes = 0
    /// Requests by HTTP status (index = status, 0 = no response).
    public private(set) var statusCounts = [Int](repeating: 0, count: 1000)
    /// Requests by error kind id (see `Interner`).
    public private(set) var errorCounts: [Int] = []
    /// Requests by pod id; requests without a pod are not counted here.
    public private(set) var podCounts: [Int] = []
    public private(set) var podSuccesses: [Int] = []
    /// Completions' tokens, once a record carries them; per pod too, in a total.
    public private(set) var tokens: TokenStats?
    public private(set) var podTokens: [TokenStats?] = []
    /// Connect times (infer-load's `connect_ms`, on each connection's first request), once a record carries one.
    public private(set) var connect: LatencyStats?
    private let digits: Int
    private let tokensPerPod: Bool

    /// `significantDigits` of the latency histograms: 3 for a total, 2 for a window.
    public init(significantDigits: Int = 3, tokensPerPod: Bool = false) {
        digits = significantDigits
        self.tokensPerPod = tokensPerPod
        latency = LatencyStats(significantDigits: significantDigits)
        service = LatencyStats(significantDigits: significantDigits)
    }

    /// Adds a prediction's requests over a span (hpa-sim's `requests` lines): `ok`
    /// answered 200 at the latencies `quantiles` give (half at p50, 40 % at p90, 9 % at
    /// p99 less a little, 1 % at p99), `shed` answered 503 at once.
    public mutating func addPredicted(
        ts: Double, end: Double, ok: Int, shed: Int, p50: Double, p90: Double, p99: Double
    ) {
        guard ok + shed > 0 else { return }
        requests += ok + shed
        successes += ok
        if ts < firstTs { firstTs = ts }
        if end > lastTs { lastTs = end }
        statusCounts[200] += ok
        statusCounts[503] += shed
        let p90Share = ok * 4 / 10, p99Share = ok / 100
        let p50Share = ok - p90Share - p99Share - ok * 9 / 100
        latency.record(p50, count: p50Share)
        latency.record(p90, count: p90Share)
        latency.record(max(p90, p99 * 0.97), count: ok * 9 / 100)
        latency.record(p99, count: p99Share)
        latency.record(1, count: shed)
    }

    /// Adds only what the scaling timeline reads of a window (count, span, successes,
    /// latency): windows nobody prints need no more.
    @inline(__always)
    public mutating func addForTimeline(ts: Double, latencyMs: Double, status: Int, failed: Bool) {
        requests += 1
        if ts < firstTs { firstTs = ts }
        if ts > lastTs { lastTs = ts }
        if failed { return }
        if status >= 200 && status < 400 { successes += 1 }
        latency.record(latencyMs)
    }

    /// Adds one record. `errorID`/`podID` come from the caller's interners (nil: none).
    public mutating func add(
        ts: Double, latencyMs: Double, serviceMs: Double?, status: Int, bytes: Int, errorID: Int?, podID: Int?
    ) {
        requests += 1
        if ts < firstTs { firstTs = ts }
        if ts > lastTs { lastTs = ts }
        let ok = errorID == nil && status >= 200 && status < 400
        if ok { successes += 1 }
        if errorID == nil {
            latency.record(latencyMs)
            if let serviceMs { service.record(serviceMs) }
        }
        self.bytes += bytes
        statusCounts[status] += 1
        if let errorID {
            if errorID >= errorCounts.count {
                errorCounts += [Int](repeating: 0, count: errorID + 1 - errorCounts.count)
            }
            errorCounts[errorID] += 1
        }
        if let podID {
            if podID >= podCounts.count {
                podCounts += [Int](repeating: 0, count: podID + 1 - podCounts.count)
                podSuccesses += [Int](repeating: 0, count: podID + 1 - podSuccesses.count)
            }
            podCounts[podID] += 1
            if ok { podSuccesses[podID] += 1 }
        }
    }

    /// Adds a connection's connect time (after `add` of its record).
    public mutating func addConnect(_ ms: Double) {
        if connect == nil { connect = LatencyStats(significantDigits: digits) }
        connect!.record(ms)
    }

    /// Adds a completion's token figures (after `add` of its record).
    public mutating func addTokens(ttftMs: Double?, itlMs: Double?, tokensIn: Int?, tokensOut: Int?, podID: Int?) {
        if tokens == nil { tokens = TokenStats(significantDigits: digits) }
        tokens!.add(ttftMs: ttftMs, itlMs: itlMs, tokensIn: tokensIn, tokensOut: tokensOut)
        guard tokensPerPod, let podID else { return }
        if podID >= podTokens.count { podTokens += [TokenStats?](repeating: nil, count: podID + 1 - podTokens.count) }
        if podTokens[podID] == nil { podTokens[podID] = TokenStats(significantDigits: 2) }
        podTokens[podID]!.add(ttftMs: ttftMs, itlMs: itlMs, tokensIn: tokensIn, tokensOut: tokensOut)
    }

    public var failures: Int { requests - successes }

    /// Seconds from the first to the last scheduled time (0 for one record).
    public var spanSeconds: Double { requests > 0 ? max(0, lastTs - firstTs) : 0 }
}
