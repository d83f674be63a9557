import NIOCore

/// Waits on several targets at once through list-then-watch, until all are done,
/// one fails, the API refuses us, or the deadline passes.
public struct Waiter: Sendable {
    public struct Options: Sendable {
        public var namespace: String
        public var condition: WaitCondition = .ready
        public var minReady = 1
        public var failFast = false
        public var failMissing = false
        public var timeout: Double = 300
        public init(namespace: String) { self.namespace = namespace }
    }

    /// One state change of one target, for the progress output.
    public struct Update: Sendable {
        public let target: String
        public let readiness: Readiness
        public let problems: [PodProblem]
    }

    public enum Outcome: Sendable, Equatable {
        case done
        case failed(target: String, message: String)
        case timedOut(waitingOn: [String])
        case refused(KubeAPIError)
    }

    let client: KubeClient
    let options: Options

    public init(client: KubeClient, options: Options) {
        self.client = client
        self.options = options
    }

    fileprivate enum TargetEnd: Sendable {
        case done(String)
        case failed(String, String)
        case refused(KubeAPIError)
    }

    public func run(_ targets: [WaitTarget], report: @escaping @Sendable (Update) -> Void) async -> Outcome {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(options.timeout * 1e9))
        return await withTaskGroup(of: TargetEnd?.self) { group in
            for target in targets {
                group.addTask { await self.wait(target, deadline: deadline, report: report) }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(max(options.timeout, 0) * 1e9))
                return nil  // the deadline
            }
            var pending = Set(targets.map(\.description))
            while let end = await group.next() {
                switch end {
                case .done(let name)?:
                    pending.remove(name)
                    if pending.isEmpty {
                        group.cancelAll()
                        return .done
                    }
                case .failed(let name, let message)?:
                    group.cancelAll()
                    return .failed(target: name, message: message)
                case .refused(let error)?:
                    group.cancelAll()
                    return .refused(error)
                case nil:
                    group.cancelAll()
                    return .timedOut(waitingOn: pending.sorted())
                }
            }
            return .timedOut(waitingOn: pending.sorted())
        }
    }

    private func wait(
        _ target: WaitTarget, deadline: NIODeadline, report: @escaping @Sendable (Update) -> Void
    ) async -> TargetEnd? {
        var watch = TargetWatch(target: target, options: options, client: client, deadline: deadline, report: report)
        return await watch.run()
    }

    /// One target's list-then-watch: each change is evaluated and reported once;
    /// unreachable or odd answers are said once and retried with a capped back-off.
    fileprivate struct TargetWatch {
        let target: WaitTarget
        let options: Options
        let client: KubeClient
        let deadline: NIODeadline
        let report: @Sendable (Update) -> Void
        var state = WatchState()
        var last: (String, [PodProblem])?
        var lastPodCheck: ContinuousClock.Instant?

        init(
            target: WaitTarget, options: Options, client: KubeClient, deadline: NIODeadline,
            report: @escaping @Sendable (Update) -> Void
        ) {
            self.target = target
            self.options = options
            self.client = client
            self.deadline = deadline
            self.report = report
        }

        mutating func run() async -> TargetEnd? {
            let (path, query) = target.resource(namespace: options.namespace, condition: options.condition)
            var backoff = 0.25
            while !Task.isCancelled {
                do {
                    switch state.next {
                    case .list:
                        let (items, version) = try await client.list(path, query: query, deadline: deadline)
                        state.listed(items, resourceVersion: version)
                        if let end = try await evaluate() { return end }
                    case .watch(let version):
                        if let end = try await watch(path, query, from: version) { return end }
                    }
                    backoff = 0.25
                } catch .refused(let code, let message) {
                    return .refused(.refused(code: code, message: message))
                } catch {
                    say(.waiting("\(error.description); retrying"), [])
                    try? await Task.sleep(nanoseconds: UInt64(backoff * 1e9))
                    backoff = min(backoff * 2, 5)
                }
            }
            return nil
        }

        /// One watch stream: the end it reached, or nil when it ended first (resume or relist).
        mutating func watch(
            _ path: String, _ query: [(String, String)], from version: String
        ) async throws(KubeAPIError) -> TargetEnd? {
            var end: TargetEnd?
            try await client.watch(path, query: query, resourceVersion: version, deadline: deadline) {
                event throws(KubeAPIError) in
                switch state.apply(event) {
                case .none: return true
                case .relist: return false
                case .refused(let code, let message): throw KubeAPIError.refused(code: code, message: message)
                case .updated, .deleted:
                    end = try await evaluate()
                    return end == nil
                }
            }
            return end
        }

        /// Evaluates and reports once per change; nil while still waiting.
        mutating func evaluate() async throws(KubeAPIError) -> TargetEnd? {
            var readiness = TargetStatus.evaluate(
                target, objects: state.objects, condition: options.condition, minReady: options.minReady)
            if case .waiting = readiness, options.failMissing, options.condition == .ready, target.name != nil,
                target.kind != .service, state.objects.isEmpty
            {
                readiness = .failed("\(target) not found (--fail-missing)")
            }
            var problems: [PodProblem] = []
            if case .waiting = readiness, [.deployment, .statefulset, .daemonset].contains(target.kind),
                let name = target.name, let object = state.objects[name],
                let selector = TargetStatus.podSelector(of: object),
                lastPodCheck.map({ ContinuousClock.now - $0 > .seconds(1) }) ?? true
            {
                lastPodCheck = .now
                let pods = try await client.list(
                    "/api/v1/namespaces/\(options.namespace)/pods", query: [("labelSelector", selector)],
                    deadline: deadline)
                problems = PodProblem.find(in: pods.items)
                if options.failFast, let first = problems.first {
                    readiness = .failed(
                        "pod \(first.pod): \(first.reason)\(first.message.isEmpty ? "" : ": \(first.message)") (--fail-fast)"
                    )
                }
            } else if let last, case .waiting = readiness {
                problems = last.1
            }
            say(readiness, problems)
            switch readiness {
            case .done: return .done(target.description)
            case .failed(let message): return .failed(target.description, message)
            case .waiting: return nil
            }
        }

        /// Reports a state, unless it is the one reported last.
        mutating func say(_ readiness: Readiness, _ problems: [PodProblem]) {
            guard last?.0 != readiness.message || last?.1 != problems else { return }
            last = (readiness.message, problems)
            report(Update(target: target.description, readiness: readiness, problems: problems))
        }
    }
}
