/// One request's outcome: the record infer-load writes and infer-stats reads, one
/// JSON object per line, keys in this order (infer-records(5), man/man5/infer-records.5).
/// Its fields are declared below, in `RecordField` and `RecordSchema`: a new field is a
/// property here, a case there and its line in `RecordSchema.declaration`, all in this file.
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

/// A request record's fields, declared once (infer-records(5)). The encoder, the fast
/// decoder's key dispatch, the jansson path and their checks all read this declaration,
/// and a test holds the man page's field list to it: adding a field is a case here, its
/// line in `RecordSchema.declaration`, the `Record` property it reads, and the code that
/// produces and consumes it.
public enum RecordField: Int, CaseIterable, Sendable {
    // The order records are written in.
    case ts, seq, latencyMs, serviceMs, status, bytes, error, pod, connectMs
    case ttftMs, itlMs, itlMaxMs, tokensIn, tokensOut

    /// This field's declaration.
    public var spec: FieldSpec { RecordSchema.fields[rawValue] }
}

/// How a record field is spelled, typed, written and read.
public struct FieldSpec: Sendable {
    /// The JSON type and range of a value.
    public enum Kind: Sendable, Equatable {
        /// A number: Unix time in seconds, written with µs precision.
        case unixSeconds
        /// A number ≥ 0 of milliseconds, written with µs precision.
        case milliseconds
        /// An integer in the range.
        case integer(ClosedRange<Int>)
        /// A string.
        case string
    }

    /// What a reader may expect of the key.
    public enum Presence: Sendable, Equatable {
        /// Every record has it, and it is not null: a line without it is not a record.
        case required
        /// Every record has it; it may be null.
        case requiredOrNull
        /// Read when present; null means not known.
        case optional
    }

    public let key: String
    public let kind: Kind
    public let presence: Presence
    /// The first version whose generator wrote it.
    public let since: String
    /// The value a generator writes for a record: nil leaves the key out, `.null` writes null.
    let read: @Sendable (Record) -> FieldValue?

    init(
        _ key: String, _ kind: Kind, _ presence: Presence, since: String,
        _ read: @escaping @Sendable (Record) -> FieldValue?
    ) {
        self.key = key
        self.kind = kind
        self.presence = presence
        self.since = since
        self.read = read
    }

    /// Whether null is a valid value.
    public var nullable: Bool { presence != .required }

    /// The value `record` carries in this field (nil: the key is left out).
    public func value(in record: Record) -> FieldValue? { read(record) }
}

/// A field's value, as written and as read.
public enum FieldValue: Equatable, Sendable {
    case number(Double)
    case integer(Int)
    case string(String)
    case null
}

/// A set of fields, as a bit mask over `RecordField`'s raw values (no allocation on the
/// decoder's path).
public struct RecordFieldSet: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ field: RecordField) { rawValue = 1 << UInt32(field.rawValue) }

    /// A completion's token figures (infer-load --api openai).
    public static let completion: RecordFieldSet = [
        .init(.ttftMs), .init(.itlMs), .init(.itlMaxMs), .init(.tokensIn), .init(.tokensOut),
    ]
}

/// The declaration of every field, in `RecordField`'s order.
public enum RecordSchema {
    public static let fields: [FieldSpec] = RecordField.allCases.map(declaration)

    /// The largest integer a record carries exactly (a JSON number read as a double).
    public static let maxInteger = 1 << 53

    /// One line per field: key, kind, presence, since, and what a `Record` writes.
    static func declaration(_ field: RecordField) -> FieldSpec {
        let count = 0...maxInteger
        switch field {
        case .ts: return FieldSpec("ts", .unixSeconds, .required, since: "0.1.0") { .number($0.ts) }
        case .seq: return FieldSpec("seq", .integer(count), .optional, since: "0.1.0") { .integer($0.seq) }
        case .latencyMs:
            return FieldSpec("latency_ms", .milliseconds, .required, since: "0.1.0") { .number($0.latencyMs) }
        case .serviceMs:
            return FieldSpec("service_ms", .milliseconds, .optional, since: "0.1.0") { .number($0.serviceMs) }
        case .status: return FieldSpec("status", .integer(0...999), .required, since: "0.1.0") { .integer($0.status) }
        case .bytes: return FieldSpec("bytes", .integer(count), .optional, since: "0.1.0") { .integer($0.bytes) }
        case .error: return FieldSpec("error", .string, .requiredOrNull, since: "0.1.0") { .nullable($0.error) }
        case .pod: return FieldSpec("pod", .string, .optional, since: "0.1.0") { .nullable($0.pod) }
        case .connectMs:
            return FieldSpec("connect_ms", .milliseconds, .optional, since: "0.1.0") {
                $0.connectMs.map(FieldValue.number)
            }
        case .ttftMs: return FieldSpec("ttft_ms", .milliseconds, .optional, since: "0.1.0") { .token($0, \.ttftMs) }
        case .itlMs: return FieldSpec("itl_ms", .milliseconds, .optional, since: "0.1.0") { .token($0, \.itlMs) }
        case .itlMaxMs:
            return FieldSpec("itl_max_ms", .milliseconds, .optional, since: "0.1.0") { .token($0, \.itlMaxMs) }
        case .tokensIn:
            return FieldSpec("tokens_in", .integer(count), .optional, since: "0.1.0") { .count($0, \.tokensIn) }
        case .tokensOut:
            return FieldSpec("tokens_out", .integer(count), .optional, since: "0.1.0") { .count($0, \.tokensOut) }
        }
    }
}

extension FieldValue {
    /// A string, or null.
    static func nullable(_ value: String?) -> FieldValue { value.map(FieldValue.string) ?? .null }

    /// A completion's figure: absent from other records, null in a completion's when not known.
    static func token(_ record: Record, _ path: KeyPath<Record.Tokens, Double?>) -> FieldValue? {
        record.tokens.map { $0[keyPath: path].map(FieldValue.number) ?? .null }
    }

    static func count(_ record: Record, _ path: KeyPath<Record.Tokens, Int?>) -> FieldValue? {
        record.tokens.map { $0[keyPath: path].map(FieldValue.integer) ?? .null }
    }
}
