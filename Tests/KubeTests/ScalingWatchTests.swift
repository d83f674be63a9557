import Foundation
import JSON
@testable import Kube
import NIOConcurrencyHelpers
import Testing

/// kube-watch's engine against the HTTPS test API server, which speaks the real wire
/// format (captured objects, chunked watch streams, a 410 Status) on every path
/// kube-watch uses: HPA, Deployment, pods, events and the metrics API.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ScalingWatchTests {
    typealias W = WaiterTests
    static let ns = "capture"
    static let base = "/apis/autoscaling/v2/namespaces/capture/horizontalpodautoscalers"

    /// The captured Deployment renamed to the HPA's scale target.
    static func deployment(_ name: String = "dev-inference-sim") throws -> String {
        let object = try ScalingLinesTests.edited(try ScalingLinesTests.object("deployment-complete.json")) { tree in
            var meta = tree["metadata"] as! [String: Any]
            meta["name"] = name
            tree["metadata"] = meta
        }
        return String(decoding: object.serialized(), as: UTF8.self)
    }

    static func pod(_ name: String) throws -> String {
        let ready = try #require(try ScalingLinesTests.object("pods-ready.json").objects("items").first)
        let object = try ScalingLinesTests.edited(ready) { tree in
            var meta = tree["metadata"] as! [String: Any]
            meta["name"] = name
            tree["metadata"] = meta
        }
        return String(decoding: object.serialized(), as: UTF8.self)
    }

    /// The captured PodMetrics list with a fresh sample time per read, and a 1 s window.
    static func metrics(_ index: Int) -> String {
        let stamp = String(format: "2026-11-30T01:00:%02dZ", index % 60)
        return W.fixture("podmetrics-list.json")
            .replacingOccurrences(of: "2026-11-30T00:42:47Z", with: stamp)
            .replacingOccurrences(of: #""window": "[0-9.]+s""#, with: #""window": "1s""#, options: .regularExpression)
    }

    @Test func changesBecomeLinesAcrossADroppedWatchAndA410() async throws {
        let limited = W.fixture("hpa-scaling-limited.json"), withMetrics = W.fixture("hpa-with-metrics.json")
        let deployment = try Self.deployment()
        let podA = try Self.pod("dev-inference-sim-aaaaa"), podB = try Self.pod("dev-inference-sim-bbbbb")
        let rescale = W.fixture("event-rescale.json")
        let gone = W.fixture("watch-410-too-old.jsonl").split(separator: "\n")[0]
        let metricReads = NIOLockedValueBox<[ContinuousClock.Instant]>([])
        let podLists = NIOLockedValueBox(0)
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            let hold = 10_000
            switch request.path {
            case Self.base:
                if !request.isWatch { return .json(200, W.list([withMetrics], rv: "100")) }
                if request.query["resourceVersion"] == "100" {
                    // A change, then the connection drops: the next watch must resume from 101.
                    return .stream([(100, W.event("MODIFIED", W.versioned(limited, "101")))], drop: true)
                }
                return .stream([], drop: false, holdMs: hold)
            case "/apis/apps/v1/namespaces/capture/deployments":
                if !request.isWatch { return .json(200, W.list([deployment], rv: "300")) }
                return .stream([], drop: false, holdMs: hold)
            case "/api/v1/namespaces/capture/pods":
                if !request.isWatch {
                    let n = podLists.withLockedValue {
                        $0 += 1; return $0
                    }
                    return .json(200, n == 1 ? W.list([podA], rv: "200") : W.list([podB], rv: "250"))
                }
                if request.query["resourceVersion"] == "200" { return .stream([(50, String(gone))], drop: false) }
                return .stream([], drop: false, holdMs: hold)
            case "/api/v1/namespaces/capture/events":
                if !request.isWatch { return .json(200, W.list([], rv: "400")) }
                if request.query["resourceVersion"] == "400" {
                    return .stream([(150, W.event("ADDED", rescale))], drop: false, holdMs: hold)
                }
                return .stream([], drop: false, holdMs: hold)
            case "/apis/metrics.k8s.io/v1beta1/namespaces/capture/pods":
                let n = metricReads.withLockedValue {
                    $0.append(.now); return $0.count
                }
                return .json(200, Self.metrics(n))
            default:
                return .json(404, W.fixture("status-404.json"))
            }
        }
        defer { Task { await server.close() } }
        let client = try KubeClient(access: W.access(server))
        let collected = NIOLockedValueBox<[String]>([])
        let watch = ScalingWatch(
            client: client, namespace: Self.ns, target: try WaitTarget.parse("hpa/dev-inference-sim")
        ) { bytes in
            collected.withLockedValue { $0.append(String(decoding: bytes.dropLast(), as: UTF8.self)) }
        }
        let task = Task { try await watch.run() }
        // Until the last expected line and a third metrics read, however busy the machine.
        for _ in 0..<400 {
            let done =
                collected.withLockedValue { $0.contains { $0.contains("hpa_event") } }
                && metricReads.withLockedValue { $0.count } >= 3
            if done { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        let lines = try collected.withLockedValue { $0 }.map { try JSONObject(parsing: Array($0.utf8)) }
        func of(_ type: String) -> [JSONObject] { lines.filter { $0["type"] == .string(type) } }

        // The HPA: its first state, then the change; the drop repeats nothing.
        #expect(of("hpa").map { $0["current_utilization_pct"] } == [.integer(87), .integer(103)])
        let hpaWatches = server.seen.filter { $0.path == Self.base && $0.isWatch }.map {
            $0.query["resourceVersion"] ?? ""
        }
        #expect(
            hpaWatches.prefix(2) == ["100", "101"], "the dropped watch resumes from the last version: \(hpaWatches)")
        #expect(
            server.seen.filter { $0.path == Self.base && !$0.isWatch }.count == 2,
            "one lookup, one list: no relist after a drop")
        // The Deployment, once.
        #expect(of("deployment").count == 1)
        #expect(of("deployment").first?["ready"] == .integer(2))
        // Pods: A from the first list; after the 410 the relist has only B: A deleted, B new.
        let pods = of("pod").map { "\($0["pod"]) \($0["event"])" }
        let a = "string(\"dev-inference-sim-aaaaa\")", b = "string(\"dev-inference-sim-bbbbb\")"
        #expect(pods.contains("\(a) string(\"ready\")"))
        #expect(pods.contains("\(a) string(\"deleted\")"))
        #expect(pods.contains("\(b) string(\"created\")") && pods.contains("\(b) string(\"ready\")"))
        #expect(pods.filter { $0 == "\(b) string(\"ready\")" }.count == 1)
        #expect(of("pod").first(where: { $0["pod"] == .string("dev-inference-sim-aaaaa") })?["initial"] == .bool(true))
        #expect(of("pod").first(where: { $0["pod"] == .string("dev-inference-sim-bbbbb") })?["initial"] == .missing)
        // The event, with its size.
        #expect(of("hpa_event").map { $0["new_size"] } == [.integer(3)])
        // Metrics: read again once per (1 s) window, not in a tight loop, each read a new sample per pod.
        let reads = metricReads.withLockedValue { $0 }
        #expect(reads.count >= 3)
        if reads.count >= 3 {
            #expect(reads[2] - reads[0] >= .seconds(1.8), "two pauses of one window between three reads")
        }
        let metricPods = Set(
            of("pod_metrics").compactMap { line -> String? in if case .string(let s) = line["pod"] { s } else { nil } })
        #expect(metricPods.count >= 3)
        #expect(
            of("pod_metrics").count % metricPods.count == 0
                && of("pod_metrics").count >= 3 * metricPods.count - metricPods.count,
            "one line per pod per read: \(of("pod_metrics").count) lines, \(metricPods.count) pods, \(reads.count) reads"
        )
        #expect(
            of("watch_error").isEmpty, "\(of("watch_error").map { String(decoding: $0.serialized(), as: UTF8.self) })")
        #expect(lines.allSatisfy { $0["ts"].number.map { $0 > 1_700_000_000 } ?? false })
        await client.shutdown()
    }

    @Test func aMissingMetricsAPIIsALineNotAnEnd() async throws {
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            switch request.path {
            case Self.base:
                if !request.isWatch { return .json(200, W.list([W.fixture("hpa-no-metrics.json")], rv: "1")) }
                return .stream([], drop: false, holdMs: 10_000)
            case "/apis/apps/v1/namespaces/capture/deployments":
                if !request.isWatch { return .json(200, W.list([try! Self.deployment("sim")], rv: "1")) }
                return .stream([], drop: false, holdMs: 10_000)
            default:
                if !request.isWatch && request.path.hasPrefix("/api/v1") { return .json(200, W.list([], rv: "1")) }
                if request.isWatch { return .stream([], drop: false, holdMs: 10_000) }
                return .json(404, W.fixture("status-404.json"))
            }
        }
        defer { Task { await server.close() } }
        let client = try KubeClient(access: W.access(server))
        let collected = NIOLockedValueBox<[String]>([])
        let watch = ScalingWatch(client: client, namespace: Self.ns, target: try WaitTarget.parse("deployment/sim")) {
            bytes in
            collected.withLockedValue { $0.append(String(decoding: bytes, as: UTF8.self)) }
        }
        let task = Task { try await watch.run() }
        for _ in 0..<400 {
            let seen = collected.withLockedValue { lines in
                lines.contains { $0.contains(#""watch":"metrics""#) }
                    && lines.contains { $0.contains(#""type":"hpa""#) }
            }
            if seen { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        let lines = collected.withLockedValue { $0 }
        #expect(lines.contains { $0.contains(#""type":"watch_error""#) && $0.contains(#""watch":"metrics""#) })
        #expect(
            lines.contains { $0.contains(#""type":"hpa""#) && $0.contains(#""scaling_active":false"#) },
            "the HPA found by its scaleTargetRef")
        await client.shutdown()
    }
}
