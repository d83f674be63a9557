#if canImport(Glibc)
import Glibc
#endif

/// How well a prediction of the HPA's replica count matches an observed run: at every
/// sync period of the observed span, does the prediction reach the observed count
/// within one period of that time (the controller's phase relative to the load is not
/// knowable); and does each observed rescale have a predicted one to the same size
/// within ±1 period.
public struct Agreement: Sendable, Equatable {
    public let periods: Int
    public let periodsAgreeing: Int
    public let rescales: Int
    public let rescalesMatched: Int

    public var fraction: Double { periods > 0 ? Double(periodsAgreeing) / Double(periods) : 0 }

    /// `predicted` and `observed`: (time, desired replicas) at each change or sync, in time order.
    public init(predicted: [(ts: Double, desired: Int)], observed: [(ts: Double, desired: Int)], period: Double = 15) {
        func value(_ steps: [(ts: Double, desired: Int)], at t: Double) -> Int? { steps.last { $0.ts <= t }?.desired }
        var periods = 0, agreeing = 0
        if let first = observed.first?.ts, let last = observed.last?.ts {
            var t = first
            while t <= last {
                periods += 1
                let want = value(observed, at: t)
                // The prediction's values within ±1 period: at the edges and at each change between.
                var seen = [
                    value(predicted, at: t - period), value(predicted, at: t), value(predicted, at: t + period),
                ]
                seen += predicted.filter { $0.ts >= t - period && $0.ts <= t + period }.map(\.desired)
                if seen.contains(where: { $0 == want }) { agreeing += 1 }
                t += period
            }
        }
        func changes(_ steps: [(ts: Double, desired: Int)]) -> [(ts: Double, to: Int)] {
            var out: [(ts: Double, to: Int)] = []
            for i in steps.indices.dropFirst() where steps[i].desired != steps[i - 1].desired {
                out.append((steps[i].ts, steps[i].desired))
            }
            return out
        }
        let observedChanges = changes(observed), predictedChanges = changes(predicted)
        self.periods = periods
        periodsAgreeing = agreeing
        rescales = observedChanges.count
        rescalesMatched =
            observedChanges.filter { o in predictedChanges.contains { abs($0.ts - o.ts) <= period && $0.to == o.to } }
            .count
    }

    /// The controller's sync phase in a recorded run, read from the times it rescaled
    /// (an HPA's `lastScaleTime`, which the API keeps to the whole second): seconds after
    /// `start`, modulo the period, as a circular mean. Nil without a rescale. This is the
    /// one thing a prediction cannot know and a recorded run shows, so a comparison can
    /// be made at the run's own phase as well as across all of them.
    public static func phase(ofRescalesAt times: [Double], start: Double, period: Double = 15) -> Double? {
        guard !times.isEmpty else { return nil }
        var x = 0.0, y = 0.0
        for t in times {
            // lastScaleTime is truncated: the sync was within the second after it.
            let angle = (t + 0.5 - start) / period * 2 * Double.pi
            x += cos(angle)
            y += sin(angle)
        }
        let phase = atan2(y, x) / (2 * Double.pi) * period
        return phase < 0 ? phase + period : phase
    }
}
