#if canImport(Glibc)
import Glibc
#endif
import JSON

/// A kube-watch line (infer-records(5), "Scaling lines") as infer-stats reads it: the
/// few keys it uses. Flat lines (pods, the Deployment, metrics, events) are read by the
/// record scanner's rules, in place; anything it is unsure of (the HPA's nested
/// `metrics`, escapes) goes through jansson.
public struct ScalingLine: Sendable {
    public var ts = 0.0
    public var type = ""
    public var desiredReplicas: Int?
    public var currentReplicas: Int?
    public var ready: Int?
    public var cpuPercent: Int?
    public var cpuTarget: Int?
    public var newSize: Int?
    public var pod: String?
    public var event: String?
    public var reason: String?
    public var initial = false
    /// A prediction's requests (hpa-sim's `requests` lines): over `seconds`, how many
    /// answered and shed, and latency quantiles (ms).
    public var seconds: Double?
    public var ok: Int?
    public var shed: Int?
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?

    init() {}

    /// From a parsed line: nil without a string `type` and a number `ts`.
    public init?(object: JSONObject) {
        guard case .string(let type) = object["type"], let ts = object["ts"].number else { return nil }
        self.ts = ts
        self.type = type
        func int(_ key: String) -> Int? {
            if case .integer(let i) = object[key] { return i }
            return nil
        }
        func string(_ key: String) -> String? {
            if case .string(let s) = object[key] { return s }
            return nil
        }
        desiredReplicas = int("desired_replicas")
        currentReplicas = int("current_replicas")
        ready = int("ready")
        cpuPercent = int("current_utilization_pct")
        cpuTarget = int("target_utilization_pct")
        newSize = int("new_size")
        pod = string("pod")
        event = string("event")
        reason = string("reason")
        initial = object["initial"] == .bool(true)
        seconds = object["seconds"].number
        ok = int("ok")
        shed = int("shed")
        p50 = object["p50_ms"].number
        p90 = object["p90_ms"].number
        p99 = object["p99_ms"].number
    }

    /// A flat line read in place; nil when the scanner is unsure (then use jansson).
    public init?(flat line: UnsafeRawBufferPointer) {
        var sawTs = false, sawType = false
        let read = RecordDecoder.forEachField(line) { base, keyStart, keyLength, value in
            take(Self.key(base + keyStart, keyLength), value, base, &sawTs, &sawType)
        }
        guard read, sawTs, sawType else { return nil }
    }

    enum Key {
        case ts, type, desired, current, ready, cpu, target, newSize, pod, event, reason, initial, seconds, ok, shed,
            p50, p90, p99, other
    }

    static let keys: [(StaticString, Key)] = [
        ("ts", .ts), ("type", .type), ("desired_replicas", .desired), ("current_replicas", .current), ("ready", .ready),
        ("current_utilization_pct", .cpu), ("target_utilization_pct", .target), ("new_size", .newSize), ("pod", .pod),
        ("event", .event), ("reason", .reason), ("initial", .initial), ("seconds", .seconds), ("ok", .ok),
        ("shed", .shed),
        ("p50_ms", .p50), ("p90_ms", .p90), ("p99_ms", .p99),
    ]

    static func key(_ p: UnsafePointer<UInt8>, _ n: Int) -> Key {
        for (name, key) in keys where name.utf8CodeUnitCount == n && memcmp(p, name.utf8Start, n) == 0 { return key }
        return .other
    }

    /// Keeps a known key's value; false when the line is not what the scanner can vouch for.
    private mutating func take(
        _ key: Key, _ value: RecordDecoder.Scalar, _ base: UnsafePointer<UInt8>,
        _ sawTs: inout Bool, _ sawType: inout Bool
    ) -> Bool {
        func text(_ s: Int, _ e: Int) -> String {
            String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self)
        }
        func integer() -> Int?? {
            switch value {
            case .number(let v, true): return .some(Int(v))
            case .null: return .some(nil)
            default: return nil  // a real, or a string: not what kube-watch writes; jansson decides
            }
        }
        switch (key, value) {
        case (.ts, .number(let v, _)): ts = v; sawTs = true
        case (.type, .string(let s, let e)): type = text(s, e); sawType = true
        case (.pod, .string(let s, let e)): pod = text(s, e)
        case (.event, .string(let s, let e)): event = text(s, e)
        case (.reason, .string(let s, let e)): reason = text(s, e)
        case (.initial, .bool(let b)): initial = b
        case (.desired, _): guard let v = integer() else { return false }; desiredReplicas = v
        case (.current, _): guard let v = integer() else { return false }; currentReplicas = v
        case (.ready, _): guard let v = integer() else { return false }; ready = v
        case (.cpu, _): guard let v = integer() else { return false }; cpuPercent = v
        case (.target, _): guard let v = integer() else { return false }; cpuTarget = v
        case (.newSize, _): guard let v = integer() else { return false }; newSize = v
        case (.ok, _): guard let v = integer() else { return false }; ok = v
        case (.shed, _): guard let v = integer() else { return false }; shed = v
        case (.seconds, .number(let v, _)): seconds = v
        case (.p50, .number(let v, _)): p50 = v
        case (.p90, .number(let v, _)): p90 = v
        case (.p99, .number(let v, _)): p99 = v
        case (.other, _), (.pod, .null), (.event, .null), (.reason, .null), (.initial, .null): break
        default: return false
        }
        return true
    }
}
