import FoundationEssentials
import Platform
import YAMLTree

/// A kubeconfig file's clusters, users and contexts (kubectl's format), with file
/// paths made absolute against the file that named them, as kubectl does.
public struct Kubeconfig: Sendable, Equatable {
    public struct Cluster: Sendable, Equatable {
        /// Checked when the cluster is used, as kubectl does: an incomplete entry
        /// elsewhere in the file does not stop another context from working.
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?
    }

    /// An exec credential plugin (client.authentication.k8s.io).
    public struct ExecConfig: Sendable, Equatable {
        public struct EnvVar: Sendable, Equatable {
            public var name: String
            public var value: String
        }
        public var command: String
        public var args: [String]?
        public var env: [EnvVar]?
        public var apiVersion: String?
    }

    public struct User: Sendable, Equatable {
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var token: String?
        public var tokenFile: String?
        public var exec: ExecConfig?
    }

    public struct Context: Sendable, Equatable {
        public var cluster: String?
        public var user: String?
        public var namespace: String?
    }

    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?

    public init() {}

    /// Parses one file's text; `directory` is where relative paths in it start from.
    public static func parse(_ yaml: String, directory: String) throws(KubeConfigError) -> Kubeconfig {
        let root: YAMLNode
        do {
            root = try YAMLNode.parse(yaml) ?? .mapping([])
        } catch {
            throw .invalid("not a kubeconfig: \(error)")
        }
        guard case .mapping = root else { throw .invalid("not a kubeconfig: the top level is not a mapping") }
        func absolute(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return path }
            return path.hasPrefix("/") ? path : directory + "/" + path
        }
        // The first entry of a name wins, as in kubectl.
        var config = Kubeconfig()
        for entry in try Self.list(root, "clusters") {
            let (name, body) = try Self.named(entry, "cluster", in: "clusters")
            guard config.clusters[name] == nil else { continue }
            config.clusters[name] = Cluster(
                server: body["server"]?.string, certificateAuthority: absolute(body["certificate-authority"]?.string),
                certificateAuthorityData: body["certificate-authority-data"]?.string,
                insecureSkipTLSVerify: body["insecure-skip-tls-verify"]?.bool)
        }
        for entry in try Self.list(root, "users") {
            let name = try Self.name(entry, in: "users")
            guard config.users[name] == nil else { continue }
            let body = entry["user"] ?? .mapping([])
            config.users[name] = User(
                clientCertificate: absolute(body["client-certificate"]?.string),
                clientCertificateData: body["client-certificate-data"]?.string,
                clientKey: absolute(body["client-key"]?.string), clientKeyData: body["client-key-data"]?.string,
                token: body["token"]?.string, tokenFile: absolute(body["tokenFile"]?.string),
                exec: try body["exec"].flatMap { node throws(KubeConfigError) in try Self.exec(node, user: name) }.map {
                    exec in
                    // A command path with a slash is relative to the file, as kubectl reads it.
                    var exec = exec
                    if exec.command.contains("/") { exec.command = absolute(exec.command) ?? exec.command }
                    return exec
                })
        }
        for entry in try Self.list(root, "contexts") {
            let (name, body) = try Self.named(entry, "context", in: "contexts")
            guard config.contexts[name] == nil else { continue }
            config.contexts[name] = Context(
                cluster: body["cluster"]?.string, user: body["user"]?.string, namespace: body["namespace"]?.string)
        }
        config.currentContext = root["current-context"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        return config
    }

    private static func list(_ root: YAMLNode, _ key: String) throws(KubeConfigError) -> [YAMLNode] {
        guard let node = root[key], !node.isNull else { return [] }
        guard case .sequence(let items) = node else { throw .invalid("not a kubeconfig: \(key) is not a list") }
        return items
    }

    private static func name(_ entry: YAMLNode, in list: String) throws(KubeConfigError) -> String {
        guard let name = entry["name"]?.string else {
            throw .invalid("not a kubeconfig: an entry of \(list) has no name")
        }
        return name
    }

    private static func named(
        _ entry: YAMLNode, _ key: String, in list: String
    ) throws(KubeConfigError) -> (String, YAMLNode) {
        let name = try name(entry, in: list)
        guard let body = entry[key], case .mapping = body else {
            throw .invalid("\(list) entry \"\(name)\" has no \(key)")
        }
        return (name, body)
    }

    private static func exec(_ node: YAMLNode, user: String) throws(KubeConfigError) -> ExecConfig? {
        if node.isNull { return nil }
        guard let command = node["command"]?.string, !command.isEmpty else {
            throw .invalid("user \"\(user)\": exec has no command")
        }
        var env: [ExecConfig.EnvVar] = []
        for variable in node["env"]?.items ?? [] {
            guard let name = variable["name"]?.string else {
                throw .invalid("user \"\(user)\": an exec env entry has no name")
            }
            env.append(.init(name: name, value: variable["value"]?.string ?? ""))
        }
        return ExecConfig(
            command: command, args: node["args"].map { $0.items.compactMap(\.string) },
            env: env.isEmpty ? nil : env, apiVersion: node["apiVersion"]?.string)
    }

    /// kubectl's merge of $KUBECONFIG files: the first file to define a name, or to set
    /// the current context, wins.
    public static func merge(_ configs: [Kubeconfig]) -> Kubeconfig {
        var merged = Kubeconfig()
        for config in configs {
            merged.clusters.merge(config.clusters) { first, _ in first }
            merged.users.merge(config.users) { first, _ in first }
            merged.contexts.merge(config.contexts) { first, _ in first }
            if merged.currentContext == nil { merged.currentContext = config.currentContext }
        }
        return merged
    }

    /// How to reach the API server of `context` (default: the current context).
    public func access(context name: String?) throws(KubeConfigError) -> ClusterAccess {
        guard let contextName = name ?? currentContext else {
            throw .invalid("no current context: pass --context or run kubectl config use-context")
        }
        guard let context = contexts[contextName] else {
            let known = contexts.keys.sorted().joined(separator: ", ")
            throw .invalid(
                "context \"\(contextName)\" not found in kubeconfig (known: \(known.isEmpty ? "none" : known))")
        }
        guard let clusterName = context.cluster, !clusterName.isEmpty else {
            throw .invalid("context \"\(contextName)\" names no cluster")
        }
        guard let cluster = clusters[clusterName] else {
            throw .invalid("context \"\(contextName)\" names cluster \"\(clusterName)\", which is not in kubeconfig")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw .invalid("cluster \"\(clusterName)\" has no server")
        }
        let user = context.user.flatMap { users[$0] } ?? User()
        var credential: Credential = .none
        if let exec = user.exec {
            credential = .exec(exec)
        } else if let token = user.token, !token.isEmpty {
            credential = .token(token)
        } else if let file = user.tokenFile, !file.isEmpty {
            credential = .tokenFile(file)
        }
        return ClusterAccess(
            server: server,
            namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            caPEM: try Self.material(
                data: cluster.certificateAuthorityData, file: cluster.certificateAuthority,
                what: "certificate-authority"),
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false,
            clientCertificatePEM: try Self.material(
                data: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate"),
            clientKeyPEM: try Self.material(data: user.clientKeyData, file: user.clientKey, what: "client-key"),
            credential: credential,
            source: "context \(contextName)")
    }

    /// Inline base64 data, else a file's bytes, else nil.
    static func material(data: String?, file: String?, what: String) throws(KubeConfigError) -> [UInt8]? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw .invalid("\(what)-data is not base64")
            }
            return Array(decoded)
        }
        if let file, !file.isEmpty {
            guard let bytes = SmallFile.read(file) else { throw .invalid("cannot read \(what) file \(file)") }
            return bytes
        }
        return nil
    }
}
