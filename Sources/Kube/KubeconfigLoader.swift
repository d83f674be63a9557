import FoundationEssentials
import Platform
import YAMLTree

/// Finds the configuration as kubectl does: --kubeconfig, else the $KUBECONFIG list
/// (merged), else ~/.kube/config, else the in-cluster service account.
public enum KubeconfigLoader {
    public static func load(
        flag: String?, context: String?, environment: [String: String],
        serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> ClusterAccess {
        var paths: [String] = []
        if let flag, !flag.isEmpty {
            guard SmallFile.isFile(flag) else {
                throw .invalid("--kubeconfig \(flag): \(SmallFile.exists(flag) ? "not a file" : "no such file")")
            }
            paths = [flag]
        } else if let list = environment["KUBECONFIG"], !list.isEmpty {
            // Files in the list that do not exist are skipped, as kubectl skips them.
            paths = list.split(separator: ":").map(String.init).filter(SmallFile.isFile)
        } else if let home = environment["HOME"], SmallFile.isFile(home + "/.kube/config") {
            paths = [home + "/.kube/config"]
        }
        if paths.isEmpty {
            if environment["KUBERNETES_SERVICE_HOST"] != nil {
                return try ClusterAccess.inCluster(environment: environment, directory: serviceAccountDirectory)
            }
            throw .invalid(
                "no kubeconfig: set --kubeconfig or KUBECONFIG, or create ~/.kube/config (kind create cluster writes one)"
            )
        }
        var configs: [Kubeconfig] = []
        for path in paths {
            guard let text = SmallFile.readText(path) else { throw .invalid("\(path): cannot read it") }
            let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            do {
                configs.append(try Kubeconfig.parse(text, directory: directory.isEmpty ? "/" : directory))
            } catch {
                throw .invalid("\(path): \(error.description)")
            }
        }
        return try Kubeconfig.merge(configs).access(context: context)
    }
}

/// `text` without leading and trailing whitespace (a token or namespace file's newline).
func trimmed(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0.isWhitespace }
    guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(text[first...last])
}
