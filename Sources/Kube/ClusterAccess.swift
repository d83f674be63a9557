import Platform

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
    public static func inCluster(
        environment: [String: String],
        directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> ClusterAccess {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw .invalid("not in a cluster: KUBERNETES_SERVICE_HOST is not set")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        guard SmallFile.exists(directory + "/token") else {
            throw .invalid("in-cluster configuration without a service-account token in \(directory)")
        }
        let namespace = SmallFile.readText(directory + "/namespace").map(trimmed) ?? "default"
        return ClusterAccess(
            server: "https://\(hostPart):\(port)", namespace: namespace.isEmpty ? "default" : namespace,
            caPEM: SmallFile.read(directory + "/ca.crt"),
            insecureSkipTLSVerify: false, clientCertificatePEM: nil, clientKeyPEM: nil,
            credential: .tokenFile(directory + "/token"), source: "in-cluster service account")
    }
}
