import JSON

/// `kubectl rollout status`, rule for rule (kubectl's rollout_status.go), over the
/// objects as the API returns them. Messages are kubectl's, so a user sees the same
/// words from either tool.
public enum RolloutStatus {
    public static func deployment(_ d: JSONObject) -> Readiness {
        let name = d.name
        let generation = d.int("metadata", "generation") ?? 0
        let observed = d.int("status", "observedGeneration") ?? 0
        guard generation <= observed else { return .waiting("Waiting for deployment spec update to be observed...") }
        if d.condition("Progressing")?.string("reason") == "ProgressDeadlineExceeded" {
            return .failed("deployment \"\(name)\" exceeded its progress deadline")
        }
        let updated = d.int("status", "updatedReplicas") ?? 0
        let replicas = d.int("status", "replicas") ?? 0
        let available = d.int("status", "availableReplicas") ?? 0
        if let wanted = d.int("spec", "replicas"), updated < wanted {
            return .waiting(
                "Waiting for deployment \"\(name)\" rollout to finish: \(updated) out of \(wanted) new replicas have been updated..."
            )
        }
        if replicas > updated {
            return .waiting(
                "Waiting for deployment \"\(name)\" rollout to finish: \(replicas - updated) old replicas are pending termination..."
            )
        }
        if available < updated {
            return .waiting(
                "Waiting for deployment \"\(name)\" rollout to finish: \(available) of \(updated) updated replicas are available..."
            )
        }
        return .done("deployment \"\(name)\" successfully rolled out")
    }

    public static func daemonSet(_ d: JSONObject) -> Readiness {
        let name = d.name
        let strategy = d.string("spec", "updateStrategy", "type") ?? "RollingUpdate"
        guard strategy == "RollingUpdate" else {
            return .failed("rollout status is only available for RollingUpdate strategy type")
        }
        let generation = d.int("metadata", "generation") ?? 0
        let observed = d.int("status", "observedGeneration") ?? 0
        guard generation <= observed else { return .waiting("Waiting for daemon set spec update to be observed...") }
        let updated = d.int("status", "updatedNumberScheduled") ?? 0
        let desired = d.int("status", "desiredNumberScheduled") ?? 0
        let available = d.int("status", "numberAvailable") ?? 0
        if updated < desired {
            return .waiting(
                "Waiting for daemon set \"\(name)\" rollout to finish: \(updated) out of \(desired) new pods have been updated..."
            )
        }
        if available < desired {
            return .waiting(
                "Waiting for daemon set \"\(name)\" rollout to finish: \(available) of \(desired) updated pods are available..."
            )
        }
        return .done("daemon set \"\(name)\" successfully rolled out")
    }

    public static func statefulSet(_ s: JSONObject) -> Readiness {
        let strategy = s.string("spec", "updateStrategy", "type") ?? "RollingUpdate"
        guard strategy == "RollingUpdate" else {
            return .failed("rollout status is only available for RollingUpdate strategy type")
        }
        let generation = s.int("metadata", "generation") ?? 0
        let observed = s.int("status", "observedGeneration") ?? 0
        if observed == 0 || generation > observed {
            return .waiting("Waiting for statefulset spec update to be observed...")
        }
        let ready = s.int("status", "readyReplicas") ?? 0
        let updated = s.int("status", "updatedReplicas") ?? 0
        if let wanted = s.int("spec", "replicas"), ready < wanted {
            return .waiting("Waiting for \(wanted - ready) pods to be ready...")
        }
        if s.object("spec")?.object("updateStrategy")?.object("rollingUpdate") != nil {
            if let wanted = s.int("spec", "replicas"),
                let partition = s.int("spec", "updateStrategy", "rollingUpdate", "partition"),
                updated < wanted - partition
            {
                return .waiting(
                    "Waiting for partitioned roll out to finish: \(updated) out of \(wanted - partition) new pods have been updated..."
                )
            }
            return .done("partitioned roll out complete: \(updated) new pods have been updated...")
        }
        let updateRevision = s.string("status", "updateRevision") ?? ""
        let currentRevision = s.string("status", "currentRevision") ?? ""
        if updateRevision != currentRevision {
            return .waiting(
                "waiting for statefulset rolling update to complete \(updated) pods at revision \(updateRevision)...")
        }
        return .done(
            "statefulset rolling update complete \(s.int("status", "currentReplicas") ?? 0) pods at revision \(currentRevision)..."
        )
    }
}

/// Readiness of the other kinds kube-wait waits for.
public enum ObjectStatus {
    /// An HPA is ready when ScalingActive is True and every metric in its spec has a
    /// current value. An entry of `currentMetrics` with an empty type is not a value:
    /// the controller writes `[{"type": ""}]` when it could read nothing.
    public static func hpa(_ h: JSONObject) -> Readiness {
        let name = h.name
        let wanted = h.object("spec")?.objects("metrics").compactMap { $0.string("type") } ?? []
        let current =
            h.object("status")?.objects("currentMetrics").compactMap { $0.string("type") }.filter { !$0.isEmpty } ?? []
        let active = h.condition("ScalingActive")
        guard active?.string("status") == "True" else {
            let why =
                active.map { "\($0.string("reason") ?? ""): \($0.string("message") ?? "")" }
                ?? "ScalingActive not reported yet"
            return .waiting("hpa \"\(name)\" has no metrics yet (\(why))")
        }
        if current.count < max(wanted.count, 1) {
            return .waiting("hpa \"\(name)\": \(current.count) of \(max(wanted.count, 1)) metrics have a current value")
        }
        return .done("hpa \"\(name)\" has metrics for all \(current.count) of its targets")
    }

    /// A Service is ready when its EndpointSlices hold at least `minimum` ready
    /// endpoints (a missing `ready` condition counts as ready, as the API says).
    public static func endpoints(service: String, slices: [JSONObject], minimum: Int) -> Readiness {
        var ready = Set<String>()
        var notReady = 0
        for slice in slices {
            for endpoint in slice.objects("endpoints") {
                let key =
                    endpoint.string("targetRef", "name") ?? (endpoint.keys.joined() + String(ready.count + notReady))
                if case .bool(false) = endpoint[["conditions", "ready"]] { notReady += 1 } else { ready.insert(key) }
            }
        }
        if ready.count >= minimum {
            return .done("service \"\(service)\" has \(ready.count) ready endpoints")
        }
        return .waiting("service \"\(service)\": \(ready.count) of \(minimum) ready endpoints (\(notReady) not ready)")
    }

    public static func pod(_ p: JSONObject) -> Readiness {
        let name = p.name
        switch p.string("status", "phase") {
        case "Succeeded": return .done("pod \"\(name)\" succeeded")
        case "Failed":
            return .failed(
                "pod \"\(name)\" failed: \(p.string("status", "reason") ?? p.string("status", "message") ?? "")")
        default: break
        }
        if p.condition("Ready")?.string("status") == "True" { return .done("pod \"\(name)\" is ready") }
        return .waiting("pod \"\(name)\" is not ready (\(p.string("status", "phase") ?? "Pending"))")
    }

    public static func job(_ j: JSONObject) -> Readiness {
        let name = j.name
        if j.condition("Failed")?.string("status") == "True" {
            return .failed("job \"\(name)\" failed: \(j.condition("Failed")?.string("message") ?? "")")
        }
        if j.condition("Complete")?.string("status") == "True" { return .done("job \"\(name)\" is complete") }
        let succeeded = j.int("status", "succeeded") ?? 0
        let wanted = j.int("spec", "completions") ?? 1
        return .waiting("job \"\(name)\": \(succeeded) of \(wanted) completions")
    }
}

/// A pod of a rollout that will not come up by waiting: its image cannot be pulled,
/// it crashes, its config is wrong, or no node can take it.
public struct PodProblem: Equatable, Sendable {
    public let pod: String
    public let reason: String
    public let message: String

    public static let stuckReasons: Set<String> = [
        "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError",
    ]

    public static func find(in pods: [JSONObject]) -> [PodProblem] {
        var problems: [PodProblem] = []
        for pod in pods {
            let name = pod.name
            if let scheduled = pod.condition("PodScheduled"), scheduled.string("status") == "False",
                scheduled.string("reason") == "Unschedulable"
            {
                problems.append(
                    PodProblem(pod: name, reason: "Unschedulable", message: scheduled.string("message") ?? ""))
                continue
            }
            let statuses =
                (pod.object("status")?.objects("initContainerStatuses") ?? [])
                + (pod.object("status")?.objects("containerStatuses") ?? [])
            for status in statuses {
                if let reason = status.string("state", "waiting", "reason"), stuckReasons.contains(reason) {
                    problems.append(
                        PodProblem(
                            pod: name, reason: reason, message: status.string("state", "waiting", "message") ?? ""))
                    break
                }
            }
        }
        return problems
    }
}
