import Records

/// Reads decoded records into a total, optional windows and the per-window series a
/// chart needs; counts and keeps the first few malformed lines. The caller feeds
/// lines and prints; this never does I/O.
public struct StatsEngine: Sendable {
    public let percentiles: [Double]
    public private(set) var total = Aggregate(tokensPerPod: true)
    public private(set) var windows: Windows?
    /// One row per finished window, for the SVG chart (kept only when asked).
    public private(set) var series: [SeriesPoint] = []
    private let keepSeries: Bool
    public private(set) var errors = Interner()
    public private(set) var pods = Interner()
    public private(set) var malformed = 0
    /// What kube-watch's lines said so far, and how many there were.
    public private(set) var scaling = ScalingState()
    public private(set) var scalingTally = ScalingTally()
    /// The first malformed lines: where, and why.
    public private(set) var malformedSamples: [(source: String, line: Int, reason: String)] = []
    public static let sampleLimit = 5

    /// A window's figures for the chart.
    public struct SeriesPoint: Sendable {
        public let start: Double
        public let end: Double
        public let requests: Int
        public let successes: Int
        public let p50: Double, p90: Double, p99: Double
        /// (pod id, requests)
        public let pods: [(id: Int, requests: Int)]
        /// (error id, count)
        public let errors: [(id: Int, count: Int)]
        /// No records from `start` to `end`: a chart breaks its lines here.
        public var isGap = false
        /// Completions' TTFT p50 and p99 and ITL p50 (ms; NaN without), when records carry tokens.
        public var ttftP50 = Double.nan, ttftP99 = Double.nan, itlP50 = Double.nan
    }

    /// For the scaling timeline: each window's rate and p99, the rescales, the HPA's
    /// CPU over time, each pod's lifecycle, and each pod's first and last request served.
    public private(set) var timelinePoints: [ScalingTimeline.Point] = []
    private var rescaleEvents: [(ts: Double, size: Int)] = []
    private var hpaHistory: [(ts: Double, cpu: Int?, target: Int?, desired: Int?)] = []
    private var podLogs: [String: ScalingPodLog] = [:]
    /// By pod id: when it first served, and when it last did once it began terminating.
    private var podServed: [PodServed] = []
    struct PodServed {
        var first = Double.nan
        var last = Double.nan
        /// Set by its `terminating` line: from then on each request it serves moves `last`.
        var trackLast = false
    }
    private let lateness: Double
    private var trackServed = false

    public init(percentiles: [Double], interval: Double?, lateness: Double, keepSeries: Bool) {
        self.percentiles = percentiles
        self.lateness = lateness
        self.windows = interval.map { Windows(interval: $0, lateness: lateness) }
        self.keepSeries = keepSeries
    }

    /// Adds the record `decoder` holds; returns windows completed by it. `inout` only so
    /// a decoder stored in a class is read in place: passed by value, it was copied (its
    /// buffers retained and released) once per record.
    public mutating func add(_ decoder: inout RecordDecoder) -> [Windows.Window] {
        let errorID = decoder.string(.error).map { errors.id($0) }
        let podID = decoder.string(.pod).map { pods.id($0) }
        let ts = decoder.value(.ts), latencyMs = decoder.value(.latencyMs), serviceMs = decoder.number(.serviceMs)
        let status = decoder.integer(.status) ?? 0, bytes = decoder.integer(.bytes) ?? 0
        total.add(
            ts: ts, latencyMs: latencyMs, serviceMs: serviceMs, status: status, bytes: bytes, errorID: errorID,
            podID: podID)
        if let connectMs = decoder.number(.connectMs) { total.addConnect(connectMs) }
        let tokens = decoder.hasAny(of: .completion)
        if tokens {
            total.addTokens(
                ttftMs: decoder.number(.ttftMs), itlMs: decoder.number(.itlMs),
                tokensIn: decoder.integer(.tokensIn), tokensOut: decoder.integer(.tokensOut), podID: podID)
        }
        // Who served when, for the timeline: only once kube-watch's lines have begun.
        if trackServed, let podID { served(podID, &decoder) }
        guard windows != nil else { return [] }
        if windows!.add(
            ts: ts, latencyMs: latencyMs, serviceMs: serviceMs, status: status, bytes: bytes,
            errorID: errorID, podID: podID), tokens
        {
            windows!.addTokens(
                ts: ts, ttftMs: decoder.number(.ttftMs), itlMs: decoder.number(.itlMs),
                tokensIn: decoder.integer(.tokensIn), tokensOut: decoder.integer(.tokensOut))
        }
        return record(windows!.complete())
    }

    /// The scaling state after each line, for the state at a window's end: a window
    /// is printed up to --late after it ends, and lines keep coming meanwhile.
    private var scalingHistory: [(ts: Double, state: ScalingState)] = []

    /// Per record once scaling lines began: a read, and a write only for a pod's first
    /// request or a terminating pod's (so the record path stays as fast as without them).
    @inline(__always)
    private mutating func served(_ podID: Int, _ decoder: inout RecordDecoder) {
        if podID >= podServed.count { podServed += repeatElement(PodServed(), count: podID + 1 - podServed.count) }
        let known = podServed[podID]
        let status = decoder.integer(.status) ?? 0
        guard known.first.isNaN || known.trackLast, status >= 200, status < 300 else { return }
        let t = decoder.value(.ts) + decoder.value(.latencyMs) / 1000
        if known.first.isNaN { podServed[podID].first = t }
        if known.trackLast { podServed[podID].last = t }
    }

    /// Adds a scaling line; returns the windows a prediction's requests completed.
    @discardableResult
    public mutating func addScaling(_ line: ScalingLine) -> [Windows.Window] {
        // The timeline needs windows: 10 s ones when --interval gave none (not printed).
        if windows == nil {
            windows = Windows(interval: 10, lateness: lateness, timelineOnly: true)
        }
        trackServed = true
        guard scalingTally.add(line) else { return [] }
        if line.type == "requests" {
            addPredicted(line)
            return windows.map { _ in record(windows!.complete()) } ?? []
        }
        keepForTimeline(line)
        scaling.apply(line)
        // Only changes are kept: most lines (pods, metrics, events) leave the state as it was.
        guard scalingHistory.last?.state != scaling else { return [] }
        if let last = scalingHistory.last, last.ts == line.ts {
            scalingHistory[scalingHistory.count - 1].state = scaling
        } else {
            scalingHistory.append((line.ts, scaling))
        }
        return []
    }

    private mutating func keepForTimeline(_ line: ScalingLine) {
        switch line.type {
        case "hpa":
            hpaHistory.append((line.ts, line.cpuPercent, line.cpuTarget, line.desiredReplicas))
        case "hpa_event":
            if line.reason == "SuccessfulRescale", let size = line.newSize { rescaleEvents.append((line.ts, size)) }
        case "pod":
            guard let pod = line.pod, let event = line.event, !line.initial else { return }
            var log = podLogs[pod] ?? ScalingPodLog()
            switch event {
            case "created": log.created = log.created ?? line.ts
            case "ready": log.ready = log.ready ?? line.ts
            case "terminating":
                log.terminating = log.terminating ?? line.ts
                let id = pods.id(pod)
                if id >= podServed.count { podServed += repeatElement(PodServed(), count: id + 1 - podServed.count) }
                podServed[id].trackLast = true
            case "deleted": log.deleted = log.deleted ?? line.ts
            default: break
            }
            podLogs[pod] = log
        default:
            break
        }
    }

    /// The scaling timeline of the run, when it had kube-watch's lines.
    public func timeline() -> ScalingTimeline? {
        guard scalingTally.seen else { return nil }
        var served: [String: (first: Double, last: Double)] = [:]
        for (id, name) in pods.names.enumerated() where id < podServed.count && !podServed[id].first.isNaN {
            served[name] = (podServed[id].first, podServed[id].last)
        }
        return ScalingTimeline(
            points: timelinePoints, events: rescaleEvents, hpa: hpaHistory, pods: podLogs, served: served)
    }

    /// A prediction's requests count as requests: in the total and in the windows.
    private mutating func addPredicted(_ line: ScalingLine) {
        guard let ok = line.ok, let seconds = line.seconds, let p50 = line.p50, let p90 = line.p90, let p99 = line.p99
        else { return }
        let shed = line.shed ?? 0
        total.addPredicted(ts: line.ts, end: line.ts + seconds, ok: ok, shed: shed, p50: p50, p90: p90, p99: p99)
        _ = windows?.addPredicted(ts: line.ts, seconds: seconds, ok: ok, shed: shed, p50: p50, p90: p90, p99: p99)
    }

    /// The scaling state as of `ts` (the last line before it), nil before any line.
    public func scaling(at ts: Double) -> ScalingState? {
        guard scalingTally.seen else { return nil }
        var low = 0, high = scalingHistory.count
        while low < high {
            let mid = (low + high) / 2
            if scalingHistory[mid].ts < ts { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? scalingHistory[low - 1].state : ScalingState()
    }

    public mutating func addMalformed(source: String, line: Int, reason: String) {
        malformed += 1
        if malformedSamples.count < StatsEngine.sampleLimit { malformedSamples.append((source, line, reason)) }
    }

    /// At the end of input: the windows still open.
    public mutating func finish() -> [Windows.Window] {
        guard windows != nil else { return [] }
        finishing = true
        return record(windows!.flush())
    }

    private var finishing = false

    /// The part of a window the input covers: the first window starts at the first
    /// record, and once the input has ended the last one stops one mean gap after the
    /// last record. Rates are per covered second, so a run that ends two seconds into
    /// a ten-second window does not show a collapse.
    public func covered(_ window: Windows.Window) -> (start: Double, end: Double) {
        guard total.requests > 0 else { return (window.start, window.end) }
        let n = Double(total.requests)
        let gap = n > 1 ? total.spanSeconds / (n - 1) : 0
        let start = max(window.start, total.firstTs)
        let end = finishing ? min(window.end, total.lastTs + gap) : window.end
        return (start, max(end, start))
    }

    public var lateRecords: Int { windows?.late ?? 0 }

    private mutating func record(_ done: [Windows.Window]) -> [Windows.Window] {
        for w in done where !w.isGap {
            let span = covered(w)
            guard span.end > span.start else { continue }
            timelinePoints.append(
                .init(
                    start: w.start, end: w.end, rate: Double(w.aggregate.requests) / (span.end - span.start),
                    p99: w.aggregate.latency.count > 0 ? w.aggregate.latency.percentile(99) : .nan))
        }
        if keepSeries {
            for w in done {
                if w.isGap {
                    series.append(
                        SeriesPoint(
                            start: w.start, end: w.end, requests: 0, successes: 0, p50: .nan, p90: .nan, p99: .nan,
                            pods: [], errors: [], isGap: true))
                    continue
                }
                let a = w.aggregate
                let span = covered(w)
                // A sliver of a window at either end says little and would plot as a cliff.
                guard span.end - span.start >= 0.2 * (w.end - w.start) else { continue }
                let p = a.latency.count > 0 ? a.latency.percentiles([50, 90, 99]) : [.nan, .nan, .nan]
                var point = SeriesPoint(
                    start: span.start, end: span.end, requests: a.requests, successes: a.successes,
                    p50: p[0], p90: p[1], p99: p[2],
                    pods: a.podCounts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) },
                    errors: a.errorCounts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) })
                if let t = a.tokens {
                    if t.ttft.count > 0 {
                        (point.ttftP50, point.ttftP99) = (t.ttft.percentile(50), t.ttft.percentile(99))
                    }
                    if t.itl.count > 0 { point.itlP50 = t.itl.percentile(50) }
                }
                series.append(point)
            }
        }
        return done
    }

    public func report(
        _ window: Windows.Window, percentiles: [Double]? = nil, servicePercentiles: Bool = true
    ) -> Report {
        Report(
            window.aggregate, window: (window.start, window.end),
            rateSeconds: covered(window).end - covered(window).start,
            percentiles: percentiles ?? self.percentiles, errorNames: errors.names,
            podNames: pods.names, servicePercentiles: servicePercentiles,
            scaling: scaling(at: window.end))
    }

    public func totalReport() -> Report {
        Report(
            total, window: nil, percentiles: percentiles, errorNames: errors.names, podNames: pods.names,
            scaling: scalingTally.seen ? scaling : nil, scalingTally: scalingTally.seen ? scalingTally : nil)
    }
}
