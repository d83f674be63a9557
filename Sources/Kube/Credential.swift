/// How requests prove who they are.
public enum Credential: Sendable, Equatable {
    case none
    case token(String)
    /// Re-read on each use: kubelet rotates projected service-account tokens.
    case tokenFile(String)
    case exec(Kubeconfig.ExecConfig)
}
