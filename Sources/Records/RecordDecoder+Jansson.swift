import JSON

/// The slow path: jansson parses the line and has the last word (and the message);
/// and each path alone, for the differential test and the fuzzer.
extension RecordDecoder {
    /// The fast path alone, for the differential test and fuzzer: nil when it hands the
    /// line on, else its verdict (the fields hold what it read).
    @_spi(Fuzzing) public mutating func decodeFastPathOnly(_ line: UnsafeRawBufferPointer) -> Malformed?? {
        reset()
        var seen = Seen()
        guard scan(line, &seen) else { return nil }
        return .some(check(seen))
    }

    /// jansson alone, for the differential test and fuzzer.
    @_spi(Fuzzing) public mutating func decodeJanssonOnly(_ line: UnsafeRawBufferPointer) -> Malformed? {
        reset()
        return decodeWithJansson(line)
    }

    mutating func decodeWithJansson(_ line: UnsafeRawBufferPointer) -> Malformed? {
        let object: JSONObject
        do {
            object = try JSONObject(parsing: line)
        } catch {
            return Malformed("not JSON: \(error.description)")
        }
        if case .string = object["type"] {
            typedObject = object
            return .typedLine
        }
        func number(_ key: String) -> Double?? {
            switch object[key] {
            case .missing: return .some(nil)
            case .integer(let i): return Double(i)
            case .real(let d): return d
            default: return nil
            }
        }
        guard let tsValue = number("ts") else { return Malformed("\"ts\" must be a number") }
        guard let ts = tsValue else { return Malformed("missing key \"ts\"") }
        guard let latencyValue = number("latency_ms") else { return Malformed("\"latency_ms\" must be a number") }
        guard let latency = latencyValue else { return Malformed("missing key \"latency_ms\"") }
        self.ts = ts
        self.latencyMs = latency
        switch object["service_ms"] {
        case .missing, .null: serviceMs = nil
        case .integer(let i): serviceMs = Double(i)
        case .real(let d): serviceMs = d
        default: return Malformed("\"service_ms\" must be a number")
        }
        switch object["status"] {
        case .integer(let s): status = s
        case .missing: return Malformed("missing key \"status\"")
        default: return Malformed("\"status\" must be an integer")
        }
        switch object["bytes"] {
        case .integer(let b): bytes = b
        case .missing, .null: bytes = 0
        default: return Malformed("\"bytes\" must be an integer")
        }
        switch object["error"] {
        case .null: hasError = false
        case .string(let s):
            hasError = true
            errorBytes = Array(s.utf8)
        case .missing: return Malformed("missing key \"error\"")
        default: return Malformed("\"error\" must be a string or null")
        }
        switch object["pod"] {
        case .null, .missing: hasPod = false
        case .string(let s):
            hasPod = true
            podBytes = Array(s.utf8)
        default: return Malformed("\"pod\" must be a string or null")
        }
        for (key, slot) in [("ttft_ms", \RecordDecoder.ttftMs), ("itl_ms", \RecordDecoder.itlMs), ("itl_max_ms", \RecordDecoder.itlMaxMs),
                            ("connect_ms", \RecordDecoder.connectMs)] {
            switch object[key] {
            case .missing, .null: self[keyPath: slot] = nil
            case .integer(let i): self[keyPath: slot] = Double(i)
            case .real(let d): self[keyPath: slot] = d
            default: return Malformed("\"\(key)\" must be a number")
            }
        }
        for (key, slot) in [("tokens_in", \RecordDecoder.tokensIn), ("tokens_out", \RecordDecoder.tokensOut)] {
            switch object[key] {
            case .missing, .null: self[keyPath: slot] = nil
            case .integer(let i): self[keyPath: slot] = i
            default: return Malformed("\"\(key)\" must be an integer")
            }
        }
        return check(Seen(ts: true, latency: true, status: true, error: true))
    }
}
