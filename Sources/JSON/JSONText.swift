import CJansson

/// JSON strings written straight into a byte buffer: the hot paths (a record per
/// request, a server-sent event per token) append to bytes rather than build a tree.
public enum JSONText {
    /// `value` as a JSON string, quotes included (`null` for nil). Plain ASCII is copied;
    /// anything that needs escaping (rare) goes through jansson.
    public static func appendString(_ value: String?, to out: inout [UInt8]) {
        guard let value else {
            out.append(contentsOf: "null".utf8)
            return
        }
        let plain = value.utf8.allSatisfy {
            $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x7F
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        guard let json = json_string_nocheck(value) else {
            out.append(contentsOf: "null".utf8)
            return
        }
        defer { json_decref(json) }
        let flags = Int(JSON_ENCODE_ANY)
        let size = json_dumpb(json, nil, 0, flags)
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = buffer.withMemoryRebound(to: CChar.self) { json_dumpb(json, $0.baseAddress, size, flags) }
        }
        out.append(contentsOf: bytes)
    }
}
