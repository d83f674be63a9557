import Autoscaler
import JSON
import Records

/// The HPA controller's sync: the replica calculation over the pods as the controller
/// sees them, the normalizer's stabilization and limits, the rescale and its lines.
extension RunState {
    mutating func sync(at t: Double) -> Int {
        let requestMillis = Int((config.cpuRequest * 1000).rounded())
        let seen = pods.map { pod in
            ReplicaCalculator.Pod(
                requestMillis: requestMillis, usageMillis: pod.sample?.millis,
                phase: t >= pod.created + 0.5 ? .running : .pending, deleting: !pod.serving,
                ready: t >= pod.readyAt, startTime: pod.created + 0.5,
                readyTransition: t >= pod.readyAt ? pod.readyAt : pod.created + 0.5,
                metricTimestamp: pod.sample?.at, metricWindow: config.metricsResolution)
        }
        let current = specReplicas
        let result = ReplicaCalculator.replicas(
            current: current, pods: seen, targetUtilization: config.hpa.targetUtilization,
            now: t, settings: config.controller)
        let decision = normalizer.decide(current: current, proposal: result?.replicas ?? current, now: t)
        if decision.replicas != current {
            rescale(
                from: current, to: decision.replicas, at: t,
                reason: decision.replicas > current
                    ? "cpu resource utilization (percentage of request) above target" : "All metrics below target")
        }
        hpaLine(
            at: t, current: current, desired: decision.replicas, utilization: result?.utilization, decision: decision)
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
        emit(
            ScalingLine.hpaEvent(
                name: config.podPrefix, reason: "SuccessfulRescale", eventType: "Normal",
                message: "New size: \(to); reason: \(reason)", newSize: to, ts: start + t))
        deploymentLine(at: t + 0.05)
    }

    mutating func hpaLine(
        at t: Double, current: Int, desired: Int, utilization: Int?, decision: ReplicaNormalizer.Decision
    ) {
        let key = "\(desired) \(current) \(utilization ?? -1) \(decision.limitedReason)"
        guard key != lastHPAKey else { return }
        lastHPAKey = key
        let o = ScalingLine.hpaFields(
            name: config.podPrefix, desired: desired, current: current,
            min: config.hpa.minReplicas, max: config.hpa.maxReplicas)
        ScalingLine.setCPU(o, current: utilization, target: config.hpa.targetUtilization)
        ScalingLine.setCondition(
            o, "able_to_scale", status: true,
            reason: desired != current ? "SucceededRescale" : decision.ableToScaleReason)
        ScalingLine.setCondition(
            o, "scaling_active", status: utilization != nil,
            reason: utilization != nil ? "ValidMetricFound" : "FailedGetResourceMetric")
        ScalingLine.setCondition(o, "scaling_limited", status: decision.limited, reason: decision.limitedReason)
        o.set("last_scale_time", lastScaleTime.map { .real(start + $0) } ?? .null)
        emit(ScalingLine.stamped(o, "hpa", ts: start + t))
    }
}
