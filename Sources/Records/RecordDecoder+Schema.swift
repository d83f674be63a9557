#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the decoder needs of `RecordSchema`, laid out for its hot path once: the fields
/// as bit masks by kind and presence, each numeric field's range, and the keys for
/// matching a line's key bytes without building a String. Masks and ranges are plain
/// values the decoder copies; the keys are read through one buffer pointer per line, so
/// a field costs no reference counting.
final class KeyTable: Sendable {
    static let records = KeyTable(RecordSchema.fields)

    /// `field(_:_:)` for a key that is no field: `type` (a scaling line's), or any other.
    static let typeKey = -2
    static let otherKey = -1

    /// A key: its length and first byte (checked before its bytes), where its bytes are.
    struct Entry {
        let length: Int
        let first: UInt8
        let offset: Int
        let index: Int
    }

    let required: RecordFieldSet
    let nullable: RecordFieldSet
    let numeric: RecordFieldSet
    let integers: RecordFieldSet
    let strings: RecordFieldSet
    /// By field index: the values a numeric field may take.
    let lower: NumberSlots
    let upper: NumberSlots
    let entries: [Entry]
    let keyBytes: [UInt8]

    init(_ fields: [FieldSpec]) {
        precondition(fields.count <= NumberSlots.capacity, "more record fields than NumberSlots holds")
        var required = RecordFieldSet(), nullable = RecordFieldSet(), numeric = RecordFieldSet()
        var integers = RecordFieldSet(), strings = RecordFieldSet()
        var lower = NumberSlots(), upper = NumberSlots()
        var keys: [(key: [UInt8], index: Int)] = [(Array("type".utf8), KeyTable.typeKey)]
        for (index, spec) in fields.enumerated() {
            let bit = RecordFieldSet(rawValue: 1 << UInt32(index))
            if spec.presence != .optional { required.formUnion(bit) }
            if spec.nullable { nullable.formUnion(bit) }
            switch spec.kind {
            case .unixSeconds:
                numeric.formUnion(bit)
                upper[index] = 1e11.nextDown  // up to the year 5138: beyond overflows window arithmetic
            case .milliseconds:
                numeric.formUnion(bit)
                upper[index] = 1e12.nextDown
            case .integer(let range):
                numeric.formUnion(bit)
                integers.formUnion(bit)
                (lower[index], upper[index]) = (Double(range.lowerBound), Double(range.upperBound))
            case .string:
                strings.formUnion(bit)
            }
            keys.append((Array(spec.key.utf8), index))
        }
        var entries: [Entry] = [], bytes: [UInt8] = []
        for (key, index) in keys {
            entries.append(Entry(length: key.count, first: key[0], offset: bytes.count, index: index))
            bytes += key
        }
        (self.required, self.nullable, self.numeric, self.integers, self.strings) =
            (required, nullable, numeric, integers, strings)
        (self.lower, self.upper) = (lower, upper)
        self.entries = entries
        self.keyBytes = bytes
    }

    /// The field index of the key at `p` (`n` bytes, n > 0), `typeKey`, or `otherKey`.
    @inline(__always)
    static func field(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ entries: UnsafeBufferPointer<Entry>,
        _ bytes: UnsafePointer<UInt8>
    ) -> Int {
        for entry in entries where entry.length == n && entry.first == p[0] {
            if memcmp(p, bytes + entry.offset, n) == 0 { return entry.index }
        }
        return otherKey
    }
}

/// A fixed block of doubles, one per record field (no allocation, no copy-on-write check).
struct NumberSlots {
    static let capacity = 16
    private var slots:
        (
            Double, Double, Double, Double, Double, Double, Double, Double,
            Double, Double, Double, Double, Double, Double, Double, Double
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    @inline(__always)
    subscript(index: Int) -> Double {
        get { withUnsafeBytes(of: slots) { $0.load(fromByteOffset: index &* 8, as: Double.self) } }
        set {
            withUnsafeMutableBytes(of: &slots) {
                $0.storeBytes(of: newValue, toByteOffset: index &* 8, as: Double.self)
            }
        }
    }
}
