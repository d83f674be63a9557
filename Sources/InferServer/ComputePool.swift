import Platform
import NIOPosix
import Synchronization

/// Where /infer's CPU work runs: a fixed set of threads apart from the NIO event loops
/// (so health checks and metrics stay fast under load), behind admission control.
///
/// At most `workers + maxQueue` requests are admitted; one more is refused at once
/// (the caller answers 503) instead of queueing without bound and timing out later.
public final class ComputePool: Sendable {
    public let workers: Int
    public let maxQueue: Int
    private let threads: NIOThreadPool
    private let admitted = Atomic<Int>(0)

    public init(workers: Int, maxQueue: Int) {
        precondition(workers > 0 && maxQueue >= 0)
        self.workers = workers
        self.maxQueue = maxQueue
        threads = NIOThreadPool(numberOfThreads: workers)
        threads.start()
    }

    /// Requests admitted and not yet finished (running + queued).
    public var inFlight: Int { admitted.load(ordering: .relaxed) }

    /// Admitted requests waiting for a thread.
    public var queueDepth: Int { max(0, inFlight - workers) }

    /// Refused: the pool and its queue are full.
    public struct Full: Error {}

    /// Runs `work` on a pool thread if there is room. Returns its result and how long it
    /// waited for a thread, in nanoseconds.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> (T, queuedNanos: UInt64) {
        let limit = workers + maxQueue
        let before = admitted.add(1, ordering: .relaxed).oldValue
        guard before < limit else {
            admitted.subtract(1, ordering: .relaxed)
            throw Full()
        }
        defer { admitted.subtract(1, ordering: .relaxed) }
        let enqueued = CPUClock.monotonicNanos()
        return try await threads.runIfActive {
            let waited = CPUClock.monotonicNanos() - enqueued
            return (work(), waited)
        }
    }

    /// Runs `work` on a pool thread without admission (a batch of generations' tokens,
    /// `TokenSteps`): with true, or with false when the pool has shut down.
    func submit(_ work: @escaping @Sendable (Bool) -> Void) {
        threads.submit { state in work(state == .active) }
    }

    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }
}
