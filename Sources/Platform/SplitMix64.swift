/// A tiny seeded generator (SplitMix64): the model's weights must be the same on every
/// machine and every run, which `SystemRandomNumberGenerator` cannot give.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A Float32 uniform in [-scale, scale), from the top 24 bits.
    public mutating func nextFloat(scale: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return (unit * 2 - 1) * scale
    }
}
