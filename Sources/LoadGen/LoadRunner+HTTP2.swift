import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOTLS
import Records

/// One HTTP/2 connection of a run (`--http2`): up to `--streams` requests at once, each
/// on a stream of its own. Touched only on the runner's loop.
///
/// Streams are frames on the connection's own pipeline, told apart by their ID, not
/// child channels: NIOHTTP2's multiplexer builds a channel and a pipeline per stream,
/// which cost more than the request itself. What the multiplexer did that a request
/// needs is done here: stream IDs, giving the server back the flow-control windows its
/// DATA frames used, and turning server push off.
final class H2Connection: ConnectTiming {
    var channel: (any Channel)?
    /// Active, with NIOHTTP2's preface written (over TLS the handshake may still be under
    /// way: NIOSSL holds writes until it ends).
    var ready = false
    /// Requests due before the connection was ready, sent once it is.
    var waiting: [InFlight] = []
    var streams: [HTTP2StreamID: H2Stream] = [:]
    var nextStreamID = 1
    /// Requests it has carried or is carrying (for --reuse), and whether it takes more.
    var assigned = 0
    var closing = false
    /// The server sent GOAWAY (or stream IDs ran out): no new streams; closed once its own have ended.
    var draining = false
    /// Frames written and not yet flushed (flushed once per loop pass, not per request).
    var unflushed = false
    var connectStart: UInt64 = 0
    var connectNanos: UInt64?
    var warm = false
    var load: Int { waiting.count + streams.count }
}

/// One request on its stream: what its response said so far.
final class H2Stream {
    let id: HTTP2StreamID
    var request: InFlight
    var status = 0
    var bytes = 0
    var pod: String?
    var tokens = TokenStream()
    /// DATA bytes received and not yet given back to the stream's window.
    var unreturned = 0
    var finished = false
    init(id: HTTP2StreamID, request: InFlight) {
        self.id = id
        self.request = request
    }
}

extension LoadRun {
    /// The initial windows (HTTP/2's default), and half of it: a WINDOW_UPDATE once that
    /// much was read, as NIOHTTP2's own window manager does.
    static let h2Window = 65_535
    static let h2WindowReturn = 32_768
    /// Our SETTINGS: NIOHTTP2's, and no server push (a pushed stream is nobody's request,
    /// and its DATA would use the connection's window).
    static let h2Settings = nioDefaultSettings + [HTTP2Setting(parameter: .enablePush, value: 0)]
    /// The largest client stream ID (2^31 − 1, odd).
    static let h2LastStreamID = Int(Int32.max)

    /// A due request over HTTP/2: on a connection with a free stream, else a new
    /// connection, else not sent (overload), as over HTTP/1.1.
    func fireHTTP2(_ request: InFlight) {
        if let connection = h2.first(where: {
            !$0.closing && !$0.draining && $0.load < plan.streams && $0.assigned < reuseLimit
        }) {
            inFlight += 1
            connection.assigned += 1
            if connection.ready { startStream(request, on: connection) } else { connection.waiting.append(request) }
            return
        }
        guard h2.count < plan.connections else {
            explain(
                "overload",
                "all \(plan.connections) connections had \(plan.streams) streams open (--connections, --streams): due requests are not sent"
            )
            return emit(Outcome(request: request, error: "overload"), end: request.due)
        }
        inFlight += 1
        let connection = H2Connection()
        connection.assigned = 1
        connection.waiting = [request]
        openHTTP2(connection)
    }

    /// Opens `connection`: for the request waiting on it, or a warm one for none.
    func openHTTP2(_ connection: H2Connection) {
        connection.connectStart = NIODeadline.now().uptimeNanoseconds
        h2.append(connection)
        summary.didOpenConnection()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(timeoutNanos)))
            .channelInitializer { [bound = NIOLoopBound((self, connection), eventLoop: loop)] channel in
                channel.eventLoop.makeCompletedFuture {
                    let (run, connection) = bound.value
                    // Set now, so a run that ends while this connects can close it.
                    connection.channel = channel
                    if let tls = run.plan.tls { try channel.pipeline.syncOperations.addHandler(try tls.handler()) }
                    // Prior knowledge for h2c; over TLS, h2 is what ALPN offered. No header
                    // checks: ours are made once per run (`h2Headers`), and policing the
                    // server's is not a load generator's job (a malformed frame still fails).
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOHTTP2Handler(
                            mode: .client, initialSettings: LoadRun.h2Settings, headerBlockValidation: .disabled,
                            contentLengthValidation: .disabled),
                        H2ConnectionHandler(run: run, connection: connection),
                    ])
                }
            }
        let future =
            resolved.map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: plan.target.host, port: plan.target.port)
        future.whenComplete { [bound = NIOLoopBound((self, connection), eventLoop: loop)] result in
            let (run, connection) = bound.value
            switch result {
            case .success(let channel):
                if run.resolved == nil { run.resolved = channel.remoteAddress }
                // Closed (the run ended, say) while it connected.
                if connection.closing { return channel.close(promise: nil) }
                if run.plainTCP { run.connectionReady(connection) }
            // The requests waiting go once the connection is active (`becameActive`).
            case .failure(let error):
                run.failHTTP2(connection, kind: run.connectFailureKind(error, explaining: true))
            }
            run.finishIfDone()
        }
    }

    /// The connection is active and NIOHTTP2 has written its preface (HEADERS before it
    /// are a protocol error): the requests that waited are sent.
    func becameActive(_ connection: H2Connection) {
        guard !connection.closing else { return }
        connection.ready = true
        let waiting = connection.waiting
        connection.waiting = []
        for request in waiting { startStream(request, on: connection) }
        flushHTTP2()
    }

    /// Writes `request` on a new stream; `flushHTTP2()` puts it on the wire.
    func startStream(_ request: InFlight, on connection: H2Connection) {
        guard connection.ready, let channel = connection.channel else { return connection.waiting.append(request) }
        var request = request
        request.sent = NIODeadline.now().uptimeNanoseconds
        summary.didSend()
        let id = HTTP2StreamID(connection.nextStreamID)
        connection.nextStreamID += 2
        if connection.nextStreamID > LoadRun.h2LastStreamID { connection.draining = true }
        let stream = H2Stream(id: id, request: request)
        connection.streams[id] = stream
        // The request's headers are encoded once per run (`h2Headers`); HPACK indexes them.
        var headers = h2Headers
        var body = plan.target.body
        if timesTokens, let completions = plan.completions {
            body = completions.body(seq: request.seq)
            headers.replaceOrAdd(name: "content-length", value: String(body.count))
        }
        let sent = loop.makePromise(of: Void.self)
        channel.write(
            HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: body.isEmpty))), promise: sent
        )
        if !body.isEmpty {
            channel.write(
                HTTP2Frame(
                    streamID: id, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: body)), endStream: true))),
                promise: nil)
        }
        markUnflushed(connection)
        // A stream the connection cannot open (refused by a GOAWAY, say) ends at once, not at --timeout.
        sent.futureResult.whenFailure { [bound = NIOLoopBound((self, connection, stream), eventLoop: loop)] error in
            let (run, connection, stream) = bound.value
            run.explain("reset", "\(run.plan.target.authority): an HTTP/2 request could not be sent: \(error)")
            run.streamEnded(stream, on: connection, error: "reset")
        }
    }

    /// Flushes every connection written to since the last flush: requests fired in one
    /// loop pass leave in one write.
    func flushHTTP2() {
        guard !h2Unflushed.isEmpty else { return }
        for connection in h2Unflushed {
            connection.unflushed = false
            connection.channel?.flush()
        }
        h2Unflushed.removeAll(keepingCapacity: true)
    }

    /// A stream's response ended (`error` nil) or failed: its record.
    func streamEnded(_ stream: H2Stream, on connection: H2Connection, error: String?) {
        guard !stream.finished else { return }
        stream.finished = true
        connection.streams.removeValue(forKey: stream.id)
        inFlight -= 1
        var outcome = Outcome(
            request: stream.request, status: stream.status, bytes: stream.bytes, pod: stream.pod, error: error)
        if timesTokens, error == nil, stream.status == 200 {
            stream.tokens.finish()
            outcome.tokens = stream.tokens.tokens(due: stream.request.due, end: NIODeadline.now().uptimeNanoseconds)
        }
        if let nanos = connection.connectNanos, error == nil {
            outcome.connectMs = Double(nanos) / 1e6
            connection.connectNanos = nil  // the first request's only
        }
        // A stream given up on (a timeout, a cancel) is reset, so the server stops on it too.
        if error == "timeout" || error == "cancelled", !connection.closing {
            connection.channel?.writeAndFlush(
                HTTP2Frame(streamID: stream.id, payload: .rstStream(.cancel)), promise: nil)
        }
        emit(outcome)
        if connection.assigned >= reuseLimit || connection.draining, connection.load == 0 { closeHTTP2(connection) }
        finishIfDone()
    }

    /// A response frame of one of the connection's streams.
    func received(_ frame: HTTP2Frame, on connection: H2Connection) {
        guard let stream = connection.streams[frame.streamID] else { return }
        switch frame.payload {
        case .headers(let headers):
            // The response's headers (a 1xx's are followed by more); trailers carry no status.
            if let status = headers.headers.first(name: ":status").flatMap({ Int($0) }),
                status >= 200 || stream.status == 0
            {
                stream.status = status
                stream.pod = headers.headers.first(name: "x-served-by")
                if timesTokens {
                    stream.tokens.isEventStream =
                        headers.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true
                }
            }
            if headers.endStream { streamEnded(stream, on: connection, error: nil) }
        case .data(let data):
            if case .byteBuffer(let buffer) = data.data {
                stream.bytes += buffer.readableBytes
                if timesTokens { stream.tokens.feed(buffer, at: NIODeadline.now().uptimeNanoseconds) }
            }
            if data.endStream {
                streamEnded(stream, on: connection, error: nil)
            } else {
                returnStreamWindow(
                    data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0), of: stream, on: connection)
            }
        case .rstStream(let code):
            explain("reset", "\(plan.target.authority): the server reset an HTTP/2 stream (\(code))")
            streamEnded(stream, on: connection, error: "reset")
        default:
            break
        }
    }

    /// Gives an open stream back the window its DATA used (flushed with the read).
    private func returnStreamWindow(_ size: Int, of stream: H2Stream, on connection: H2Connection) {
        guard size > 0, let channel = connection.channel else { return }
        stream.unreturned += size
        if stream.unreturned >= LoadRun.h2WindowReturn {
            channel.write(
                HTTP2Frame(streamID: stream.id, payload: .windowUpdate(windowSizeIncrement: stream.unreturned)),
                promise: nil)
            stream.unreturned = 0
            markUnflushed(connection)
        }
    }

    /// The connection's window, as NIOHTTP2 counts it: every DATA frame's, those of
    /// streams already given up (a timeout's reset crossing the server's DATA) too, which
    /// no stream of ours sees. Given back once half is used.
    func connectionWindowChanged(to inbound: Int, on connection: H2Connection) {
        guard inbound < LoadRun.h2WindowReturn, let channel = connection.channel, !connection.closing else { return }
        channel.write(
            HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: LoadRun.h2Window - inbound)),
            promise: nil)
        markUnflushed(connection)
    }

    private func markUnflushed(_ connection: H2Connection) {
        if !connection.unflushed {
            connection.unflushed = true
            h2Unflushed.append(connection)
        }
    }

    /// The connection failed or closed: every request on it or waiting for it is recorded.
    func failHTTP2(_ connection: H2Connection, kind: String) {
        connection.closing = true
        for request in connection.waiting {
            inFlight -= 1
            emit(Outcome(request: request, error: kind))
        }
        connection.waiting = []
        for stream in connection.streams.values.sorted(by: { $0.request.seq < $1.request.seq }) {
            streamEnded(stream, on: connection, error: kind)
        }
        closeHTTP2(connection)
    }

    func closeHTTP2(_ connection: H2Connection) {
        connection.closing = true
        if let i = h2.firstIndex(where: { $0 === connection }) { h2.remove(at: i) }
        connection.channel?.close(promise: nil)
        warmedUp(connection)
    }

    func sweepHTTP2Timeouts(now: UInt64) {
        for connection in h2 {
            for stream in connection.streams.values
            where stream.request.sent > 0 && now &- stream.request.sent > timeoutNanos {
                explain("timeout", "no response within \(plan.timeout) s (--timeout)")
                streamEnded(stream, on: connection, error: "timeout")
            }
        }
    }

    func cancelHTTP2(kind: String) {
        for connection in h2 { failHTTP2(connection, kind: kind) }
    }
}

/// A connection's frames, to the runner, and its failures: a TLS handshake, a reset,
/// the peer closing, a GOAWAY.
final class H2ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    private let run: LoadRun
    private let connection: H2Connection

    init(run: LoadRun, connection: H2Connection) {
        self.run = run
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.streamID != .rootStream { return run.received(frame, on: connection) }
        // GOAWAY: the streams it lets finish finish (NIOHTTP2 closes the others, below);
        // new requests go elsewhere.
        if case .goAway = frame.payload {
            connection.draining = true
            if connection.load == 0 { run.closeHTTP2(connection) }
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        run.becameActive(connection)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Window updates and resets written while reading leave together.
        run.flushHTTP2()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let window = event as? NIOHTTP2WindowUpdatedEvent {
            if window.streamID == .rootStream, let inbound = window.inboundWindowSize {
                run.connectionWindowChanged(to: inbound, on: connection)
            }
        } else if let closed = event as? StreamClosedEvent {
            // A stream closed with a reason (refused by a GOAWAY, a stream error NIOHTTP2
            // found): its request is recorded now. A normal close was recorded already.
            if closed.reason != nil, let stream = connection.streams[closed.streamID] {
                run.explain("reset", "\(run.plan.target.authority): an HTTP/2 stream was closed (\(closed.reason!))")
                run.streamEnded(stream, on: connection, error: "reset")
            }
        } else if case .handshakeCompleted(let negotiated) = event as? TLSUserEvent {
            guard negotiated == "h2" else {
                run.explain(
                    "protocol",
                    "\(run.plan.target.authority): the server did not agree to HTTP/2 (ALPN chose \(negotiated ?? "nothing")): drop --http2"
                )
                run.failHTTP2(connection, kind: "protocol")
                run.finishIfDone()
                return
            }
            run.connectionReady(connection)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The connection's own failures: TLS, I/O, or HTTP/2 (NIOHTTP2 has sent GOAWAY for
    /// those and leaves closing to us). A stream's errors come as a StreamClosedEvent with
    /// a reason (above).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind: String
        if ClientTLS.isTLSError(error) {
            kind = "tls"
        } else if error is IOError || error is ChannelError {
            kind = "reset"
        } else if error is NIOHTTP2Errors.StreamError {
            return
        } else {
            kind = "protocol"
        }
        run.explain(
            kind,
            kind == "tls"
                ? ClientTLS.describe(error)
                : kind == "protocol"
                    ? "\(run.plan.target.authority): HTTP/2: \(error)"
                    : "\(run.plan.target.authority): \(LoadRun.describe(error))")
        run.failHTTP2(connection, kind: kind)
        run.finishIfDone()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !connection.closing {
            if connection.load > 0 {
                run.explain("reset", "\(run.plan.target.authority): the server closed the HTTP/2 connection")
            }
            run.failHTTP2(connection, kind: "reset")
            run.finishIfDone()
        }
        context.fireChannelInactive()
    }
}
