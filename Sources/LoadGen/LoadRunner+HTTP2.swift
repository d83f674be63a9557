import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOTLS
import Records

/// One HTTP/2 connection of a run (`--http2`): up to `--streams` requests at once, each
/// on a stream of its own. Touched only on the runner's loop.
final class H2Connection: ConnectTiming {
    var channel: (any Channel)?
    var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    /// Requests due before the connection was ready, sent once it is.
    var waiting: [InFlight] = []
    var streams: [Int: H2Stream] = [:]
    /// Requests it has carried or is carrying (for --reuse), and whether it takes more.
    var assigned = 0
    var closing = false
    /// The server sent GOAWAY: no new streams; closed once its own have ended.
    var draining = false
    var connectStart: UInt64 = 0
    var connectNanos: UInt64?
    var load: Int { waiting.count + streams.count }
}

/// One request on its stream: what its response said so far.
final class H2Stream {
    var request: InFlight
    var status = 0
    var bytes = 0
    var pod: String?
    var tokens = TokenStream()
    var channel: (any Channel)?
    var finished = false
    init(request: InFlight) { self.request = request }
}

extension LoadRun {
    /// A due request over HTTP/2: on a connection with a free stream, else a new
    /// connection, else not sent (overload), as over HTTP/1.1.
    func fireHTTP2(_ request: InFlight) {
        if let connection = h2.first(where: { !$0.closing && !$0.draining && $0.load < plan.streams && $0.assigned < reuseLimit }) {
            inFlight += 1
            connection.assigned += 1
            if connection.multiplexer != nil { startStream(request, on: connection) } else { connection.waiting.append(request) }
            return
        }
        guard h2.count < plan.connections else {
            explain("overload", "all \(plan.connections) connections had \(plan.streams) streams open (--connections, --streams): due requests are not sent")
            return emit(Outcome(request: request, error: "overload"), end: request.due)
        }
        inFlight += 1
        let connection = H2Connection()
        connection.assigned = 1
        connection.waiting = [request]
        connection.connectStart = NIODeadline.now().uptimeNanoseconds
        h2.append(connection)
        summary.didOpenConnection()
        openHTTP2(connection)
    }

    private func openHTTP2(_ connection: H2Connection) {
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(timeoutNanos)))
            .channelInitializer { [bound = NIOLoopBound((self, connection), eventLoop: loop)] channel in
                channel.eventLoop.makeCompletedFuture {
                    let (run, connection) = bound.value
                    if let tls = run.plan.tls { try channel.pipeline.syncOperations.addHandler(try tls.handler()) }
                    // Prior knowledge for h2c; over TLS, h2 is what ALPN offered.
                    connection.multiplexer = nil
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in stream.eventLoop.makeSucceededVoidFuture() }
                    try channel.pipeline.syncOperations.addHandler(H2ConnectionHandler(run: run, connection: connection))
                    connection.channel = channel
                    run.pendingMultiplexers[ObjectIdentifier(connection)] = multiplexer
                }
            }
        let future = resolved.map { bootstrap.connect(to: $0) } ?? bootstrap.connect(host: plan.target.host, port: plan.target.port)
        future.whenComplete { [bound = NIOLoopBound((self, connection), eventLoop: loop)] result in
            let (run, connection) = bound.value
            switch result {
            case .success(let channel):
                if run.resolved == nil { run.resolved = channel.remoteAddress }
                if run.plainTCP { connection.connectDone() }
                connection.multiplexer = run.pendingMultiplexers.removeValue(forKey: ObjectIdentifier(connection))
                let waiting = connection.waiting
                connection.waiting = []
                for request in waiting { run.startStream(request, on: connection) }
            case .failure(let error):
                let kind = LoadRun.connectErrorKind(error)
                run.explain(kind, kind == "timeout"
                    ? "connect to \(run.plan.target.authority): no connection within \(run.plan.timeout) s (--timeout)"
                    : "connect to \(run.plan.target.authority): \(LoadRun.describe(error))")
                run.pendingMultiplexers.removeValue(forKey: ObjectIdentifier(connection))
                run.failHTTP2(connection, kind: kind)
            }
            run.finishIfDone()
        }
    }

    /// Opens a stream for `request` and writes it.
    func startStream(_ request: InFlight, on connection: H2Connection) {
        guard let multiplexer = connection.multiplexer else { return connection.waiting.append(request) }
        var request = request
        request.sent = NIODeadline.now().uptimeNanoseconds
        summary.didSend()
        let stream = H2Stream(request: request)
        stream.tokens = TokenStream()
        connection.streams[request.seq] = stream
        let promise = loop.makePromise(of: (any Channel).self)
        // Frames straight to and from the stream, the request's headers encoded once per
        // run (`h2Headers`): no HTTP/1-style parts to convert per request.
        multiplexer.createStreamChannel(promise: promise) { [bound = NIOLoopBound((self, connection, stream), eventLoop: loop)] channel in
            channel.eventLoop.makeCompletedFuture {
                let (run, connection, stream) = bound.value
                try channel.pipeline.syncOperations.addHandler(H2StreamHandler(run: run, connection: connection, stream: stream))
            }
        }
        promise.futureResult.whenComplete { [bound = NIOLoopBound((self, connection, stream), eventLoop: loop)] result in
            let (run, connection, stream) = bound.value
            switch result {
            case .success(let channel):
                stream.channel = channel
                var headers = run.h2Headers
                var body = run.plan.target.body
                if run.timesTokens, let completions = run.plan.completions {
                    body = completions.body(seq: stream.request.seq)
                    headers.replaceOrAdd(name: "content-length", value: String(body.count))
                }
                let sent = channel.eventLoop.makePromise(of: Void.self)
                channel.write(HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: body.isEmpty)), promise: sent)
                if !body.isEmpty {
                    channel.write(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(bytes: body)), endStream: true)), promise: nil)
                }
                channel.flush()
                // A stream the connection cannot open (after a GOAWAY, say) ends at once, not at --timeout.
                sent.futureResult.whenFailure { [bound = NIOLoopBound((run, connection, stream), eventLoop: run.loop)] error in
                    let (run, connection, stream) = bound.value
                    run.explain("reset", "\(run.plan.target.authority): an HTTP/2 request could not be sent: \(error)")
                    run.streamEnded(stream, on: connection, error: "reset")
                }
            case .failure(let error):
                run.explain("reset", "\(run.plan.target.authority): no HTTP/2 stream: \(error)")
                run.streamEnded(stream, on: connection, error: "reset")
            }
        }
    }

    /// A stream's response ended (`error` nil) or failed: its record.
    func streamEnded(_ stream: H2Stream, on connection: H2Connection, error: String?) {
        guard !stream.finished else { return }
        stream.finished = true
        connection.streams.removeValue(forKey: stream.request.seq)
        inFlight -= 1
        var outcome = Outcome(request: stream.request, status: error == nil ? stream.status : (stream.status > 0 ? stream.status : 0),
                              bytes: stream.bytes, pod: stream.pod, error: error)
        if timesTokens, error == nil, stream.status == 200 {
            stream.tokens.finish()
            outcome.tokens = stream.tokens.tokens(due: stream.request.due, end: NIODeadline.now().uptimeNanoseconds)
        }
        if let nanos = connection.connectNanos, error == nil {
            outcome.connectMs = Double(nanos) / 1e6
            connection.connectNanos = nil  // the first request's only
        }
        if error != nil { stream.channel?.close(promise: nil) }
        emit(outcome)
        if connection.assigned >= reuseLimit || connection.draining, connection.load == 0 { closeHTTP2(connection) }
        finishIfDone()
    }

    /// The connection failed or closed: every request on it or waiting for it is recorded.
    func failHTTP2(_ connection: H2Connection, kind: String) {
        for request in connection.waiting {
            inFlight -= 1
            emit(Outcome(request: request, error: kind))
        }
        connection.waiting = []
        for stream in connection.streams.values.sorted(by: { $0.request.seq < $1.request.seq }) { streamEnded(stream, on: connection, error: kind) }
        closeHTTP2(connection)
    }

    func closeHTTP2(_ connection: H2Connection) {
        connection.closing = true
        if let i = h2.firstIndex(where: { $0 === connection }) { h2.remove(at: i) }
        connection.channel?.close(promise: nil)
    }

    func sweepHTTP2Timeouts(now: UInt64) {
        for connection in h2 {
            for stream in connection.streams.values where stream.request.sent > 0 && now &- stream.request.sent > timeoutNanos {
                explain("timeout", "no response within \(plan.timeout) s (--timeout)")
                streamEnded(stream, on: connection, error: "timeout")
            }
        }
    }

    func cancelHTTP2(kind: String) {
        for connection in h2 { failHTTP2(connection, kind: kind) }
    }
}

/// The connection's failures: a TLS handshake, a reset, the peer closing.
final class H2ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    private let run: LoadRun
    private let connection: H2Connection

    init(run: LoadRun, connection: H2Connection) {
        self.run = run
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // GOAWAY: the streams it lets finish finish; new requests go elsewhere.
        if case .goAway = unwrapInboundIn(data).payload {
            connection.draining = true
            if connection.load == 0 { run.closeHTTP2(connection) }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let negotiated) = event as? TLSUserEvent {
            connection.connectDone()
            guard negotiated == "h2" else {
                run.explain("protocol", "\(run.plan.target.authority): the server did not agree to HTTP/2 (ALPN chose \(negotiated ?? "nothing")): drop --http2")
                run.failHTTP2(connection, kind: "protocol")
                run.finishIfDone()
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The connection's own failures (TLS, I/O). NIOHTTP2 also passes a stream's errors
    /// here; those are its stream's to record (H2StreamHandler), not the connection's.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind: String
        if ClientTLS.isTLSError(error) {
            kind = "tls"
        } else if error is IOError || error is ChannelError {
            kind = "reset"
        } else {
            return
        }
        run.explain(kind, kind == "tls" ? ClientTLS.describe(error) : "\(run.plan.target.authority): \(LoadRun.describe(error))")
        run.failHTTP2(connection, kind: kind)
        run.finishIfDone()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !connection.closing {
            if connection.load > 0 { run.explain("reset", "\(run.plan.target.authority): the server closed the HTTP/2 connection") }
            run.failHTTP2(connection, kind: "reset")
            run.finishIfDone()
        }
        context.fireChannelInactive()
    }
}

/// One stream's response frames, to the runner.
final class H2StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    private let run: LoadRun
    private let connection: H2Connection
    private let stream: H2Stream

    init(run: LoadRun, connection: H2Connection, stream: H2Stream) {
        self.run = run
        self.connection = connection
        self.stream = stream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            // The response's headers (a 1xx's are followed by more); trailers carry no status.
            if let status = frame.headers.first(name: ":status").flatMap({ Int($0) }), status >= 200 || stream.status == 0 {
                stream.status = status
                stream.pod = frame.headers.first(name: "x-served-by")
                if run.timesTokens {
                    stream.tokens.isEventStream = frame.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true
                }
            }
            if frame.endStream { run.streamEnded(stream, on: connection, error: nil) }
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data {
                stream.bytes += buffer.readableBytes
                if run.timesTokens { stream.tokens.feed(buffer, at: NIODeadline.now().uptimeNanoseconds) }
            }
            if frame.endStream { run.streamEnded(stream, on: connection, error: nil) }
        case .rstStream(let code):
            run.explain("reset", "\(run.plan.target.authority): the server reset an HTTP/2 stream (\(code))")
            run.streamEnded(stream, on: connection, error: "reset")
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        run.explain("reset", "\(run.plan.target.authority): HTTP/2 stream: \(error)")
        run.streamEnded(stream, on: connection, error: "reset")
    }

    func channelInactive(context: ChannelHandlerContext) {
        run.streamEnded(stream, on: connection, error: "reset")
        context.fireChannelInactive()
    }
}
