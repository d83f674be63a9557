/// The HorizontalPodAutoscaler's replica count for a CPU utilization target, as the
/// controller computes it (kubernetes/kubernetes pkg/controller/podautoscaler,
/// replica_calculator.go `GetResourceReplicas` and `groupPods`; the rules are read from
/// there and from the Kubernetes documentation, the code is ours): pods are sorted into
/// ready, unready (not yet counted: starting, or inside the CPU initialization period)
/// and missing (no metric sample); utilization is an integer percent; a ratio within
/// the tolerance changes nothing; on a scale-up unready and missing pods count as idle,
/// on a scale-down missing pods count as busy, and a recomputation that reverses the
/// direction changes nothing.
public enum ReplicaCalculator {
    /// One pod as the controller sees it at a sync.
    public struct Pod: Sendable, Equatable {
        public enum Phase: Sendable { case pending, running, failed }
        /// CPU request (millicores): the denominator of utilization.
        public var requestMillis: Int
        /// Mean CPU use over the metric window (millicores); nil when metrics have no sample.
        public var usageMillis: Int?
        public var phase = Phase.running
        /// The pod is being deleted (it no longer counts at all).
        public var deleting = false
        /// The Ready condition's status; nil when the pod has none yet.
        public var ready: Bool?
        /// status.startTime, the Ready condition's lastTransitionTime, and the metric
        /// sample's timestamp and window (seconds on one clock).
        public var startTime: Double?
        public var readyTransition: Double?
        public var metricTimestamp: Double?
        public var metricWindow = 15.0

        public init(
            requestMillis: Int, usageMillis: Int?, phase: Phase = .running, deleting: Bool = false, ready: Bool? = true,
            startTime: Double? = -3600, readyTransition: Double? = -3600, metricTimestamp: Double? = 0,
            metricWindow: Double = 15
        ) {
            self.requestMillis = requestMillis
            self.usageMillis = usageMillis
            self.phase = phase
            self.deleting = deleting
            self.ready = ready
            self.startTime = startTime
            self.readyTransition = readyTransition
            self.metricTimestamp = metricTimestamp
            self.metricWindow = metricWindow
        }
    }

    /// The controller's flags that shape the calculation (their defaults).
    public struct Settings: Sendable, Equatable {
        /// --horizontal-pod-autoscaler-tolerance, both directions.
        public var tolerance = 0.1
        /// --horizontal-pod-autoscaler-cpu-initialization-period.
        public var cpuInitializationPeriod = 300.0
        /// --horizontal-pod-autoscaler-initial-readiness-delay.
        public var initialReadinessDelay = 30.0
        public init() {}
    }

    public enum Group: Sendable, Equatable { case ready, unready, missing, ignored }

    /// Where a pod's CPU sample counts at `now` (groupPods).
    public static func group(_ pod: Pod, now: Double, settings: Settings) -> Group {
        if pod.deleting || pod.phase == .failed { return .ignored }
        if pod.phase == .pending { return .unready }
        guard let sample = pod.metricTimestamp, pod.usageMillis != nil else { return .missing }
        guard let ready = pod.ready, let start = pod.startTime, let transition = pod.readyTransition else {
            return .unready
        }
        if now < start + settings.cpuInitializationPeriod {
            // Young pods count once a whole metric window was measured after they became Ready.
            return !ready || sample < transition + pod.metricWindow ? .unready : .ready
        }
        // Older pods are left out only if they have never been Ready.
        return !ready && start + settings.initialReadinessDelay > transition ? .unready : .ready
    }

    public struct Result: Sendable, Equatable {
        public let replicas: Int
        /// The utilization the status reports: of the ready pods, before any recomputation.
        public let utilization: Int
    }

    /// Nil when no ready pod has a sample with a request (the controller then reports
    /// FailedGetResourceMetric and does not scale).
    public static func replicas(
        current: Int, pods: [Pod], targetUtilization: Int, now: Double, settings: Settings = Settings()
    ) -> Result? {
        var readyPods: [Pod] = [], unready: [Pod] = [], missing: [Pod] = []
        for pod in pods {
            switch group(pod, now: now, settings: settings) {
            case .ready: readyPods.append(pod)
            case .unready: unready.append(pod)
            case .missing: missing.append(pod)
            case .ignored: break
            }
        }
        guard let utilization = Self.utilization(readyPods.map { ($0.usageMillis ?? 0, $0.requestMillis) }) else {
            return nil
        }
        let target = Double(targetUtilization)
        let ratio = Double(utilization) / target
        let within = { (r: Double) in r >= 1 - settings.tolerance && r <= 1 + settings.tolerance }
        let scaleUpWithUnready = !unready.isEmpty && ratio > 1
        if !scaleUpWithUnready && missing.isEmpty {
            return Result(
                replicas: within(ratio) ? current : Int((ratio * Double(readyPods.count)).rounded(.up)),
                utilization: utilization)
        }
        // Fill in what is not known, in the direction that damps the change.
        var samples = readyPods.map { ($0.usageMillis ?? 0, $0.requestMillis) }
        if ratio < 1 {
            samples += missing.map { ($0.requestMillis * max(100, targetUtilization) / 100, $0.requestMillis) }
        } else if ratio > 1 {
            samples += missing.map { (0, $0.requestMillis) }
        }
        if scaleUpWithUnready { samples += unready.map { (0, $0.requestMillis) } }
        guard let recomputed = Self.utilization(samples) else {
            return Result(replicas: current, utilization: utilization)
        }
        let newRatio = Double(recomputed) / target
        if within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
            return Result(replicas: current, utilization: utilization)
        }
        let proposed = Int((newRatio * Double(samples.count)).rounded(.up))
        if (newRatio < 1 && proposed > current) || (newRatio > 1 && proposed < current) {
            return Result(replicas: current, utilization: utilization)
        }
        return Result(replicas: proposed, utilization: utilization)
    }

    /// Σusage × 100 / Σrequest in whole percent (the controller truncates), nil without requests.
    static func utilization(_ samples: [(usage: Int, request: Int)]) -> Int? {
        let request = samples.reduce(0) { $0 + $1.request }
        guard request > 0 else { return nil }
        return samples.reduce(0) { $0 + $1.usage } * 100 / request
    }
}
