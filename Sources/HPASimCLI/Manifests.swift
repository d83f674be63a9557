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

    init(yaml: String) throws(ManifestError) {
        let documents: [YAMLNode]
        do { documents = try YAMLNode.parseAll(yaml) } catch { throw ManifestError(error.description) }
        for document in documents {
            switch document["kind"]?.string {
            case "HorizontalPodAutoscaler": hpa = try Self.hpa(document)
            case "Deployment":
                let container = document["spec"]?["template"]?["spec"]?["containers"]?.items.first
                cpuRequest = container?["resources"]?["requests"]?["cpu"]?.string.flatMap(KubeValues.quantity)
                cpuLimit = container?["resources"]?["limits"]?["cpu"]?.string.flatMap(KubeValues.quantity)
            case "ConfigMap":
                guard case .mapping(let pairs)? = document["data"] else { continue }
                for pair in pairs {
                    if let key = pair.key.string, let value = pair.value.string { settings[key] = value }
                }
            default:
                continue
            }
        }
    }

    static func hpa(_ object: YAMLNode) throws(ManifestError) -> HPASpec? {
        let spec = object["spec"]
        guard let max = spec?["maxReplicas"]?.string.flatMap({ Int($0) }) else { return nil }
        let cpu = spec?["metrics"]?.items.first { $0["resource"]?["name"]?.string == "cpu" }
        let target = cpu?["resource"]?["target"]?["averageUtilization"]?.string.flatMap { Int($0) } ?? 80
        let min = spec?["minReplicas"]?.string.flatMap { Int($0) } ?? 1
        var result = HPASpec(minReplicas: min, maxReplicas: max, targetUtilization: target)
        if let behavior = spec?["behavior"] {
            // The API server fills in the direction left out.
            let at = "spec.behavior"
            result.scaleUp = try rules(behavior["scaleUp"], at: at + ".scaleUp", defaults: .defaultScaleUp)
            result.scaleDown = try rules(behavior["scaleDown"], at: at + ".scaleDown", defaults: .defaultScaleDown)
        }
        return result
    }

    /// One direction's rules; `field` is its path, for errors. A value the API server would
    /// refuse is an error here too, not a guess.
    static func rules(
        _ node: YAMLNode?, at field: String,
        defaults: ScalingRules
    ) throws(ManifestError) -> ScalingRules {
        guard let node else { return defaults }
        var rules = defaults
        if let window = node["stabilizationWindowSeconds"] {
            rules.stabilizationSeconds = Double(try integer(window, at: field + ".stabilizationWindowSeconds"))
        }
        if let select = node["selectPolicy"] {
            let choices: [(String, ScalingRules.Select)] = [("Max", .max), ("Min", .min), ("Disabled", .disabled)]
            rules.select = try choice(select, at: field + ".selectPolicy", choices)
        }
        var policies: [ScalingRules.Policy] = []
        for (i, p) in (node["policies"]?.items ?? []).enumerated() {
            let at = field + ".policies[\(i)]"
            let kinds: [(String, ScalingRules.Policy.Kind)] = [("Pods", .pods), ("Percent", .percent)]
            let kind = try choice(p["type"], at: at + ".type", kinds)
            let value = try integer(p["value"], at: at + ".value")
            let period = try integer(p["periodSeconds"], at: at + ".periodSeconds")
            policies.append(ScalingRules.Policy(kind, value, periodSeconds: Double(period)))
        }
        if !policies.isEmpty { rules.policies = policies }
        return rules
    }

    /// The value among `choices` that `node` names (as the API spells it).
    static func choice<T>(_ node: YAMLNode?, at field: String, _ choices: [(String, T)]) throws(ManifestError) -> T {
        let names = choices.map(\.0).joined(separator: ", ")
        guard let text = node?.string else { throw ManifestError("\(field): missing (\(names))") }
        guard let found = choices.first(where: { $0.0 == text }) else {
            throw ManifestError("\(field): unknown value \"\(text)\" (\(names))")
        }
        return found.1
    }

    static func integer(_ node: YAMLNode?, at field: String) throws(ManifestError) -> Int {
        guard let text = node?.string else { throw ManifestError("\(field): missing (an integer)") }
        guard let value = Int(text) else { throw ManifestError("\(field): \"\(text)\" is not an integer") }
        return value
    }
}

/// Why hpa-sim cannot use the manifests: YAML it cannot parse, or a field it cannot read.
struct ManifestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
