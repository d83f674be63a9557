@_spi(Fuzzing) import Records
import Testing

/// A differential fuzz test of the record decoder: the fast path claims to accept only
/// valid JSON and to read it as jansson does. Mutated record lines (bit flips, cuts,
/// inserted bytes, escapes, exponents, huge numbers, deep nesting, duplicate keys) go to
/// both; wherever the fast path gives a verdict, jansson must give the same one with the
/// same values. Seeded, so a failure names a line that reproduces it.
@Suite struct RecordDecoderFuzzTests {
    /// xorshift64*: small, seeded, good enough to pick mutations.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let seeds: [String] = [
        #"{"ts":1764374400.123456,"seq":0,"latency_ms":12.345,"service_ms":11.002,"status":200,"bytes":187,"error":null,"pod":"dev-inference-sim-7d9f-abcde"}"#,
        #"{"ts":1764374400.5,"seq":17,"latency_ms":0.000,"service_ms":0.000,"status":0,"bytes":0,"error":"connect","pod":null}"#,
        #"{"ts":1,"latency_ms":3,"status":503,"error":null}"#,
        #"{ "ts" : 2.25 , "latency_ms" : 1e2 , "status" : 200 , "error" : "timeout" , "gen" : 3 }"#,
        #"{"ts":1764374400,"seq":1,"latency_ms":-0.0,"service_ms":null,"status":204,"bytes":0,"error":null,"pod":"p\u00e9","x":[1,{"y":2}]}"#,
        #"{"ts":10.0,"latency_ms":5,"status":200,"error":null,"ts":11.5,"pod":"a","pod":"b"}"#,
    ]

    /// Bytes worth inserting: JSON's own syntax, digits, escapes, UTF-8 and what is not.
    static let alphabet: [[UInt8]] =
        [
            "\"", "\\", "{", "}", "[", "]", ":", ",", " ", "\t", "\r", "-", "+", ".", "e", "E", "0", "1", "9",
            "n", "t", "f", "null", "true", "\\u0000", "\\u00e9", "\\ud800", "\\n", "é", "1e309", "-0",
            "123456789012345678901234567890", "0.0000000000000000000001", "9007199254740993",
        ].map { Array($0.utf8) }
        + [[0x00], [0x7F], [0x80], [0xC3], [0xFF], [0xEF, 0xBB, 0xBF], [0xED, 0xA0, 0x80]]

    static func mutate(_ line: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = line
        for _ in 0..<(1 + random.below(3)) {
            guard !bytes.isEmpty else { break }
            let at = random.below(bytes.count)
            switch random.below(8) {
            case 0: bytes[at] ^= UInt8(1 << random.below(8))  // bit flip
            case 1: bytes.removeSubrange(at...)  // truncation
            case 2: bytes.insert(contentsOf: random.pick(alphabet), at: at)  // inserted bytes
            case 3: bytes.remove(at: at)  // deleted byte
            case 4: bytes[at] = random.pick(alphabet)[0]  // replaced byte
            case 5:  // a digit run made huge or an exponent
                if let d = bytes[at...].firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) {
                    bytes.insert(
                        contentsOf: random.pick([
                            Array("e5".utf8), Array("E-3".utf8), Array("000000000000000000".utf8), Array(".5".utf8),
                        ]), at: d + 1)
                }
            case 6:  // a key spelled with an escape
                if let k = bytes.firstIndex(of: UInt8(ascii: "t")) {
                    bytes.replaceSubrange(k...k, with: Array("\\u0074".utf8))
                }
            default:  // deep nesting as a value
                let depth = random.pick([2, 64, 5000])
                if let colon = bytes[at...].firstIndex(of: UInt8(ascii: ":")) {
                    bytes.insert(
                        contentsOf: [UInt8](repeating: UInt8(ascii: "["), count: depth)
                            + [UInt8](repeating: UInt8(ascii: "]"), count: depth) + Array(",".utf8), at: colon + 1)
                }
            }
        }
        return bytes
    }

    /// Every field a decoder read (null included): the schema's whole record, tokens too.
    struct Values: Equatable, CustomStringConvertible {
        let fields: [RecordField: FieldValue]
        init(_ d: RecordDecoder) { fields = d.values() }
        var description: String { "\(fields.sorted { $0.key.rawValue < $1.key.rawValue })" }
    }

    @Test func fastPathAgreesWithJansson() {
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var fastVerdicts = 0, fastAccepted = 0, handedOn = 0, disagreements: [String] = []
        for round in 0..<40_000 {
            let seed = Array(Self.seeds[round % Self.seeds.count].utf8)
            let line = round < Self.seeds.count ? seed : Self.mutate(seed, &random)
            var fast = RecordDecoder(), slow = RecordDecoder(), both = RecordDecoder()
            let (fastVerdict, slowVerdict, combined) = line.withUnsafeBytes { bytes in
                (fast.decodeFastPathOnly(bytes), slow.decodeJanssonOnly(bytes), both.decode(bytes))
            }
            // The decoder as used must always say what jansson says.
            if (combined == nil) != (slowVerdict == nil) || (combined == nil && Values(both) != Values(slow)) {
                disagreements.append("decode vs jansson: \(String(decoding: line, as: UTF8.self))")
            }
            guard let fastVerdict else { handedOn += 1; continue }
            fastVerdicts += 1
            if fastVerdict == nil { fastAccepted += 1 }
            if (fastVerdict == nil) != (slowVerdict == nil) {
                disagreements.append(
                    "verdict fast=\(fastVerdict?.description ?? "ok") jansson=\(slowVerdict?.description ?? "ok"): \(String(decoding: line, as: UTF8.self))"
                )
            } else if fastVerdict == nil, Values(fast) != Values(slow) {
                disagreements.append(
                    "values fast=\(Values(fast)) jansson=\(Values(slow)): \(String(decoding: line, as: UTF8.self))")
            }
            if disagreements.count > 10 { break }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        // Not vacuous: both paths saw many lines, and the fast path accepted many.
        #expect(fastAccepted > 1_500, "fast path accepted only \(fastAccepted)")
        #expect(fastVerdicts - fastAccepted > 500, "fast path rejected only \(fastVerdicts - fastAccepted) by itself")
        #expect(handedOn > 5_000, "fast path handed on only \(handedOn)")
    }
}
