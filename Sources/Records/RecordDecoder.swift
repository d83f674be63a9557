#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// Reads record lines (infer-records(5), man/man5/infer-records.5) at the rate infer-stats needs:
/// a scanner for flat JSON objects of scalars handles the lines generators write,
/// in place and without allocating; anything it is not sure of (escapes, nested
/// values, exponents, non-ASCII bytes, any syntax error) goes to jansson, which
/// decides. So the fast path only ever accepts valid JSON, and jansson has the last
/// word on everything else, including the error message.
public struct RecordDecoder {
    // The fields of the last decoded line. Strings are kept as bytes in reused
    // buffers so a line costs no allocation.
    public internal(set) var ts = 0.0
    public internal(set) var latencyMs = 0.0
    /// nil when the line has no service_ms.
    public internal(set) var serviceMs: Double?
    public internal(set) var status = 0
    public internal(set) var bytes = 0
    public internal(set) var hasError = false
    public internal(set) var errorBytes: [UInt8] = []
    public internal(set) var hasPod = false
    public internal(set) var podBytes: [UInt8] = []
    /// A completion's token figures (Record.Tokens), each nil when the line lacks it.
    public internal(set) var ttftMs: Double?
    public internal(set) var itlMs: Double?
    public internal(set) var itlMaxMs: Double?
    public internal(set) var tokensIn: Int?
    public internal(set) var tokensOut: Int?
    /// A connection's first request: its connect time, TLS handshake included.
    public internal(set) var connectMs: Double?
    /// Whether the line had any of them.
    public var hasTokens: Bool { ttftMs != nil || itlMs != nil || itlMaxMs != nil || tokensIn != nil || tokensOut != nil }

    /// For a line with a string `type` (not a record: kube-watch's, infer-records(5)) that
    /// went through jansson, its parsed object, so the caller need not parse it again.
    public internal(set) var typedObject: JSONObject?

    /// Lines the fast path passed to jansson (for tests and benchmarks).
    public internal(set) var slowPathLines = 0

    public init() {
        errorBytes.reserveCapacity(32)
        podBytes.reserveCapacity(64)
    }

    /// Why a line is not a record: not JSON, or JSON without the keys and types a record has.
    public struct Malformed: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
        /// The verdict for a line with a string `type` key: a scaling line, not a record.
        public static let typedLine = Malformed("a line with a \"type\" key: not a request record")
    }

    struct Seen {
        var ts = false, latency = false, status = false, error = false, typed = false
    }

    /// Decodes one line (without its newline). On success the fields above hold it.
    public mutating func decode(_ line: UnsafeRawBufferPointer) -> Malformed? {
        reset()
        var seen = Seen()
        if scan(line, &seen) {
            return check(seen)
        }
        slowPathLines += 1
        return decodeWithJansson(line)
    }

    mutating func reset() {
        if typedObject != nil { typedObject = nil }
        serviceMs = nil
        bytes = 0
        hasPod = false
        hasError = false
        ttftMs = nil
        itlMs = nil
        itlMaxMs = nil
        tokensIn = nil
        tokensOut = nil
        connectMs = nil
    }

    func check(_ seen: Seen) -> Malformed? {
        if seen.typed { return .typedLine }
        if !seen.ts { return Malformed("missing key \"ts\"") }
        if !seen.latency { return Malformed("missing key \"latency_ms\"") }
        if !seen.status { return Malformed("missing key \"status\"") }
        if !seen.error { return Malformed("missing key \"error\"") }
        // Unix seconds up to the year 5138: beyond is not a time, and would overflow window arithmetic.
        if !(ts >= 0 && ts < 1e11) { return Malformed("\"ts\" must be a Unix time in seconds") }
        if !(latencyMs >= 0 && latencyMs < 1e12) { return Malformed("\"latency_ms\" must be a number ≥ 0") }
        if let serviceMs, !(serviceMs >= 0 && serviceMs < 1e12) { return Malformed("\"service_ms\" must be a number ≥ 0") }
        if bytes < 0 { return Malformed("\"bytes\" must be ≥ 0") }
        if status < 0 || status > 999 { return Malformed("\"status\" must be from 0 to 999") }
        if let connectMs, !(connectMs >= 0 && connectMs < 1e12) { return Malformed("\"connect_ms\" must be a number ≥ 0") }
        return hasTokens ? checkTokens() : nil
    }

    /// Only for the lines that carry them (a literal array here would cost every line an allocation).
    func checkTokens() -> Malformed? {
        for (key, ms) in [("ttft_ms", ttftMs), ("itl_ms", itlMs), ("itl_max_ms", itlMaxMs)] {
            if let ms, !(ms >= 0 && ms < 1e12) { return Malformed("\"\(key)\" must be a number ≥ 0") }
        }
        for (key, n) in [("tokens_in", tokensIn), ("tokens_out", tokensOut)] {
            if let n, n < 0 { return Malformed("\"\(key)\" must be an integer ≥ 0") }
        }
        return nil
    }

    // MARK: - Fast path

    enum Key { case ts, latency, service, status, bytes, error, pod, type, ttft, itl, itlMax, tokensIn, tokensOut, connect, other }

    private static func key(_ p: UnsafePointer<UInt8>, _ n: Int) -> Key {
        @inline(__always) func eq(_ s: StaticString) -> Bool {
            s.utf8CodeUnitCount == n && memcmp(p, s.utf8Start, n) == 0
        }
        switch n {
        case 2: return eq("ts") ? .ts : .other
        case 3: return eq("pod") ? .pod : .other
        case 4: return eq("type") ? .type : .other
        case 5: return eq("bytes") ? .bytes : (eq("error") ? .error : .other)
        case 6: return eq("status") ? .status : (eq("itl_ms") ? .itl : .other)
        case 7: return eq("ttft_ms") ? .ttft : .other
        case 9: return eq("tokens_in") ? .tokensIn : .other
        case 10:
            if eq("latency_ms") { return .latency }
            if eq("service_ms") { return .service }
            if eq("connect_ms") { return .connect }
            return eq("itl_max_ms") ? .itlMax : (eq("tokens_out") ? .tokensOut : .other)
        default: return .other
        }
    }

    enum Scalar { case string(Int, Int), number(Double, isInteger: Bool), null, bool(Bool) }

    /// True when the line was fully understood (the fields are set); false sends it to jansson.
    mutating func scan(_ line: UnsafeRawBufferPointer, _ seen: inout Seen) -> Bool {
        Self.forEachField(line) { base, keyStart, keyLength, value in
            assign(Self.key(base + keyStart, keyLength), value, base, &seen)
        }
    }

    /// Walks a flat JSON object of scalars (one line), calling `field` with each key's
    /// bounds and its value; true when the whole line was such an object and `field`
    /// took every field. Shared by records and scaling lines (`ScalingLine(flat:)`).
    @inline(__always)
    static func forEachField(_ line: UnsafeRawBufferPointer,
                             _ field: (_ base: UnsafePointer<UInt8>, _ keyStart: Int, _ keyLength: Int, Scalar) -> Bool) -> Bool {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        let end = line.count
        var i = 0
        @inline(__always) func skipSpace() {
            while i < end, base[i] == 0x20 || base[i] == 0x09 || base[i] == 0x0D { i += 1 }
        }
        skipSpace()
        guard i < end, base[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < end, base[i] == UInt8(ascii: "}") { return false }  // {}: let jansson and check() say what is missing
        while true {
            guard i < end, base[i] == UInt8(ascii: "\""), let (keyStart, keyEnd) = plainString(base, &i, end) else { return false }
            skipSpace()
            guard i < end, base[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < end, let value = scalar(base, &i, end), field(base, keyStart, keyEnd - keyStart, value) else { return false }
            skipSpace()
            guard i < end else { return false }
            if base[i] == UInt8(ascii: ",") {
                i += 1
                skipSpace()
                continue
            }
            guard base[i] == UInt8(ascii: "}") else { return false }
            i += 1
            skipSpace()
            return i == end
        }
    }

    /// A plain ASCII string without escapes at `i` (its opening quote): the bounds of its
    /// content, with `i` past the closing quote; nil sends the line to jansson.
    @inline(__always)
    static func plainString(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> (Int, Int)? {
        i += 1
        let start = i
        while i < end, base[i] != UInt8(ascii: "\"") {
            let c = base[i]
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return nil }
            i += 1
        }
        guard i < end else { return nil }
        i += 1
        return (start, i - 1)
    }

    /// The scalar value at `i`; nil (nested values, anything unsure) sends the line to jansson.
    @inline(__always)
    static func scalar(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Scalar? {
        // Literals byte by byte: a helper capturing `i` would keep it in memory on the hot path.
        switch base[i] {
        case UInt8(ascii: "\""):
            guard let (start, stop) = plainString(base, &i, end) else { return nil }
            return .string(start, stop)
        case UInt8(ascii: "n"):
            guard i + 4 <= end, base[i + 1] == UInt8(ascii: "u"), base[i + 2] == UInt8(ascii: "l"), base[i + 3] == UInt8(ascii: "l") else { return nil }
            i += 4
            return .null
        case UInt8(ascii: "t"):
            guard i + 4 <= end, base[i + 1] == UInt8(ascii: "r"), base[i + 2] == UInt8(ascii: "u"), base[i + 3] == UInt8(ascii: "e") else { return nil }
            i += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            guard i + 5 <= end, base[i + 1] == UInt8(ascii: "a"), base[i + 2] == UInt8(ascii: "l"), base[i + 3] == UInt8(ascii: "s"),
                  base[i + 4] == UInt8(ascii: "e") else { return nil }
            i += 5
            return .bool(false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return number(base, &i, end)
        default:
            return nil
        }
    }

    /// Keeps a known key's value; false when its type is not the record's (jansson decides).
    /// Key first, then value: the order the records' keys come in, and the fastest code.
    @inline(__always)
    mutating func assign(_ key: Key, _ value: Scalar, _ base: UnsafePointer<UInt8>, _ seen: inout Seen) -> Bool {
        switch key {
        case .ts:
            guard case .number(let v, _) = value else { return false }
            ts = v
            seen.ts = true
        case .latency:
            guard case .number(let v, _) = value else { return false }
            latencyMs = v
            seen.latency = true
        case .service:
            switch value {
            case .number(let v, _): serviceMs = v
            case .null: serviceMs = nil
            default: return false
            }
        case .connect:
            switch value {
            case .number(let v, _): connectMs = v
            case .null: connectMs = nil
            default: return false
            }
        case .status:
            guard case .number(let v, true) = value else { return false }
            status = Int(v)
            seen.status = true
        case .bytes:
            guard case .number(let v, true) = value else { return false }
            bytes = Int(v)
        case .error:
            guard Self.keep(value, base, &hasError, &errorBytes) else { return false }
            seen.error = true
        case .pod:
            guard Self.keep(value, base, &hasPod, &podBytes) else { return false }
        case .ttft, .itl, .itlMax:
            let ms: Double?
            switch value {
            case .number(let v, _): ms = v
            case .null: ms = nil
            default: return false
            }
            if key == .ttft { ttftMs = ms } else if key == .itl { itlMs = ms } else { itlMaxMs = ms }
        case .tokensIn, .tokensOut:
            let n: Int?
            switch value {
            case .number(let v, true): n = Int(v)
            case .null: n = nil
            default: return false
            }
            if key == .tokensIn { tokensIn = n } else { tokensOut = n }
        case .type:
            // A string type makes it a scaling line; a later "type" wins, as in jansson.
            if case .string = value { seen.typed = true } else { seen.typed = false }
        case .other:
            break
        }
        return true
    }

    /// A string-or-null field into its reused buffer; false for any other value.
    @inline(__always)
    static func keep(_ value: Scalar, _ base: UnsafePointer<UInt8>, _ has: inout Bool, _ bytes: inout [UInt8]) -> Bool {
        switch value {
        case .null: has = false
        case .string(let s, let e):
            has = true
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: UnsafeBufferPointer(start: base + s, count: e - s))
        default: return false
        }
        return true
    }

    private static let powersOfTen: [Double] = (0...22).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

    /// A JSON number without exponent and with at most 18 significant digits, parsed
    /// exactly (one correctly rounded division); anything else → nil (jansson decides).
    static func number(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Scalar? {
        var j = i
        var negative = false
        if base[j] == UInt8(ascii: "-") {
            negative = true
            j += 1
        }
        guard j < end, base[j] >= 0x30, base[j] <= 0x39 else { return nil }
        if base[j] == 0x30, j + 1 < end, base[j + 1] >= 0x30, base[j + 1] <= 0x39 { return nil }  // leading zero
        var mantissa: UInt64 = 0
        var digits = 0
        while j < end, base[j] >= 0x30, base[j] <= 0x39 {
            mantissa = mantissa &* 10 &+ UInt64(base[j] - 0x30)
            digits += 1
            j += 1
        }
        var fraction = 0
        var isInteger = true
        if j < end, base[j] == UInt8(ascii: ".") {
            isInteger = false
            j += 1
            guard j < end, base[j] >= 0x30, base[j] <= 0x39 else { return nil }
            while j < end, base[j] >= 0x30, base[j] <= 0x39 {
                mantissa = mantissa &* 10 &+ UInt64(base[j] - 0x30)
                digits += 1
                fraction += 1
                j += 1
            }
        }
        if j < end, base[j] == UInt8(ascii: "e") || base[j] == UInt8(ascii: "E") { return nil }
        guard digits <= 18, fraction <= 22 else { return nil }
        var value = Double(mantissa)  // exact below 2^53; 18 digits may round once more
        if mantissa >= 1 << 53 { return nil }
        if fraction > 0 { value /= powersOfTen[fraction] }
        i = j
        return .number(negative ? -value : value, isInteger: isInteger)
    }
}
