#if canImport(Glibc)
import Glibc
#endif
import Records
import NIOCore
import NIOHTTP1
import NIOHPACK
import NIOHTTP2
import NIOConcurrencyHelpers
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
    /// With `--api openai`: completions, each request its own (the target's body unused).
    public var completions: CompletionLoad?
    /// For an https target.
    public var tls: ClientTLS?
    /// Requests a connection carries before it is closed (and a new one opened); nil: no limit.
    public var reuse: Int?
    /// HTTP/2 (`--http2`: ALPN h2 over TLS, prior knowledge over plain TCP), with up to
    /// `streams` requests at once on a connection.
    public var http2 = false
    public var streams = 100
    /// Scheduling granularity in seconds: a wake-up sends every request due by then, so
    /// wake-ups come at most this often (`--tick`).
    public var tick = 0.0005

    public init(
        target: Target, schedule: ArrivalSchedule, connections: Int, maxInFlight: Int, timeout: Double,
        completions: CompletionLoad? = nil
    ) {
        self.completions = completions
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
/// connections and their responses, so no locks are taken per request. This handle is
/// what other threads hold; the run itself (`LoadRun`) lives in a `NIOLoopBoundBox`,
/// so touching it off the loop is a crash in tests, not a silent race. Records go to
/// `sink` on that loop; the sink returns false when its output is gone (EPIPE), which
/// ends the run quietly.
public struct LoadRunner: Sendable {
    public let loop: any EventLoop
    private let run: NIOLoopBoundBox<LoadRun>
    private let endedAs: NIOLockedValueBox<Ending>

    /// How the run ended.
    public enum Ending: Sendable { case completed, stopped, outputClosed }

    /// `onFirstError` is called on the loop the first time each error kind is recorded,
    /// with its cause ("connect to 127.0.0.1:8080: Connection refused"), so a record's
    /// bare kind is never all a user gets.
    public init(
        plan: LoadPlan, loop: any EventLoop, onFirstError: (@Sendable (_ kind: String, _ cause: String) -> Void)? = nil,
        sink: @escaping @Sendable (Record) -> Bool
    ) {
        let endedAs = NIOLockedValueBox(Ending.completed)
        self.loop = loop
        self.endedAs = endedAs
        run = .makeBoxSendingValue(
            LoadRun(plan: plan, loop: loop, sink: sink, onFirstError: onFirstError, endedAs: endedAs),
            eventLoop: loop)
    }

    public static let version = ToolVersion.current

    /// How the run ended (after `run()` returned).
    public var ending: Ending { endedAs.withLockedValue { $0 } }

    /// Runs the whole schedule; returns when every request has a record.
    public func run() async throws -> LoadSummary {
        let run = self.run
        return try await loop.flatSubmit { run.value.start() }.get()
    }

    /// Stops scheduling; in-flight requests get `grace` seconds, then are recorded as
    /// "cancelled". Safe from any thread.
    public func stop(grace: Double) {
        let run = self.run
        loop.execute { run.value.stop(grace: grace) }
    }

    /// A snapshot for the progress line, taken on the loop.
    public func progress() async throws -> (summary: LoadSummary, inFlight: Int, elapsed: Double, targetRate: Double) {
        let run = self.run
        return try await loop.submit { run.value.progress() }.get()
    }
}

/// One run's state and its protocol, touched only on its loop (see `LoadRunner`; the
/// extensions in LoadRunner+Connection.swift and LoadRunner+Records.swift too).
final class LoadRun {
    let loop: any EventLoop
    let plan: LoadPlan
    var schedule: ArrivalSchedule
    let sink: (Record) -> Bool
    let requestHead: HTTPRequestHead
    let requestBytes: ByteBuffer
    /// For completions: the request line and headers but the length, made once.
    let completionHead: [UInt8]
    /// The plan's per-request choices as plain values: read on every response, where
    /// testing an optional struct of strings for nil would copy it.
    let timesTokens: Bool
    /// The request's HTTP/2 headers, pseudo-headers first, encoded by HPACK per connection.
    let h2Headers: HPACKHeaders
    let plainTCP: Bool
    let reuseLimit: Int
    let timeoutNanos: UInt64
    /// Shortest sleep between two sends (`LoadPlan.tick`); see `pump()`.
    let tickNanos: UInt64

    var startNanos: UInt64 = 0
    var startWall = 0.0
    /// Warm connections not yet ready (see `warmUp()`), and the clock's start once they are.
    var warming = 0
    var warmUpDeadline: Scheduled<Void>?
    var begun = false
    var nextDue: UInt64?
    var nextSeq = 0
    var timer: Scheduled<Void>?
    var sweeper: RepeatedTask?
    var scheduleDone = false
    var stopping = false
    var outputClosed = false
    var connections: [Connection] = []
    var idle: [Connection] = []
    /// HTTP/2 connections, and those with frames written since the last flush.
    var h2: [H2Connection] = []
    var h2Unflushed: [H2Connection] = []
    var inFlight = 0
    var resolved: SocketAddress?
    var done: EventLoopPromise<LoadSummary>?
    var summary = LoadSummary()
    let endedAs: NIOLockedValueBox<LoadRunner.Ending>
    let onFirstError: (@Sendable (_ kind: String, _ cause: String) -> Void)?
    var explained: Set<String> = []

    /// This run as something a loop callback may carry (checked to be on the loop when used).
    var bound: NIOLoopBound<LoadRun> { NIOLoopBound(self, eventLoop: loop) }

    init(
        plan: LoadPlan, loop: any EventLoop, sink: @escaping (Record) -> Bool,
        onFirstError: (@Sendable (_ kind: String, _ cause: String) -> Void)?,
        endedAs: NIOLockedValueBox<LoadRunner.Ending>
    ) {
        self.plan = plan
        self.schedule = plan.schedule
        self.loop = loop
        self.sink = sink
        self.onFirstError = onFirstError
        self.endedAs = endedAs
        // Completions are POSTs whatever the target says.
        let method = plan.completions == nil ? plan.target.method : "POST"
        let headers: HTTPHeaders
        (headers, completionHead, h2Headers) = LoadRun.headers(plan, method: method)
        timesTokens = plan.completions != nil
        plainTCP = plan.tls == nil
        reuseLimit = plan.reuse ?? Int.max
        requestHead = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: method),
            uri: plan.target.path, headers: headers)
        var bytes = ByteBuffer()
        bytes.writeString("\(plan.target.method) \(plan.target.path) HTTP/1.1\r\n")
        for (name, value) in headers { bytes.writeString("\(name): \(value)\r\n") }
        bytes.writeString("\r\n")
        bytes.writeBytes(plan.target.body)
        requestBytes = bytes
        timeoutNanos = UInt64(plan.timeout * 1e9)
        tickNanos = UInt64(max(plan.tick, 0) * 1e9)
    }

    /// The request's headers, made once per run: HTTP/1.1's, a completion's head (its
    /// body, and so its length, varies), and HTTP/2's.
    static func headers(_ plan: LoadPlan, method: String) -> (HTTPHeaders, [UInt8], HPACKHeaders) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: plan.target.authority)
        headers.add(name: "User-Agent", value: "infer-load/\(LoadRunner.version)")
        for (name, value) in plan.target.headers { headers.replaceOrAdd(name: name, value: value) }
        var head: [UInt8] = []
        if plan.completions != nil {
            if !plan.target.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                headers.add(name: "Content-Type", value: "application/json")
            }
            var text = "\(method) \(plan.target.path) HTTP/1.1\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            head = Array(text.utf8)
            headers.replaceOrAdd(name: "Content-Length", value: "0")  // the decoder reads only the method
        } else if !plan.target.body.isEmpty || plan.target.method != "GET" {
            headers.replaceOrAdd(name: "Content-Length", value: String(plan.target.body.count))
            if !plan.target.headers.contains(where: { $0.name.lowercased() == "content-type" }),
                !plan.target.body.isEmpty
            {
                headers.add(name: "Content-Type", value: "application/json")
            }
        }
        var h2 = HPACKHeaders()
        h2.add(name: ":method", value: method)
        h2.add(name: ":scheme", value: plan.tls == nil ? "http" : "https")
        h2.add(name: ":authority", value: plan.target.authority)
        h2.add(name: ":path", value: plan.target.path)
        // HTTP/2 names are lower case; Host is :authority and Connection has no place.
        for (name, value) in headers
        where !["host", "connection", "keep-alive", "transfer-encoding"].contains(name.lowercased()) {
            h2.add(name: name.lowercased(), value: value)
        }
        return (headers, head, h2)
    }

    /// Starts the schedule; the future completes when every request has a record.
    func start() -> EventLoopFuture<LoadSummary> {
        let promise = loop.makePromise(of: LoadSummary.self)
        done = promise
        warmUp()
        return promise.futureResult
    }

    /// Connections opened before the clock starts: one per 1,000 req/s of the starting
    /// rate (one for HTTP/2, whose streams share it). Without them a fast run begins with
    /// a burst of connects (over TLS, handshakes) that hold the loop while more requests
    /// fall due, each opening yet another connection, until --connections is reached and
    /// the next ones are overload. The clock starts when they are ready or have failed
    /// (a failed one is the first requests' to report), or after --timeout.
    private func warmUp() {
        let rate = plan.schedule.profileRate(at: 0)
        let count = plan.http2 ? 1 : min(plan.connections, max(1, Int((rate / 1000).rounded(.up))))
        warming = count
        let me = bound
        warmUpDeadline = loop.scheduleTask(in: .nanoseconds(Int64(timeoutNanos))) { me.value.begin() }
        for _ in 0..<count {
            if plan.http2 {
                let connection = H2Connection()
                connection.warm = true
                openHTTP2(connection)
            } else {
                open(Connection())
            }
        }
    }

    /// A connection is ready: connected, and over TLS handshaken.
    func connectionReady(_ connection: some ConnectTiming) {
        connection.connectDone()
        warmedUp(connection)
    }

    /// A warm connection is ready or gone; the last one starts the clock.
    func warmedUp(_ connection: some ConnectTiming) {
        guard connection.warm else { return }
        connection.warm = false
        warming -= 1
        if warming == 0 { begin() }
    }

    /// Starts the clock and the schedule.
    private func begin() {
        guard !begun, !scheduleDone else { return }
        begun = true
        warmUpDeadline?.cancel()
        warmUpDeadline = nil
        startWall = CPUClock.wallSeconds()
        startNanos = NIODeadline.now().uptimeNanoseconds
        advance()
        let me = bound
        sweeper = loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in
            me.value.sweepTimeouts()
        }
        pump()
    }

    func stop(grace: Double) {
        guard !stopping else { return }
        stopping = true
        endedAs.withLockedValue { $0 = .stopped }
        endSchedule()
        let me = bound
        loop.scheduleTask(in: .nanoseconds(Int64(max(grace, 0) * 1e9))) { me.value.cancelInFlight() }
        finishIfDone()
    }

    func progress() -> (summary: LoadSummary, inFlight: Int, elapsed: Double, targetRate: Double) {
        let elapsed = begun ? Double(NIODeadline.now().uptimeNanoseconds &- startNanos) / 1e9 : 0
        return (summary, inFlight, elapsed, plan.schedule.profileRate(at: elapsed))
    }

    // MARK: - Schedule

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
        flushHTTP2()
        guard !scheduleDone else { return }
        if let due = nextDue {
            // Wake at most every `tick`: at high rates, one wake-up sends a small batch
            // (fewer timer and epoll round trips); lag stays under the tick.
            let wake = max(due, now + tickNanos)
            let me = bound
            timer = loop.scheduleTask(deadline: .uptimeNanoseconds(wake)) { me.value.pump() }
        } else {
            endSchedule()
            finishIfDone()
        }
    }

    func endSchedule() {
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
        if plan.http2 { return fireHTTP2(request) }
        if let connection = idle.popLast() {
            inFlight += 1
            return apply(connection.machine.send(request, at: NIODeadline.now().uptimeNanoseconds), on: connection)
        }
        guard connections.count < plan.connections else {
            return overload(request)
        }
        open(with: request)
    }

    private func overload(_ request: InFlight) {
        explain(
            "overload",
            inFlight >= plan.maxInFlight
                ? "\(plan.maxInFlight) requests were in flight (--max-inflight): due requests are not sent"
                : "all \(plan.connections) connections were busy (--connections): due requests are not sent")
        emit(Outcome(request: request, error: "overload"), end: request.due)
    }

    func finishIfDone() {
        guard scheduleDone, inFlight == 0, let done else { return }
        self.done = nil
        sweeper?.cancel()
        warmUpDeadline?.cancel()
        for connection in connections { apply(connection.machine.abandon(), on: connection) }
        for connection in h2 { closeHTTP2(connection) }
        done.succeed(summary)
    }
}

extension ArrivalSchedule {
    /// The profile's target rate at `t` seconds, for the progress line.
    public func profileRate(at t: Double) -> Double { profile.rate(at: t) }
}
