import Foundation
import JSON
@testable import Kube
import TestSupport
import Testing
import YAMLTree

/// The kube-watch binary, as an ordinary user, against the test API server: lines on
/// stdout, --seconds and SIGINT end it with everything written, exit statuses.
@Suite(.serialized, .ownThreads, .timeLimit(.minutes(2))) struct KubeWatchBinaryTests {
    typealias B = KubeWaitBinaryTests
    typealias W = WaiterTests

    /// An HPA at 87 % that moves to 103 % after 300 ms, its Deployment, no pods, no metrics API.
    static func server() async throws -> TestAPIServer {
        let deployment = try ScalingWatchTests.deployment()
        return try await TestAPIServer(token: "s3cret") { request, _ in
            switch request.path {
            case ScalingWatchTests.base:
                if !request.isWatch { return .json(200, W.list([W.fixture("hpa-with-metrics.json")], rv: "10")) }
                if request.query["resourceVersion"] == "10" {
                    return .stream(
                        [(300, W.event("MODIFIED", W.versioned(W.fixture("hpa-scaling-limited.json"), "11")))],
                        drop: false, holdMs: 20_000)
                }
                return .stream([], drop: false, holdMs: 20_000)
            case "/apis/apps/v1/namespaces/capture/deployments":
                if !request.isWatch { return .json(200, W.list([deployment], rv: "10")) }
                return .stream([], drop: false, holdMs: 20_000)
            case "/api/v1/namespaces/capture/pods", "/api/v1/namespaces/capture/events":
                if !request.isWatch { return .json(200, W.list([], rv: "10")) }
                return .stream([], drop: false, holdMs: 20_000)
            default:
                return .json(404, W.fixture("status-404.json"))
            }
        }
    }

    static func lines(_ stdout: String) throws -> [JSONObject] {
        try stdout.split(separator: "\n").map { try JSONObject(parsing: Array($0.utf8)) }
    }

    @Test func secondsEndsTheWatchWithEveryLineWritten() async throws {
        let server = try await Self.server()
        defer { Task { await server.close() } }
        let folder = B.Folder()
        let config = folder.write("config", B.kubeconfig(server: server.url, user: "    token: s3cret"))
        let result = try B.run(
            ["hpa/dev-inference-sim", "--kubeconfig", config, "--seconds", "5s"], tool: "kube-watch")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasSuffix("\n"))
        let lines = try Self.lines(result.stdout)
        #expect(
            lines.filter { $0["type"] == .string("hpa") }.map { $0["current_utilization_pct"] } == [
                .integer(87), .integer(103),
            ])
        #expect(lines.filter { $0["type"] == .string("deployment") }.count == 1)
        #expect(
            lines.contains { $0["type"] == .string("watch_error") && $0["watch"] == .string("metrics") },
            "no metrics API is said")
    }

    @Test func sigintFlushesAndExits0() async throws {
        let server = try await Self.server()
        defer { Task { await server.close() } }
        let folder = B.Folder()
        let config = folder.write("config", B.kubeconfig(server: server.url, user: "    token: s3cret"))
        let process = Tools.spawn("kube-watch", ["hpa/dev-inference-sim", "--kubeconfig", config])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Both HPA lines out (the change comes 300 ms into the watch), then the signal.
        var seen = Data()
        while String(decoding: seen, as: UTF8.self).components(separatedBy: #""type":"hpa""#).count < 3 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        // setpriv execs kube-watch in place, so this pid is kube-watch's.
        kill(process.processIdentifier, SIGINT)
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        let stdout = String(decoding: seen, as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(stdout.hasSuffix("\n"), "whole lines only")
        #expect(try Self.lines(stdout).filter { $0["type"] == .string("hpa") }.count == 2, "\(stdout)")
        #expect(try Self.lines(stdout).contains { $0["type"] == .string("deployment") }, "\(stdout)")
    }

    @Test func exitStatuses() async throws {
        let server = try await Self.server()
        defer { Task { await server.close() } }
        let folder = B.Folder()
        let wrong = folder.write("wrong", B.kubeconfig(server: server.url, user: "    token: nope"))
        let refused = try B.run(
            ["hpa/dev-inference-sim", "--kubeconfig", wrong, "--seconds", "10s"], tool: "kube-watch")
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.contains("401"), "\(refused.stderr)")
        let right = folder.write("right", B.kubeconfig(server: server.url, user: "    token: s3cret"))
        let full = try B.run(
            ["hpa/dev-inference-sim", "--kubeconfig", right, "--seconds", "1s"], tool: "kube-watch",
            stdoutTo: "/dev/full")
        #expect(full.status == 1, "\(full.stderr)")
        #expect(full.stderr.contains("kube-watch: stdout: cannot write: No space left on device"), "\(full.stderr)")
        let usage = try B.run(["pod/x", "--kubeconfig", right], tool: "kube-watch")
        #expect(usage.status == 2 && usage.stderr.contains("expected hpa/NAME or deployment/NAME"), "\(usage.stderr)")
    }

    /// The Role that k8s/jobs/watch gives kube-watch in a cluster allows every request
    /// kube-watch makes — checked against the requests it really made of the test API
    /// server, so a new watch without its rule fails here rather than with a 403 in a
    /// cluster — and nothing it does not need (no write verbs).
    @Test func theInClusterRoleAllowsWhatItAsks() async throws {
        let server = try await Self.server()
        defer { Task { await server.close() } }
        let folder = B.Folder()
        let config = folder.write("config", B.kubeconfig(server: server.url, user: "    token: s3cret"))
        let result = try B.run(
            ["hpa/dev-inference-sim", "--kubeconfig", config, "--seconds", "3s"], tool: "kube-watch")
        #expect(result.status == 0, "\(result.stderr)")

        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let rbac = try String(
            contentsOfFile: parts.joined(separator: "/") + "/k8s/jobs/watch/rbac.yaml", encoding: .utf8)
        let role = try #require(try YAMLNode.parseAll(rbac).first { $0["kind"]?.string == "Role" })
        let rules = (role["rules"]?.items ?? []).map { rule in
            (
                groups: Set(rule["apiGroups"]?.items.compactMap(\.string) ?? []),
                resources: Set(rule["resources"]?.items.compactMap(\.string) ?? []),
                verbs: Set(rule["verbs"]?.items.compactMap(\.string) ?? [])
            )
        }
        #expect(
            !rules.isEmpty && rules.allSatisfy { $0.verbs.isSubset(of: ["get", "list", "watch"]) },
            "read-only: \(rules)")

        // /api/v1/namespaces/NS/RESOURCE[/NAME] or /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME].
        var asked = Set<String>()
        for request in server.seen {
            let segments = request.path.split(separator: "/").map(String.init)
            guard let ns = segments.firstIndex(of: "namespaces"), ns + 2 < segments.count else {
                Issue.record("not a namespaced request: \(request.path)")
                continue
            }
            let group = segments[0] == "api" ? "" : segments[1]
            let resource = segments[ns + 2]
            let verb = request.isWatch ? "watch" : (ns + 3 < segments.count ? "get" : "list")
            asked.insert("\(verb) \(group)/\(resource)")
            #expect(
                rules.contains {
                    $0.groups.contains(group) && $0.resources.contains(resource) && $0.verbs.contains(verb)
                },
                "the Role does not allow \(verb) on \(group.isEmpty ? "core" : group)/\(resource) (\(request.path))")
        }
        // Everything kube-watch reads was asked for in three seconds.
        #expect(
            asked.isSuperset(of: [
                "list autoscaling/horizontalpodautoscalers", "watch autoscaling/horizontalpodautoscalers",
                "list apps/deployments", "watch apps/deployments", "list /pods", "watch /pods",
                "list /events", "watch /events", "list metrics.k8s.io/pods",
            ]), "\(asked.sorted())")
    }
}
