/// Completions' token figures over a set of records (infer-load --api openai): time to
/// first token and the mean inter-token gap of each completion as distributions, and
/// the tokens in and out. Only records that carry them are counted here.
public struct TokenStats: Sendable {
    public private(set) var completions = 0
    public private(set) var ttft: LatencyStats
    /// Each streamed completion's mean gap between tokens.
    public private(set) var itl: LatencyStats
    public private(set) var tokensIn = 0
    public private(set) var tokensOut = 0

    public init(significantDigits: Int) {
        ttft = LatencyStats(significantDigits: significantDigits)
        itl = LatencyStats(significantDigits: significantDigits)
    }

    public mutating func add(ttftMs: Double?, itlMs: Double?, tokensIn: Int?, tokensOut: Int?) {
        completions += 1
        if let ttftMs { ttft.record(ttftMs) }
        if let itlMs { itl.record(itlMs) }
        self.tokensIn += tokensIn ?? 0
        self.tokensOut += tokensOut ?? 0
    }
}

/// What a report says of completions' tokens.
public struct TokenReport: Sendable, Equatable {
    public let completions: Int
    public let ttft: Report.Distribution
    public let itl: Report.Distribution
    public let tokensIn: Int
    public let tokensOut: Int
    /// Output tokens per second over the report's span.
    public let outputRate: Double

    init(_ stats: TokenStats, seconds: Double, percentiles: [Double]) {
        completions = stats.completions
        ttft = Report.distribution(stats.ttft, percentiles)
        itl = Report.distribution(stats.itl, percentiles)
        tokensIn = stats.tokensIn
        tokensOut = stats.tokensOut
        outputRate = seconds > 0 ? Double(stats.tokensOut) / seconds : 0
    }
}
