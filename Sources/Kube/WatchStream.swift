import JSON

/// One event of a `?watch=1` stream (one JSON object per line). Not Sendable, as the
/// `JSONObject` it carries: it stays in the task that reads the stream.
public enum WatchEvent {
    case added(JSONObject)
    case modified(JSONObject)
    case deleted(JSONObject)
    /// Only a resourceVersion to resume from; no change to the object.
    case bookmark(resourceVersion: String)
    /// A Status object; 410 Gone (reason Expired) means: relist.
    case error(code: Int, reason: String, message: String)

    /// Parses one line of a watch stream.
    public static func parse(_ line: some Collection<UInt8>) throws(KubeAPIError) -> WatchEvent {
        let event: JSONObject
        do { event = try JSONObject(parsing: line) } catch {
            throw .protocolError("watch event is not JSON: \(error.description)")
        }
        guard case .string(let type) = event["type"], let object = event.object("object") else {
            throw .protocolError("watch event without type or object")
        }
        switch type {
        case "ADDED": return .added(object)
        case "MODIFIED": return .modified(object)
        case "DELETED": return .deleted(object)
        case "BOOKMARK": return .bookmark(resourceVersion: object.string("metadata", "resourceVersion") ?? "")
        case "ERROR":
            return .error(
                code: object.int("code") ?? 0, reason: object.string("reason") ?? "",
                message: object.string("message") ?? "")
        default: throw .protocolError("unknown watch event type \(type)")
        }
    }
}

/// The client side of list-then-watch for a set of objects (one by name, or those a
/// selector matches), as a value-type state machine: what to ask the API server next,
/// given what it has said. No I/O here, so the resume and relist rules are tested
/// without a server. Not Sendable: it keeps the objects, which stay in the watching task.
public struct WatchState {
    /// The objects as last seen, by name.
    public private(set) var objects: [String: JSONObject] = [:]
    /// Where the next watch resumes from.
    public private(set) var resourceVersion: String?

    public init() {}

    public enum Next: Equatable, Sendable {
        /// LIST (or GET) to learn the object and a resourceVersion.
        case list
        /// WATCH from this resourceVersion.
        case watch(from: String)
    }

    /// What to send next.
    public var next: Next {
        guard let resourceVersion, !resourceVersion.isEmpty else { return .list }
        return .watch(from: resourceVersion)
    }

    /// After a LIST: its items and its resourceVersion.
    public mutating func listed(_ items: [JSONObject], resourceVersion: String) {
        objects = [:]
        for item in items { objects[item.name] = item }
        self.resourceVersion = resourceVersion
    }

    /// What an event changed.
    public enum Change: Equatable, Sendable {
        case none
        /// The object is new or different: evaluate it again.
        case updated
        case deleted
        /// The stream cannot go on from here: list again.
        case relist
        /// The server refused; stop with this status.
        case refused(code: Int, message: String)
    }

    public mutating func apply(_ event: WatchEvent) -> Change {
        switch event {
        case .added(let o), .modified(let o):
            objects[o.name] = o
            resourceVersion = o.string("metadata", "resourceVersion") ?? resourceVersion
            return .updated
        case .deleted(let o):
            objects[o.name] = nil
            resourceVersion = o.string("metadata", "resourceVersion") ?? resourceVersion
            return .deleted
        case .bookmark(let rv):
            if !rv.isEmpty { resourceVersion = rv }
            return .none
        case .error(let code, _, let message):
            if code == 410 {
                // Expired: our resourceVersion is too old to resume from.
                resourceVersion = nil
                return .relist
            }
            if code == 401 || code == 403 { return .refused(code: code, message: message) }
            // Other errors (500 …): list again after a back-off.
            resourceVersion = nil
            return .relist
        }
    }

    /// The stream ended (the server's timeout, or the connection dropped): resume
    /// from the last resourceVersion, which `next` already says.
    public func streamEnded() -> Next { next }
}

/// Failures talking to the API server.
public enum KubeAPIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 401/403: exit status 3.
    case refused(code: Int, message: String)
    case protocolError(String)
    case transport(String)

    public var description: String {
        switch self {
        case .refused(let code, let message):
            let what =
                code == 401
                ? "the API server rejected our credentials (401 Unauthorized)"
                : "the API server forbids this (403 Forbidden)"
            return message.isEmpty ? what : "\(what): \(message)"
        case .protocolError(let m): return "unexpected answer from the API server: \(m)"
        case .transport(let m): return m
        }
    }
}
