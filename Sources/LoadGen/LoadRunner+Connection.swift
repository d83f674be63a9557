import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive connection: its protocol state (`ConnectionStateMachine`) and its
/// channel once connected. Touched only on the runner's loop.
final class Connection: ConnectTiming {
    var machine: ConnectionStateMachine
    var channel: (any Channel)?
    /// For completions: this request's bytes, and its response's tokens as they come.
    var requestBytes: ByteBuffer?
    var tokens = TokenStream()
    /// When its connect began (monotonic ns); how long connecting (and TLS) took, once
    /// known, for the record of its first request; requests it has carried.
    var connectStart: UInt64 = 0
    var connectNanos: UInt64?
    var requests = 0
    var warm = false

    init(opening request: InFlight) { machine = ConnectionStateMachine(opening: request) }

    /// Opened before the run's clock started, for the first requests.
    init() {
        machine = ConnectionStateMachine()
        warm = true
    }
}

/// Connections: opening them, carrying out what their state machine says, and the
/// events that drive it (responses, failures, timeouts, cancellation). On the loop.
extension LoadRun {
    func open(with request: InFlight) {
        inFlight += 1
        open(Connection(opening: request))
    }

    /// Opens `connection`: for the request it was made for, or a warm one for none.
    func open(_ connection: Connection) {
        connection.connectStart = NIODeadline.now().uptimeNanoseconds
        connections.append(connection)
        summary.didOpenConnection()
        let bootstrap = ClientBootstrap(group: loop)
            // No TCP_NODELAY here: ClientBootstrap sets it (at IPPROTO_TCP). `.socketOption`
            // would set it at SOL_SOCKET, where its number is SO_DEBUG: EACCES for non-root.
            // One read per readable event: a response fits one read, and a second read
            // would only meet EAGAIN (a wasted syscall per request).
            .channelOption(.maxMessagesPerRead, value: 1)
            .connectTimeout(.nanoseconds(Int64(timeoutNanos)))
            .channelInitializer { [bound = NIOLoopBound((self, connection), eventLoop: loop)] channel in
                channel.eventLoop.makeCompletedFuture {
                    let (run, connection) = bound.value
                    // NIO's response decoder (llhttp), fed by a writer of the request's
                    // bytes encoded once: every request of a run is the same.
                    if let tls = run.plan.tls { try channel.pipeline.syncOperations.addHandler(try tls.handler()) }
                    try channel.pipeline.syncOperations.addHandlers([
                        PreEncodedRequestWriter(bytes: run.requestBytes, connection: connection),
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)),
                        ResponseHandler(runner: run, connection: connection),
                    ])
                }
            }
        let future =
            resolved.map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: plan.target.host, port: plan.target.port)
        future.whenComplete { [bound = NIOLoopBound((self, connection), eventLoop: loop)] result in
            let (run, connection) = bound.value
            run.connectFinished(result, connection)
        }
    }

    private func connectFinished(_ result: Result<any Channel, any Error>, _ connection: Connection) {
        switch result {
        case .success(let channel):
            if resolved == nil { resolved = channel.remoteAddress }
            connection.channel = channel
            apply(connection.machine.connected(at: NIODeadline.now().uptimeNanoseconds), on: connection)
            // A warm connection is idle now, for the first requests (before it may start the clock).
            if connection.machine.isIdle { release(connection) }
            // Over TLS the handshake is still to come; ResponseHandler times it.
            if plainTCP { connectionReady(connection) }
        case .failure(let error):
            let kind = connectFailureKind(error, explaining: connection.machine.request != nil)
            remove(connection)
            apply(connection.machine.connectFailed(kind: kind), on: connection)
        }
        finishIfDone()
    }

    /// Carries out what a connection's state machine decided.
    func apply(_ action: ConnectionStateMachine.Action, on connection: Connection) {
        switch action {
        case .none:
            break
        case .send(let request):
            summary.didSend()
            if timesTokens, let completions = plan.completions {
                connection.requestBytes = completions.request(head: completionHead, seq: request.seq)
                connection.tokens = TokenStream()
            }
            // The head tells the decoder a response is due (and to what method); the
            // pre-encoded writer below it puts the whole request on the wire.
            connection.channel?.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            connection.channel?.flush()
        case .close:
            close(connection)
        case .record(var outcome, var thenClose):
            inFlight -= 1
            connection.requests += 1
            if connection.requests == 1, outcome.error == nil {
                outcome.connectMs = connection.connectNanos.map { Double($0) / 1e6 }
            }
            if connection.requests >= reuseLimit, !thenClose {
                thenClose = true
                _ = connection.machine.closeIfIdle()
            }
            if timesTokens, outcome.error == nil, outcome.status == 200 {
                connection.tokens.finish()
                outcome.tokens = connection.tokens.tokens(
                    due: outcome.request.due, end: NIODeadline.now().uptimeNanoseconds)
            }
            // Record before closing: a close can fire channelInactive, and so finishIfDone,
            // at once. A record can end the run (closed output): the machine is then closed.
            emit(outcome)
            if thenClose { close(connection) } else if connection.machine.isIdle { release(connection) }
        }
    }

    /// A connection is free again: reuse it, or close it when the run is over.
    private func release(_ connection: Connection) {
        if scheduleDone {
            apply(connection.machine.closeIfIdle(), on: connection)
        } else {
            idle.append(connection)
        }
    }

    private func close(_ connection: Connection) {
        remove(connection)
        connection.channel?.close(promise: nil)
    }

    private func remove(_ connection: Connection) {
        if let i = connections.firstIndex(where: { $0 === connection }) { connections.remove(at: i) }
        if let i = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: i) }
        warmedUp(connection)
    }

    // MARK: - Events (from ResponseHandler, the timeout sweeper, stop())

    func responseEnded(_ connection: Connection) {
        apply(connection.machine.responseEnded(), on: connection)
        finishIfDone()
    }

    func failed(_ connection: Connection, kind: String, cause: String? = nil) {
        if connection.machine.request != nil, kind == "reset" || kind == "protocol" || kind == "tls" {
            explain(
                kind,
                "\(plan.target.authority): \(cause ?? "the server closed the connection before the response ended")")
        }
        // The machine is closed before the channel is: a channelInactive fired by that
        // close finds nothing left to report.
        apply(connection.machine.failed(kind: kind), on: connection)
        finishIfDone()
    }

    func sweepTimeouts() {
        let now = NIODeadline.now().uptimeNanoseconds
        if plan.http2 { sweepHTTP2Timeouts(now: now) }
        for connection in connections {
            if case .awaitingResponse(let response) = connection.machine.state,
                now &- response.request.sent > timeoutNanos
            {
                explain("timeout", "no response within \(plan.timeout) s (--timeout)")
                failed(connection, kind: "timeout")
            }
        }
    }

    func cancelInFlight() {
        for connection in connections where connection.machine.request != nil {
            failed(connection, kind: "cancelled")
        }
        cancelHTTP2(kind: "cancelled")
        finishIfDone()
    }

    /// Output is gone: nothing more can be recorded, so stop at once.
    func cancelAll() {
        for connection in connections { apply(connection.machine.abandon(), on: connection) }
        for connection in h2 { closeHTTP2(connection) }
        inFlight = 0
        finishIfDone()
    }
}
