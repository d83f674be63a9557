import JSON

/// Where a waited-on object stands: still waiting (and why), done, or failed for good.
public enum Readiness: Equatable, Sendable {
    case waiting(String)
    case done(String)
    case failed(String)

    public var message: String {
        switch self {
        case .waiting(let m), .done(let m), .failed(let m): m
        }
    }
}

/// Field access on Kubernetes objects, as the API server writes them.
extension JSONObject {
    func int(_ path: String...) -> Int? {
        if case .integer(let i) = self[path] { return i }
        return nil
    }

    func string(_ path: String...) -> String? {
        if case .string(let s) = self[path] { return s }
        return nil
    }

    var name: String { string("metadata", "name") ?? "?" }

    /// The condition of `type` in status.conditions.
    func condition(_ type: String) -> JSONObject? {
        object("status")?.objects("conditions").first { $0.string("type") == type }
    }
}
