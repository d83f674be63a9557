#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Platform

/// One inference request's work: generate `tokens` tokens at `workMs` CPU ms each.
public struct Workload: Sendable {
    public let model: Model
    public let calibration: Calibration

    public init(model: Model, calibration: Calibration) {
        self.model = model
        self.calibration = calibration
    }

    /// What a run produced and cost.
    public struct Result: Sendable {
        public let tokens: [Int]
        public let text: String
        /// Wall time of the computation, in milliseconds.
        public let computeMs: Double
        /// CPU time of the computation, in seconds.
        public let cpuSeconds: Double
        public let passes: Int
    }

    /// CPU nanoseconds a request should burn; `costFactor` scales it (1 = nominal,
    /// jitter draws around it).
    public func budgetNanos(tokens: Int, workMs: Double, costFactor: Double = 1) -> UInt64 {
        UInt64(max(0, min(Double(tokens) * workMs * costFactor * 1e6, 3.6e12)))
    }

    /// Forward passes that cost about `workMs` per token at the calibrated speed.
    public func passes(tokens: Int, workMs: Double, costFactor: Double = 1) -> Int {
        let total = (Double(tokens) * workMs * costFactor * calibration.passesPerMs).rounded()
        return max(tokens, Int(min(total, Double(Int32.max))))
    }

    /// Runs the work on the calling thread (a compute-pool thread, never an event loop)
    /// until this thread has used `cpuBudgetNanos` of CPU, spread evenly over the tokens.
    /// Burning to a CPU-time budget, rather than a pass count fixed at calibration,
    /// keeps the cost right when the machine's speed changes (a busy sibling
    /// hyperthread, frequency scaling): CPU time is what a CPU-based autoscaler sees.
    public func run(input: some Collection<UInt8>, tokens: Int, cpuBudgetNanos: UInt64) -> Result {
        let perToken = cpuBudgetNanos / UInt64(max(tokens, 1))
        // Read the clock about every 50 µs of work: cheap, and precise enough.
        let checkEvery = max(1, Int(calibration.passesPerMs / 20))
        let cpu = CPUClock.threadNanos()
        return timed(input: input, tokens: tokens) { t, done in
            guard done % checkEvery == 0 else { return true }
            return CPUClock.threadNanos() - cpu < perToken * UInt64(t + 1)
        }
    }

    /// One token of a generation run token by token, burning `cpuBudgetNanos` of this
    /// thread's CPU (at least one forward pass; none for a budget of 0). Returns the
    /// token and the CPU used (s).
    public func step(_ decoder: inout Model.Decoder, cpuBudgetNanos: UInt64) -> (token: Int, cpuSeconds: Double) {
        let checkEvery = max(1, Int(calibration.passesPerMs / 20))
        let cpu = CPUClock.threadNanos()
        let token = decoder.next(model, passes: cpuBudgetNanos > 0) { done in
            done % checkEvery != 0 || CPUClock.threadNanos() - cpu < cpuBudgetNanos
        }
        return (token, Double(CPUClock.threadNanos() - cpu) / 1e9)
    }

    /// A prompt's prefill: forward passes over the generation's state until this thread
    /// has used `cpuBudgetNanos`, producing no token. Returns the CPU used (s).
    public func prefill(_ decoder: inout Model.Decoder, cpuBudgetNanos: UInt64) -> Double {
        let checkEvery = max(1, Int(calibration.passesPerMs / 20))
        let cpu = CPUClock.threadNanos()
        decoder.burn(model) { done in
            done % checkEvery != 0 || CPUClock.threadNanos() - cpu < cpuBudgetNanos
        }
        return Double(CPUClock.threadNanos() - cpu) / 1e9
    }

    /// Runs exactly `passes` forward passes, spread evenly over the tokens.
    public func run(input: some Collection<UInt8>, tokens: Int, passes total: Int) -> Result {
        let each = total / max(tokens, 1)
        let extra = total % max(tokens, 1)
        return timed(input: input, tokens: tokens) { t, done in done < each + (t < extra ? 1 : 0) }
    }

    /// Generates with `another` deciding the passes, timing wall and thread CPU.
    private func timed(input: some Collection<UInt8>, tokens: Int, another: (Int, Int) -> Bool) -> Result {
        let wall = CPUClock.monotonicNanos()
        let cpu = CPUClock.threadNanos()
        var passes = 0
        let ids = model.generate(input: input, tokens: tokens) { t, done in
            passes += 1
            return another(t, done)
        }
        let cpuSeconds = Double(CPUClock.threadNanos() - cpu) / 1e9
        let computeMs = Double(CPUClock.monotonicNanos() - wall) / 1e6
        return Result(tokens: ids, text: Model.text(ids), computeMs: computeMs, cpuSeconds: cpuSeconds, passes: passes)
    }
}

/// Cost jitter: a lognormal factor with mean 1, so the average load stays what
/// `--work-ms` says while single requests spread out like real inference.
public struct Jitter: Sendable {
    public let sigma: Double

    public init(sigma: Double) { self.sigma = sigma }

    public func factor(using rng: inout some RandomNumberGenerator) -> Double {
        guard sigma > 0 else { return 1 }
        // Box–Muller for a standard normal draw.
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng)
        let u2 = Double.random(in: 0..<1, using: &rng)
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        return exp(sigma * z - sigma * sigma / 2)
    }
}
