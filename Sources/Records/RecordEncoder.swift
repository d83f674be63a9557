import JSON

/// Writes records as JSON lines. The record's shape is fixed, so numbers are
/// formatted here directly (fixed-point, µs precision) instead of building a jansson
/// tree per line: at 10,000 records/s that tree would cost more than the request.
/// Strings that need escaping (rare: pod names are DNS labels) go through jansson (JSONText).
public enum RecordEncoder {
    /// Appends `record` and a newline to `out`: each field of `RecordSchema` in order, as
    /// its kind is written (times with µs precision, milliseconds with 3 decimals).
    public static func append(_ record: Record, to out: inout [UInt8]) {
        var first = true
        for spec in RecordSchema.fields {
            guard let value = spec.read(record) else { continue }
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: spec.key.utf8)
            out.append(contentsOf: "\":".utf8)
            append(value, as: spec.kind, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    static func append(_ value: FieldValue, as kind: FieldSpec.Kind, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .string(let text): appendString(text, to: &out)
        case .integer(let n): appendInt(Int64(n), to: &out)
        case .number(let x):
            if case .unixSeconds = kind {
                appendFixed(Int64((x * 1e6).rounded()), decimals: 6, to: &out)
            } else {
                appendFixed(Int64((x * 1e3).rounded()), decimals: 3, to: &out)
            }
        }
    }

    public static func line(_ record: Record) -> [UInt8] {
        var out: [UInt8] = []
        append(record, to: &out)
        return out
    }

    static func appendInt(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
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
