import Foundation

/// Spawning the tools as an ordinary user when the tests run as root (as CI does): root
/// hides whole classes of bugs. One did: a socket option that needs CAP_NET_ADMIN broke
/// every connection of infer-load for everyone else, and no test saw it.
public enum Unprivileged {
    /// nobody:nogroup.
    public static let uid = 65534
    public static let setpriv = "/usr/bin/setpriv"

    /// Whether spawned tools are switched to `uid`.
    public static var isActive: Bool { geteuid() == 0 }

    /// `executable arguments`, run as `uid` with no supplementary groups when we are root.
    /// setpriv (util-linux) is on every Debian system; if it is missing the spawn fails
    /// loudly rather than quietly running as root.
    public static func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String])
    {
        guard isActive else { return (executable, arguments) }
        return (setpriv, ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", executable] + arguments)
    }

    /// A fresh folder the unprivileged tools can write into (removed by the caller).
    public static func makeFolder(_ prefix: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())").path
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o777])
        chmod(path, 0o777)  // the umask applies to createDirectory's mode
        return path
    }
}
