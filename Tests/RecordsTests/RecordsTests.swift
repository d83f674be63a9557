import JSON
import Records
import Testing

@Suite struct JSONObjectTests {
    @Test func readsEveryScalarType() throws {
        let object = try JSONObject(parsing: Array(#"{"s":"héllo","i":-3,"r":2.5,"t":true,"f":false,"n":null,"a":[1],"o":{}}"#.utf8))
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
        let record = Record(ts: 1_795_920_319.002194, seq: 7, latencyMs: 12.3456, serviceMs: 0.0004, status: 200, bytes: 120, error: nil, pod: "dev-inference-sim-abc")
        let line = String(decoding: RecordEncoder.line(record), as: UTF8.self)
        #expect(line == #"{"ts":1795920319.002194,"seq":7,"latency_ms":12.346,"service_ms":0.000,"status":200,"bytes":120,"error":null,"pod":"dev-inference-sim-abc"}"# + "\n")
        let back = try JSONObject(parsing: Array(line.utf8.dropLast()))
        #expect(back["seq"] == .integer(7))
        #expect(back["error"] == .null)
    }

    @Test func escapesOddStringsThroughJansson() throws {
        let record = Record(ts: 0, seq: 0, latencyMs: 0, serviceMs: 0, status: 0, bytes: 0, error: "overload", pod: "a\"b\\c\nd é")
        let line = RecordEncoder.line(record)
        let back = try JSONObject(parsing: line.dropLast())
        #expect(back["pod"] == .string("a\"b\\c\nd é"))
        #expect(back["error"] == .string("overload"))
        #expect(back["status"] == .integer(0))
    }

    /// A completion's record: the token keys after the contract's, nulls where unknown.
    @Test func writesTokenKeysOnlyForCompletions() throws {
        var record = Record(ts: 10, seq: 1, latencyMs: 80, serviceMs: 79, status: 200, bytes: 900, error: nil, pod: "p",
                            tokens: Record.Tokens(ttftMs: 25.5, itlMs: 5.25, itlMaxMs: nil, tokensIn: 40, tokensOut: 10))
        let line = String(decoding: RecordEncoder.line(record), as: UTF8.self)
        #expect(line.hasSuffix(#","pod":"p","ttft_ms":25.500,"itl_ms":5.250,"itl_max_ms":null,"tokens_in":40,"tokens_out":10}"# + "\n"), "\(line)")
        record.tokens = nil
        #expect(!String(decoding: RecordEncoder.line(record), as: UTF8.self).contains("ttft"))
    }
}
