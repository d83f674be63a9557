#if canImport(Glibc)
import Glibc
#endif
import Histogram

/// One latency distribution in constant memory: an HdrHistogram in microseconds
/// (3 significant digits) for percentiles, and exact count, min, max, mean and
/// standard deviation (Welford) beside it.
public struct LatencyStats: Sendable {
    public private(set) var count = 0
    public private(set) var minMs = Double.infinity
    public private(set) var maxMs = -Double.infinity
    private var mean = 0.0
    private var m2 = 0.0
    private var histogram: Histogram<UInt64>

    /// `digits`: 3 for a total; windows use 2, since every window's percentiles are
    /// read once and the histogram library's scan is linear in its buckets.
    public init(significantDigits digits: Int = 3) {
        histogram = Histogram<UInt64>(
            highestTrackableValue: LatencyStats.highestMicros,
            numberOfSignificantValueDigits: digits == 2 ? .two : .three)
    }

    /// One hour, in µs: anything slower is recorded as this.
    static let highestMicros: UInt64 = 3_600_000_000

    public mutating func record(_ ms: Double) {
        count += 1
        if ms < minMs { minMs = ms }
        if ms > maxMs { maxMs = ms }
        let delta = ms - mean
        mean += delta / Double(count)
        m2 += delta * (ms - mean)
        // Clamp before converting: anything slower than an hour is recorded as an hour.
        let micros = UInt64(min(max(ms, 0) * 1000 + 0.5, Double(LatencyStats.highestMicros)))
        _ = histogram.record(micros)
    }

    /// `n` requests at `ms` each (a prediction's share of a quantile), in one step.
    public mutating func record(_ ms: Double, count n: Int) {
        guard n > 0 else { return }
        if ms < minMs { minMs = ms }
        if ms > maxMs { maxMs = ms }
        // Welford for n equal values: the mean moves by n/total of the gap.
        let total = count + n
        let delta = ms - mean
        mean += delta * Double(n) / Double(total)
        m2 += delta * delta * Double(count) * Double(n) / Double(total)
        count = total
        let micros = UInt64(min(max(ms, 0) * 1000 + 0.5, Double(LatencyStats.highestMicros)))
        _ = histogram.record(micros, count: UInt64(n))
    }

    public var meanMs: Double { count > 0 ? mean : 0 }

    /// Population standard deviation.
    public var stdevMs: Double { count > 1 ? (m2 / Double(count)).squareRoot() : 0 }

    /// The value at percentile `p` (0–100), in ms, within 3 significant digits and
    /// never outside the exact min and max.
    public func percentile(_ p: Double) -> Double { percentiles([p])[0] }

    /// Several percentiles, in the order asked for.
    public func percentiles(_ ps: [Double]) -> [Double] {
        guard count > 0 else { return ps.map { _ in 0 } }
        return ps.map { p in
            let v = Double(histogram.valueAtPercentile(p)) / 1000
            return Swift.min(Swift.max(v, minMs), maxMs)
        }
    }

    /// Counts per bucket for a text histogram: `buckets` ranges between min and max on
    /// a log scale (latency spreads over orders of magnitude).
    public func buckets(_ n: Int) -> [(upToMs: Double, count: Int)] {
        guard count > 0, n > 0 else { return [] }
        let lo = Swift.max(minMs, 0.001), hi = Swift.max(maxMs, lo * 1.0001)
        let ratio = hi / lo
        var bounds: [Double] = (1...n).map { lo * pow(ratio, Double($0) / Double(n)) }
        bounds[n - 1] = hi
        var result: [(Double, Int)] = []
        var below = 0
        for bound in bounds {
            let upTo = UInt64(bound * 1000 + 0.5)
            let atOrBelow = Int(histogram.count(within: 0...upTo))
            result.append((bound, Swift.max(0, atOrBelow - below)))
            below = Swift.max(below, atOrBelow)
        }
        // Whatever the histogram's rounding left above the last bound belongs to it.
        if below < count, !result.isEmpty { result[result.count - 1].1 += count - below }
        return result
    }
}
