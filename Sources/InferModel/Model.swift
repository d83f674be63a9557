import Platform
/// The simulated model: a small two-layer perceptron over Float32 that generates one
/// token per step, autoregressively. Weights come from a fixed seed, so the same input
/// and token count give the same output on every machine.
///
/// Cost is controlled apart from the answer: each token's forward pass is repeated
/// `passes` times over the same state (as a batch of identical rows would be), so the
/// output never depends on how fast the machine is or on calibration.
public struct Model: Sendable {
    /// Hidden width; also the vocabulary size.
    public static let width = 128
    public static let name = "sim-mlp-2x128"

    private let w1: [Float]
    private let b1: [Float]
    private let w2: [Float]
    private let b2: [Float]
    private let embedding: [Float]

    public init(seed: UInt64 = 0x1F0_2024) {
        var rng = SplitMix64(seed: seed)
        let n = Model.width
        // Uniform in ±sqrt(3/n): unit variance through a layer, so activations neither
        // vanish nor explode over a long generation.
        let scale = (3.0 / Float(n)).squareRoot()
        w1 = (0..<n * n).map { _ in rng.nextFloat(scale: scale) }
        b1 = (0..<n).map { _ in rng.nextFloat(scale: 0.1) }
        w2 = (0..<n * n).map { _ in rng.nextFloat(scale: scale) }
        b2 = (0..<n).map { _ in rng.nextFloat(scale: 0.1) }
        embedding = (0..<n * n).map { _ in rng.nextFloat(scale: 1) }
    }

    /// Generates `tokens` tokens for `input`, running `passes(t)` forward passes for
    /// token t (at least one). Returns the generated token ids.
    public func generate(input: some Collection<UInt8>, tokens: Int, passes: (Int) -> Int) -> [Int] {
        generate(input: input, tokens: tokens) { t, done in done < passes(t) }
    }

    /// Generates `tokens` tokens for `input`; after each forward pass of token t,
    /// `another(t, passesSoFar)` says whether to run one more (at least one runs).
    public func generate(input: some Collection<UInt8>, tokens: Int, another: (Int, Int) -> Bool) -> [Int] {
        let n = Model.width
        var state = [Float](repeating: 0, count: n)
        var hidden = [Float](repeating: 0, count: n)
        var logits = [Float](repeating: 0, count: n)
        // Seed the state from the input bytes (FNV-1a spread over the vector).
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in input {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        var rng = SplitMix64(seed: h)
        for i in 0..<n { state[i] = rng.nextFloat(scale: 1) }

        var out: [Int] = []
        out.reserveCapacity(tokens)
        for t in 0..<tokens {
            var done = 0
            repeat {
                forward(state, hidden: &hidden, logits: &logits)
                done += 1
            } while another(t, done)
            let token = argmax(logits)
            out.append(token)
            // Next step's state: this token's embedding mixed with the current state.
            for i in 0..<n { state[i] = 0.5 * state[i] + embedding[token * n + i] }
        }
        return out
    }

    /// Renders token ids as pronounceable text, so a response looks like an answer.
    public static func text(_ tokens: [Int]) -> String {
        let consonants = Array("bdfghklmnprstvwz".utf8)
        let vowels = Array("aeiouy".utf8) + Array("ao".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 2)
        for token in tokens {
            bytes.append(consonants[(token / 8) % consonants.count])
            bytes.append(vowels[token % 8])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    private func forward(_ x: [Float], hidden: inout [Float], logits: inout [Float]) {
        Model.dense(w1, b1, x, &hidden, relu: true)
        Model.dense(w2, b2, hidden, &logits, relu: false)
    }

    private static func dense(_ w: [Float], _ b: [Float], _ x: [Float], _ y: inout [Float], relu: Bool) {
        let n = width
        w.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    for row in 0..<n {
                        var acc = b[row]
                        let base = row * n
                        for col in 0..<n { acc += w[base + col] * x[col] }
                        y[row] = relu ? max(0, acc) : acc
                    }
                }
            }
        }
    }

    private func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return best
    }
}
