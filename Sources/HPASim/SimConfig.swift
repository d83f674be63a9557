import Autoscaler

/// What hpa-sim simulates: the workload, the pods, the cluster's timings and the HPA.
/// The defaults are this project's overlay and the timings measured on the real
/// cluster of ../shared/fixtures/real-run (see hpa-sim(1)).
public struct SimConfig: Sendable {
    /// CPU seconds per request (work-ms × tokens, times the jitter's mean).
    public var cpuPerRequest = 0.0204
    /// The lognormal sigma of each request's cost (INFER_JITTER), for latency.
    public var costSigma = 0.2
    /// Per pod: the CPU request (the HPA's denominator) and limit (its ceiling), in cores.
    public var cpuRequest = 0.2
    public var cpuLimit = 0.5
    /// The share of its limit a pod at the limit really gets: CFS throttles a 500m pod
    /// in 50 ms slices, and the recording cluster's busy pods averaged 0.46 core.
    public var throttledShare = 0.92
    /// Compute threads per pod (INFER_WORKERS; infer-serve's default is its CPU limit
    /// rounded up: one for the overlay's 500m).
    public var workers = 1
    /// Requests a pod queues beyond its busy workers before it answers 503 (INFER_MAX_QUEUE).
    public var maxQueue = 16
    /// CPU an idle pod uses (probes, metrics), in cores.
    public var idleCPU = 0.001
    /// CPU all pods share (a node's cores); nil: unlimited.
    public var nodeCPU: Double?
    /// HPA sync period and the metrics' resolution (s).
    public var syncPeriod = 15.0
    public var metricsResolution = 15.0
    /// How old the newest metrics sample is when the HPA syncs (s; the real run: ~6).
    public var metricsLag = 6.0
    /// Pod created → Ready (s): the real run's 1–3 s, as a range drawn from with `seed`.
    public var readyAfter: ClosedRange<Double> = 1...3
    /// Terminating → gone (s): the overlay's preStop sleep and exit.
    public var terminationSeconds = 6.0
    public var hpa = HPASpec(
        minReplicas: 1, maxReplicas: 10, targetUtilization: 60,
        scaleDown: ScalingRules(stabilizationSeconds: 30, policies: ScalingRules.defaultScaleDown.policies))
    public var controller = ReplicaCalculator.Settings()
    /// Replicas when the simulation starts.
    public var initialReplicas = 1
    public var seed: UInt64 = 1
    /// Write each second's predicted requests (`requests` lines) for infer-stats.
    public var requestLines = true
    /// Write each pod's metrics samples (at thousands of pods, most of the output).
    public var podMetricsLines = true
    /// The pods' name prefix (pod names are PREFIX-N).
    public var podPrefix = "dev-inference-sim"

    public init() {}
}
