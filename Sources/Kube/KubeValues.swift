import FoundationEssentials

/// The two value forms of the Kubernetes API that kube-watch turns into numbers.
public enum KubeValues {
    /// A resource quantity ("179165741n", "172909u", "174m", "2", "3668Ki", "1.5Gi")
    /// as a plain number: cores for CPU, bytes for memory. Nil when unreadable.
    public static func quantity(_ text: String) -> Double? {
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
            ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
        ]
        // Divided, not multiplied by 1e-9: "179165741n" is then exactly 0.179165741.
        let fractions: [(String, Double)] = [("n", 1e9), ("u", 1e6), ("m", 1e3)]
        for (suffix, divisor) in fractions where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v.isFinite else { return nil }
            return v / divisor
        }
        for (suffix, scale) in suffixes where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v.isFinite else { return nil }
            return v * scale
        }
        guard let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// An RFC 3339 time as the API server writes it ("2026-11-30T00:40:53Z", or with
    /// fractional seconds for MicroTime) in Unix seconds. Nil when unreadable.
    public static func time(_ text: String) -> Double? {
        if let date = try? Date(text, strategy: .iso8601) { return date.timeIntervalSince1970 }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return (try? Date(text, strategy: fractional))?.timeIntervalSince1970
    }
}
