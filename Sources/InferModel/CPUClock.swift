#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Clocks the model needs: this thread's CPU time (what calibration and the
/// `work_cpu_seconds` metric count) and a monotonic wall clock.
public enum CPUClock {
    /// CPU time consumed by the calling thread, in nanoseconds.
    public static func threadNanos() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// Monotonic wall time, in nanoseconds.
    public static func monotonicNanos() -> UInt64 { read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
