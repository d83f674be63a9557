import Platform

/// How the target rate changes over a run: constant, a linear ramp, or steps.
/// The profile is a pure function of time, so a schedule can be computed (and
/// tested) without a clock.
public enum RateProfile: Equatable, Sendable {
    /// `qps` for `seconds` (nil: until the request count is reached).
    case constant(qps: Double, seconds: Double?)
    /// From `from` to `to` qps, linearly over `seconds`.
    case ramp(from: Double, to: Double, seconds: Double)
    /// Each step holds its rate for its duration, in order.
    case steps([Step])

    public struct Step: Equatable, Sendable {
        public let qps: Double
        public let seconds: Double
        public init(qps: Double, seconds: Double) {
            self.qps = qps
            self.seconds = seconds
        }
    }

    /// Length of the run in seconds, or nil when it ends by request count.
    public var duration: Double? {
        switch self {
        case .constant(_, let seconds): seconds
        case .ramp(_, _, let seconds): seconds
        case .steps(let steps): steps.reduce(0) { $0 + $1.seconds }
        }
    }

    /// The target rate at time `t` (seconds from the start).
    public func rate(at t: Double) -> Double {
        switch self {
        case .constant(let qps, _):
            return qps
        case .ramp(let from, let to, let seconds):
            return from + (to - from) * min(max(t / seconds, 0), 1)
        case .steps(let steps):
            var start = 0.0
            for step in steps {
                if t < start + step.seconds { return step.qps }
                start += step.seconds
            }
            return steps.last?.qps ?? 0
        }
    }

    /// The time at which the cumulative expected count of requests reaches `n`, the
    /// inverse of ∫rate; nil when the profile ends first. Arrivals are placed by
    /// inverting this: request k of a uniform schedule is due at `time(ofCount: k)`.
    public func time(ofCount n: Double) -> Double? {
        switch self {
        case .constant(let qps, let seconds):
            guard qps > 0 else { return nil }
            let t = n / qps
            if let seconds, t >= seconds { return nil }
            return t
        case .ramp(let a, let b, let seconds):
            // N(t) = a·t + (b−a)·t²/(2T); solve N(t) = n for the smallest t ≥ 0.
            if n == 0 { return 0 }
            let k = (b - a) / (2 * seconds)
            let t: Double
            if abs(k) < 1e-12 {
                guard a > 0 else { return nil }
                t = n / a
            } else {
                let disc = a * a + 4 * k * n
                guard disc >= 0 else { return nil }
                // Numerically stable root of k·t² + a·t − n = 0.
                t = 2 * n / (a + disc.squareRoot())
            }
            return t.isFinite && t < seconds ? t : nil
        case .steps(let steps):
            var start = 0.0, count = 0.0
            for step in steps {
                let inStep = step.qps * step.seconds
                if n < count + inStep, step.qps > 0 {
                    return start + (n - count) / step.qps
                }
                count += inStep
                start += step.seconds
            }
            return nil
        }
    }

    /// Parses `--steps 30:60s,90:60s,5:120s` (a duration may end in s, m or h, or be bare seconds).
    public static func parseSteps(_ text: String) throws(ParseError) -> RateProfile {
        var steps: [Step] = []
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":")
            guard fields.count == 2, let qps = Double(fields[0]), qps >= 0, qps.isFinite,
                let seconds = DurationText.seconds(String(fields[1])), seconds > 0
            else {
                throw ParseError("invalid step '\(part)': expected QPS:DURATION, e.g. 30:60s")
            }
            steps.append(Step(qps: qps, seconds: seconds))
        }
        guard !steps.isEmpty else { throw ParseError("--steps needs at least one QPS:DURATION") }
        return .steps(steps)
    }
}
