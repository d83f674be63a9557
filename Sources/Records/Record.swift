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
    /// nil, or a short kind: connect, timeout, reset, protocol, overload, cancelled.
    public var error: String?
    /// The replica that answered (the X-Served-By header).
    public var pod: String?

    public init(ts: Double, seq: Int, latencyMs: Double, serviceMs: Double, status: Int, bytes: Int, error: String?, pod: String?) {
        self.ts = ts
        self.seq = seq
        self.latencyMs = latencyMs
        self.serviceMs = serviceMs
        self.status = status
        self.bytes = bytes
        self.error = error
        self.pod = pod
    }

    /// Success: a 2xx or 3xx answer and no error.
    public var isSuccess: Bool { error == nil && (200..<400).contains(status) }

    /// The error kinds a generator writes.
    public enum ErrorKind: String, CaseIterable, Sendable {
        case connect, timeout, reset, `protocol`, overload, cancelled
    }
}
