/// What the controller does with a metric proposal before it rescales (horizontal.go
/// `normalizeDesiredReplicasWithBehaviors`, and `normalizeDesiredReplicas` when the HPA
/// has no `behavior`): stabilization over the windows' past recommendations, then the
/// rate limits of the policies against the changes already made in their periods, with
/// min/max enforced through those limits. Keeps that history; one per HPA.
public struct ReplicaNormalizer: Sendable {
    public let spec: HPASpec
    var recommendations: [(replicas: Int, at: Double)] = []
    private var upEvents: [(change: Int, at: Double)] = []
    private var downEvents: [(change: Int, at: Double)] = []

    public init(spec: HPASpec) { self.spec = spec }

    /// The AbleToScale and ScalingLimited reasons of a decision.
    public struct Decision: Sendable, Equatable {
        public let replicas: Int
        public let stabilized: Int
        public let ableToScaleReason: String
        public let limitedReason: String
        public var limited: Bool { replicas != stabilized }
    }

    /// The replica count to set at `now`, given `current` and the metrics' `proposal`.
    public mutating func decide(current: Int, proposal: Int, now: Double) -> Decision {
        if current > spec.maxReplicas {
            return Decision(
                replicas: spec.maxReplicas, stabilized: spec.maxReplicas, ableToScaleReason: "ReadyForNewScale",
                limitedReason: "TooManyReplicas")
        }
        if current < spec.minReplicas {
            return Decision(
                replicas: spec.minReplicas, stabilized: spec.minReplicas, ableToScaleReason: "ReadyForNewScale",
                limitedReason: "TooFewReplicas")
        }
        guard spec.hasBehavior else { return legacy(current: current, proposal: proposal, now: now) }
        let up = spec.scaleUp ?? .defaultScaleUp, down = spec.scaleDown ?? .defaultScaleDown
        if recommendations.isEmpty { recommendations.append((current, now)) }
        let upRec = recommendations.filter { $0.at > now - up.stabilizationSeconds }.map(\.replicas).reduce(
            proposal, min)
        let downRec = recommendations.filter { $0.at > now - down.stabilizationSeconds }.map(\.replicas).reduce(
            proposal, max)
        let stabilized = min(max(current, upRec), downRec)
        remember(proposal, now: now, olderThan: now - max(up.stabilizationSeconds, down.stabilizationSeconds))
        let able =
            stabilized == proposal
            ? "ReadyForNewScale" : (proposal >= current ? "ScaleUpStabilized" : "ScaleDownStabilized")
        let (replicas, reason) = limit(stabilized, current: current, up: up, down: down, now: now)
        // A limit that did not bind is no limit: the condition then says DesiredWithinRange.
        return Decision(
            replicas: replicas, stabilized: stabilized, ableToScaleReason: able,
            limitedReason: replicas == stabilized ? "DesiredWithinRange" : reason)
    }

    /// After a rescale from `from` to `to` at `now`: remembered for the rate limits.
    public mutating func rescaled(from: Int, to: Int, now: Double) {
        guard spec.hasBehavior, from != to else { return }
        let up = spec.scaleUp ?? .defaultScaleUp, down = spec.scaleDown ?? .defaultScaleDown
        if to > from {
            upEvents.removeAll { $0.at <= now - up.longestPeriod }
            upEvents.append((to - from, now))
        } else {
            downEvents.removeAll { $0.at <= now - down.longestPeriod }
            downEvents.append((from - to, now))
        }
    }

    /// Stores a recommendation, reusing a slot older than every window (so memory stays flat).
    private mutating func remember(_ replicas: Int, now: Double, olderThan cutoff: Double) {
        if let stale = recommendations.lastIndex(where: { $0.at <= cutoff }) {
            recommendations[stale] = (replicas, now)
        } else {
            recommendations.append((replicas, now))
        }
    }

    /// Replicas changed in the last `period` s, by direction.
    private func changed(_ events: [(change: Int, at: Double)], in period: Double, now: Double) -> Int {
        events.filter { $0.at > now - period }.reduce(0) { $0 + $1.change }
    }

    private func limit(
        _ stabilized: Int, current: Int, up: ScalingRules, down: ScalingRules, now: Double
    ) -> (Int, String) {
        if stabilized > current {
            let starts = up.policies.map {
                current - changed(upEvents, in: $0.periodSeconds, now: now)
                    + changed(downEvents, in: $0.periodSeconds, now: now)
            }
            let limits = zip(up.policies, starts).map { p, start in
                p.kind == .pods ? start + p.value : Int((Double(start) * (1 + Double(p.value) / 100)).rounded(.up))
            }
            var limit = up.select == .disabled ? current : (up.select == .max ? limits.max() : limits.min()) ?? current
            limit = max(limit, current)
            let allowed = min(spec.maxReplicas, limit)
            return (min(stabilized, allowed), spec.maxReplicas > limit ? "ScaleUpLimit" : "TooManyReplicas")
        }
        if stabilized < current {
            let starts = down.policies.map {
                current - changed(upEvents, in: $0.periodSeconds, now: now)
                    + changed(downEvents, in: $0.periodSeconds, now: now)
            }
            let limits = zip(down.policies, starts).map { p, start in
                p.kind == .pods ? start - p.value : Int(Double(start) * (1 - Double(p.value) / 100))
            }
            // The most change is the lowest count.
            var limit =
                down.select == .disabled ? current : (down.select == .max ? limits.min() : limits.max()) ?? current
            limit = min(limit, current)
            let allowed = max(spec.minReplicas, limit)
            return (max(stabilized, allowed), limit > spec.minReplicas ? "ScaleDownLimit" : "TooFewReplicas")
        }
        return (stabilized, "DesiredWithinRange")
    }

    /// Without `behavior`: the highest recommendation of the last 300 s, then at most
    /// max(2 × current, 4) and within min/max.
    private mutating func legacy(current: Int, proposal: Int, now: Double) -> Decision {
        let window = ScalingRules.defaultScaleDown.stabilizationSeconds
        let stabilized = recommendations.filter { $0.at > now - window }.map(\.replicas).reduce(proposal, max)
        remember(proposal, now: now, olderThan: now - window)
        let able = stabilized == proposal ? "ReadyForNewScale" : "ScaleDownStabilized"
        let upLimit = max(2 * current, 4)
        let allowed = min(spec.maxReplicas, upLimit)
        if stabilized < spec.minReplicas {
            return Decision(
                replicas: spec.minReplicas, stabilized: stabilized, ableToScaleReason: able,
                limitedReason: "TooFewReplicas")
        }
        if stabilized > allowed {
            return Decision(
                replicas: allowed, stabilized: stabilized, ableToScaleReason: able,
                limitedReason: spec.maxReplicas > upLimit ? "ScaleUpLimit" : "TooManyReplicas")
        }
        return Decision(
            replicas: stabilized, stabilized: stabilized, ableToScaleReason: able, limitedReason: "DesiredWithinRange")
    }
}
