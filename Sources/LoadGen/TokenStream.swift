import JSON
import NIOCore
import Records

/// A completion's response as it arrives: for a stream (`text/event-stream`), each
/// server-sent event is split out as its bytes come, and one that carries text (a
/// non-empty `content` or `text`) is a token, timed on arrival; the usage comes from
/// the chunk that has it. A whole (JSON) response is kept and its usage read at the end.
struct TokenStream {
    private var pending: [UInt8] = []
    private(set) var first: UInt64?
    private(set) var last: UInt64?
    private(set) var events = 0
    private(set) var longestGap: UInt64 = 0
    private(set) var tokensIn: Int?
    private(set) var tokensOut: Int?
    var isEventStream = false

    /// A whole response's body is read for its usage; more than this is not kept.
    static let bodyLimit = 1 << 20

    mutating func feed(_ buffer: ByteBuffer, at now: UInt64) {
        buffer.withUnsafeReadableBytes { pending.append(contentsOf: $0) }
        guard isEventStream else {
            if pending.count > Self.bodyLimit { pending.removeAll() }
            return
        }
        // Events end with a blank line (LF LF, or CR LF CR LF as some servers write).
        var start = 0
        var i = 0
        while i < pending.count {
            guard pending[i] == 0x0A else {
                i += 1
                continue
            }
            var next = i + 1
            if next < pending.count, pending[next] == 0x0D { next += 1 }
            if next < pending.count, pending[next] == 0x0A {
                event(pending[start..<i], at: now)
                start = next + 1
                i = start
            } else {
                i += 1
            }
        }
        if start > 0 { pending.removeFirst(start) }
    }

    /// One event: its `data:` lines (other fields such as `event:` and `id:` aside).
    private mutating func event(_ bytes: ArraySlice<UInt8>, at now: UInt64) {
        for line in bytes.split(separator: 0x0A) {
            var payload = line
            if payload.last == 0x0D { payload = payload.dropLast() }
            guard payload.starts(with: Self.data) else { continue }
            payload = payload.dropFirst(Self.data.count)
            if payload.first == 0x20 { payload = payload.dropFirst() }
            dataLine(payload, at: now)
        }
    }

    private mutating func dataLine(_ payload: ArraySlice<UInt8>, at now: UInt64) {
        if Self.carriesText(payload) {
            if let last { longestGap = max(longestGap, now &- last) } else { first = now }
            last = now
            events += 1
        }
        if let at = Self.value(of: Self.usageKey, in: payload), payload[at] == UInt8(ascii: "{") { readUsage(payload) }
    }

    /// At the end of a whole (JSON) response: its usage.
    mutating func finish() {
        if !isEventStream { readUsage(pending[...]) }
        pending.removeAll()
    }

    private mutating func readUsage(_ bytes: ArraySlice<UInt8>) {
        guard let o = try? JSONObject(parsing: Array(bytes)), let usage = o.object("usage") else { return }
        if case .integer(let n) = usage["prompt_tokens"] { tokensIn = n }
        if case .integer(let n) = usage["completion_tokens"] { tokensOut = n }
    }

    static let data = Array("data:".utf8)
    static let usageKey = Array(#""usage""#.utf8)
    static let textKeys = [Array(#""content""#.utf8), Array(#""text""#.utf8)]

    /// Where the value of the first `key` (quoted) starts, past the colon and any
    /// whitespace (servers differ: `"content":"a"`, `"content": "a"`); nil without one.
    static func value(of key: [UInt8], in payload: ArraySlice<UInt8>) -> Int? {
        var rest = payload
        while let range = rest.firstRange(of: key) {
            var i = range.upperBound
            while i < payload.endIndex, payload[i] == 0x20 || payload[i] == 0x09 { i += 1 }
            if i < payload.endIndex, payload[i] == UInt8(ascii: ":") {
                i += 1
                while i < payload.endIndex, payload[i] == 0x20 || payload[i] == 0x09 { i += 1 }
                return i < payload.endIndex ? i : nil
            }
            rest = payload[range.upperBound...]
        }
        return nil
    }

    /// Whether a chunk carries text: a `content` or `text` that is a non-empty string.
    static func carriesText(_ payload: ArraySlice<UInt8>) -> Bool {
        for key in textKeys {
            if let at = value(of: key, in: payload), payload[at] == 0x22, at + 1 < payload.endIndex,
                payload[at + 1] != 0x22
            {
                return true
            }
        }
        return false
    }

    /// The record's token figures for a response that ended at `end`, scheduled at `due`.
    func tokens(due: UInt64, end: UInt64) -> Record.Tokens {
        var t = Record.Tokens(tokensIn: tokensIn, tokensOut: tokensOut ?? (isEventStream ? events : nil))
        if isEventStream {
            t.ttftMs = first.map { Double($0 &- due) / 1e6 }
            if let first, let last, events > 1 {
                t.itlMs = Double(last &- first) / Double(events - 1) / 1e6
                t.itlMaxMs = Double(longestGap) / 1e6
            }
        } else {
            // The whole answer comes at once: its first token with it.
            t.ttftMs = Double(end &- due) / 1e6
        }
        return t
    }
}
