#if canImport(Glibc)
import Glibc
#endif
import Records
import NIOCore
import NIOHTTP1
import NIOPosix
import Platform

/// What a run is: the target, the schedule and the limits.
public struct LoadPlan: Sendable {
    public var target: Target
    public var schedule: ArrivalSchedule
    /// Largest number of open connections.
    public var connections: Int
    /// Largest number of requests sent and not yet answered.
    public var maxInFlight: Int
    /// Seconds a request (including its connect) may take before it is a timeout.
    public var timeout: Double

    public init(target: Target, schedule: ArrivalSchedule, connections: Int, maxInFlight: Int, timeout: Double) {
        self.target = target
        self.schedule = schedule
        self.connections = connections
        self.maxInFlight = maxInFlight
        self.timeout = timeout
    }
}

/// Runs an open-loop load: each request is sent when the schedule says, whatever
/// the earlier ones are doing. A request that finds no free connection and no room
/// for a new one (or the in-flight cap reached) is not sent and is recorded as
/// "overload" — never delayed, so the schedule stays honest.
///
/// Everything happens on one event loop: the timer that fires due requests, the
/// connections and their responses, so no locks are taken per request. Records go
/// to `sink` on that loop; the sink returns false when its output is gone (EPIPE),
/// which ends the run quietly.
public final class LoadRunner: @unchecked Sendable {
    // @unchecked: all mutable state below is touched only on `loop`.
    public let loop: any EventLoop
    private let plan: LoadPlan
    private var schedule: ArrivalSchedule
    private let sink: (Record) -> Bool
    private let requestHead: HTTPRequestHead
    private let requestBytes: ByteBuffer
    private let timeoutNanos: UInt64

    private var startNanos: UInt64 = 0
    private var startWall = 0.0
    private var nextDue: UInt64?
    private var nextSeq = 0
    private var timer: Scheduled<Void>?
    private var sweeper: RepeatedTask?
    private var scheduleDone = false
    private var stopping = false
    private var outputClosed = false
    private var connections: [Connection] = []
    private var idle: [Connection] = []
    private var inFlight = 0
    private var resolved: SocketAddress?
    private var done: EventLoopPromise<LoadSummary>?
    public private(set) var summary = LoadSummary()

    /// How the run ended.
    public enum Ending: Sendable { case completed, stopped, outputClosed }
    public private(set) var ending = Ending.completed

    /// Called on the loop the first time each error kind is recorded, with its cause
    /// ("connect to 127.0.0.1:8080: Connection refused"), so a record's bare kind is
    /// never all a user gets. Set before `run()`.
    public var onFirstError: (@Sendable (_ kind: String, _ cause: String) -> Void)?
    private var explained: Set<String> = []

    public init(plan: LoadPlan, loop: any EventLoop, sink: @escaping (Record) -> Bool) {
        self.plan = plan
        self.schedule = plan.schedule
        self.loop = loop
        self.sink = sink
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: plan.target.authority)
        headers.add(name: "User-Agent", value: "infer-load/\(LoadRunner.version)")
        for (name, value) in plan.target.headers { headers.replaceOrAdd(name: name, value: value) }
        if !plan.target.body.isEmpty || plan.target.method != "GET" {
            headers.replaceOrAdd(name: "Content-Length", value: String(plan.target.body.count))
            if !plan.target.headers.contains(where: { $0.name.lowercased() == "content-type" }), !plan.target.body.isEmpty {
                headers.add(name: "Content-Type", value: "application/json")
            }
        }
        requestHead = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: plan.target.method), uri: plan.target.path, headers: headers)
        var bytes = ByteBuffer()
        bytes.writeString("\(plan.target.method) \(plan.target.path) HTTP/1.1\r\n")
        for (name, value) in headers { bytes.writeString("\(name): \(value)\r\n") }
        bytes.writeString("\r\n")
        bytes.writeBytes(plan.target.body)
        requestBytes = bytes
        timeoutNanos = UInt64(plan.timeout * 1e9)
    }

    public static let version = ToolVersion.current

    /// Shortest sleep between two sends; see `pump()`.
    static let tickNanos: UInt64 = 500_000

    /// Runs the whole schedule; returns when every request has a record.
    public func run() async throws -> LoadSummary {
        try await loop.flatSubmit { () -> EventLoopFuture<LoadSummary> in
            let promise = self.loop.makePromise(of: LoadSummary.self)
            self.done = promise
            self.start()
            return promise.futureResult
        }.get()
    }

    /// Stops scheduling; in-flight requests get `grace` seconds, then are recorded as
    /// "cancelled". Safe from any thread.
    public func stop(grace: Double) {
        loop.execute {
            guard !self.stopping else { return }
            self.stopping = true
            self.ending = .stopped
            self.endSchedule()
            self.loop.scheduleTask(in: .nanoseconds(Int64(max(grace, 0) * 1e9))) { self.cancelInFlight() }
            self.finishIfDone()
        }
    }

    /// A snapshot for the progress line, taken on the loop.
    public func progress() async throws -> (summary: LoadSummary, inFlight: Int, elapsed: Double, targetRate: Double) {
        try await loop.submit {
            let elapsed = Double(NIODeadline.now().uptimeNanoseconds &- self.startNanos) / 1e9
            return (self.summary, self.inFlight, elapsed, self.plan.schedule.profileRate(at: elapsed))
        }.get()
    }

    // MARK: - Schedule

    private func start() {
        startWall = CPUClock.wallSeconds()
        startNanos = NIODeadline.now().uptimeNanoseconds
        advance()
        sweeper = loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in self.sweepTimeouts() }
        pump()
    }

    private func advance() {
        if let t = schedule.next() {
            nextDue = startNanos + UInt64(t * 1e9)
        } else {
            nextDue = nil
        }
    }

    /// Fires every request that is due, then sleeps until the next one.
    private func pump() {
        timer = nil
        let now = NIODeadline.now().uptimeNanoseconds
        while let due = nextDue, due <= now, !scheduleDone {
            fire(seq: nextSeq, due: due)
            nextSeq += 1
            advance()
        }
        guard !scheduleDone else { return }
        if let due = nextDue {
            // Wake at most every `tick`: at high rates, one wake-up sends a small batch
            // (fewer timer and epoll round trips); lag stays under the tick.
            let wake = max(due, now + LoadRunner.tickNanos)
            timer = loop.scheduleTask(deadline: .uptimeNanoseconds(wake)) { self.pump() }
        } else {
            endSchedule()
            finishIfDone()
        }
    }

    private func endSchedule() {
        scheduleDone = true
        timer?.cancel()
        timer = nil
    }

    private func fire(seq: Int, due: UInt64) {
        summary.didSchedule(atSeconds: Double(due &- startNanos) / 1e9)
        // Schedule lag: how late the generator itself acted, not counting a connect.
        summary.didFire(lagNanos: NIODeadline.now().uptimeNanoseconds &- due)
        let request = InFlight(seq: seq, due: due, sent: 0)
        if inFlight >= plan.maxInFlight {
            return overload(request)
        }
        if let connection = idle.popLast() {
            return send(request, on: connection)
        }
        guard connections.count < plan.connections else {
            return overload(request)
        }
        open(with: request)
    }

    private func overload(_ request: InFlight) {
        explain("overload", inFlight >= plan.maxInFlight
            ? "\(plan.maxInFlight) requests were in flight (--max-inflight): due requests are not sent"
            : "all \(plan.connections) connections were busy (--connections): due requests are not sent")
        emit(request, status: 0, bytes: 0, error: "overload", pod: nil, end: request.due)
    }

    // MARK: - Connections

    private func open(with request: InFlight) {
        let connection = Connection()
        connection.pending = request
        connections.append(connection)
        inFlight += 1
        let bootstrap = ClientBootstrap(group: loop)
            // No TCP_NODELAY here: ClientBootstrap sets it (at IPPROTO_TCP). `.socketOption`
            // would set it at SOL_SOCKET, where its number is SO_DEBUG: EACCES for non-root.
            // One read per readable event: a response fits one read, and a second read
            // would only meet EAGAIN (a wasted syscall per request).
            .channelOption(.maxMessagesPerRead, value: 1)
            .connectTimeout(.nanoseconds(Int64(timeoutNanos)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // NIO's response decoder (llhttp), fed by a writer of the request's
                    // bytes encoded once: every request of a run is the same.
                    try channel.pipeline.syncOperations.addHandlers([
                        PreEncodedRequestWriter(bytes: self.requestBytes),
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)),
                        ResponseHandler(runner: self, connection: connection),
                    ])
                }
            }
        let future = resolved.map { bootstrap.connect(to: $0) } ?? bootstrap.connect(host: plan.target.host, port: plan.target.port)
        future.whenComplete { result in
            switch result {
            case .success(let channel):
                if self.resolved == nil { self.resolved = channel.remoteAddress }
                connection.channel = channel
                if let pending = connection.pending, !connection.closed {
                    connection.pending = nil
                    self.inFlight -= 1
                    self.send(pending, on: connection)
                } else {
                    self.release(connection)
                }
            case .failure(let error):
                connection.closed = true
                self.remove(connection)
                if let pending = connection.pending {
                    connection.pending = nil
                    self.inFlight -= 1
                    let kind = LoadRunner.connectErrorKind(error)
                    self.explain(kind, kind == "timeout"
                        ? "connect to \(self.plan.target.authority): no connection within \(self.plan.timeout) s (--timeout)"
                        : "connect to \(self.plan.target.authority): \(LoadRunner.describe(error))")
                    self.emit(pending, status: 0, bytes: 0, error: kind, pod: nil, end: nil)
                }
                self.finishIfDone()
            }
        }
    }

    private static func connectErrorKind(_ error: any Error) -> String {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError { return "timeout" }
        if let multi = error as? NIOConnectionError, multi.connectionErrors.contains(where: {
            if let e = $0.error as? ChannelError, case .connectTimeout = e { return true } else { return false }
        }) { return "timeout" }
        return "connect"
    }

    /// The errno text of a connect failure, not NIO's whole error dump.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if let multi = error as? NIOConnectionError {
            if let dns = multi.dnsAError ?? multi.dnsAAAAError { return "cannot resolve \(multi.host): \(dns)" }
            let errors = multi.connectionErrors
            if errors.count == 1 { return describe(errors[0].error) }
            let causes = errors.map { "\($0.target.ipAddress ?? "\($0.target)"): \(describe($0.error))" }
            return causes.isEmpty ? "\(error)" : causes.joined(separator: "; ")
        }
        return "\(error)"
    }

    /// Reports the cause of an error kind the first time it is seen.
    private func explain(_ kind: String, _ cause: @autoclosure () -> String) {
        guard let onFirstError, !explained.contains(kind) else { return }
        explained.insert(kind)
        onFirstError(kind, cause())
    }

    private func send(_ request: InFlight, on connection: Connection) {
        guard let channel = connection.channel else { return }
        var request = request
        let now = NIODeadline.now().uptimeNanoseconds
        request.sent = now
        connection.start(request)
        inFlight += 1
        summary.didSend()
        // The head tells the decoder a response is due (and to what method); the
        // pre-encoded writer below it puts the whole request on the wire.
        channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
        channel.flush()
    }

    /// A connection is free again: reuse it, or drop it when the run is over.
    private func release(_ connection: Connection) {
        if connection.closed { return }
        if scheduleDone {
            close(connection)
        } else {
            idle.append(connection)
        }
    }

    private func close(_ connection: Connection) {
        connection.closed = true
        remove(connection)
        connection.channel?.close(promise: nil)
    }

    private func remove(_ connection: Connection) {
        if let i = connections.firstIndex(where: { $0 === connection }) { connections.remove(at: i) }
        if let i = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: i) }
    }

    // MARK: - Responses (called by ResponseHandler on the loop)

    func responseEnded(_ connection: Connection) {
        guard let request = connection.current else { return }
        inFlight -= 1
        connection.current = nil
        emit(request, status: connection.status, bytes: connection.bytes, error: nil, pod: connection.pod, end: nil)
        if connection.keepAlive { release(connection) } else { close(connection) }
        finishIfDone()
    }

    func failed(_ connection: Connection, kind: String, cause: String? = nil) {
        // Take the request before closing: close() can fire channelInactive at once,
        // which would report the same request again as a reset.
        let request = connection.current
        connection.current = nil
        close(connection)
        if let request {
            inFlight -= 1
            if kind == "reset" || kind == "protocol" {
                explain(kind, "\(plan.target.authority): \(cause ?? "the server closed the connection before the response ended")")
            }
            emit(request, status: connection.gotHead ? connection.status : 0, bytes: connection.bytes, error: kind, pod: connection.pod, end: nil)
        }
        finishIfDone()
    }

    private func sweepTimeouts() {
        let now = NIODeadline.now().uptimeNanoseconds
        for connection in connections {
            if let request = connection.current, now &- request.sent > timeoutNanos {
                explain("timeout", "no response within \(plan.timeout) s (--timeout)")
                failed(connection, kind: "timeout")
            }
        }
    }

    private func cancelInFlight() {
        for connection in connections where connection.current != nil || connection.pending != nil {
            if connection.pending != nil {
                let request = connection.pending!
                connection.pending = nil
                inFlight -= 1
                connection.closed = true
                emit(request, status: 0, bytes: 0, error: "cancelled", pod: nil, end: nil)
            }
            failed(connection, kind: "cancelled")
        }
        finishIfDone()
    }

    private func emit(_ request: InFlight, status: Int, bytes: Int, error: String?, pod: String?, end: UInt64?) {
        let endNanos = end ?? NIODeadline.now().uptimeNanoseconds
        let latency = endNanos &- request.due
        let service = request.sent == 0 ? 0 : endNanos &- request.sent
        let record = Record(
            ts: startWall + Double(request.due &- startNanos) / 1e9,
            seq: request.seq,
            latencyMs: Double(latency) / 1e6,
            serviceMs: Double(service) / 1e6,
            status: status, bytes: bytes, error: error, pod: pod)
        summary.didFinish(success: record.isSuccess, error: error, latencyNanos: latency)
        if !outputClosed, !sink(record) {
            outputClosed = true
            ending = .outputClosed
            endSchedule()
            cancelAll()
        }
    }

    /// Output is gone: nothing more can be recorded, so stop at once.
    private func cancelAll() {
        for connection in connections {
            connection.current = nil
            connection.pending = nil
            close(connection)
        }
        inFlight = 0
        finishIfDone()
    }

    private func finishIfDone() {
        guard scheduleDone, inFlight == 0, let done else { return }
        self.done = nil
        sweeper?.cancel()
        for connection in connections { close(connection) }
        done.succeed(summary)
    }
}

/// One request between its send and its last byte.
struct InFlight {
    let seq: Int
    /// Monotonic ns at which it was due.
    let due: UInt64
    /// Monotonic ns at which it was written (0 = never sent).
    var sent: UInt64
}

/// One keep-alive connection and the response being read on it.
final class Connection {
    var channel: (any Channel)?
    var closed = false
    /// A request waiting for this connection to be established.
    var pending: InFlight?
    var current: InFlight?
    var status = 0
    var bytes = 0
    var pod: String?
    var gotHead = false
    var keepAlive = true

    func start(_ request: InFlight) {
        current = request
        status = 0
        bytes = 0
        pod = nil
        gotHead = false
    }
}

/// Writes the request, encoded once, in place of NIO's per-request encoder.
final class PreEncodedRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer
    private let bytes: ByteBuffer

    init(bytes: ByteBuffer) { self.bytes = bytes }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) {
            context.write(wrapOutboundOut(bytes), promise: promise)
        } else {
            promise?.succeed()
        }
    }
}

/// Feeds decoded response parts to the runner.
final class ResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let runner: LoadRunner
    private let connection: Connection

    init(runner: LoadRunner, connection: Connection) {
        self.runner = runner
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            connection.gotHead = true
            connection.status = Int(head.status.code)
            connection.pod = head.headers.first(name: "X-Served-By")
            connection.keepAlive = head.isKeepAlive
        case .body(let buffer):
            connection.bytes += buffer.readableBytes
        case .end:
            runner.responseEnded(connection)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        runner.failed(connection, kind: "reset")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind = (error is HTTPParserError || error is NIOHTTPDecoderError) ? "protocol" : "reset"
        runner.failed(connection, kind: kind, cause: kind == "protocol" ? "invalid HTTP response: \(error)" : LoadRunner.describe(error))
    }
}

extension ArrivalSchedule {
    /// The profile's target rate at `t` seconds, for the progress line.
    public func profileRate(at t: Double) -> Double { profile.rate(at: t) }
}
