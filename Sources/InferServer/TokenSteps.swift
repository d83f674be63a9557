import Synchronization

/// Generations' tokens as pool work, in batches: each waiting token step joins a queue,
/// and a drain on a compute thread runs the queued steps one after another, resuming
/// each generation as its token is made. A batch is one piece of pool work, so /infer's
/// requests and the batches take turns first come first served, and up to one drain
/// per compute thread runs at once. Handing each token to the pool on its own cost three
/// thread wake-ups per token (pool, task, event loop); queued behind a running drain, a
/// step costs none of the first.
final class TokenSteps: Sendable {
    private let pool: ComputePool
    /// A step: run with true, or told with false that the pool has shut down.
    typealias Step = @Sendable (Bool) -> Void
    private let state = Mutex<(queued: [Step], drains: Int)>(([], 0))

    init(pool: ComputePool) { self.pool = pool }

    struct PoolClosed: Error {}

    /// Runs `work` on a compute thread with the other queued steps; its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let step: Step = { active in
                if active {
                    continuation.resume(returning: work())
                } else {
                    continuation.resume(throwing: PoolClosed())
                }
            }
            let start: Bool = state.withLock { s in
                s.queued.append(step)
                // Another drain only when one more thread can take a share of the queue.
                guard s.drains < pool.workers, s.queued.count > s.drains else { return false }
                s.drains += 1
                return true
            }
            if start { submitDrain() }
        }
    }

    private func submitDrain() {
        pool.submit { [self] active in drain(active) }
    }

    /// Runs this drain's share of the queue, then goes to the back of the pool's queue
    /// if steps are still waiting (so /infer's work queued meanwhile gets its turn).
    private func drain(_ active: Bool) {
        let batch: [Step] = state.withLock { s in
            let share = active ? max(1, (s.queued.count + s.drains - 1) / max(s.drains, 1)) : s.queued.count
            let taken = Array(s.queued.prefix(share))
            s.queued.removeFirst(taken.count)
            return taken
        }
        for step in batch { step(active) }
        // Steps still queued go on (or, after shutdown, are told so) in another drain.
        let again: Bool = state.withLock { s in
            if !s.queued.isEmpty { return true }
            s.drains -= 1
            return false
        }
        if again { submitDrain() }
    }
}
