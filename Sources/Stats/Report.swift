import Platform
/// A finished summary of a set of records (a window or the whole input), with the
/// derived figures every output format prints.
public struct Report: Sendable {
    public struct Distribution: Sendable, Equatable {
        public let count: Int
        public let min, mean, stdev, max: Double
        /// (percentile, value in ms), in the order asked for.
        public let percentiles: [(p: Double, ms: Double)]

        public static func == (a: Distribution, b: Distribution) -> Bool {
            a.count == b.count && a.min == b.min && a.mean == b.mean && a.stdev == b.stdev && a.max == b.max
                && a.percentiles.map(\.p) == b.percentiles.map(\.p)
                && a.percentiles.map(\.ms) == b.percentiles.map(\.ms)
        }
    }

    public struct Pod: Sendable, Equatable {
        public let name: String
        public let requests: Int
        public let successes: Int
        /// Share of the requests that named a pod.
        public let share: Double
        /// Its completions' tokens (the total's pods, when records carry them).
        public var tokens: TokenReport?
    }

    /// Window bounds (Unix s); for the total, the first and last scheduled times.
    public let start: Double
    public let end: Double
    public let requests: Int
    public let successes: Int
    /// Requests per second offered (scheduled) in the span.
    public let rate: Double
    /// Successes per second.
    public let throughput: Double
    public let successRatio: Double
    public let status: [(code: Int, count: Int)]
    public let errors: [(kind: String, count: Int)]
    public let latency: Distribution
    public let service: Distribution
    public let bytes: Int
    public let pods: [Pod]
    /// Where scaling stood, when the input had kube-watch's lines; the total also counts them.
    public let scaling: ScalingState?
    public let scalingTally: ScalingTally?
    /// Completions' tokens, when the records carry them.
    public let tokens: TokenReport?
    /// How evenly the pods shared the requests, with two or more pods.
    public let podBalance: PodBalance?
    /// Connections' connect times (each connection's first record), when records carry them.
    public let connect: Distribution?

    /// The pods' shares against an even split: the largest and the smallest share as a
    /// multiple of 1/pods, and the coefficient of variation of their request counts. A
    /// Service balances connections, not requests: this says what a client's connection
    /// policy made of that. Only pods that served a request are counted.
    public struct PodBalance: Sendable, Equatable {
        public let largest: Double
        public let smallest: Double
        public let cv: Double

        init?(_ counts: [Int]) {
            guard counts.count >= 2 else { return nil }
            let n = Double(counts.count), total = Double(counts.reduce(0, +))
            guard total > 0 else { return nil }
            let mean = total / n
            largest = Double(counts.max()!) / mean
            smallest = Double(counts.min()!) / mean
            cv = (counts.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / n).squareRoot() / mean
        }
    }

    public var failures: Int { requests - successes }

    /// The report of `aggregate`. `window` gives the bounds and length the rate is
    /// measured over; nil (the total) measures from the first to the last record,
    /// plus one mean gap, as infer-load measures its achieved rate.
    /// `servicePercentiles: false` skips the service-time percentiles (text and
    /// markdown window rows do not show them).
    /// `rateSeconds` overrides the window's length for rates (a partly covered window).
    public init(
        _ aggregate: Aggregate, window: (start: Double, end: Double)?, rateSeconds: Double? = nil,
        percentiles: [Double],
        errorNames: [String], podNames: [String], servicePercentiles: Bool = true, scaling: ScalingState? = nil,
        scalingTally: ScalingTally? = nil
    ) {
        self.scaling = scaling
        self.scalingTally = scalingTally
        requests = aggregate.requests
        successes = aggregate.successes
        let seconds: Double
        if let window {
            start = window.start
            end = window.end
            seconds = rateSeconds ?? (window.end - window.start)
        } else {
            start = aggregate.requests > 0 ? aggregate.firstTs : 0
            end = aggregate.requests > 0 ? aggregate.lastTs : 0
            let n = Double(aggregate.requests)
            seconds = n > 1 ? aggregate.spanSeconds * n / (n - 1) : 0
        }
        rate = seconds > 0 ? Double(requests) / seconds : 0
        throughput = seconds > 0 ? Double(successes) / seconds : 0
        successRatio = requests > 0 ? Double(successes) / Double(requests) : 0
        status = aggregate.statusCounts.enumerated().filter { $0.element > 0 }.map {
            (code: $0.offset, count: $0.element)
        }
        errors = aggregate.errorCounts.enumerated().filter { $0.element > 0 }
            .map { (kind: errorNames[$0.offset], count: $0.element) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.kind < $1.kind }
        latency = Report.distribution(aggregate.latency, percentiles)
        service = Report.distribution(aggregate.service, servicePercentiles ? percentiles : [])
        bytes = aggregate.bytes
        let named = aggregate.podCounts.reduce(0, +)
        tokens = aggregate.tokens.map { TokenReport($0, seconds: seconds, percentiles: percentiles) }
        let tokenPercentiles = percentiles.filter { $0 == 50 || $0 == 99 }
        pods = aggregate.podCounts.enumerated().filter { $0.element > 0 }.map {
            let podTokens = $0.offset < aggregate.podTokens.count ? aggregate.podTokens[$0.offset] : nil
            return Pod(
                name: podNames[$0.offset], requests: $0.element, successes: aggregate.podSuccesses[$0.offset],
                share: named > 0 ? Double($0.element) / Double(named) : 0,
                tokens: podTokens.map { TokenReport($0, seconds: seconds, percentiles: tokenPercentiles) })
        }.sorted { $0.requests != $1.requests ? $0.requests > $1.requests : $0.name < $1.name }
        podBalance = PodBalance(pods.map(\.requests))
        connect = aggregate.connect.map { Report.distribution($0, percentiles) }
    }

    static func distribution(_ stats: LatencyStats, _ percentiles: [Double]) -> Distribution {
        guard stats.count > 0 else {
            return Distribution(count: 0, min: 0, mean: 0, stdev: 0, max: 0, percentiles: percentiles.map { ($0, 0) })
        }
        let values = stats.percentiles(percentiles)
        return Distribution(
            count: stats.count, min: stats.minMs, mean: stats.meanMs, stdev: stats.stdevMs, max: stats.maxMs,
            percentiles: zip(percentiles, values).map { ($0, $1) })
    }

    /// "p99.9" for 99.9, "p50" for 50.
    public static func label(_ p: Double) -> String { "p" + Number.trimmed(p) }
}
