import JSON
@testable import Kube
import Testing
import Platform

/// Real API responses (captured from a v1.36 API server; see Fixtures/README.md of
/// the team workspace) through kubectl's rollout rules.
enum Fixture {
    static let dir = String(#filePath.dropLast("StatusTests.swift".count)) + "Fixtures/"

    struct Missing: Error { let name: String }

    static func object(_ name: String) throws -> JSONObject {
        guard let bytes = SmallFile.read(dir + name) else { throw Missing(name: name) }
        return try JSONObject(parsing: bytes)
    }

    static func json(_ text: String) throws -> JSONObject { try JSONObject(parsing: Array(text.utf8)) }
}

@Suite struct DeploymentRolloutTests {
    @Test func justCreatedWaitsForItsReplicas() throws {
        // Observed at once, but no replica updated yet (the capture's status has none).
        #expect(
            RolloutStatus.deployment(try Fixture.object("deployment-just-created.json"))
                == .waiting(
                    "Waiting for deployment \"web\" rollout to finish: 0 out of 2 new replicas have been updated..."))
    }

    @Test func anUnobservedSpecWaits() throws {
        let d = try Fixture.json(
            #"{"metadata":{"name":"web","generation":3},"spec":{"replicas":2},"status":{"observedGeneration":2,"replicas":2,"updatedReplicas":2,"availableReplicas":2}}"#
        )
        // generation > observedGeneration: the old revision's "available" must not count.
        #expect(RolloutStatus.deployment(d) == .waiting("Waiting for deployment spec update to be observed..."))
    }

    @Test func completeIsRolledOut() throws {
        #expect(
            RolloutStatus.deployment(try Fixture.object("deployment-complete.json"))
                == .done("deployment \"web\" successfully rolled out"))
        #expect(
            RolloutStatus.deployment(try Fixture.object("deployment-update-complete.json"))
                == .done("deployment \"web\" successfully rolled out"))
    }

    @Test func anUpdateJustStartedIsNotDone() throws {
        // All new replicas updated, but an old one still terminating.
        #expect(
            RolloutStatus.deployment(try Fixture.object("deployment-update-started.json"))
                == .waiting(
                    "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."))
    }

    @Test func progressDeadlineIsAFailure() throws {
        #expect(
            RolloutStatus.deployment(try Fixture.object("deployment-progress-deadline-exceeded.json"))
                == .failed("deployment \"stuck\" exceeded its progress deadline"))
    }

    @Test(arguments: [
        (3, 1, 1, 1, "1 out of 3 new replicas have been updated"),
        (3, 4, 3, 3, "1 old replicas are pending termination"),
        (3, 3, 3, 2, "2 of 3 updated replicas are available"),
    ])
    func waitingMessagesFollowKubectl(spec: Int, replicas: Int, updated: Int, available: Int, says: String) throws {
        let d = try Fixture.json(
            #"{"metadata":{"name":"web","generation":2},"spec":{"replicas":\#(spec)},"status":{"observedGeneration":2,"replicas":\#(replicas),"updatedReplicas":\#(updated),"availableReplicas":\#(available)}}"#
        )
        #expect(RolloutStatus.deployment(d) == .waiting("Waiting for deployment \"web\" rollout to finish: \(says)..."))
    }
}

@Suite struct OtherKindTests {
    @Test func daemonSet() throws {
        let rolling = try Fixture.json(
            #"{"metadata":{"name":"ds","generation":3},"status":{"observedGeneration":3,"desiredNumberScheduled":4,"updatedNumberScheduled":2,"numberAvailable":2}}"#
        )
        #expect(
            RolloutStatus.daemonSet(rolling)
                == .waiting("Waiting for daemon set \"ds\" rollout to finish: 2 out of 4 new pods have been updated...")
        )
        let done = try Fixture.json(
            #"{"metadata":{"name":"ds","generation":3},"status":{"observedGeneration":3,"desiredNumberScheduled":4,"updatedNumberScheduled":4,"numberAvailable":4}}"#
        )
        #expect(RolloutStatus.daemonSet(done) == .done("daemon set \"ds\" successfully rolled out"))
        let onDelete = try Fixture.json(#"{"metadata":{"name":"ds"},"spec":{"updateStrategy":{"type":"OnDelete"}}}"#)
        #expect(
            RolloutStatus.daemonSet(onDelete)
                == .failed("rollout status is only available for RollingUpdate strategy type"))
    }

    @Test func statefulSet() throws {
        let notReady = try Fixture.json(
            #"{"metadata":{"name":"db","generation":1},"spec":{"replicas":3},"status":{"observedGeneration":1,"readyReplicas":1}}"#
        )
        #expect(RolloutStatus.statefulSet(notReady) == .waiting("Waiting for 2 pods to be ready..."))
        let updating = try Fixture.json(
            #"{"metadata":{"name":"db","generation":2},"spec":{"replicas":3},"status":{"observedGeneration":2,"readyReplicas":3,"updatedReplicas":1,"currentRevision":"db-1","updateRevision":"db-2"}}"#
        )
        #expect(
            RolloutStatus.statefulSet(updating)
                == .waiting("waiting for statefulset rolling update to complete 1 pods at revision db-2..."))
        let done = try Fixture.json(
            #"{"metadata":{"name":"db","generation":2},"spec":{"replicas":3},"status":{"observedGeneration":2,"readyReplicas":3,"updatedReplicas":3,"currentReplicas":3,"currentRevision":"db-2","updateRevision":"db-2"}}"#
        )
        #expect(
            RolloutStatus.statefulSet(done) == .done("statefulset rolling update complete 3 pods at revision db-2..."))
        let partitioned = try Fixture.json(
            #"{"metadata":{"name":"db","generation":2},"spec":{"replicas":4,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}},"status":{"observedGeneration":2,"readyReplicas":4,"updatedReplicas":1}}"#
        )
        #expect(
            RolloutStatus.statefulSet(partitioned)
                == .waiting("Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."))
    }

    @Test func hpaWithoutMetricsWaitsAndSaysWhy() throws {
        let hpa = try Fixture.object("hpa-no-metrics.json")
        guard case .waiting(let why) = ObjectStatus.hpa(hpa) else { Issue.record("not waiting"); return }
        #expect(why.contains("FailedGetResourceMetric"))
        #expect(why.contains("pods.metrics.k8s.io"))
        // The same HPA once metrics-server answers.
        let ready = try Fixture.json(
            #"{"metadata":{"name":"sim"},"spec":{"metrics":[{"type":"Resource"}]},"status":{"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":12}}}],"conditions":[{"type":"ScalingActive","status":"True"}]}}"#
        )
        #expect(ObjectStatus.hpa(ready) == .done("hpa \"sim\" has metrics for all 1 of its targets"))
        // Active but the empty-type placeholder only: still waiting.
        let placeholder = try Fixture.json(
            #"{"metadata":{"name":"sim"},"spec":{"metrics":[{"type":"Resource"}]},"status":{"currentMetrics":[{"type":""}],"conditions":[{"type":"ScalingActive","status":"True"}]}}"#
        )
        #expect(ObjectStatus.hpa(placeholder) == .waiting("hpa \"sim\": 0 of 1 metrics have a current value"))
    }

    @Test func serviceEndpointsFromSlices() throws {
        let list = try Fixture.object("endpointslices.json")
        let slices = list.objects("items")
        #expect(!slices.isEmpty)
        guard case .done = ObjectStatus.endpoints(service: "sim", slices: slices, minimum: 1) else {
            Issue.record("no ready endpoint in the fixture"); return
        }
        guard case .waiting = ObjectStatus.endpoints(service: "sim", slices: slices, minimum: 50) else {
            Issue.record("50 endpoints are not there"); return
        }
        let notReady = try Fixture.json(
            #"{"endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":false},"targetRef":{"name":"a"}}]}"#)
        #expect(
            ObjectStatus.endpoints(service: "s", slices: [notReady], minimum: 1)
                == .waiting("service \"s\": 0 of 1 ready endpoints (1 not ready)"))
    }

    @Test func podsAndJobs() throws {
        let pods = try Fixture.object("pods-ready.json").objects("items")
        #expect(!pods.isEmpty && pods.allSatisfy { if case .done = ObjectStatus.pod($0) { true } else { false } })
        let complete = try Fixture.json(
            #"{"metadata":{"name":"load"},"status":{"conditions":[{"type":"Complete","status":"True"}]}}"#)
        #expect(ObjectStatus.job(complete) == .done("job \"load\" is complete"))
        let failed = try Fixture.json(
            #"{"metadata":{"name":"load"},"status":{"conditions":[{"type":"Failed","status":"True","message":"BackoffLimitExceeded"}]}}"#
        )
        #expect(ObjectStatus.job(failed) == .failed("job \"load\" failed: BackoffLimitExceeded"))
    }

    @Test func stuckPodsAreNamed() throws {
        let unschedulable = PodProblem.find(in: try Fixture.object("pods-unschedulable.json").objects("items"))
        #expect(unschedulable.count >= 1 && unschedulable.allSatisfy { $0.reason == "Unschedulable" })
        #expect(PodProblem.find(in: try Fixture.object("pods-ready.json").objects("items")).isEmpty)
        let crashing = try Fixture.json(
            #"{"metadata":{"name":"p"},"status":{"containerStatuses":[{"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 10s"}}}]}}"#
        )
        #expect(
            PodProblem.find(in: [crashing]) == [
                PodProblem(pod: "p", reason: "CrashLoopBackOff", message: "back-off 10s")
            ])
    }
}
