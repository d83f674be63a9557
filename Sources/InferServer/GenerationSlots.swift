import Synchronization

/// Admission for generations (the OpenAI face): at most `maxRunning` decode at once,
/// interleaved token by token on the compute pool (a simple continuous batching); up to
/// `maxWaiting` more wait, first come first served, for a place; one more is refused at
/// once (503), as /infer's queue refuses.
final class GenerationSlots: Sendable {
    let maxRunning: Int
    let maxWaiting: Int
    private let state = Mutex<(running: Int, waiting: [CheckedContinuation<Bool, Never>])>((0, []))

    init(maxRunning: Int, maxWaiting: Int) {
        precondition(maxRunning > 0 && maxWaiting >= 0)
        self.maxRunning = maxRunning
        self.maxWaiting = maxWaiting
    }

    struct Full: Error {}

    var counts: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting.count) } }

    /// Takes a place, waiting for one if all are taken; throws when the wait is full too.
    /// The place is held by the lease returned: dropping it gives the place back.
    func acquire() async throws(Full) -> Lease {
        let admitted: Bool = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let verdict: Bool? = state.withLock { s in
                if s.running < maxRunning {
                    s.running += 1
                    return true
                }
                guard s.waiting.count < maxWaiting else { return false }
                s.waiting.append(continuation)
                return nil
            }
            if let verdict { continuation.resume(returning: verdict) }
        }
        guard admitted else { throw Full() }
        return Lease(self)
    }

    /// A place taken, given back exactly once: by `release`, or when the lease is dropped
    /// unused (a streamed response whose body never ran).
    final class Lease: Sendable {
        private let slots: GenerationSlots
        private let held = Atomic<Bool>(true)
        fileprivate init(_ slots: GenerationSlots) { self.slots = slots }
        func release() {
            if held.exchange(false, ordering: .acquiringAndReleasing) { slots.release() }
        }
        deinit { release() }
    }

    /// Gives a place back: to the first waiter, if any (the running count stays).
    private func release() {
        let next: CheckedContinuation<Bool, Never>? = state.withLock { s in
            if s.waiting.isEmpty {
                s.running -= 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume(returning: true)
    }
}
