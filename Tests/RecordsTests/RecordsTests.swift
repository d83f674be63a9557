import Foundation
import JSON
@_spi(Fuzzing) import Records
import Testing

@Suite struct JSONObjectTests {
    @Test func readsEveryScalarType() throws {
        let object = try JSONObject(
            parsing: Array(#"{"s":"héllo","i":-3,"r":2.5,"t":true,"f":false,"n":null,"a":[1],"o":{}}"#.utf8))
        #expect(object["s"] == .string("héllo"))
        #expect(object["i"] == .integer(-3))
        #expect(object["r"] == .real(2.5))
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["n"] == .null)
        #expect(object["a"] == .nested)
        #expect(object["o"] == .nested)
        #expect(object["zz"] == .missing)
        #expect(object["i"].number == -3)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,2]", "42", "{\"a\":1} x", "nul"])
    func rejectsWhatIsNotOneObject(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONObject(parsing: Array(text.utf8)) }
    }

    @Test func errorsCarryAColumn() {
        do {
            _ = try JSONObject(parsing: Array(#"{"a": tru}"#.utf8))
            Issue.record("parsed invalid JSON")
        } catch {
            #expect(error.column > 1)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func serializesInInsertionOrderAndRoundTrips() throws {
        let object = JSONObject()
        object.set("z", .integer(1))
        object.set("a", .string("q\"uote\n"))
        object.set("m", .real(0.125))
        object.set("n", .null)
        object.set("b", .bool(false))
        let text = String(decoding: object.serialized(), as: UTF8.self)
        #expect(text == #"{"z":1,"a":"q\"uote\n","m":0.125,"n":null,"b":false}"#)
        let back = try JSONObject(parsing: Array(text.utf8))
        #expect(back["a"] == .string("q\"uote\n"))
        #expect(back["m"] == .real(0.125))
    }

    @Test func realPrecisionLimitsDigits() {
        let object = JSONObject()
        object.set("x", .real(1.0 / 3.0))
        #expect(String(decoding: object.serialized(realPrecision: 4), as: UTF8.self) == #"{"x":0.3333}"#)
        object.set("x", .real(.nan))
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"x":null}"#)
    }
}

@Suite struct RecordEncoderTests {
    @Test func writesTheContractKeysInOrder() throws {
        let record = Record(
            ts: 1_795_920_319.002194, seq: 7, latencyMs: 12.3456, serviceMs: 0.0004, status: 200, bytes: 120,
            error: nil, pod: "dev-inference-sim-abc")
        let line = String(decoding: RecordEncoder.line(record), as: UTF8.self)
        #expect(
            line
                == #"{"ts":1795920319.002194,"seq":7,"latency_ms":12.346,"service_ms":0.000,"status":200,"bytes":120,"error":null,"pod":"dev-inference-sim-abc"}"#
                + "\n")
        let back = try JSONObject(parsing: Array(line.utf8.dropLast()))
        #expect(back["seq"] == .integer(7))
        #expect(back["error"] == .null)
    }

    @Test func escapesOddStringsThroughJansson() throws {
        let record = Record(
            ts: 0, seq: 0, latencyMs: 0, serviceMs: 0, status: 0, bytes: 0, error: "overload", pod: "a\"b\\c\nd é")
        let line = RecordEncoder.line(record)
        let back = try JSONObject(parsing: line.dropLast())
        #expect(back["pod"] == .string("a\"b\\c\nd é"))
        #expect(back["error"] == .string("overload"))
        #expect(back["status"] == .integer(0))
    }

    /// A completion's record: the token keys after the contract's, nulls where unknown.
    @Test func writesTokenKeysOnlyForCompletions() throws {
        var record = Record(
            ts: 10, seq: 1, latencyMs: 80, serviceMs: 79, status: 200, bytes: 900, error: nil, pod: "p",
            tokens: Record.Tokens(ttftMs: 25.5, itlMs: 5.25, itlMaxMs: nil, tokensIn: 40, tokensOut: 10))
        let line = String(decoding: RecordEncoder.line(record), as: UTF8.self)
        #expect(
            line.hasSuffix(
                #","pod":"p","ttft_ms":25.500,"itl_ms":5.250,"itl_max_ms":null,"tokens_in":40,"tokens_out":10}"# + "\n"),
            "\(line)")
        record.tokens = nil
        #expect(!String(decoding: RecordEncoder.line(record), as: UTF8.self).contains("ttft"))
    }
}

/// The schema is the record: what the encoder writes, both decoder paths read back, and
/// the man page lists, field by field.
@Suite struct RecordSchemaTests {
    static let records: [Record] = [
        Record(
            ts: 1_795_920_319.002194, seq: 7, latencyMs: 12.5, serviceMs: 0.25, status: 200, bytes: 120, error: nil,
            pod: "dev-inference-sim-abc"),
        Record(
            ts: 3, seq: 0, latencyMs: 0, serviceMs: 0, status: 0, bytes: 0, error: "connect", pod: nil, connectMs: 1.5),
        Record(
            ts: 10, seq: 1, latencyMs: 80, serviceMs: 79, status: 200, bytes: 900, error: nil, pod: "pé\"",
            tokens: Record.Tokens(ttftMs: 25.5, itlMs: nil, itlMaxMs: 9.125, tokensIn: 40, tokensOut: nil)),
    ]

    /// Encode, then decode on each path: every field the schema says the record carries
    /// comes back, with its value, and no other.
    @Test(arguments: records)
    func everyFieldRoundTripsOnBothPaths(record: Record) {
        var expected: [RecordField: FieldValue] = [:]
        for field in RecordField.allCases {
            expected[field] = field.spec.value(in: record)
        }
        let line = Array(RecordEncoder.line(record).dropLast())
        var fast = RecordDecoder(), slow = RecordDecoder()
        let verdicts = line.withUnsafeBytes { (fast.decode($0), slow.decodeJanssonOnly($0)) }
        #expect(verdicts.0 == nil && verdicts.1 == nil)
        #expect(fast.values() == expected, "fast path: \(fast.values())")
        #expect(slow.values() == expected, "jansson: \(slow.values())")
    }

    @Test func fieldsAreDeclaredInOrderWithDistinctKeys() {
        #expect(RecordSchema.fields.count == RecordField.allCases.count)
        #expect(Set(RecordSchema.fields.map(\.key)).count == RecordSchema.fields.count)
        #expect(RecordField.allCases.count <= 16, "RecordDecoder's NumberSlots holds 16 fields")
        let required = RecordSchema.fields.filter { $0.presence != .optional }.map(\.key)
        #expect(required == ["ts", "latency_ms", "status", "error"])
    }

    /// infer-records(5) lists the schema's keys in the schema's order, each with its
    /// type, and names the required ones.
    @Test func manPageListsTheSchema() throws {
        let page = try manPage()
        let list = try #require(
            page.components(separatedBy: ".Sh DESCRIPTION").last?
                .components(separatedBy: ".El").first)
        var keys: [String] = [], types: [String] = []
        let lines = list.components(separatedBy: "\n")
        for (i, line) in lines.enumerated() where line.hasPrefix(".It Li ") {
            let names = line.dropFirst(".It Li ".count).split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            keys += names
            let type = String(lines[i + 1].prefix { $0.isLetter })
            types += Array(repeating: type, count: names.count)
        }
        #expect(keys == RecordSchema.fields.map(\.key))
        for (spec, type) in zip(RecordSchema.fields, types) {
            let word = spec.kind.typeWord
            #expect(type == word || type == word + "s", "\(spec.key): the man page says \(type), the schema \(word)")
        }
        let requires = try #require(page.components(separatedBy: "requires\n").dropFirst().first)
        let named = requires.components(separatedBy: "\nreads the others").first ?? ""
        let requiredKeys = named.components(separatedBy: "\n").compactMap { line -> String? in
            line.hasPrefix(".Li ") ? String(line.dropFirst(4).prefix { $0 != " " }) : nil
        }
        #expect(requiredKeys == RecordSchema.fields.filter { $0.presence != .optional }.map(\.key))
    }

    func manPage() throws -> String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return try String(contentsOfFile: parts.joined(separator: "/") + "/man/man5/infer-records.5", encoding: .utf8)
    }
}
