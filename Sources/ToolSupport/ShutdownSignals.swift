@preconcurrency import Dispatch
import Platform
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one way every tool hears SIGINT and SIGTERM: Dispatch signal sources on a
/// queue of their own (what swift-service-lifecycle's UnixSignals, and so infer-serve,
/// uses too), so nothing runs in a signal handler, and what runs on a signal — count
/// it, wake a blocked reader, call `onSignal` — needs no Swift concurrency thread:
/// infer-stats blocks one in poll(2), and a pool of one would otherwise never hear it.
///
/// Blocking reads are not interrupted by a handled signal, so a reader that must
/// notice one polls `wakeFD` too: it becomes readable with one byte per signal
/// (and per `wake()`).
public final class ShutdownSignals: Sendable {
    private let received = Mutex<[Int32]>([])
    /// `received.count`, readable per record without a lock (infer-stats asks that often).
    private let receivedCount = Atomic<Int>(0)
    /// When the first signal came (CLOCK_MONOTONIC ns; 0: none yet).
    private let firstNanos = Atomic<UInt64>(0)
    /// The signal sources (set once in `trap`) and `wakeEvery`'s timer, to cancel: `cancel()`
    /// and deinit may run on any thread.
    private let dispatchSources = Mutex<(signals: [DispatchSourceSignal], timer: DispatchSourceTimer?)>(([], nil))
    private static let queue = DispatchQueue(label: "k8s-inference-sim.signals")
    /// Readable once per signal or `wake()`; read one byte each time.
    public let wakeFD: Int32
    private let wakeWriteFD: Int32

    private init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, O_NONBLOCK)  // a full pipe must not block the signal queue
            }
        }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
    }

    deinit {
        dispatchSources.withLock { made in
            made.timer?.cancel()
            made.signals.forEach { $0.cancel() }
        }
        if wakeFD >= 0 { close(wakeFD); close(wakeWriteFD) }
    }

    /// Traps SIGINT and SIGTERM; `onSignal` runs on the signals' queue (not in a handler,
    /// not on a Swift concurrency thread) for each one, after it is counted and the wake
    /// pipe written. The trap is in place when this returns.
    public static func trap(
        onSignal: @escaping @Sendable (ShutdownSignals, Int32) -> Void = { _, _ in }
    ) async -> ShutdownSignals {
        let signals = ShutdownSignals()
        let made = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak signals] in
                guard let signals else { return }
                for _ in 0..<max(1, Int(source.data)) {
                    signals.received.withLock { $0.append(number) }
                    _ = signals.firstNanos.compareExchange(
                        expected: 0, desired: CPUClock.monotonicNanos(), ordering: .relaxed)
                    signals.receivedCount.add(1, ordering: .releasing)
                    signals.wake()
                    onSignal(signals, number)
                }
            }
            return source
        }
        made.forEach { $0.resume() }
        signals.dispatchSources.withLock { $0.signals = made }
        // The sources register on Dispatch's side: one round trip through their queue
        // before saying the trap is set.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in queue.async { done.resume() } }
        // libdispatch installs its handler (which passes the signal on to its signalfd)
        // from its manager thread, later still: until then a SIGINT takes the default
        // action and the process dies without its report (a test saw it, on a busy
        // machine). Wait for the handlers, up to 2 s.
        for _ in 0..<2000 where !handlersInstalled([SIGINT, SIGTERM]) {
            try? await Task.sleep(for: .milliseconds(1))
        }
        return signals
    }

    /// Whether each signal has a handler: neither the default action nor ignored.
    static func handlersInstalled(_ numbers: [Int32]) -> Bool {
        numbers.allSatisfy { number in
            var action = sigaction()
            guard sigaction(number, nil, &action) == 0 else { return true }
            let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
            return handler != 0 && handler != 1  // SIG_DFL, SIG_IGN
        }
    }

    /// Signals received so far.
    public var count: Int { receivedCount.load(ordering: .acquiring) }

    /// The first signal received, if any.
    public var first: Int32? { received.withLock { $0.first } }

    /// The conventional status for ending because of the first signal: 130 for
    /// SIGINT, 143 for SIGTERM (ARCHITECTURE.md, "Conventions"); nil if none came.
    public var exitStatus: Int32? {
        guard let first else { return nil }
        return first == SIGTERM ? ExitStatus.terminated : ExitStatus.interrupted
    }

    /// Makes `wakeFD` readable, e.g. when a drain deadline passes.
    public func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // a full pipe already wakes the reader
    }

    /// Seconds since the first signal (nil: none yet), on the clock `wakeEvery` keeps.
    public var secondsSinceFirst: Double? {
        let first = firstNanos.load(ordering: .relaxed)
        return first == 0 ? nil : Double(CPUClock.monotonicNanos() &- first) / 1e9
    }

    /// Wakes `wakeFD` `seconds` after the first signal and every half second after that,
    /// on the signals' queue (no Swift concurrency thread needed): a reader that checks a
    /// deadline against `secondsSinceFirst` on each wake-up cannot sleep past it.
    public func wakeEvery(afterFirstSignal seconds: Double) {
        let elapsed = secondsSinceFirst ?? 0
        let source = DispatchSource.makeTimerSource(queue: Self.queue)
        source.schedule(deadline: .now() + max(0, seconds - elapsed), repeating: 0.5)
        source.setEventHandler { [weak self] in self?.wake() }
        Self.queue.async { [weak self] in
            guard let self else { return }
            let first: Bool = self.dispatchSources.withLock { made in
                guard made.timer == nil else { return false }
                made.timer = source
                return true
            }
            if first { source.resume() }
        }
    }

    /// Stops listening; later signals get the handling Dispatch left in place (ignored).
    public func cancel() {
        dispatchSources.withLock { made in made.signals.forEach { $0.cancel() } }
    }
}
