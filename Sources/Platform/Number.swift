/// Number formatting without Foundation: fixed decimals, and the shortest form.
public enum Number {
    /// `v` with exactly `decimals` digits after the point.
    public static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(v) * scale).rounded()
        let whole = (scaled / scale).rounded(.down)
        var text = (v < 0 && scaled > 0 ? "-" : "") + String(Int64(whole))
        if decimals > 0 {
            let frac = Int64(scaled - whole * scale)
            let digits = String(frac)
            text += "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
        }
        return text
    }

    /// Shortest form: 99.9 → "99.9", 50.0 → "50".
    public static func trimmed(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
