import Foundation
import Yams

/// A kubeconfig file's clusters, users and contexts (kubectl's format), with file
/// paths made absolute against the file that named them, as kubectl does.
public struct Kubeconfig: Sendable, Equatable {
    public struct Cluster: Codable, Sendable, Equatable {
        public var server: String
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    /// An exec credential plugin (client.authentication.k8s.io).
    public struct ExecConfig: Codable, Sendable, Equatable {
        public struct EnvVar: Codable, Sendable, Equatable {
            public var name: String
            public var value: String
        }
        public var command: String
        public var args: [String]?
        public var env: [EnvVar]?
        public var apiVersion: String?
    }

    public struct User: Codable, Sendable, Equatable {
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var token: String?
        public var tokenFile: String?
        public var exec: ExecConfig?

        enum CodingKeys: String, CodingKey {
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case token, tokenFile, exec
        }
    }

    public struct Context: Codable, Sendable, Equatable {
        public var cluster: String
        public var user: String?
        public var namespace: String?
    }

    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?

    public init() {}

    private struct File: Codable {
        struct NamedCluster: Codable { var name: String; var cluster: Cluster }
        struct NamedUser: Codable { var name: String; var user: User? }
        struct NamedContext: Codable { var name: String; var context: Context }
        var clusters: [NamedCluster]?
        var users: [NamedUser]?
        var contexts: [NamedContext]?
        var currentContext: String?

        enum CodingKeys: String, CodingKey {
            case clusters, users, contexts
            case currentContext = "current-context"
        }
    }

    /// Parses one file's text; `directory` is where relative paths in it start from.
    public static func parse(_ yaml: String, directory: String) throws(KubeConfigError) -> Kubeconfig {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch {
            throw .invalid("not a kubeconfig: \(KubeConfigError.short(error))")
        }
        func absolute(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return path }
            return path.hasPrefix("/") ? path : directory + "/" + path
        }
        var config = Kubeconfig()
        for named in file.clusters ?? [] where config.clusters[named.name] == nil {
            var cluster = named.cluster
            cluster.certificateAuthority = absolute(cluster.certificateAuthority)
            config.clusters[named.name] = cluster
        }
        for named in file.users ?? [] where config.users[named.name] == nil {
            var user = named.user ?? User()
            user.clientCertificate = absolute(user.clientCertificate)
            user.clientKey = absolute(user.clientKey)
            user.tokenFile = absolute(user.tokenFile)
            config.users[named.name] = user
        }
        for named in file.contexts ?? [] where config.contexts[named.name] == nil {
            config.contexts[named.name] = named.context
        }
        config.currentContext = file.currentContext.flatMap { $0.isEmpty ? nil : $0 }
        return config
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
            throw .invalid("context \"\(contextName)\" not found in kubeconfig (known: \(known.isEmpty ? "none" : known))")
        }
        guard let cluster = clusters[context.cluster] else {
            throw .invalid("context \"\(contextName)\" names cluster \"\(context.cluster)\", which is not in kubeconfig")
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
            server: cluster.server,
            namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            caPEM: try Self.material(data: cluster.certificateAuthorityData, file: cluster.certificateAuthority, what: "certificate-authority"),
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false,
            clientCertificatePEM: try Self.material(data: user.clientCertificateData, file: user.clientCertificate, what: "client-certificate"),
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
            guard let bytes = FileManager.default.contents(atPath: file) else { throw .invalid("cannot read \(what) file \(file)") }
            return Array(bytes)
        }
        return nil
    }
}

/// Everything needed to talk to one API server. Credentials are kept out of
/// `description`, so they can never reach a log line.
public struct ClusterAccess: Sendable, Equatable, CustomStringConvertible {
    public var server: String
    public var namespace: String
    public var caPEM: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var credential: Credential
    /// Where this came from, for messages ("context kind-x", "in-cluster service account").
    public var source: String

    public var description: String { "\(server) (\(source), namespace \(namespace))" }

    /// The pod's own service account, when running in a cluster without a kubeconfig.
    public static func inCluster(environment: [String: String],
                                 directory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubeConfigError) -> ClusterAccess {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw .invalid("not in a cluster: KUBERNETES_SERVICE_HOST is not set")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard FileManager.default.fileExists(atPath: directory + "/token") else {
            throw .invalid("in-cluster configuration without a service-account token in \(directory)")
        }
        let namespace = (FileManager.default.contents(atPath: directory + "/namespace"))
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "default"
        return ClusterAccess(
            server: "https://\(hostPart):\(port)", namespace: namespace.isEmpty ? "default" : namespace,
            caPEM: FileManager.default.contents(atPath: directory + "/ca.crt").map { Array($0) },
            insecureSkipTLSVerify: false, clientCertificatePEM: nil, clientKeyPEM: nil,
            credential: .tokenFile(directory + "/token"), source: "in-cluster service account")
    }
}

/// How requests prove who they are.
public enum Credential: Sendable, Equatable {
    case none
    case token(String)
    /// Re-read on each use: kubelet rotates projected service-account tokens.
    case tokenFile(String)
    case exec(Kubeconfig.ExecConfig)
}

/// A configuration problem: exit status 2, with a message that says what to fix.
public enum KubeConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self { case .invalid(let m): m }
    }

    static func short(_ error: any Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
    }
}

/// Finds the configuration as kubectl does: --kubeconfig, else the $KUBECONFIG list
/// (merged), else ~/.kube/config, else the in-cluster service account.
public enum KubeconfigLoader {
    public static func load(flag: String?, context: String?, environment: [String: String],
                            serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubeConfigError) -> ClusterAccess {
        var paths: [String] = []
        if let flag, !flag.isEmpty {
            guard FileManager.default.fileExists(atPath: flag) else { throw .invalid("--kubeconfig \(flag): no such file") }
            paths = [flag]
        } else if let list = environment["KUBECONFIG"], !list.isEmpty {
            // Files in the list that do not exist are skipped, as kubectl skips them.
            paths = list.split(separator: ":").map(String.init).filter { FileManager.default.fileExists(atPath: $0) }
        } else if let home = environment["HOME"], FileManager.default.fileExists(atPath: home + "/.kube/config") {
            paths = [home + "/.kube/config"]
        }
        if paths.isEmpty {
            if environment["KUBERNETES_SERVICE_HOST"] != nil {
                return try ClusterAccess.inCluster(environment: environment, directory: serviceAccountDirectory)
            }
            throw .invalid("no kubeconfig: set --kubeconfig or KUBECONFIG, or create ~/.kube/config (kind create cluster writes one)")
        }
        var configs: [Kubeconfig] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { throw .invalid("\(path): cannot read it") }
            let directory = (path as NSString).deletingLastPathComponent
            do {
                configs.append(try Kubeconfig.parse(String(decoding: data, as: UTF8.self), directory: directory.isEmpty ? "." : directory))
            } catch {
                throw .invalid("\(path): \(error.description)")
            }
        }
        return try Kubeconfig.merge(configs).access(context: context)
    }
}
