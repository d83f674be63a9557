#if canImport(Glibc)
import Glibc
#endif
import Autoscaler
import JSON
import Platform
import Records

/// One run's moving parts: the pods, the HPA's memory, and the lines said so far.
///
/// Every serving pod gets the same share of the load, so the load is simulated once per
/// second for one pod (`perPodCPU`, `queue`), not once per pod: a pod's CPU is the
/// per-pod total over the seconds it served, plus idle time. That keeps a second O(1)
/// and a scrape or sync O(pods), so 2,000 pods over 24 h take well under a second.
struct RunState {
    typealias Pod = Simulator.Pod
    let config: SimConfig
    let emit: (JSONObject) -> Void
    let start: Double
    var pods: [Pod] = []
    /// Created, not yet Ready (by readyAt); terminating, not yet gone (by terminatingAt).
    var starting: [Pod] = []
    var leaving: [Pod] = []
    var servingCount = 0
    /// CPU seconds one serving pod has used since t = 0, and its queue.
    var perPodCPU = 0.0
    var queue = 0.0
    /// The second's estimated latency quantiles (s; infinity with no pod serving).
    var p50 = 0.0, p90 = 0.0, p99 = 0.0
    var specReplicas = 0
    var nextPodNumber = 0
    var random: SplitMix64
    var normalizer: ReplicaNormalizer
    var lastHPAKey = ""
    var lastScaleTime: Double?

    init(config: SimConfig, emit: @escaping (JSONObject) -> Void, start: Double) {
        self.config = config
        self.emit = emit
        self.start = start
        random = SplitMix64(seed: config.seed)
        normalizer = ReplicaNormalizer(spec: config.hpa)
    }

    func line(_ type: String, at t: Double) -> JSONObject { ScalingLine.object(type, ts: start + t) }

    func podLine(_ pod: Pod, _ event: String, at t: Double, initial: Bool = false) {
        emit(ScalingLine.pod(pod.name, event: event, at: start + t, ts: start + t, initial: initial))
    }

    mutating func addPod(at t: Double, initial: Bool = false) {
        nextPodNumber += 1
        let span = config.readyAfter.upperBound - config.readyAfter.lowerBound
        let delay = initial ? 0 : config.readyAfter.lowerBound + span * Double(random.next() >> 11) / Double(1 << 53)
        let pod = Pod(name: "\(config.podPrefix)-\(nextPodNumber)", created: t, readyAt: t + delay)
        pods.append(pod)
        specReplicas += 1
        podLine(pod, "created", at: max(t, 0), initial: initial)
        if initial {
            pod.servingFrom = perPodCPU
            changeServing(by: 1)
            podLine(pod, "ready", at: 0, initial: true)
        } else {
            starting.append(pod)  // created in time order, Ready within a bounded delay
        }
    }

    /// Pods turning Ready and pods gone in [t, t + 1).
    mutating func lifecycle(at t: Double) {
        var changed = false
        starting.sort { $0.readyAt < $1.readyAt }
        while let pod = starting.first, pod.readyAt < t + 1 {
            starting.removeFirst()
            guard pod.terminatingAt == nil else { continue }
            pod.servingFrom = perPodCPU
            changeServing(by: 1)
            podLine(pod, "ready", at: pod.readyAt)
            changed = true
        }
        while let pod = leaving.first, let at = pod.terminatingAt, at + config.terminationSeconds < t + 1 {
            leaving.removeFirst()
            podLine(pod, "deleted", at: t)
            pods.removeAll { $0 === pod }
            changed = true
        }
        if changed { deploymentLine(at: t) }
    }

    func deploymentLine(at t: Double) {
        // One revision throughout: every pod is up to date.
        let fields = ScalingLine.deploymentFields(
            name: config.podPrefix, specReplicas: specReplicas, replicas: pods.count,
            updated: pods.count, ready: servingCount, available: servingCount,
            terminating: leaving.count)
        emit(ScalingLine.stamped(fields, "deployment", ts: start + t))
    }

    /// One second of load, spread evenly over the Ready pods (a Service's connections,
    /// renewed every 2 s): each serves what its CPU allows, queues up to `maxQueue`, and
    /// sheds the rest. Returns offered, served and shed.
    mutating func traffic(at t: Double, rate: Double) -> (Double, Double, Double) {
        guard servingCount > 0 else {
            (p50, p90, p99) = (.infinity, .infinity, .infinity)
            return (rate, 0, rate)
        }
        let n = Double(servingCount)
        let each = rate / n
        // What a pod's CPU allows: its limit (as CFS throttling lets it use), one core per
        // worker, and its equal share of the node's cores when they run out — the pods
        // are alike, so no pod can use more than the node divided among them.
        let nodeShare = config.nodeCPU.map { Swift.max($0 / n - config.idleCPU, 0.001) } ?? .infinity
        let cores = Swift.min(config.cpuLimit * config.throttledShare, Double(config.workers), nodeShare)
        let capacity = cores / config.cpuPerRequest
        let done = min(queue + each, capacity)
        queue += each - done
        var shed = 0.0
        if queue > Double(config.maxQueue) {
            shed = (queue - Double(config.maxQueue)) * n
            queue = Double(config.maxQueue)
        }
        perPodCPU += done * config.cpuPerRequest
        let waiting = queue, c = config
        func at(_ q: Double) -> Double {
            Self.latency(
                q, each: each, queue: waiting, cost: c.cpuPerRequest, sigma: c.costSigma, capacity: capacity,
                workers: c.workers, maxQueue: c.maxQueue)
        }
        (p50, p90, p99) = (at(0.5), at(0.9), at(0.99))
        return (rate, done * n, shed)
    }

    /// A pod joins or leaves the Service: the requests queued stay queued, spread over
    /// the pods that serve now (so none are made or lost).
    mutating func changeServing(by change: Int) {
        let old = servingCount
        servingCount += change
        if old > 0 && servingCount > 0 { queue *= Double(old) / Double(servingCount) }
    }

    /// A pod's CPU seconds so far: its share of the load while it served, plus idle use.
    func cpuSeconds(_ pod: Pod, at t: Double, perPodCPU now: Double) -> Double {
        let served = pod.servingFrom.map { min(pod.servingUntil ?? now, now) - $0 } ?? 0
        return served + config.idleCPU * max(0, t - pod.created)
    }

    /// metrics-server: each pod's mean CPU since its last scrape (a pod needs two).
    mutating func scrape(at t: Double, perPodCPU now: Double) {
        for pod in pods where pod.created <= t {
            let cpu = cpuSeconds(pod, at: t, perPodCPU: now)
            if let last = pod.lastScrape, t > last.at {
                let millis = Int(((cpu - last.cpuSeconds) / (t - last.at) * 1000).rounded())
                pod.sample = (t, millis)
                guard config.podMetricsLines else {
                    pod.lastScrape = (t, cpu)
                    continue
                }
                emit(
                    ScalingLine.podMetrics(
                        pod: pod.name, sampleTs: start + t, windowSeconds: config.metricsResolution,
                        cpuMillicores: Double(millis), memoryBytes: nil, ts: start + t + 1))
            }
            pod.lastScrape = (t, cpu)
        }
    }

    /// A pod's latency (s) at quantile `q` (0.5, 0.9, 0.99) at `each` req/s: a
    /// request's own CPU time at that quantile of the lognormal jitter, plus waiting.
    /// `workers` drain `capacity` req/s in all; below saturation the wait is an M/G/c
    /// queue's (Allen–Cunneen: Erlang C over the spare rate, times (1 + σ²)/2 for nearly
    /// constant service), its tail exponential; saturated, the queue ahead; never more
    /// than a full queue's. (Against the recorded run at 5 req/s a pod: p50/p90/p99 of
    /// 24/41/61 ms predicted, 24/48/65 ms measured.)
    static func latency(
        _ q: Double, each: Double, queue: Double, cost: Double, sigma: Double, capacity: Double,
        workers: Int, maxQueue: Int
    ) -> Double {
        let z = q >= 0.99 ? 2.326 : (q >= 0.9 ? 1.282 : 0)
        let own = cost / exp(sigma * sigma / 2) * exp(z * sigma)
        let full = own + Double(maxQueue) / capacity
        if queue >= 1 { return min(own + queue / capacity, full) }
        guard each < capacity else { return full }
        let wait =
            erlangC(servers: workers, offered: each / (capacity / Double(workers))) / (capacity - each)
            * (1 + sigma * sigma) / 2
        return min(own + wait * log(1 / (1 - q)), full)
    }

    /// The probability an arrival waits in an M/M/c queue with `offered` Erlangs.
    static func erlangC(servers c: Int, offered a: Double) -> Double {
        let rho = a / Double(c)
        guard rho < 1 else { return 1 }
        var term = 1.0, sum = 1.0  // a^k / k!, summed for k < c
        for k in 1..<max(c, 1) {
            term *= a / Double(k)
            sum += term
        }
        let last = term * a / Double(c) / (1 - rho)  // a^c / c! / (1 − ρ)
        return c == 1 ? rho : last / (sum + last)
    }
}
