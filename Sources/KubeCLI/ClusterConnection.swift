import ArgumentParser
import Kube
import Platform
import ToolSupport

/// The cluster a Kubernetes tool talks to, from its --kubeconfig and --context: a
/// kubeconfig that cannot be used is a usage error (exit 2), and a context that skips
/// TLS verification gets a warning.
enum ClusterConnection {
    static func open(kubeconfig: String?, context: String?, tool: String) throws -> (ClusterAccess, KubeClient) {
        let access: ClusterAccess
        let client: KubeClient
        do {
            access = try KubeconfigLoader.load(
                flag: kubeconfig, context: context, environment: ProcessEnvironment.current)
            client = try KubeClient(access: access)
        } catch {
            writeStderr("\(tool): \(error.description)\n")
            throw ExitCode(ExitStatus.usage)
        }
        if access.insecureSkipTLSVerify {
            writeStderr(
                "\(tool): warning: insecure-skip-tls-verify is set for \(access.source): the API server's certificate is not checked\n"
            )
        }
        return (access, client)
    }
}
