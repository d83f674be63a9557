#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clocks the tools read, in one place: this thread's CPU time (what calibration and
/// the `work_cpu_seconds` metric count), a monotonic clock for intervals, and wall time
/// for timestamps. Code that must be testable takes a `() -> UInt64` defaulting to one
/// of these instead of calling them directly.
public enum CPUClock {
    /// CPU time consumed by the calling thread, in nanoseconds.
    public static func threadNanos() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// Monotonic wall time, in nanoseconds.
    public static func monotonicNanos() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// Unix time in seconds (µs precision is what records and logs carry).
    public static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Unix time in whole seconds.
    public static func wallWholeSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec)
    }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
