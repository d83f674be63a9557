/// One request's outcome: the record infer-load writes and infer-stats reads, one
/// JSON object per line, keys in this order (infer-records(5), man/man5/infer-records.5).
public struct Record: Equatable, Sendable {
    /// Unix time in seconds (µs precision) at which the request was scheduled.
    public var ts: Double
    public var seq: Int
    /// From the scheduled send time to the last response byte.
    public var latencyMs: Double
    /// From the actual send to the last response byte.
    public var serviceMs: Double
    /// HTTP status; 0 when there was no response.
    public var status: Int
    public var bytes: Int
    /// nil, or a short kind: connect, tls, timeout, reset, protocol, overload, cancelled.
    public var error: String?
    /// The replica that answered (the X-Served-By header).
    public var pod: String?
    /// For a completion (infer-load --api openai): its tokens and their timing; nil for
    /// other requests, whose records carry none of these keys.
    public var tokens: Tokens?
    /// For the first request on a new connection: how long connecting took, TLS
    /// handshake included (ms); nil for requests on a connection already open.
    public var connectMs: Double?

    /// A completion's tokens: time to the first (from the scheduled send, as latency),
    /// the mean and the longest gap between them as they streamed, and how many went in
    /// and came out (the response's usage). Each nil when not known.
    public struct Tokens: Equatable, Sendable {
        public var ttftMs: Double?
        public var itlMs: Double?
        public var itlMaxMs: Double?
        public var tokensIn: Int?
        public var tokensOut: Int?

        public init(
            ttftMs: Double? = nil, itlMs: Double? = nil, itlMaxMs: Double? = nil, tokensIn: Int? = nil,
            tokensOut: Int? = nil
        ) {
            self.ttftMs = ttftMs
            self.itlMs = itlMs
            self.itlMaxMs = itlMaxMs
            self.tokensIn = tokensIn
            self.tokensOut = tokensOut
        }
    }

    public init(
        ts: Double, seq: Int, latencyMs: Double, serviceMs: Double, status: Int, bytes: Int, error: String?,
        pod: String?,
        tokens: Tokens? = nil, connectMs: Double? = nil
    ) {
        self.ts = ts
        self.seq = seq
        self.latencyMs = latencyMs
        self.serviceMs = serviceMs
        self.status = status
        self.bytes = bytes
        self.error = error
        self.pod = pod
        self.tokens = tokens
        self.connectMs = connectMs
    }

    /// Success: a 2xx or 3xx answer and no error.
    public var isSuccess: Bool { error == nil && (200..<400).contains(status) }

    /// The error kinds a generator writes.
    public enum ErrorKind: String, CaseIterable, Sendable {
        case connect, tls, timeout, reset, `protocol`, overload, cancelled
    }
}
