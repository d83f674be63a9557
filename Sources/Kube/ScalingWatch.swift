import JSON
import NIOCore
import Platform

/// kube-watch's engine: finds a workload's HPA and Deployment, then watches the
/// HPA, the Deployment, its pods and the HPA's Events, and reads the metrics API
/// once per metrics window (it has no watch), handing each line (`ScalingLines`)
/// to `emit` as it happens. Runs until cancelled; throws only when the API server
/// refuses us (401/403).
public actor ScalingWatch {
    public let client: KubeClient
    public let namespace: String
    public let target: WaitTarget
    private var lines = ScalingLines()
    private let emit: @Sendable ([UInt8]) -> Void
    private let clock: @Sendable () -> Double

    /// `target` is hpa/NAME or deployment/NAME.
    public init(
        client: KubeClient, namespace: String, target: WaitTarget,
        clock: @escaping @Sendable () -> Double = { CPUClock.wallSeconds() },
        emit: @escaping @Sendable ([UInt8]) -> Void
    ) {
        self.client = client
        self.namespace = namespace
        self.target = target
        self.clock = clock
        self.emit = emit
    }

    /// The kinds kube-watch follows.
    public static let kinds: [WaitTarget.Kind] = [.hpa, .deployment]

    public func run() async throws(KubeAPIError) {
        let (hpa, deployment) = try await resolve()
        let selector = try await podSelector(of: deployment)
        let ns = namespace
        let sources: [(String, Informer, Feed)] = [
            hpa.map {
                (
                    "hpa",
                    Informer(
                        client: client, path: "/apis/autoscaling/v2/namespaces/\(ns)/horizontalpodautoscalers",
                        query: [("fieldSelector", "metadata.name=\($0)")]), .hpa
                )
            },
            (
                "deployment",
                Informer(
                    client: client, path: "/apis/apps/v1/namespaces/\(ns)/deployments",
                    query: [("fieldSelector", "metadata.name=\(deployment)")]), .deployment
            ),
            (
                "pods",
                Informer(client: client, path: "/api/v1/namespaces/\(ns)/pods", query: [("labelSelector", selector)]),
                .pod
            ),
            hpa.map {
                (
                    "events",
                    Informer(
                        client: client, path: "/api/v1/namespaces/\(ns)/events",
                        query: [
                            ("fieldSelector", "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=\($0)")
                        ]), .event
                )
            },
        ].compactMap { $0 }
        do {
            try await runAll(sources, selector: selector)
        } catch let error as KubeAPIError {
            throw error
        } catch {
            throw .transport(String(describing: error))
        }
    }

    private func runAll(_ sources: [(String, Informer, Feed)], selector: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (what, informer, feed) in sources {
                group.addTask {
                    try await informer.run { event in await self.take(event, feed: feed, what: what) }
                }
            }
            group.addTask { await self.pollMetrics(selector: selector) }
            try await group.next()
            group.cancelAll()
        } as Void
    }

    enum Feed: Sendable { case hpa, deployment, pod, event }

    private func take(_ event: InformerEvent, feed: Feed, what: String) {
        let ts = clock()
        switch event {
        case .problem(let message):
            send([ScalingLines.problem(what, message, ts: ts)])
        case .changed(let old, let new, let initial):
            switch feed {
            case .hpa: send(lines.hpa(new, ts: ts))
            case .deployment: send(lines.deployment(new, ts: ts))
            case .pod: send(lines.pod(old: old, new: new, initial: initial, ts: ts))
            case .event: send(lines.event(new, initial: initial, ts: ts))
            }
        }
    }

    private func send(_ objects: [JSONObject]) {
        for object in objects {
            // Microseconds, as request records have; 17 digits would print noise.
            var bytes = object.serialized(realPrecision: 16)
            bytes.append(0x0A)
            emit(bytes)
        }
    }

    /// Once per metrics window after a new sample; every 2 s while none is new; every
    /// 15 s while the API is missing (no metrics-server) or failing, with a line saying so.
    private func pollMetrics(selector: String) async {
        let path = "/apis/metrics.k8s.io/v1beta1/namespaces/\(namespace)/pods"
        while !Task.isCancelled {
            var pause = 15.0
            do {
                let (items, _) = try await client.list(
                    path, query: [("labelSelector", selector)], deadline: .now() + .seconds(30))
                let fresh = lines.podMetrics(items, ts: clock())
                send(fresh)
                let window = items.compactMap { $0.string("window").flatMap(ScalingLines.seconds) }.max() ?? 15
                pause = fresh.isEmpty ? min(2, window) : min(max(window, 1), 60)
            } catch {
                send([ScalingLines.problem("metrics", error.description, ts: clock())])
            }
            try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
        }
    }

    /// The HPA's name (nil for a Deployment no HPA targets) and the Deployment's,
    /// waiting (with a line per failed try) until they exist.
    func resolve() async throws(KubeAPIError) -> (hpa: String?, deployment: String) {
        let path = "/apis/autoscaling/v2/namespaces/\(namespace)/horizontalpodautoscalers"
        let name = target.name ?? ""
        while true {
            do throws(KubeAPIError) {
                if target.kind == .hpa {
                    let (items, _) = try await client.list(
                        path, query: [("fieldSelector", "metadata.name=\(name)")], deadline: .now() + .seconds(30))
                    if let hpa = items.first, let scaled = hpa.string("spec", "scaleTargetRef", "name") {
                        return (name, scaled)
                    }
                    throw KubeAPIError.protocolError("no HorizontalPodAutoscaler \(name) in \(namespace) yet")
                }
                let (items, _) = try await client.list(path, query: [], deadline: .now() + .seconds(30))
                let hpa = items.first {
                    $0.string("spec", "scaleTargetRef", "kind") == "Deployment"
                        && $0.string("spec", "scaleTargetRef", "name") == name
                }
                return (hpa?.name, name)
            } catch .refused(let code, let message) {
                throw .refused(code: code, message: message)
            } catch {
                send([ScalingLines.problem(target.kind == .hpa ? "hpa" : "hpa-list", error.description, ts: clock())])
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                if Task.isCancelled { throw .transport("cancelled") }
            }
        }
    }

    /// The label selector of the Deployment's pods, waiting until it exists.
    func podSelector(of deployment: String) async throws(KubeAPIError) -> String {
        let path = "/apis/apps/v1/namespaces/\(namespace)/deployments"
        while true {
            do throws(KubeAPIError) {
                let (items, _) = try await client.list(
                    path, query: [("fieldSelector", "metadata.name=\(deployment)")], deadline: .now() + .seconds(30))
                if let object = items.first, let selector = TargetStatus.podSelector(of: object) { return selector }
                throw KubeAPIError.protocolError("no Deployment \(deployment) in \(namespace) yet")
            } catch .refused(let code, let message) {
                throw .refused(code: code, message: message)
            } catch {
                send([ScalingLines.problem("deployment", error.description, ts: clock())])
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                if Task.isCancelled { throw .transport("cancelled") }
            }
        }
    }
}
