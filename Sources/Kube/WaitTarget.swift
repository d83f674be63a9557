import JSON

/// What kube-wait waits on: `TYPE/NAME`, or pods by label selector.
public struct WaitTarget: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable {
        case deployment, statefulset, daemonset, hpa, service, pod, job
    }

    public let kind: Kind
    public let name: String?
    public let selector: String?

    public init(kind: Kind, name: String?, selector: String? = nil) {
        self.kind = kind
        self.name = name
        self.selector = selector
    }

    static let aliases: [String: Kind] = [
        "deployment": .deployment, "deployments": .deployment, "deploy": .deployment,
        "statefulset": .statefulset, "statefulsets": .statefulset, "sts": .statefulset,
        "daemonset": .daemonset, "daemonsets": .daemonset, "ds": .daemonset,
        "hpa": .hpa, "horizontalpodautoscaler": .hpa, "horizontalpodautoscalers": .hpa,
        "service": .service, "services": .service, "svc": .service,
        "pod": .pod, "pods": .pod, "po": .pod,
        "job": .job, "jobs": .job,
    ]

    /// Parses `deployment/web` (kubectl's short names work too).
    public static func parse(_ text: String) throws(KubeConfigError) -> WaitTarget {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw .invalid("\(text): expected TYPE/NAME, e.g. deployment/dev-inference-sim")
        }
        guard let kind = aliases[parts[0].lowercased()] else {
            throw .invalid(
                "\(text): unknown type \(parts[0]); expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return WaitTarget(kind: kind, name: parts[1])
    }

    public var description: String {
        if let name { return "\(kind.rawValue)/\(name)" }
        return "pods -l \(selector ?? "")"
    }

    /// The collection to list and watch, and the query that narrows it.
    public func resource(namespace: String, condition: WaitCondition) -> (path: String, query: [(String, String)]) {
        let ns = "namespaces/\(namespace)"
        let byName: [(String, String)] = name.map { [("fieldSelector", "metadata.name=\($0)")] } ?? []
        switch kind {
        case .deployment: return ("/apis/apps/v1/\(ns)/deployments", byName)
        case .statefulset: return ("/apis/apps/v1/\(ns)/statefulsets", byName)
        case .daemonset: return ("/apis/apps/v1/\(ns)/daemonsets", byName)
        case .hpa: return ("/apis/autoscaling/v2/\(ns)/horizontalpodautoscalers", byName)
        case .job: return ("/apis/batch/v1/\(ns)/jobs", byName)
        case .pod: return ("/api/v1/\(ns)/pods", selector.map { [("labelSelector", $0)] } ?? byName)
        case .service:
            if condition == .deleted { return ("/api/v1/\(ns)/services", byName) }
            // Readiness of a Service is its endpoints: the EndpointSlices labelled with its name.
            return (
                "/apis/discovery.k8s.io/v1/\(ns)/endpointslices",
                [("labelSelector", "kubernetes.io/service-name=\(name ?? "")")]
            )
        }
    }
}

/// What "done" means.
public enum WaitCondition: String, CaseIterable, Sendable, Equatable {
    /// Rolled out, has metrics, has endpoints, is ready, is complete — by kind.
    case ready
    case deleted
}

/// Where a target stands given the objects its watch has seen.
public enum TargetStatus {
    public static func evaluate(
        _ target: WaitTarget, objects: [String: JSONObject], condition: WaitCondition, minReady: Int
    ) -> Readiness {
        if condition == .deleted {
            if objects.isEmpty { return .done("\(target) is gone") }
            return .waiting("\(target) still exists (\(objects.count) object\(objects.count == 1 ? "" : "s"))")
        }
        if target.kind == .service {
            return ObjectStatus.endpoints(
                service: target.name ?? "", slices: Array(objects.values), minimum: max(minReady, 1))
        }
        if target.kind == .pod, target.selector != nil {
            guard !objects.isEmpty else { return .waiting("no pods match \(target.selector ?? "") yet") }
            let states = objects.keys.sorted().map { ObjectStatus.pod(objects[$0]!) }
            if let failed = states.first(where: { if case .failed = $0 { true } else { false } }) { return failed }
            let ready = states.filter { if case .done = $0 { true } else { false } }.count
            if ready == states.count { return .done("\(ready) pods matching \(target.selector ?? "") are ready") }
            return .waiting("\(ready) of \(states.count) pods matching \(target.selector ?? "") are ready")
        }
        guard let name = target.name, let object = objects[name] else {
            return .waiting("\(target) not found; waiting for it to be created")
        }
        switch target.kind {
        case .deployment: return RolloutStatus.deployment(object)
        case .statefulset: return RolloutStatus.statefulSet(object)
        case .daemonset: return RolloutStatus.daemonSet(object)
        case .hpa: return ObjectStatus.hpa(object)
        case .pod: return ObjectStatus.pod(object)
        case .job: return ObjectStatus.job(object)
        case .service: return .waiting("")  // handled above
        }
    }

    /// The label selector of a workload's pods (spec.selector.matchLabels), to look
    /// for pods that will not come up.
    public static func podSelector(of object: JSONObject) -> String? {
        guard let labels = object.object("spec")?.object("selector")?.object("matchLabels") else { return nil }
        let pairs = labels.keys.compactMap { key -> String? in
            if case .string(let v) = labels[key] { return "\(key)=\(v)" }
            return nil
        }
        return pairs.isEmpty ? nil : pairs.joined(separator: ",")
    }
}
