#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSONLines
import Logging

/// swift-log handler writing one JSON object per line to stderr:
/// `{"ts":…,"level":…,"label":…,"msg":…, metadata…}`. Each line is one write(2),
/// so lines from concurrent threads never interleave.
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

    public func log(event: LogEvent) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let object = JSONObject()
        object.set("ts", .real(Double(ts.tv_sec) + Double(ts.tv_nsec / 1000) / 1e6))
        object.set("level", .string(event.level.rawValue))
        object.set("label", .string(label))
        object.set("msg", .string(event.message.description))
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            object.set(key, .string(value.description))
        }
        var line = object.serialized(realPrecision: 16)
        line.append(0x0A)
        line.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    }
}
