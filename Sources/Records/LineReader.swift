#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads newline-terminated lines from a file descriptor through one reused buffer:
/// no allocation per line. A line is valid until the next call.
public final class LineReader {
    public let fd: Int32
    private var storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    /// The last line returned ended the input without a newline.
    public private(set) var lastLineUnterminated = false
    /// Lines longer than this are returned cut (and will not parse).
    public static let maxLine = 16 << 20

    public enum Next {
        case line(UnsafeRawBufferPointer)
        case end
        /// The wake descriptor became readable (a signal came): call again to go on.
        case interrupted
        case failed(errno: Int32)
    }

    /// Polled with `fd` before each read when set, so a signal can interrupt a read
    /// blocked on a silent producer (ToolSupport's ShutdownSignals.wakeFD).
    public let wakeFD: Int32?

    public init(fd: Int32, bufferSize: Int = 1 << 20, wakeFD: Int32? = nil) {
        self.fd = fd
        self.wakeFD = wakeFD
        storage = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { storage.deallocate() }

    public func next() -> Next {
        while true {
            if end > start, let found = memchr(storage.baseAddress! + start, 0x0A, end - start) {
                let nl = storage.baseAddress!.distance(to: found)
                let line = UnsafeRawBufferPointer(rebasing: storage[start..<nl])
                start = nl + 1
                lineNumber += 1
                return .line(line)
            }
            if atEOF {
                guard end > start else { return .end }
                let line = UnsafeRawBufferPointer(rebasing: storage[start..<end])
                start = end
                lineNumber += 1
                lastLineUnterminated = true
                return .line(line)
            }
            // Make room: move the partial line to the front, grow if it fills the buffer.
            if start > 0 {
                if end > start { memmove(storage.baseAddress!, storage.baseAddress! + start, end - start) }
                end -= start
                start = 0
            }
            if end == storage.count {
                if storage.count >= LineReader.maxLine {
                    let line = UnsafeRawBufferPointer(rebasing: storage[0..<end])
                    start = end
                    lineNumber += 1
                    return .line(line)
                }
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
                bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<end]))
                storage.deallocate()
                storage = bigger
            }
            if let wakeFD, LineReader.woken(fd: fd, wakeFD: wakeFD) { return .interrupted }
            let n = read(fd, storage.baseAddress! + end, storage.count - end)
            if n > 0 {
                end += n
            } else if n == 0 {
                atEOF = true
            } else if errno == EINTR {
                return .interrupted
            } else {
                return .failed(errno: errno)
            }
        }
    }

    /// Waits until `fd` or `wakeFD` is readable; true (with one wake byte consumed)
    /// when it was `wakeFD`.
    static func woken(fd: Int32, wakeFD: Int32) -> Bool {
        var fds = [
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&fds, 2, -1) < 0 && errno == EINTR {}
        guard fds[0].revents != 0 else { return false }
        var byte: UInt8 = 0
        _ = read(wakeFD, &byte, 1)
        return true
    }
}
