import Foundation
import JSON
@testable import Kube
import NIOConcurrencyHelpers
import TestSupport
import Testing
import Platform

/// kube-wait's waiter against an HTTPS API server started in the test, speaking the
/// real wire format (captured objects, chunked watch streams, Status objects).
@Suite(.serialized, .timeLimit(.minutes(1))) struct WaiterTests {
    static func fixture(_ name: String) -> String {
        String(decoding: SmallFile.read(Fixture.dir + name) ?? [], as: UTF8.self)
    }

    /// A List of `items` (JSON texts) at `rv`.
    static func list(_ items: [String], rv: String) -> String {
        #"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"\#(rv)"},"items":[\#(items.joined(separator: ","))]}"#
    }

    static func event(_ type: String, _ object: String) -> String { #"{"type":"\#(type)","object":\#(object)}"# }

    /// The object with its resourceVersion set (watch events carry increasing ones).
    static func versioned(_ object: String, _ rv: String) -> String {
        let o = try! JSONObject(parsing: Array(object.utf8))
        let text = String(decoding: o.serialized(), as: UTF8.self)
        return text.replacingOccurrences(
            of: #""resourceVersion":"\#(o.string("metadata", "resourceVersion") ?? "")""#,
            with: #""resourceVersion":"\#(rv)""#)
    }

    static func access(_ server: TestAPIServer, token: String? = "t0ken") -> ClusterAccess {
        ClusterAccess(
            server: server.url, namespace: "capture", caPEM: Array(TestPKI.shared.caPEM.utf8),
            insecureSkipTLSVerify: false,
            clientCertificatePEM: nil, clientKeyPEM: nil, credential: token.map { .token($0) } ?? .none, source: "test")
    }

    static func run(
        _ server: TestAPIServer, _ targets: [String], access: ClusterAccess? = nil, timeout: Double = 20,
        tweak: (inout Waiter.Options) -> Void = { _ in }
    ) async throws -> (Waiter.Outcome, [Waiter.Update]) {
        let client = try KubeClient(access: access ?? Self.access(server))
        var options = Waiter.Options(namespace: "capture")
        options.timeout = timeout
        tweak(&options)
        let updates = NIOLockedValueBox<[Waiter.Update]>([])
        let outcome = await Waiter(client: client, options: options).run(try targets.map { try WaitTarget.parse($0) }) {
            update in
            updates.withLockedValue { $0.append(update) }
        }
        await client.shutdown()
        return (outcome, updates.withLockedValue { $0 })
    }

    @Test func rolloutProgressesToDone() async throws {
        let created = Self.fixture("deployment-just-created.json"), complete = Self.fixture("deployment-complete.json")
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            if !request.isWatch { return .json(200, Self.list([created], rv: "100")) }
            return .stream([(50, Self.event("MODIFIED", Self.versioned(complete, "101")))], drop: false)
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["deployment/web"])
        #expect(outcome == .done)
        // A test run that keeps both cores busy can stall the watch past its deadline:
        // the waiter then says it is retrying, which is what it should say.
        let said = updates.map { $0.readiness.message }.filter { !$0.hasPrefix("cannot reach the API server") }
        #expect(
            said == [
                "Waiting for deployment \"web\" rollout to finish: 0 out of 2 new replicas have been updated...",
                "deployment \"web\" successfully rolled out",
            ])
        // A list, then a watch from the list's resourceVersion.
        let watch = try #require(server.seen.first { $0.isWatch })
        #expect(watch.query["resourceVersion"] == "100" && watch.query["fieldSelector"] == "metadata.name=web")
        #expect(watch.authorization == "Bearer t0ken")
    }

    @Test func progressDeadlineFails() async throws {
        let stuck = Self.fixture("deployment-progress-deadline-exceeded.json")
        let server = try await TestAPIServer(token: "t0ken") { _, _ in .json(200, Self.list([stuck], rv: "5")) }
        defer { Task { await server.close() } }
        let (outcome, _) = try await Self.run(server, ["deployment/stuck"])
        #expect(
            outcome
                == .failed(target: "deployment/stuck", message: "deployment \"stuck\" exceeded its progress deadline"))
    }

    @Test func anObjectCreatedLaterIsWaitedFor() async throws {
        let complete = Self.fixture("deployment-complete.json")
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            if !request.isWatch { return .json(200, Self.list([], rv: "7")) }
            return .stream([(100, Self.event("ADDED", Self.versioned(complete, "8")))], drop: false)
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["deployment/web"])
        #expect(outcome == .done)
        #expect(updates.first?.readiness == .waiting("deployment/web not found; waiting for it to be created"))
        let (missing, _) = try await Self.run(server, ["deployment/web"]) { $0.failMissing = true }
        #expect(missing == .failed(target: "deployment/web", message: "deployment/web not found (--fail-missing)"))
    }

    @Test func aDroppedStreamResumesWithoutMissingTheEnd() async throws {
        let created = Self.fixture("deployment-just-created.json"), complete = Self.fixture("deployment-complete.json")
        let waiting = Self.fixture("deployment-update-started.json")
        let server = try await TestAPIServer(token: "t0ken") { request, index in
            if !request.isWatch { return .json(200, Self.list([created], rv: "10")) }
            if request.query["resourceVersion"] == "10" {
                // Halfway, then the connection drops.
                return .stream([(30, Self.event("MODIFIED", Self.versioned(waiting, "11")))], drop: true)
            }
            if request.query["resourceVersion"] == "11" {
                return .stream([(30, Self.event("MODIFIED", Self.versioned(complete, "12")))], drop: false)
            }
            return .json(500, #"{"kind":"Status","code":500,"message":"unexpected resourceVersion"}"#)
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["deployment/web"])
        #expect(outcome == .done)
        #expect(updates.last?.readiness == .done("deployment \"web\" successfully rolled out"))
        #expect(server.seen.filter { $0.isWatch }.map { $0.query["resourceVersion"] ?? "" } == ["10", "11"])
        // Resumed, not relisted (the other GETs look for stuck pods).
        #expect(server.seen.filter { !$0.isWatch && $0.path.hasSuffix("/deployments") }.count == 1)
    }

    @Test func goneRelists() async throws {
        let created = Self.fixture("deployment-just-created.json")
        let gone = Self.fixture("watch-410-too-old.jsonl").split(separator: "\n").first.map(String.init) ?? ""
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            if !request.isWatch { return .json(200, Self.list([created], rv: "1")) }
            return .stream([(10, gone)], drop: false)
        }
        defer { Task { await server.close() } }
        let (outcome, _) = try await Self.run(server, ["deployment/web"], timeout: 1.5)
        #expect(outcome == .timedOut(waitingOn: ["deployment/web"]))
        // Every 410 was followed by a new LIST, never by a watch from the expired version.
        let kinds = server.seen.map { $0.isWatch ? "watch" : "list" }
        #expect(kinds.count >= 4)
        for (a, b) in zip(kinds, kinds.dropFirst()) where a == "watch" { #expect(b == "list") }
    }

    @Test func unauthorizedIsRefused() async throws {
        let server = try await TestAPIServer(token: "right") { _, _ in .json(200, Self.list([], rv: "1")) }
        defer { Task { await server.close() } }
        let (outcome, _) = try await Self.run(server, ["deployment/web"], access: Self.access(server, token: "wrong"))
        #expect(outcome == .refused(.refused(code: 401, message: "Unauthorized")))
    }

    @Test func timeoutEnds() async throws {
        let created = Self.fixture("deployment-just-created.json")
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            request.isWatch ? .stream([], drop: false) : .json(200, Self.list([created], rv: "3"))
        }
        defer { Task { await server.close() } }
        let start = ContinuousClock.now
        let (outcome, _) = try await Self.run(server, ["deployment/web"], timeout: 0.8)
        #expect(outcome == .timedOut(waitingOn: ["deployment/web"]))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func hpaWithoutThenWithMetrics() async throws {
        let noMetrics = Self.fixture("hpa-no-metrics.json")
        let withMetrics =
            #"{"kind":"HorizontalPodAutoscaler","metadata":{"name":"sim","resourceVersion":"41"},"spec":{"metrics":[{"type":"Resource"}]},"status":{"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":3}}}],"conditions":[{"type":"ScalingActive","status":"True"}]}}"#
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            request.isWatch
                ? .stream([(50, Self.event("MODIFIED", withMetrics))], drop: false)
                : .json(200, Self.list([noMetrics], rv: "40"))
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["hpa/sim"])
        #expect(outcome == .done)
        #expect(updates.first?.readiness.message.contains("pods.metrics.k8s.io") == true)
        #expect(server.seen.first?.path == "/apis/autoscaling/v2/namespaces/capture/horizontalpodautoscalers")
    }

    @Test func endpointSlicesBecomeReady() async throws {
        let empty =
            #"{"kind":"EndpointSlice","metadata":{"name":"sim-abc","resourceVersion":"60","labels":{"kubernetes.io/service-name":"sim"}},"endpoints":[{"addresses":["10.0.0.9"],"conditions":{"ready":false},"targetRef":{"name":"p1"}}]}"#
        let ready = Self.fixture("endpointslices.json")
        let readySlice = String(
            decoding: try JSONObject(parsing: Array(ready.utf8)).objects("items")[0].serialized(), as: UTF8.self)
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            request.isWatch
                ? .stream([(50, Self.event("MODIFIED", Self.versioned(readySlice, "61")))], drop: false)
                : .json(200, Self.list([empty], rv: "60"))
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["service/sim"])
        #expect(outcome == .done)
        #expect(updates.first?.readiness == .waiting("service \"sim\": 0 of 1 ready endpoints (1 not ready)"))
        #expect(server.seen.first?.query["labelSelector"] == "kubernetes.io/service-name=sim")
    }

    @Test func stuckPodsAreReportedAndFailFast() async throws {
        let stuckDeployment =
            #"{"kind":"Deployment","metadata":{"name":"stuck","generation":1,"resourceVersion":"9"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"stuck"}}},"status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"availableReplicas":0}}"#
        let pods = Self.fixture("pods-unschedulable.json")
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            if request.path.hasSuffix("/pods") { return .json(200, pods) }
            return request.isWatch ? .stream([], drop: false) : .json(200, Self.list([stuckDeployment], rv: "9"))
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["deployment/stuck"]) { $0.failFast = true }
        guard case .failed(_, let message) = outcome else { Issue.record("not failed: \(outcome)"); return }
        #expect(message.contains("Unschedulable") && message.contains("--fail-fast"))
        #expect(server.seen.contains { $0.path.hasSuffix("/pods") && $0.query["labelSelector"] == "app=stuck" })
        #expect(updates.contains { $0.problems.contains { $0.reason == "Unschedulable" } })
    }

    @Test func deletedWhenTheWatchSaysSo() async throws {
        let complete = Self.fixture("deployment-complete.json")
        let server = try await TestAPIServer(token: "t0ken") { request, _ in
            request.isWatch
                ? .stream([(50, Self.event("DELETED", Self.versioned(complete, "31")))], drop: false)
                : .json(200, Self.list([complete], rv: "30"))
        }
        defer { Task { await server.close() } }
        let (outcome, updates) = try await Self.run(server, ["deployment/web"]) { $0.condition = .deleted }
        #expect(outcome == .done)
        #expect(
            updates.map { $0.readiness.message } == [
                "deployment/web still exists (1 object)", "deployment/web is gone",
            ])
    }
}
