/// Groups records into fixed windows by their scheduled time and hands each window
/// out once it is complete: when a record at least `lateness` seconds past the
/// window's end has been seen. Records arrive roughly in time order (a generator
/// writes them as responses complete), so a window is complete `lateness` after its
/// end; a record later than that still counts in the total and is counted as late.
/// Windows with no records between busy ones come out empty, so a stall shows; a run of
/// more than `longestEmptyRun` of them comes out as one gap window, so memory and time
/// never depend on how far apart two records are (clocks jump, files get concatenated).
/// Window latencies are kept to 2 significant digits (the total to 3): a window's
/// percentiles are read as it closes, and reading costs a scan of its buckets.
public struct Windows: Sendable {
    public let interval: Double
    public let lateness: Double
    private var open: [Int: Aggregate] = [:]
    /// No window can complete before a record at or past this time.
    private var nextCheck = Double.infinity
    /// Every window below this index has been handed out.
    private var nextIndex: Int?
    private var maxTs = -Double.infinity
    public private(set) var late = 0

    /// Windows only for the scaling timeline keep only what it reads (`addForTimeline`).
    public let timelineOnly: Bool

    public init(interval: Double, lateness: Double, timelineOnly: Bool = false) {
        precondition(interval > 0 && lateness >= 0)
        self.interval = interval
        self.lateness = lateness
        self.timelineOnly = timelineOnly
    }

    /// Empty windows in a row shown one by one; a longer run is one gap.
    public static let longestEmptyRun = 10

    public struct Window: Sendable {
        public let index: Int
        public let start: Double
        public let end: Double
        public let aggregate: Aggregate
        /// No records from `start` to `end`, which spans more than `longestEmptyRun` windows.
        public var isGap = false
    }

    /// Adds a record; returns false (and counts it) when its window was already handed out.
    public mutating func add(
        ts: Double, latencyMs: Double, serviceMs: Double?, status: Int, bytes: Int, errorID: Int?, podID: Int?
    ) -> Bool {
        let index = Int((ts / interval).rounded(.down))
        if let nextIndex, index < nextIndex {
            late += 1
            return false
        }
        if timelineOnly {
            open[index, default: Aggregate(significantDigits: 2)].addForTimeline(
                ts: ts, latencyMs: latencyMs, status: status, failed: errorID != nil)
        } else {
            open[index, default: Aggregate(significantDigits: 2)].add(
                ts: ts, latencyMs: latencyMs, serviceMs: serviceMs, status: status, bytes: bytes, errorID: errorID,
                podID: podID)
        }
        if ts > maxTs { maxTs = ts }
        nextCheck = min(nextCheck, Double(index + 1) * interval + lateness)
        return true
    }

    /// Adds a completion's tokens to the window of `ts` (after `add` took its record).
    public mutating func addTokens(ts: Double, ttftMs: Double?, itlMs: Double?, tokensIn: Int?, tokensOut: Int?) {
        guard !timelineOnly else { return }
        let index = Int((ts / interval).rounded(.down))
        open[index]?.addTokens(ttftMs: ttftMs, itlMs: itlMs, tokensIn: tokensIn, tokensOut: tokensOut, podID: nil)
    }

    /// Adds a prediction's requests (hpa-sim's `requests` line) to the window of `ts`.
    public mutating func addPredicted(
        ts: Double, seconds: Double, ok: Int, shed: Int, p50: Double, p90: Double, p99: Double
    ) -> Bool {
        let index = Int((ts / interval).rounded(.down))
        if let nextIndex, index < nextIndex {
            late += 1
            return false
        }
        open[index, default: Aggregate(significantDigits: 2)].addPredicted(
            ts: ts, end: ts + seconds, ok: ok, shed: shed, p50: p50, p90: p90, p99: p99)
        if ts > maxTs { maxTs = ts }
        nextCheck = min(nextCheck, Double(index + 1) * interval + lateness)
        return true
    }

    /// Windows now complete, in time order.
    public mutating func complete() -> [Window] {
        // Most records complete nothing: skip the scan until the watermark can pass a window end.
        guard maxTs >= nextCheck else { return [] }
        let watermark = maxTs - lateness
        let interval = self.interval
        let done = take { Double($0 + 1) * interval <= watermark }
        nextCheck = (open.keys.min().map { Double($0 + 1) * interval } ?? maxTs) + lateness
        return done
    }

    /// Every window still open, in time order (at the end of input).
    public mutating func flush() -> [Window] {
        take { _ in true }
    }

    private mutating func take(_ done: (Int) -> Bool) -> [Window] {
        guard let lowest = open.keys.min() else { return [] }
        var index = nextIndex ?? lowest
        guard let highest = open.keys.max() else { return [] }
        var out: [Window] = []
        let interval = self.interval
        while index <= highest, done(index) {
            if let aggregate = open.removeValue(forKey: index) {
                out.append(
                    Window(
                        index: index, start: Double(index) * interval, end: Double(index + 1) * interval,
                        aggregate: aggregate))
                index += 1
                continue
            }
            // Empty: every window below `index` is out, so the next busy one is the lowest open.
            let next = open.keys.min() ?? highest + 1
            if next - index > Windows.longestEmptyRun {
                guard done(next - 1) else { break }
                out.append(
                    Window(
                        index: index, start: Double(index) * interval, end: Double(next) * interval,
                        aggregate: Aggregate(significantDigits: 2), isGap: true))
                index = next
            } else {
                out.append(
                    Window(
                        index: index, start: Double(index) * interval, end: Double(index + 1) * interval,
                        aggregate: Aggregate(significantDigits: 2)))
                index += 1
            }
        }
        if !out.isEmpty { nextIndex = index }
        return out
    }
}
