@testable import Autoscaler
import Testing

/// Stabilization and rate limits. Sources: kubernetes/kubernetes
/// pkg/controller/podautoscaler/horizontal_test.go (the named tests), each worked by
/// hand from the rules; events "spread over a period" sit where that file's
/// generateEventsUniformDistribution puts them (for 120 s: −100, −60, −20 s).
@Suite struct ReplicaNormalizerTests {
    typealias Policy = ScalingRules.Policy

    struct Case: CustomTestStringConvertible, Sendable {
        let source: String
        let current: Int, proposal: Int, min: Int, max: Int
        let up: ScalingRules?, down: ScalingRules?
        let upEvents: [(Int, Double)], downEvents: [(Int, Double)]
        let replicas: Int
        let reason: String
        var testDescription: String { source }
    }

    /// Rules with no stabilization window, so only the rate limits act (as the cases call
    /// convertDesiredReplicasWithBehaviorRate directly).
    static func rules(_ policies: [Policy]) -> ScalingRules {
        ScalingRules(stabilizationSeconds: 0, policies: policies)
    }
    static let noWindowUp = ScalingRules(stabilizationSeconds: 0, policies: ScalingRules.defaultScaleUp.policies)
    static let noWindowDown = ScalingRules(stabilizationSeconds: 0, policies: ScalingRules.defaultScaleDown.policies)

    static let cases: [Case] = [
        Case(
            source: "TestScalingWithRules: scaleUp with default behavior", current: 10, proposal: 50, min: 1, max: 1000,
            up: noWindowUp, down: noWindowDown, upEvents: [], downEvents: [], replicas: 20, reason: "ScaleUpLimit"),
        Case(
            source: "TestScalingWithRules: scaleUp with pods policy larger than percent policy", current: 10,
            proposal: 500, min: 1, max: 1000,
            up: rules([Policy(.pods, 100, periodSeconds: 60), Policy(.percent, 100, periodSeconds: 60)]),
            down: noWindowDown,
            upEvents: [], downEvents: [], replicas: 110, reason: "ScaleUpLimit"),
        Case(
            source: "TestScalingWithRules: scaleUp with percent policy limitation", current: 10, proposal: 50, min: 1,
            max: 1000,
            up: rules([Policy(.percent, 200, periodSeconds: 60)]), down: noWindowDown, upEvents: [], downEvents: [],
            replicas: 30, reason: "ScaleUpLimit"),
        Case(
            source: "TestScalingWithRules: scaleUp with percent policy and previous scale up and down events",
            current: 6, proposal: 24, min: 1, max: 1000,
            up: rules([Policy(.percent, 300, periodSeconds: 300)]),
            down: rules([Policy(.percent, 300, periodSeconds: 300)]),
            upEvents: [(4, -150)], downEvents: [(2, -150)], replicas: 16, reason: "ScaleUpLimit"),
        Case(
            source: "TestScalingWithRules: scaleDown with percent policy larger than pod policy", current: 100,
            proposal: 2, min: 1, max: 1000,
            up: noWindowUp,
            down: rules([Policy(.pods, 20, periodSeconds: 60), Policy(.percent, 1, periodSeconds: 60)]),
            upEvents: [], downEvents: [], replicas: 80, reason: "ScaleDownLimit"),
        Case(
            source: "TestScalingWithRules: scaleDown with pod policy limitation and previous events", current: 100,
            proposal: 2, min: 1, max: 1000,
            up: noWindowUp, down: rules([Policy(.pods, 5, periodSeconds: 120)]),
            upEvents: [], downEvents: [(1, -100), (5, -60), (9, -20)], replicas: 100, reason: "ScaleDownLimit"),
        Case(
            source: "TestScalingWithRules: scaleDown with percent policy limitation and previous events", current: 100,
            proposal: 0, min: 1, max: 1000,
            up: noWindowUp, down: rules([Policy(.percent, 50, periodSeconds: 120)]),
            upEvents: [], downEvents: [(2, -100), (4, -60), (6, -20)], replicas: 56, reason: "ScaleDownLimit"),
        Case(
            source: "TestScalingWithRules: maxReplicas is the limit because maxReplicas < scaleUpLimit", current: 8,
            proposal: 1000, min: 1, max: 10,
            up: noWindowUp, down: noWindowDown, upEvents: [], downEvents: [], replicas: 10, reason: "TooManyReplicas"),
        Case(
            source: "TestScalingWithRules: scaleDown with spec MinReplicas limitation with large percent policy",
            current: 10, proposal: 2, min: 5, max: 1000,
            up: noWindowUp, down: rules([Policy(.percent, 100, periodSeconds: 60)]), upEvents: [], downEvents: [],
            replicas: 5, reason: "TooFewReplicas"),
        Case(
            source: "TestCalculateScaleUpLimitWithScalingRules: Min of Pods 2 and Percent 50", current: 1, proposal: 10,
            min: 1, max: 100,
            up: ScalingRules(
                stabilizationSeconds: 0, select: .min,
                policies: [Policy(.pods, 2, periodSeconds: 60), Policy(.percent, 50, periodSeconds: 60)]),
            down: noWindowDown, upEvents: [], downEvents: [], replicas: 2, reason: "ScaleUpLimit"),
        Case(
            source: "TestCalculateScaleDownLimitWithBehaviors: Min of Pods 2 and Percent 50", current: 5, proposal: 1,
            min: 1, max: 100,
            up: noWindowUp,
            down: ScalingRules(
                stabilizationSeconds: 0, select: .min,
                policies: [Policy(.pods, 2, periodSeconds: 60), Policy(.percent, 50, periodSeconds: 60)]),
            upEvents: [], downEvents: [], replicas: 3, reason: "ScaleDownLimit"),
        Case(
            source: "selectPolicy Disabled: no scale-up at all (by hand)", current: 3, proposal: 9, min: 1, max: 10,
            up: ScalingRules(
                stabilizationSeconds: 0, select: .disabled, policies: ScalingRules.defaultScaleUp.policies),
            down: noWindowDown,
            upEvents: [], downEvents: [], replicas: 3, reason: "ScaleUpLimit"),
    ]

    @Test(arguments: cases)
    func rateLimits(_ c: Case) {
        var normalizer = ReplicaNormalizer(
            spec: HPASpec(
                minReplicas: c.min, maxReplicas: c.max, targetUtilization: 60, scaleUp: c.up, scaleDown: c.down))
        for (change, at) in c.upEvents { normalizer.rescaled(from: 0, to: change, now: at) }
        for (change, at) in c.downEvents { normalizer.rescaled(from: change, to: 0, now: at) }
        let decision = normalizer.decide(current: c.current, proposal: c.proposal, now: 0)
        #expect(decision.replicas == c.replicas, "\(c.source)")
        #expect(decision.limitedReason == c.reason, "\(c.source)")
    }

    /// TestNormalizeDesiredReplicasWithBehavior: recommendations 4 (2 min ago) and 5 (1 min ago).
    @Test func stabilizationWindows() {
        var down = ReplicaNormalizer(
            spec: HPASpec(
                maxReplicas: 1000, targetUtilization: 60, scaleUp: ReplicaNormalizerTests.noWindowUp,
                scaleDown: ScalingRules(stabilizationSeconds: 180, policies: ScalingRules.defaultScaleDown.policies)))
        down.recommendations = [(4, -120), (5, -60)]
        let held = down.decide(current: 100, proposal: 3, now: 0)
        #expect(held.replicas == 5 && held.ableToScaleReason == "ScaleDownStabilized", "the highest of the window: 5")
        var up = ReplicaNormalizer(
            spec: HPASpec(
                maxReplicas: 1000, targetUtilization: 60,
                scaleUp: ScalingRules(stabilizationSeconds: 300, policies: ScalingRules.defaultScaleUp.policies),
                scaleDown: ScalingRules(stabilizationSeconds: 300, policies: ScalingRules.defaultScaleDown.policies)))
        up.recommendations = [(4, -120), (5, -60)]
        let slowed = up.decide(current: 1, proposal: 7, now: 0)
        #expect(slowed.replicas == 4 && slowed.ableToScaleReason == "ScaleUpStabilized", "the lowest of the window: 4")
        // Recommendations older than every window no longer count, and their slot is reused.
        var old = down
        old.recommendations = [(10, -600), (9, -540)]
        #expect(old.decide(current: 100, proposal: 3, now: 0).stabilized == 3)
        #expect(old.recommendations.count == 2)
    }

    /// Without `behavior` (TestConvertDesiredReplicasWithRules, TestNormalizeDesiredReplicas):
    /// at most max(2 × current, 4) per sync, the highest recommendation of 5 minutes.
    @Test func legacyRules() {
        var n = ReplicaNormalizer(spec: HPASpec(minReplicas: 1, maxReplicas: 2000, targetUtilization: 60))
        #expect(
            n.decide(current: 3, proposal: 1000, now: 0)
                == .init(
                    replicas: 6, stabilized: 1000, ableToScaleReason: "ReadyForNewScale", limitedReason: "ScaleUpLimit")
        )
        var floor = ReplicaNormalizer(spec: HPASpec(minReplicas: 2, maxReplicas: 6, targetUtilization: 60))
        #expect(floor.decide(current: 3, proposal: 1, now: 0).replicas == 2)
        #expect(floor.decide(current: 3, proposal: 1, now: 0).limitedReason == "TooFewReplicas")
        var window = ReplicaNormalizer(spec: HPASpec(minReplicas: 1, maxReplicas: 100, targetUtilization: 60))
        window.recommendations = [(4, -120), (5, -60)]
        #expect(window.decide(current: 5, proposal: 3, now: 0).replicas == 5)
    }

    /// This project's overlay: a 30 s scale-down window. A proposal of 2 while the window
    /// still holds the 6 keeps 6; once the 6 is 30 s old the count falls.
    @Test func theOverlaysScaleDownWindow() {
        let spec = HPASpec(
            minReplicas: 1, maxReplicas: 10, targetUtilization: 60, scaleUp: nil,
            scaleDown: ScalingRules(stabilizationSeconds: 30, policies: ScalingRules.defaultScaleDown.policies))
        var n = ReplicaNormalizer(spec: spec)
        #expect(n.decide(current: 6, proposal: 6, now: 0).replicas == 6)
        #expect(n.decide(current: 6, proposal: 2, now: 15).replicas == 6)
        #expect(n.decide(current: 6, proposal: 2, now: 29.9).replicas == 6)
        #expect(
            n.decide(current: 6, proposal: 2, now: 30).replicas == 2,
            "a recommendation exactly 30 s old is out (the window keeps those strictly after now − 30 s)")
    }
}
