#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON
import Logging
import Platform

/// swift-log handler writing one JSON object per line to stderr:
/// `{"ts":…,"level":…,"label":…,"msg":…, metadata…}`. Lines are handed whole to a
/// writer thread, so lines from concurrent threads never interleave and a log line
/// (the access log's, at thousands a second) never blocks a request on a slow reader:
/// past 1 MiB behind, lines are dropped and counted, and the count is logged once the
/// reader catches up. Call `JSONLogHandler.flush()` before the process exits.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let fd: Int32

    public init(label: String, level: Logger.Level = .info, fd: Int32 = 2) {
        self.label = label
        self.logLevel = level
        self.fd = fd
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The one writer for every handler (every label) writing to stderr.
    static let stderrWriter = BackgroundWriter(fd: 2, capacity: 1 << 20, whenFull: .drop) { dropped in
        let notice = line(
            level: "warning", label: "infer-serve", message: "log lines dropped: stderr is read too slowly")
        notice.set("dropped", .integer(dropped))
        return notice.serialized(realPrecision: 16) + [0x0A]
    }

    /// A log line's first fields, in the order every line has them (µs timestamps).
    static func line(level: String, label: String, message: String) -> JSONObject {
        let object = JSONObject()
        object.set("ts", .real((CPUClock.wallSeconds() * 1e6).rounded(.down) / 1e6))
        object.set("level", .string(level))
        object.set("label", .string(label))
        object.set("msg", .string(message))
        return object
    }

    /// Writes out every line logged so far.
    public static func flush() { stderrWriter.finish() }

    public func log(event: LogEvent) {
        let object = Self.line(level: event.level.rawValue, label: label, message: event.message.description)
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            object.set(key, .string(value.description))
        }
        var line = object.serialized(realPrecision: 16)
        line.append(0x0A)
        guard fd == 2 else {
            line.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            return
        }
        Self.stderrWriter.submit(&line)
    }
}
