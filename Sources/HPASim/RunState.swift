import Autoscaler
import JSON
import Platform

/// One run's moving parts: the pods, the HPA's memory, and the lines said so far.
struct RunState {
    typealias Pod = Simulator.Pod
    let config: SimConfig
    let emit: (JSONObject) -> Void
    let start: Double
    var pods: [Pod] = []
    var specReplicas = 0
    var nextPodNumber = 0
    var random: SplitMix64
    var normalizer: ReplicaNormalizer
    var lastHPAKey = ""
    var lastDeploymentKey = ""
    var lastScaleTime: Double?

    init(config: SimConfig, emit: @escaping (JSONObject) -> Void, start: Double) {
        self.config = config
        self.emit = emit
        self.start = start
        random = SplitMix64(seed: config.seed)
        normalizer = ReplicaNormalizer(spec: config.hpa)
    }

    func line(_ type: String, at t: Double) -> JSONObject {
        let o = JSONObject()
        o.set("ts", .real(start + t))
        o.set("type", .string(type))
        return o
    }

    func podLine(_ pod: Pod, _ event: String, at t: Double, initial: Bool = false) {
        let o = line("pod", at: t)
        o.set("pod", .string(pod.name))
        o.set("event", .string(event))
        o.set("at", .real(start + t))
        if initial { o.set("initial", .bool(true)) }
        emit(o)
    }

    mutating func addPod(at t: Double, initial: Bool = false) {
        nextPodNumber += 1
        let span = config.readyAfter.upperBound - config.readyAfter.lowerBound
        let delay = config.readyAfter.lowerBound + span * Double(random.next() >> 11) / Double(1 << 53)
        let pod = Pod(name: "\(config.podPrefix)-\(nextPodNumber)", created: t, readyAt: t + delay)
        pods.append(pod)
        specReplicas += 1
        podLine(pod, "created", at: max(t, 0), initial: initial)
        if initial { podLine(pod, "ready", at: 0, initial: true) }
    }

    /// Pods turning Ready and pods gone in [t, t + 1).
    mutating func lifecycle(at t: Double) {
        var changed = false
        for pod in pods where pod.readyAt >= t && pod.readyAt < t + 1 && pod.created >= 0 {
            podLine(pod, "ready", at: pod.readyAt)
            changed = true
        }
        let gone = pods.filter { $0.terminatingAt.map { $0 + config.terminationSeconds < t + 1 } ?? false }
        for pod in gone { podLine(pod, "deleted", at: t) }
        if !gone.isEmpty {
            pods.removeAll { p in gone.contains { $0 === p } }
            changed = true
        }
        if changed { deploymentLine(at: t) }
    }

    func deploymentLine(at t: Double) {
        let ready = pods.filter { $0.serving && $0.readyAt <= t }.count
        let o = line("deployment", at: t)
        o.set("name", .string(config.podPrefix))
        o.set("spec_replicas", .integer(specReplicas))
        o.set("replicas", .integer(pods.count))
        o.set("ready", .integer(ready))
        o.set("available", .integer(ready))
        o.set("terminating", .integer(pods.filter { !$0.serving }.count))
        emit(o)
    }

    /// One second of load, spread evenly over the Ready pods (a Service's connections,
    /// renewed every 2 s): each serves what its CPU allows, queues up to `maxQueue`,
    /// and sheds the rest. Returns offered, served and shed.
    mutating func traffic(at t: Double, rate: Double) -> (Double, Double, Double) {
        let serving = pods.filter { $0.serving && $0.readyAt <= t }
        for pod in pods where !serving.contains(where: { $0 === pod }) { pod.cpuSeconds += config.idleCPU }
        guard !serving.isEmpty else { return (rate, 0, rate) }
        let each = rate / Double(serving.count)
        // The node's cores, shared when the pods want more than it has.
        let limit = config.cpuLimit * config.throttledShare
        let wanted = serving.map { min(limit, ($0.queue + each) * config.cpuPerRequest) + config.idleCPU }.reduce(0, +)
        let share = config.nodeCPU.map { wanted > $0 ? $0 / wanted : 1 } ?? 1
        var served = 0.0, shed = 0.0
        for pod in serving {
            let capacity = limit * share / config.cpuPerRequest
            let done = min(pod.queue + each, capacity)
            pod.queue += each - done
            if pod.queue > Double(config.maxQueue) {
                shed += pod.queue - Double(config.maxQueue)
                pod.queue = Double(config.maxQueue)
            }
            served += done
            pod.cpuSeconds += done * config.cpuPerRequest + config.idleCPU * share
        }
        return (rate, served, shed)
    }

    /// metrics-server: each pod's mean CPU since its last scrape (a pod needs two).
    mutating func scrape(at t: Double) {
        for pod in pods where pod.created <= t {
            if let last = pod.lastScrape, t > last.at {
                let millis = Int(((pod.cpuSeconds - last.cpuSeconds) / (t - last.at) * 1000).rounded())
                pod.sample = (t, millis)
                let o = line("pod_metrics", at: t + 1)
                o.set("pod", .string(pod.name))
                o.set("sample_ts", .real(start + t))
                o.set("window_s", .real(config.metricsResolution))
                o.set("cpu_millicores", .real(Double(millis)))
                emit(o)
            }
            pod.lastScrape = (t, pod.cpuSeconds)
        }
    }
}
