import Platform
/// How many forward passes make one CPU millisecond on this machine.
///
/// Measured on thread CPU time, not wall time, so a busy machine that preempts the
/// calibrating thread does not inflate the figure; the best of several rounds is kept
/// (the least-disturbed one), as cache misses and frequency changes only slow a round.
public struct Calibration: Sendable, Equatable {
    public let passesPerMs: Double

    public init(passesPerMs: Double) {
        precondition(passesPerMs > 0)
        self.passesPerMs = passesPerMs
    }

    /// Runs the model for about `rounds × roundMs` of CPU.
    public static func measure(model: Model, rounds: Int = 5, roundMs: Double = 20) -> Calibration {
        var best = 0.0
        let input = Array("calibration".utf8)
        for _ in 0..<rounds {
            var passes = 0
            let start = CPUClock.threadNanos()
            var elapsedMs = 0.0
            // Grow the batch until the round is long enough to time precisely.
            var batch = 8
            while elapsedMs < roundMs {
                _ = model.generate(input: input, tokens: 1) { _ in batch }
                passes += batch
                elapsedMs = Double(CPUClock.threadNanos() - start) / 1e6
                batch = min(batch * 2, 512)
            }
            best = max(best, Double(passes) / elapsedMs)
        }
        return Calibration(passesPerMs: best)
    }
}
