/// The project's one version, which every tool's --version prints.
public enum ToolVersion {
    public static let current = "0.1.0"
}
