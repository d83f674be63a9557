import JSON

/// Writes records as JSON lines. The record's shape is fixed, so numbers are
/// formatted here directly (fixed-point, µs precision) instead of building a jansson
/// tree per line: at 10,000 records/s that tree would cost more than the request.
/// Strings that need escaping (rare: pod names are DNS labels) go through jansson (JSONText).
public enum RecordEncoder {
    /// Appends `record` and a newline to `out`.
    public static func append(_ record: Record, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"ts":"#.utf8)
        appendFixed(Int64((record.ts * 1e6).rounded()), decimals: 6, to: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        appendInt(Int64(record.seq), to: &out)
        out.append(contentsOf: #","latency_ms":"#.utf8)
        appendFixed(Int64((record.latencyMs * 1e3).rounded()), decimals: 3, to: &out)
        out.append(contentsOf: #","service_ms":"#.utf8)
        appendFixed(Int64((record.serviceMs * 1e3).rounded()), decimals: 3, to: &out)
        out.append(contentsOf: #","status":"#.utf8)
        appendInt(Int64(record.status), to: &out)
        out.append(contentsOf: #","bytes":"#.utf8)
        appendInt(Int64(record.bytes), to: &out)
        out.append(contentsOf: #","error":"#.utf8)
        appendString(record.error, to: &out)
        out.append(contentsOf: #","pod":"#.utf8)
        appendString(record.pod, to: &out)
        if let connectMs = record.connectMs {
            out.append(contentsOf: #","connect_ms":"#.utf8)
            appendFixed(Int64((connectMs * 1e3).rounded()), decimals: 3, to: &out)
        }
        if let tokens = record.tokens {
            for (key, ms) in [(#","ttft_ms":"#, tokens.ttftMs), (#","itl_ms":"#, tokens.itlMs), (#","itl_max_ms":"#, tokens.itlMaxMs)] {
                out.append(contentsOf: key.utf8)
                if let ms { appendFixed(Int64((ms * 1e3).rounded()), decimals: 3, to: &out) } else { out.append(contentsOf: "null".utf8) }
            }
            for (key, n) in [(#","tokens_in":"#, tokens.tokensIn), (#","tokens_out":"#, tokens.tokensOut)] {
                out.append(contentsOf: key.utf8)
                if let n { appendInt(Int64(n), to: &out) } else { out.append(contentsOf: "null".utf8) }
            }
        }
        out.append(contentsOf: "}\n".utf8)
    }

    public static func line(_ record: Record) -> [UInt8] {
        var out: [UInt8] = []
        append(record, to: &out)
        return out
    }

    static func appendInt(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            repeat {
                buf[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(buf[i]) }
        }
    }

    /// `scaled / 10^decimals` with exactly `decimals` digits after the point.
    static func appendFixed(_ scaled: Int64, decimals: Int, to out: inout [UInt8]) {
        var unit: Int64 = 1
        for _ in 0..<decimals { unit *= 10 }
        if scaled < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = Int64(scaled.magnitude)
        appendInt(magnitude / unit, to: &out)
        out.append(UInt8(ascii: "."))
        var frac = magnitude % unit
        var divisor = unit / 10
        for _ in 0..<decimals {
            out.append(UInt8(ascii: "0") + UInt8(frac / divisor))
            frac %= divisor
            divisor = max(divisor / 10, 1)
        }
    }

    static func appendString(_ value: String?, to out: inout [UInt8]) { JSONText.appendString(value, to: &out) }

}
