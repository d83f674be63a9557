import Autoscaler
import JSON

/// The HPA controller's sync: the replica calculation over the pods as the controller
/// sees them, the normalizer's stabilization and limits, the rescale and its lines.
extension RunState {
    mutating func sync(at t: Double) -> Int {
        let requestMillis = Int((config.cpuRequest * 1000).rounded())
        let seen = pods.map { pod in
            ReplicaCalculator.Pod(requestMillis: requestMillis, usageMillis: pod.sample?.millis,
                                  phase: t >= pod.created + 0.5 ? .running : .pending, deleting: !pod.serving,
                                  ready: t >= pod.readyAt, startTime: pod.created + 0.5,
                                  readyTransition: t >= pod.readyAt ? pod.readyAt : pod.created + 0.5,
                                  metricTimestamp: pod.sample?.at, metricWindow: config.metricsResolution)
        }
        let current = specReplicas
        let result = ReplicaCalculator.replicas(current: current, pods: seen, targetUtilization: config.hpa.targetUtilization,
                                                now: t, settings: config.controller)
        let decision = normalizer.decide(current: current, proposal: result?.replicas ?? current, now: t)
        if decision.replicas != current {
            rescale(from: current, to: decision.replicas, at: t, reason: decision.replicas > current
                ? "cpu resource utilization (percentage of request) above target" : "All metrics below target")
        }
        hpaLine(at: t, current: current, desired: decision.replicas, utilization: result?.utilization, decision: decision)
        return decision.replicas
    }

    mutating func rescale(from: Int, to: Int, at t: Double, reason: String) {
        if to > from {
            for _ in from..<to { addPod(at: t + 0.05) }
        } else {
            // The ReplicaSet removes the youngest pods first.
            for pod in pods.filter(\.serving).sorted(by: { $0.created > $1.created }).prefix(from - to) {
                pod.terminatingAt = t
                if pod.servingFrom != nil {
                    pod.servingUntil = perPodCPU
                    changeServing(by: -1)
                }
                leaving.append(pod)
                podLine(pod, "terminating", at: t + 0.05)
            }
            specReplicas = to
        }
        normalizer.rescaled(from: from, to: to, now: t)
        lastScaleTime = t
        let event = line("hpa_event", at: t)
        event.set("name", .string(config.podPrefix))
        event.set("reason", .string("SuccessfulRescale"))
        event.set("event_type", .string("Normal"))
        event.set("message", .string("New size: \(to); reason: \(reason)"))
        event.set("new_size", .integer(to))
        emit(event)
        deploymentLine(at: t + 0.05)
    }

    mutating func hpaLine(at t: Double, current: Int, desired: Int, utilization: Int?, decision: ReplicaNormalizer.Decision) {
        let key = "\(desired) \(current) \(utilization ?? -1) \(decision.limitedReason)"
        guard key != lastHPAKey else { return }
        lastHPAKey = key
        let o = line("hpa", at: t)
        o.set("name", .string(config.podPrefix))
        o.set("desired_replicas", .integer(desired))
        o.set("current_replicas", .integer(current))
        o.set("min_replicas", .integer(config.hpa.minReplicas))
        o.set("max_replicas", .integer(config.hpa.maxReplicas))
        o.set("current_utilization_pct", utilization.map { .integer($0) } ?? .null)
        o.set("target_utilization_pct", .integer(config.hpa.targetUtilization))
        o.set("able_to_scale", .bool(true))
        o.set("able_to_scale_reason", .string(desired != current ? "SucceededRescale" : decision.ableToScaleReason))
        o.set("scaling_active", .bool(utilization != nil))
        o.set("scaling_limited", .bool(decision.limited))
        o.set("scaling_limited_reason", .string(decision.limitedReason))
        o.set("last_scale_time", lastScaleTime.map { .real(start + $0) } ?? .null)
        emit(o)
    }
}
