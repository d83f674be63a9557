import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The one way every tool hears SIGINT and SIGTERM. swift-service-lifecycle's
/// UnixSignals sets the signals to SIG_IGN and reads them from a Dispatch signal
/// source, so what runs on a signal runs on a queue, not in a handler: it may lock,
/// allocate and print. infer-serve's ServiceLifecycle uses the same sequence.
///
/// Blocking reads are not interrupted by an ignored signal, so a reader that must
/// notice one polls `wakeFD` too: it becomes readable with one byte per signal
/// (and per `wake()`).
public final class ShutdownSignals: Sendable {
    private let received = Mutex<[UnixSignal]>([])
    /// `received.count`, readable per record without a lock (infer-stats asks that often).
    private let receivedCount = Atomic<Int>(0)
    private let listener = Mutex<Task<Void, Never>?>(nil)
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
        listener.withLock { $0?.cancel() }
        if wakeFD >= 0 { close(wakeFD); close(wakeWriteFD) }
    }

    /// Traps SIGINT and SIGTERM; `onSignal` runs (off the signal handler) for each
    /// one, after it is counted. The trap is in place when this returns.
    public static func trap(onSignal: @escaping @Sendable (ShutdownSignals, UnixSignal) -> Void = { _, _ in }) async -> ShutdownSignals {
        let sequence = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let signals = ShutdownSignals()
        let task = Task { [weak signals] in
            for await signal in sequence {
                guard let signals else { return }
                signals.received.withLock { $0.append(signal) }
                signals.receivedCount.add(1, ordering: .releasing)
                signals.wake()
                onSignal(signals, signal)
            }
        }
        signals.listener.withLock { $0 = task }
        return signals
    }

    /// Signals received so far.
    public var count: Int { receivedCount.load(ordering: .acquiring) }

    /// The first signal received, if any.
    public var first: UnixSignal? { received.withLock { $0.first } }

    /// The conventional status for ending because of the first signal: 130 for
    /// SIGINT, 143 for SIGTERM (ARCHITECTURE.md, "Conventions"); nil if none came.
    public var exitStatus: Int32? {
        guard let first else { return nil }
        return first == .sigterm ? ExitStatus.terminated : ExitStatus.interrupted
    }

    /// Makes `wakeFD` readable, e.g. when a drain deadline passes.
    public func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // a full pipe already wakes the reader
    }

    /// Stops listening; later signals are still ignored, not fatal.
    public func cancel() {
        listener.withLock { $0?.cancel() }
    }
}
