#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered output to a file descriptor, written out by `flush()` in whole lines.
/// A closed reader (EPIPE) is remembered, not fatal: the caller checks `isOpen`
/// and ends quietly. Any other failed write (ENOSPC, EIO, EBADF …) is kept in
/// `failure`, which the caller must report. SIGPIPE must be ignored (`ignoreSIGPIPE()`).
public final class LineWriter {
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var isOpen = true
    /// errno of a failed write other than EPIPE: output was lost.
    public private(set) var failure: Int32?

    public init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    public func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// Direct access for encoders that append in place.
    public func withBuffer<T>(_ body: (inout [UInt8]) -> T) -> T { body(&buffer) }

    /// Writes everything buffered; returns false once the reader is gone.
    @discardableResult
    public func flush() -> Bool {
        guard isOpen else {
            buffer.removeAll(keepingCapacity: true)
            return false
        }
        if let failed = BackgroundWriter.writeAll(fd, buffer) {
            isOpen = false
            if failed.errno != EPIPE { failure = failed.errno }
        }
        buffer.removeAll(keepingCapacity: true)
        return isOpen
    }

    public static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }
}
