/// A configuration problem: exit status 2, with a message that says what to fix.
public enum KubeConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let m): m
        }
    }

}
