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
    // The fields of the last decoded line, by `RecordField`'s raw value: numbers (integers
    // too) in a fixed block, strings as bytes in reused buffers, so a line costs no allocation.
    var numbers = NumberSlots()
    var strings: [[UInt8]]
    /// Keys seen in the line (null included), and fields with a value (not null).
    var keysSeen = RecordFieldSet()
    var valuesSet = RecordFieldSet()
    /// A string `type` key: a scaling line, not a record.
    var typed = false
    let table = KeyTable.records
    // The table's masks and ranges, copied: read per field without touching the table.
    let required: RecordFieldSet, nullable: RecordFieldSet, numeric: RecordFieldSet
    let integers: RecordFieldSet, stringFields: RecordFieldSet
    let lower: NumberSlots, upper: NumberSlots

    /// For a line with a string `type` (not a record: kube-watch's, infer-records(5)) that
    /// went through jansson, its parsed object, so the caller need not parse it again.
    public internal(set) var typedObject: JSONObject?

    /// Lines the fast path passed to jansson (for tests and benchmarks).
    public internal(set) var slowPathLines = 0

    public init() {
        (required, nullable, numeric) = (table.required, table.nullable, table.numeric)
        (integers, stringFields, lower, upper) = (table.integers, table.strings, table.lower, table.upper)
        strings = RecordSchema.fields.map { spec in
            var buffer: [UInt8] = []
            if case .string = spec.kind { buffer.reserveCapacity(64) }
            return buffer
        }
    }

    /// Why a line is not a record: not JSON, or JSON without the keys and types a record has.
    public struct Malformed: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
        /// The verdict for a line with a string `type` key: a scaling line, not a record.
        public static let typedLine = Malformed("a line with a \"type\" key: not a request record")
    }

    // MARK: - The last line's fields

    /// Whether the line gave `field` a value (not null).
    @inline(__always)
    public func has(_ field: RecordField) -> Bool { valuesSet.contains(RecordFieldSet(field)) }

    /// Whether the line gave any of `fields` a value.
    @inline(__always)
    public func hasAny(of fields: RecordFieldSet) -> Bool { !valuesSet.isDisjoint(with: fields) }

    /// A number or integer field; nil when absent or null.
    @inline(__always)
    public func number(_ field: RecordField) -> Double? { has(field) ? numbers[field.rawValue] : nil }

    /// A required number (`ts`, `latency_ms`), or 0 when absent.
    @inline(__always)
    public func value(_ field: RecordField) -> Double { has(field) ? numbers[field.rawValue] : 0 }

    /// An integer field; nil when absent or null.
    @inline(__always)
    public func integer(_ field: RecordField) -> Int? { has(field) ? Int(numbers[field.rawValue]) : nil }

    /// A string field's bytes; nil when absent or null.
    @inline(__always)
    public func string(_ field: RecordField) -> [UInt8]? { has(field) ? strings[field.rawValue] : nil }

    /// Every field the line had, null included (tests, and the fuzzer's comparison).
    public func values() -> [RecordField: FieldValue] {
        var out: [RecordField: FieldValue] = [:]
        for field in RecordField.allCases where keysSeen.contains(RecordFieldSet(field)) {
            guard has(field) else {
                out[field] = .null
                continue
            }
            switch field.spec.kind {
            case .string: out[field] = .string(String(decoding: strings[field.rawValue], as: UTF8.self))
            case .integer: out[field] = .integer(Int(numbers[field.rawValue]))
            case .unixSeconds, .milliseconds: out[field] = .number(numbers[field.rawValue])
            }
        }
        return out
    }

    /// Decodes one line (without its newline). On success the fields above hold it.
    public mutating func decode(_ line: UnsafeRawBufferPointer) -> Malformed? {
        reset()
        if scan(line) {
            return check()
        }
        slowPathLines += 1
        return decodeWithJansson(line)
    }

    @inline(__always)
    mutating func reset() {
        if typedObject != nil { typedObject = nil }
        keysSeen = []
        valuesSet = []
        typed = false
    }

    /// The line's verdict once its fields are read: a scaling line, a required key
    /// missing, or a value out of its kind's range (the first such field).
    func check() -> Malformed? {
        if typed { return .typedLine }
        let missing = required.subtracting(keysSeen)
        if !missing.isEmpty {
            let field = RecordField(rawValue: missing.rawValue.trailingZeroBitCount)!
            return Malformed("missing key \"\(field.spec.key)\"")
        }
        var set = valuesSet.intersection(numeric).rawValue
        while set != 0 {
            let index = set.trailingZeroBitCount
            set &= set - 1
            let value = numbers[index]
            if !(value >= lower[index] && value <= upper[index]) {
                return Malformed(RecordDecoder.outOfRange(RecordSchema.fields[index]))
            }
        }
        return nil
    }

    /// What a field's value must be, when it is out of its range.
    static func outOfRange(_ spec: FieldSpec) -> String {
        switch spec.kind {
        case .unixSeconds: "\"\(spec.key)\" must be a Unix time in seconds"
        case .milliseconds: "\"\(spec.key)\" must be a number ≥ 0"
        case .integer(let range) where range.upperBound == RecordSchema.maxInteger:
            "\"\(spec.key)\" must be an integer from \(range.lowerBound) to 2^53"
        case .integer(let range): "\"\(spec.key)\" must be an integer from \(range.lowerBound) to \(range.upperBound)"
        case .string: "\"\(spec.key)\" must be a string"
        }
    }

    // MARK: - Fast path

    enum Scalar { case string(Int, Int), number(Double, isInteger: Bool), null, bool(Bool) }

    /// True when the line was fully understood (the fields are set); false sends it to jansson.
    mutating func scan(_ line: UnsafeRawBufferPointer) -> Bool {
        let table = self.table
        return table.entries.withUnsafeBufferPointer { entries in
            table.keyBytes.withUnsafeBufferPointer { keyBytes in
                Self.forEachField(line) { base, keyStart, keyLength, value in
                    let index = KeyTable.field(base + keyStart, keyLength, entries, keyBytes.baseAddress!)
                    return assign(index, value, base)
                }
            }
        }
    }

    /// Walks a flat JSON object of scalars (one line), calling `field` with each key's
    /// bounds and its value; true when the whole line was such an object and `field`
    /// took every field. Shared by records and scaling lines (`ScalingLine(flat:)`).
    @inline(__always)
    static func forEachField(
        _ line: UnsafeRawBufferPointer,
        _ field: (_ base: UnsafePointer<UInt8>, _ keyStart: Int, _ keyLength: Int, Scalar) -> Bool
    ) -> Bool {
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
            guard i < end, base[i] == UInt8(ascii: "\""), let (keyStart, keyEnd) = plainString(base, &i, end) else {
                return false
            }
            skipSpace()
            guard i < end, base[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < end, let value = scalar(base, &i, end), field(base, keyStart, keyEnd - keyStart, value) else {
                return false
            }
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
            guard i + 4 <= end, base[i + 1] == UInt8(ascii: "u"), base[i + 2] == UInt8(ascii: "l"),
                base[i + 3] == UInt8(ascii: "l")
            else { return nil }
            i += 4
            return .null
        case UInt8(ascii: "t"):
            guard i + 4 <= end, base[i + 1] == UInt8(ascii: "r"), base[i + 2] == UInt8(ascii: "u"),
                base[i + 3] == UInt8(ascii: "e")
            else { return nil }
            i += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            guard i + 5 <= end, base[i + 1] == UInt8(ascii: "a"), base[i + 2] == UInt8(ascii: "l"),
                base[i + 3] == UInt8(ascii: "s"),
                base[i + 4] == UInt8(ascii: "e")
            else { return nil }
            i += 5
            return .bool(false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return number(base, &i, end)
        default:
            return nil
        }
    }

    /// Keeps a known key's value; false when its type is not the field's (jansson decides).
    @inline(__always)
    mutating func assign(_ index: Int, _ value: Scalar, _ base: UnsafePointer<UInt8>) -> Bool {
        guard index >= 0 else {
            // A string type makes it a scaling line; a later "type" wins, as in jansson.
            if index == KeyTable.typeKey {
                if case .string = value { typed = true } else { typed = false }
            }
            return true
        }
        let bit = RecordFieldSet(rawValue: 1 << UInt32(index))
        switch value {
        case .null:
            guard nullable.contains(bit) else { return false }
            valuesSet.subtract(bit)
        case .number(let v, let isInteger):
            guard numeric.contains(bit), isInteger || !integers.contains(bit) else { return false }
            numbers[index] = v
            valuesSet.formUnion(bit)
        case .string(let start, let end):
            guard stringFields.contains(bit) else { return false }
            strings[index].removeAll(keepingCapacity: true)
            strings[index].append(contentsOf: UnsafeBufferPointer(start: base + start, count: end - start))
            valuesSet.formUnion(bit)
        case .bool:
            return false
        }
        keysSeen.formUnion(bit)
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
