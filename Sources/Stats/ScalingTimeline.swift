/// The table people want after a run: for each rescale, how long from the load
/// changing to the HPA's metric crossing its target, to the rescale, to each new pod
/// Ready and serving, and to p99 back under its level before the change; for a
/// scale-down, to each removed pod terminating, gone and its last request.
/// Built from what the engine kept of kube-watch's lines and the windows' figures.
public struct ScalingTimeline: Sendable {
    /// One window's offered rate and p99, in time order.
    public struct Point: Sendable {
        public let start: Double
        public let end: Double
        public let rate: Double
        public let p99: Double
    }

    /// What happened to one pod around a rescale (Unix s; nil: not seen).
    public struct PodTimes: Sendable, Equatable {
        public let pod: String
        /// Up: created, Ready, first request served. Down: terminating, deleted, last request served.
        public var first: Double?
        public var second: Double?
        public var served: Double?
    }

    public struct Rescale: Sendable, Equatable {
        public let at: Double
        public let from: Int?
        public let to: Int
        public var up: Bool { (from ?? 0) < to }
        /// The window where the offered rate stepped (in the direction of the rescale).
        public var loadChange: Double?
        public var loadFrom: Double?
        public var loadTo: Double?
        /// The first HPA status past (up) or under (down) its target, beyond the 0.1
        /// tolerance, after the change.
        public var crossed: Double?
        public var pods: [PodTimes] = []
        /// p99 before the step, and the end of the first window after the rescale back under it (up only).
        public var p99Before: Double?
        public var p99Back: Double?
    }

    public private(set) var rescales: [Rescale] = []

    /// A step: the rate grew (or fell) by half or more and by 1 req/s or more from the window before.
    static func isStep(from a: Double, to b: Double, up: Bool) -> Bool {
        up ? (b >= a * 1.5 && b - a >= 1) : (a >= b * 1.5 && a - b >= 1)
    }

    public init(
        points: [Point], events: [(ts: Double, size: Int)], hpa: [(ts: Double, cpu: Int?, target: Int?, desired: Int?)],
        pods: [String: ScalingPodLog], served: [String: (first: Double, last: Double)]
    ) {
        var previous: Int?
        var searchFrom = -Double.infinity
        let podsByName = pods.sorted { $0.key < $1.key }
        for (index, event) in events.enumerated() {
            // The size before: the last rescale's, else what the HPA wanted before this one (its
            // status update and the Event come together, in either order).
            let before =
                previous
                ?? hpa.last(where: { $0.ts < event.ts + 2 && $0.desired != nil && $0.desired != event.size })?.desired
            var r = Rescale(at: event.ts, from: before, to: event.size)
            let next = index + 1 < events.count ? events[index + 1].ts : Double.infinity
            Self.findStep(&r, points: points, after: searchFrom)
            // Without a step, the metric's crossing is looked for since the last rescale.
            let from = r.loadChange ?? (index > 0 ? events[index - 1].ts : searchFrom)
            r.crossed =
                hpa.first { h in
                    guard h.ts >= from, h.ts <= event.ts + 1, let cpu = h.cpu, let target = h.target else {
                        return false
                    }
                    // Past the controller's tolerance band (0.1 each way), where it acts.
                    return r.up ? Double(cpu) > Double(target) * 1.1 : Double(cpu) < Double(target) * 0.9
                }?.ts
            // Pods the rescale made (or removed): the watches are separate streams, so allow 2 s of skew.
            for (name, log) in podsByName {
                let mark = r.up ? log.created : log.terminating
                guard let mark, mark >= event.ts - 2, mark < next - 2 else { continue }
                r.pods.append(
                    r.up
                        ? PodTimes(pod: name, first: log.created, second: log.ready, served: served[name]?.first)
                        : PodTimes(
                            pod: name, first: log.terminating, second: log.deleted,
                            served: served[name].flatMap { $0.last.isNaN ? nil : $0.last }))
            }
            if r.up, let change = r.loadChange, let i = points.firstIndex(where: { $0.start == change }), i > 0 {
                let level = points[i - 1].p99
                r.p99Before = level
                // Histogram values carry 2-3 significant digits: "under" allows that much.
                r.p99Back = points.first { $0.start >= event.ts && $0.p99.isFinite && $0.p99 <= level * 1.01 }?.end
            }
            rescales.append(r)
            previous = event.size
            if let change = r.loadChange { searchFrom = change }
        }
    }

    /// The last step in the rescale's direction among the windows that start after
    /// `after` and no later than the rescale.
    static func findStep(_ r: inout Rescale, points: [Point], after: Double) {
        guard points.count > 1 else { return }
        for i in stride(from: points.count - 1, to: 0, by: -1) where points[i].start <= r.at && points[i].start >= after
        {
            if isStep(from: points[i - 1].rate, to: points[i].rate, up: r.up) {
                r.loadChange = points[i].start
                r.loadFrom = points[i - 1].rate
                r.loadTo = points[i].rate
                return
            }
        }
    }
}

/// One pod's lifecycle as kube-watch's lines told it (Unix s, when seen).
public struct ScalingPodLog: Sendable, Equatable {
    public var created: Double?
    public var ready: Double?
    public var terminating: Double?
    public var deleted: Double?
    public init() {}
}
