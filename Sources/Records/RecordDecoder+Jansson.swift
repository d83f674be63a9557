import JSON

/// The slow path: jansson parses the line and has the last word (and the message);
/// and each path alone, for the differential test and the fuzzer.
extension RecordDecoder {
    /// The fast path alone, for the differential test and fuzzer: nil when it hands the
    /// line on, else its verdict (the fields hold what it read).
    @_spi(Fuzzing) public mutating func decodeFastPathOnly(_ line: UnsafeRawBufferPointer) -> Malformed?? {
        reset()
        guard scan(line) else { return nil }
        return .some(check())
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
        for (index, spec) in RecordSchema.fields.enumerated() {
            if let problem = take(object[spec.key], index, spec) { return problem }
        }
        return check()
    }

    /// Keeps one field's parsed value, or says what it must be.
    private mutating func take(_ value: JSONValue, _ index: Int, _ spec: FieldSpec) -> Malformed? {
        let bit = RecordFieldSet(rawValue: 1 << UInt32(index))
        let wrongType = Malformed("\"\(spec.key)\" must be \(spec.kind.article)\(spec.nullable ? " or null" : "")")
        switch (value, spec.kind) {
        case (.missing, _): return nil
        case (.null, _):
            guard spec.nullable else { return wrongType }
        case (.integer(let i), .unixSeconds), (.integer(let i), .milliseconds), (.integer(let i), .integer):
            numbers[index] = Double(i)
            valuesSet.formUnion(bit)
        case (.real(let d), .unixSeconds), (.real(let d), .milliseconds):
            numbers[index] = d
            valuesSet.formUnion(bit)
        case (.string(let text), .string):
            strings[index] = Array(text.utf8)
            valuesSet.formUnion(bit)
        default:
            return wrongType
        }
        keysSeen.formUnion(bit)
        return nil
    }
}

extension FieldSpec.Kind {
    /// The JSON type, as the man page names it.
    public var typeWord: String {
        switch self {
        case .unixSeconds, .milliseconds: "number"
        case .integer: "integer"
        case .string: "string"
        }
    }

    /// The type, as "must be …" says it.
    var article: String { (typeWord == "integer" ? "an " : "a ") + typeWord }
}
