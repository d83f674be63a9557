/// Durations as people write them on a command line: "90" (seconds), "90s", "1.5m",
/// "2h", "250ms".
public enum DurationText {
    /// Seconds, or nil when `text` is not a non-negative duration.
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v.isFinite, v >= 0 else { return nil }
            return v * scale
        }
        guard let v = Double(text), v.isFinite, v >= 0 else { return nil }
        return v
    }
}
