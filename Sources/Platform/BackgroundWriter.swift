#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes written to a file descriptor by a thread of their own, so the caller (an event
/// loop) never blocks on a slow reader or a full pipe. The buffer between them is
/// bounded: past `capacity` bytes, `submit` either waits for the writer (`.wait`:
/// records must not be lost, and the wait shows in the caller's timing) or drops the
/// bytes and counts their lines (`.drop`: a log line must never hold up a request).
///
/// A failed write ends the writer: EPIPE (the reader is gone) is `.closed`, anything else
/// (ENOSPC, EIO, EBADF, EFBIG …) is `.failed(errno)`; what could not be written is
/// counted in lines. SIGPIPE must be ignored (`LineWriter.ignoreSIGPIPE()`).
public final class BackgroundWriter: @unchecked Sendable {
    // @unchecked: every mutable field is touched only with the pthread mutex `mutex` held,
    // except `thread` and `started`, which are set in init and read by finish().
    public enum WhenFull: Sendable { case wait, drop }

    public enum State: Equatable, Sendable {
        case open
        /// The reader closed the pipe (EPIPE): a normal end for a producer.
        case closed
        /// A write failed for another reason.
        case failed(errno: Int32)
    }

    private let fd: Int32
    private let capacity: Int
    private let whenFull: WhenFull
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let workReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let spaceFree = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [UInt8] = []
    private var spare: [UInt8] = []
    private var finishing = false
    private var state = State.open
    private var unwritten = 0
    private var dropped = 0
    private var droppedNoticed = 0
    private let dropNotice: (@Sendable (Int) -> [UInt8])?
    private var thread = pthread_t()
    private var started = false

    /// - Parameters:
    ///   - capacity: bytes held for the writer before `whenFull` applies.
    ///   - dropNotice: for `.drop`, the line(s) to write, once there is room again, saying
    ///     how many lines were dropped since the last notice.
    public init(
        fd: Int32, capacity: Int = 16 << 20, whenFull: WhenFull, dropNotice: (@Sendable (Int) -> [UInt8])? = nil
    ) {
        self.fd = fd
        self.capacity = capacity
        self.whenFull = whenFull
        self.dropNotice = dropNotice
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workReady, nil)
        pthread_cond_init(spaceFree, nil)
        pending.reserveCapacity(1 << 16)
        spare.reserveCapacity(1 << 16)
        let context = Unmanaged.passRetained(self).toOpaque()
        started =
            pthread_create(
                &thread, nil,
                { context in
                    let writer = Unmanaged<BackgroundWriter>.fromOpaque(context!).takeRetainedValue()
                    writer.writeLoop()
                    return nil
                }, context) == 0
        if !started {
            // No thread (out of resources): write on the caller's thread instead.
            Unmanaged<BackgroundWriter>.fromOpaque(context).release()
        }
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(workReady)
        pthread_cond_destroy(spaceFree)
        mutex.deallocate()
        workReady.deallocate()
        spaceFree.deallocate()
    }

    /// Hands `bytes` (whole lines) to the writer and leaves `bytes` empty, its capacity
    /// kept. Returns the writer's state; once it is not `.open`, bytes are only counted.
    /// `onStall` runs (before waiting) each time a `.wait` writer makes the caller wait.
    @discardableResult
    public func submit(_ bytes: inout [UInt8], onStall: (() -> Void)? = nil) -> State {
        if bytes.isEmpty { return currentState }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if started, state == .open, pending.count >= capacity {
            if whenFull == .drop {
                dropped += Self.lines(bytes)
                bytes.removeAll(keepingCapacity: true)
                return state
            }
            if let onStall {
                pthread_mutex_unlock(mutex)
                onStall()
                pthread_mutex_lock(mutex)
            }
            while state == .open, pending.count >= capacity { pthread_cond_wait(spaceFree, mutex) }
        }
        guard state == .open else {
            unwritten += Self.lines(bytes)
            bytes.removeAll(keepingCapacity: true)
            return state
        }
        if !started {
            // Synchronous fallback.
            let failure = Self.writeAll(fd, bytes)
            if let failure { fail(failure, remaining: failure.remaining) }
            bytes.removeAll(keepingCapacity: true)
            return state
        }
        if dropped > droppedNoticed, let dropNotice {
            pending.append(contentsOf: dropNotice(dropped - droppedNoticed))
            droppedNoticed = dropped
        }
        if pending.isEmpty {
            swap(&pending, &bytes)  // no copy: the caller gets an empty buffer back
        } else {
            pending.append(contentsOf: bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        pthread_cond_signal(workReady)
        return state
    }

    /// Writes everything submitted, stops the thread and returns the final state.
    /// Call once, after the last submit.
    @discardableResult
    public func finish() -> State {
        pthread_mutex_lock(mutex)
        finishing = true
        pthread_cond_signal(workReady)
        pthread_mutex_unlock(mutex)
        if started { pthread_join(thread, nil) }
        return currentState
    }

    public var currentState: State { locked { state } }
    /// Lines that could not be written (after the writer failed or closed).
    public var unwrittenLines: Int { locked { unwritten } }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private func writeLoop() {
        pthread_mutex_lock(mutex)
        while true {
            while pending.isEmpty, !finishing { pthread_cond_wait(workReady, mutex) }
            if pending.isEmpty { break }
            var batch = spare
            swap(&batch, &pending)
            let open = state == .open
            pthread_cond_broadcast(spaceFree)
            pthread_mutex_unlock(mutex)
            let failure = open ? Self.writeAll(fd, batch) : nil
            pthread_mutex_lock(mutex)
            if let failure { fail(failure, remaining: failure.remaining) }
            batch.removeAll(keepingCapacity: true)
            spare = batch
        }
        pthread_mutex_unlock(mutex)
    }

    /// With `mutex` held.
    private func fail(_ failure: WriteFailure, remaining: Int) {
        if state == .open { state = failure.errno == EPIPE ? .closed : .failed(errno: failure.errno) }
        unwritten += remaining + Self.lines(pending)
        pending.removeAll(keepingCapacity: true)
        pthread_cond_broadcast(spaceFree)
    }

    struct WriteFailure {
        let errno: Int32
        /// Lines not (wholly) written.
        let remaining: Int
    }

    /// Writes all of `bytes`; nil on success.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> WriteFailure? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n >= 0 {
                offset += n
                continue
            }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK {
                // A non-blocking descriptor inherited from the parent: wait until it drains.
                var pollFD = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pollFD, 1, -1)
                continue
            }
            // A line cut by the failed write is lost too: count from the last whole line written.
            var lineStart = offset
            while lineStart > 0, bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
            return WriteFailure(errno: error, remaining: lines(bytes[lineStart...]))
        }
        return nil
    }

    static func lines(_ bytes: some Collection<UInt8>) -> Int {
        var n = 0
        for b in bytes where b == 0x0A { n += 1 }
        return n
    }

    /// "No space left on device", for messages.
    public static func describe(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
