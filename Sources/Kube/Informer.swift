import JSON
import NIOCore

/// What an informer saw: an object that appeared, changed or went, or a problem it
/// is retrying after. Not Sendable (it carries `JSONObject`s): the informer sends each
/// one to its handler with copies of the objects it keeps.
public enum InformerEvent {
    /// `old` nil: a new object; `new` nil: it went. `initial`: from the first list,
    /// i.e. what existed before the watch began.
    case changed(old: JSONObject?, new: JSONObject?, initial: Bool)
    /// The API server could not be reached, or ended a watch with an error: retrying.
    case problem(String)
}

/// List-then-watch of the objects at `path` for as long as the task runs, as
/// client-go's informers do: a dropped watch resumes from the last resourceVersion
/// (no event twice, none lost); 410 Gone lists again and reports the difference
/// (objects gone while we were away come out as deletions); other errors back off
/// (0.25 s doubling to 5 s). Only 401/403 end it, by throwing.
public struct Informer: Sendable {
    public let client: KubeClient
    public let path: String
    public let query: [(String, String)]
    /// Longest a single list may take; a watch gets the server's 300 s plus this.
    public var requestSeconds: Int64 = 30

    public init(client: KubeClient, path: String, query: [(String, String)]) {
        self.client = client
        self.path = path
        self.query = query
    }

    public func run(_ onEvent: @Sendable (sending InformerEvent) async -> Void) async throws(KubeAPIError) {
        var state = WatchState()
        var known: [String: JSONObject] = [:]
        var initial = true
        var backoff = 0.25
        while !Task.isCancelled {
            var problem: String?
            do {
                switch state.next {
                case .list:
                    let (items, version) = try await client.list(
                        path, query: query, deadline: .now() + .seconds(requestSeconds))
                    state.listed(items, resourceVersion: version)
                    await Self.reconcile(items, with: &known, initial: initial, onEvent)
                    initial = false
                case .watch(let version):
                    let deadline = NIODeadline.now() + .seconds(300 + requestSeconds)
                    try await client.watch(path, query: query, resourceVersion: version, deadline: deadline) {
                        event throws(KubeAPIError) in
                        switch state.apply(event) {
                        case .none: return true
                        case .refused(let code, let message): throw KubeAPIError.refused(code: code, message: message)
                        case .relist:
                            if case .error(let code, let reason, let message) = event, code != 410 {
                                problem = "watch \(path): \(code) \(reason): \(message)"
                            }
                            return false
                        case .updated, .deleted:
                            await Self.deliver(event, to: &known, onEvent)
                            return true
                        }
                    }
                }
            } catch .refused(let code, let message) {
                throw .refused(code: code, message: message)
            } catch {
                problem = error.description
            }
            guard let problem else {
                backoff = 0.25
                continue
            }
            await onEvent(.problem(problem))
            try? await Task.sleep(nanoseconds: UInt64(backoff * 1e9))
            backoff = min(backoff * 2, 5)
        }
    }

    /// After a list: every item as changed (the caller keeps only real changes), and
    /// what is no longer there as gone.
    static func reconcile(
        _ items: [JSONObject], with known: inout [String: JSONObject], initial: Bool,
        _ onEvent: @Sendable (sending InformerEvent) async -> Void
    ) async {
        var listed = Set<String>()
        for item in items {
            listed.insert(item.name)
            let old = known.updateValue(item, forKey: item.name)
            await onEvent(copies(old: old, new: item, initial: initial))
        }
        for (name, old) in known where !listed.contains(name) {
            known[name] = nil
            await onEvent(copies(old: old, new: nil, initial: false))
        }
    }

    static func deliver(
        _ event: WatchEvent, to known: inout [String: JSONObject],
        _ onEvent: @Sendable (sending InformerEvent) async -> Void
    ) async {
        switch event {
        case .added(let object), .modified(let object):
            let old = known.updateValue(object, forKey: object.name)
            await onEvent(copies(old: old, new: object, initial: false))
        case .deleted(let object):
            let old = known.removeValue(forKey: object.name)
            await onEvent(copies(old: old ?? object, new: nil, initial: false))
        case .bookmark, .error:
            break
        }
    }

    /// A change for the handler, with copies of the objects: the informer keeps its own.
    static func copies(old: JSONObject?, new: JSONObject?, initial: Bool) -> sending InformerEvent {
        var (sentOld, sentNew): (JSONObject?, JSONObject?) = (nil, nil)
        if let old { sentOld = old.copy() }
        if let new { sentNew = new.copy() }
        return .changed(old: sentOld, new: sentNew, initial: initial)
    }
}
