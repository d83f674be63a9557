import Records

/// One request between its send and its last byte.
struct InFlight: Equatable {
    let seq: Int
    /// Monotonic ns at which it was due.
    let due: UInt64
    /// Monotonic ns at which it was written (0 = never sent).
    var sent: UInt64
}

/// What a finished or failed request is recorded with.
struct Outcome: Equatable {
    var request: InFlight
    var status = 0
    var bytes = 0
    var pod: String?
    /// nil for a response received in full, else the error kind.
    var error: String?
    /// A completion's tokens (infer-load --api openai).
    var tokens: Record.Tokens?
    /// For a connection's first request: its connect (and TLS handshake) time.
    var connectMs: Double?
}

/// The protocol of one keep-alive connection, as a value: each event the runner sees
/// (connected, a response part, a failure, the run ending) moves it to its next state
/// and says what to do, so every transition is tested without a socket.
///
///     connecting(request?) ──connected──▶ awaitingResponse ──end──▶ idle ──send──▶ awaitingResponse
///            │                 (no request left: close)   │ (Connection: close) ──▶ closed
///            └──connect failed──▶ closed                  └──failure/timeout/cancel──▶ closed
///     warming ──connected──▶ idle      (opened before the run's clock started, for no request)
struct ConnectionStateMachine: Equatable {
    enum State: Equatable {
        /// The connect is under way; `waiting` is the request it was opened for (nil once
        /// that request was cancelled: the connection then closes as soon as it opens).
        case connecting(waiting: InFlight?)
        /// Opened ahead of the schedule, for no request: idle once connected.
        case warming
        case idle
        /// A request was written; its response is being read.
        case awaitingResponse(Response)
        case closed
    }

    /// The response read so far.
    struct Response: Equatable {
        var request: InFlight
        var status = 0
        var bytes = 0
        var pod: String?
        var gotHead = false
        var keepAlive = true
    }

    enum Action: Equatable {
        case none
        /// Write this request (its `sent` is set).
        case send(InFlight)
        /// Close the channel.
        case close
        /// Record this request, then release the connection or close it.
        case record(Outcome, thenClose: Bool)
    }

    private(set) var state: State

    init(opening request: InFlight) { state = .connecting(waiting: request) }

    /// A connection opened before the run's clock started, for the first requests.
    init() { state = .warming }

    /// The request this connection owes a record for, if any.
    var request: InFlight? {
        switch state {
        case .connecting(let waiting): waiting
        case .awaitingResponse(let response): response.request
        case .warming, .idle, .closed: nil
        }
    }

    var isIdle: Bool { state == .idle }
    var isClosed: Bool { state == .closed }

    mutating func connected(at now: UInt64) -> Action {
        if case .warming = state {
            state = .idle
            return .none
        }
        guard case .connecting(let waiting) = state else { return .none }
        guard var request = waiting else {
            state = .closed
            return .close
        }
        request.sent = now
        state = .awaitingResponse(Response(request: request))
        return .send(request)
    }

    mutating func connectFailed(kind: String) -> Action {
        if case .warming = state {
            state = .closed
            return .none
        }
        guard case .connecting(let waiting) = state else { return .none }
        state = .closed
        guard let request = waiting else { return .none }
        return .record(Outcome(request: request, error: kind), thenClose: false)
    }

    /// Sends `request` on an idle connection.
    mutating func send(_ request: InFlight, at now: UInt64) -> Action {
        guard case .idle = state else { return .none }
        var request = request
        request.sent = now
        state = .awaitingResponse(Response(request: request))
        return .send(request)
    }

    mutating func responseHead(status: Int, pod: String?, keepAlive: Bool) {
        guard case .awaitingResponse(var response) = state else { return }
        response.status = status
        response.pod = pod
        response.keepAlive = keepAlive
        response.gotHead = true
        state = .awaitingResponse(response)
    }

    mutating func responseBody(bytes: Int) {
        guard case .awaitingResponse(var response) = state else { return }
        response.bytes += bytes
        state = .awaitingResponse(response)
    }

    mutating func responseEnded() -> Action {
        guard case .awaitingResponse(let response) = state else { return .none }
        state = response.keepAlive ? .idle : .closed
        return .record(
            Outcome(request: response.request, status: response.status, bytes: response.bytes, pod: response.pod),
            thenClose: !response.keepAlive)
    }

    /// The connection failed (reset, protocol error), its request timed out, or the run
    /// cancelled it. A request still connecting is recorded and the connect left to close
    /// the channel when it completes.
    mutating func failed(kind: String) -> Action {
        switch state {
        case .awaitingResponse(let response):
            state = .closed
            return .record(
                Outcome(
                    request: response.request, status: response.gotHead ? response.status : 0,
                    bytes: response.bytes, pod: response.pod, error: kind), thenClose: true)
        case .connecting(let waiting?):
            state = .connecting(waiting: nil)
            return .record(Outcome(request: waiting, error: kind), thenClose: false)
        case .idle:
            state = .closed
            return .close
        case .warming:
            state = .connecting(waiting: nil)
            return .none
        case .connecting(nil), .closed:
            return .none
        }
    }

    /// The run is over: an idle connection closes; one with a request keeps it.
    mutating func closeIfIdle() -> Action {
        guard case .idle = state else { return .none }
        state = .closed
        return .close
    }

    /// The output is gone: drop everything, recording nothing.
    mutating func abandon() -> Action {
        switch state {
        case .closed, .connecting(nil): return .none
        case .connecting, .warming:
            state = .connecting(waiting: nil)
            return .none
        case .idle, .awaitingResponse:
            state = .closed
            return .close
        }
    }
}
