import CJansson

/// A JSON value as the tools exchange it: objects of scalars.
public enum JSONValue: Equatable, Sendable {
    case missing
    case null
    case bool(Bool)
    case integer(Int)
    case real(Double)
    case string(String)
    /// An array or object nested inside; the tools read none, so its content is not kept.
    case nested

    /// The value as a number, whether written as an integer or a real.
    public var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .real(let d): d
        default: nil
        }
    }
}

/// Why a line is not a JSON object; `column` is 1-based, as jansson reports it.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public let column: Int
    public var description: String { column > 0 ? "\(message) (column \(column))" : message }
}

/// A JSON object held by jansson: parse one from bytes, read its fields, or build
/// one and serialize it. Keys keep their insertion order (jansson ≥ 2.8).
///
/// Not `Sendable`: it is mutable, and objects taken from one parsed tree share its
/// nodes. To hand one to another task, send it (`sending`) from a region nothing else
/// keeps: a fresh parse, or `copy()`.
public final class JSONObject {
    private let root: UnsafeMutablePointer<json_t>

    /// An empty object, to build.
    public init() {
        root = json_object()
    }

    /// Parses `bytes` (one document, nothing after it but whitespace); the top level must be an object.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(JSONParseError) {
        var error = json_error_t()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else {
            throw JSONParseError(message: "empty input", column: 0)
        }
        guard let parsed = json_loadb(base, bytes.count, 0, &error) else {
            let message = withUnsafeBytes(of: &error.text) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw JSONParseError(message: message, column: Int(error.column))
        }
        guard parsed.pointee.type == JSON_OBJECT else {
            json_decref(parsed)
            throw JSONParseError(message: "not a JSON object", column: 1)
        }
        root = parsed
    }

    public convenience init(parsing bytes: some Collection<UInt8>) throws(JSONParseError) {
        let array = Array(bytes)
        let result = array.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) in try JSONObject(parsing: raw) }
        }
        self.init(taking: try result.get())
    }

    private init(taking other: JSONObject) {
        root = json_incref(other.root)
    }

    /// Shares a child object of a parsed tree (reference counted by jansson).
    private init(retaining child: UnsafeMutablePointer<json_t>) {
        root = json_incref(child)
    }

    /// A deep copy that shares nothing with this object, so it can be sent to another task.
    public func copy() -> sending JSONObject {
        // Through bytes, which are Sendable, so the compiler sees that the copy shares
        // nothing (json_deep_copy's pointer would count as part of this object).
        do { return try JSONObject(parsing: serialized()) } catch {
            preconditionFailure("jansson cannot read its own output: \(error)")
        }
    }

    /// The object at `key`, or nil when it is missing or not an object.
    public func object(_ key: String) -> JSONObject? {
        guard let child = json_object_get(root, key), child.pointee.type == JSON_OBJECT else { return nil }
        return JSONObject(retaining: child)
    }

    /// The objects in the array at `key` (other elements skipped); empty when missing.
    public func objects(_ key: String) -> [JSONObject] {
        guard let array = json_object_get(root, key), array.pointee.type == JSON_ARRAY else { return [] }
        return (0..<json_array_size(array)).compactMap { i in
            guard let item = json_array_get(array, i), item.pointee.type == JSON_OBJECT else { return nil }
            return JSONObject(retaining: item)
        }
    }

    /// The elements of the array at `key` (objects and arrays among them as `.nested`);
    /// nil when it is missing or not an array.
    public func array(_ key: String) -> [JSONValue]? {
        guard let array = json_object_get(root, key), array.pointee.type == JSON_ARRAY else { return nil }
        return (0..<json_array_size(array)).map { JSONObject.decode(json_array_get(array, $0)) }
    }

    /// The scalar at a path of keys through nested objects, e.g. ["status", "replicas"].
    public subscript(path: [String]) -> JSONValue {
        guard let last = path.last else { return .missing }
        var node: JSONObject? = self
        for key in path.dropLast() { node = node?.object(key) }
        return node?[last] ?? .missing
    }

    /// The keys, in order.
    public var keys: [String] {
        var out: [String] = []
        var iter = json_object_iter(root)
        while let it = iter {
            out.append(String(cString: json_object_iter_key(it)))
            iter = json_object_iter_next(root, it)
        }
        return out
    }

    deinit { json_decref(root) }

    /// The value at `key`, or `.missing`.
    public subscript(key: String) -> JSONValue {
        guard let value = json_object_get(root, key) else { return .missing }
        return JSONObject.decode(value)
    }

    /// Sets `key`; `.missing` removes it.
    public func set(_ key: String, _ value: JSONValue) {
        let encoded: UnsafeMutablePointer<json_t>?
        switch value {
        case .missing:
            json_object_del(root, key)
            return
        case .null, .nested: encoded = json_null()
        case .bool(let b): encoded = b ? json_true() : json_false()
        case .integer(let i): encoded = json_integer(json_int_t(i))
        case .real(let d): encoded = d.isFinite ? json_real(d) : json_null()
        case .string(let s):
            encoded =
                s.utf8.withContiguousStorageIfAvailable { buf in
                    buf.withMemoryRebound(to: CChar.self) { json_stringn_nocheck($0.baseAddress, $0.count) }
                } ?? json_string_nocheck(s)
        }
        json_object_set_new(root, key, encoded)
    }

    /// Sets `key` to a nested object (copied by reference count; do not change it after).
    public func set(_ key: String, object child: JSONObject) {
        json_object_set(root, key, child.root)
    }

    /// Sets `newKey` (default `key`) to `other`'s value at `key` (nested values shared by
    /// reference count); nothing when `other` has none.
    public func copy(_ key: String, from other: JSONObject, as newKey: String? = nil) {
        guard let value = json_object_get(other.root, key) else { return }
        json_object_set(root, newKey ?? key, value)
    }

    /// Sets `key` to an array of objects.
    public func set(_ key: String, objects children: [JSONObject]) {
        let array = json_array()
        for child in children { json_array_append(array, child.root) }
        json_object_set_new(root, key, array)
    }

    /// Compact serialization, no trailing newline. Reals get `realPrecision`
    /// significant digits (jansson's JSON_REAL_PRECISION; 17 round-trips a Double).
    public func serialized(realPrecision: Int = 17) -> [UInt8] {
        let flags = JSONObject.dumpFlags(realPrecision: realPrecision)
        let size = json_dumpb(root, nil, 0, flags)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = buffer.withMemoryRebound(to: CChar.self) { json_dumpb(root, $0.baseAddress, size, flags) }
        }
    }

    static func dumpFlags(realPrecision: Int) -> Int {
        // JSON_REAL_PRECISION(n) is a function-like macro, which Swift does not import.
        Int(JSON_COMPACT) | ((realPrecision & 0x1F) << 11)
    }

    static func decode(_ value: UnsafeMutablePointer<json_t>) -> JSONValue {
        switch value.pointee.type {
        case JSON_NULL: return .null
        case JSON_TRUE: return .bool(true)
        case JSON_FALSE: return .bool(false)
        case JSON_INTEGER: return .integer(Int(json_integer_value(value)))
        case JSON_REAL: return .real(json_real_value(value))
        case JSON_STRING:
            let length = json_string_length(value)
            guard let chars = json_string_value(value) else { return .string("") }
            return .string(
                chars.withMemoryRebound(to: UInt8.self, capacity: length) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                })
        default: return .nested
        }
    }
}

// Not Sendable on purpose (see the type's comment); this keeps any module from declaring it.
@available(*, unavailable)
extension JSONObject: Sendable {}
