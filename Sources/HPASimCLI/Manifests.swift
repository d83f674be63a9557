import Autoscaler
import Kube
import YAMLTree

/// What hpa-sim takes from rendered manifests (`kubectl kustomize k8s/overlays/dev`):
/// the HPA's bounds, CPU target and behavior (with the API server's defaults filled in),
/// the container's CPU request and limit, and infer-serve's settings from the ConfigMap.
struct Manifests {
    var hpa: HPASpec?
    var cpuRequest: Double?
    var cpuLimit: Double?
    var settings: [String: String] = [:]

    init(yaml: String) throws(YAMLError) {
        for document in try YAMLNode.parseAll(yaml) {
            switch document["kind"]?.string {
            case "HorizontalPodAutoscaler": hpa = Self.hpa(document)
            case "Deployment":
                let container = document["spec"]?["template"]?["spec"]?["containers"]?.items.first
                cpuRequest = container?["resources"]?["requests"]?["cpu"]?.string.flatMap(KubeValues.quantity)
                cpuLimit = container?["resources"]?["limits"]?["cpu"]?.string.flatMap(KubeValues.quantity)
            case "ConfigMap":
                guard case .mapping(let pairs)? = document["data"] else { continue }
                for pair in pairs { if let key = pair.key.string, let value = pair.value.string { settings[key] = value } }
            default:
                continue
            }
        }
    }

    static func hpa(_ object: YAMLNode) -> HPASpec? {
        let spec = object["spec"]
        guard let max = spec?["maxReplicas"]?.string.flatMap({ Int($0) }) else { return nil }
        let cpu = spec?["metrics"]?.items.first { $0["resource"]?["name"]?.string == "cpu" }
        let target = cpu?["resource"]?["target"]?["averageUtilization"]?.string.flatMap { Int($0) } ?? 80
        var result = HPASpec(minReplicas: spec?["minReplicas"]?.string.flatMap { Int($0) } ?? 1, maxReplicas: max, targetUtilization: target)
        if let behavior = spec?["behavior"] {
            // The API server fills in the direction left out.
            result.scaleUp = rules(behavior["scaleUp"], defaults: .defaultScaleUp)
            result.scaleDown = rules(behavior["scaleDown"], defaults: .defaultScaleDown)
        }
        return result
    }

    static func rules(_ node: YAMLNode?, defaults: ScalingRules) -> ScalingRules {
        guard let node else { return defaults }
        var rules = defaults
        if let window = node["stabilizationWindowSeconds"]?.string.flatMap({ Double($0) }) { rules.stabilizationSeconds = window }
        switch node["selectPolicy"]?.string {
        case "Min": rules.select = .min
        case "Disabled": rules.select = .disabled
        default: rules.select = .max
        }
        let policies = node["policies"]?.items.compactMap { p -> ScalingRules.Policy? in
            guard let value = p["value"]?.string.flatMap({ Int($0) }), let period = p["periodSeconds"]?.string.flatMap({ Double($0) }) else { return nil }
            return ScalingRules.Policy(p["type"]?.string == "Pods" ? .pods : .percent, value, periodSeconds: period)
        } ?? []
        if !policies.isEmpty { rules.policies = policies }
        return rules
    }
}
