#if canImport(Glibc)
import Glibc
#endif
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
    let embedding: [Float]

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
        var decoder = Decoder(model: self, input: input)
        var out: [Int] = []
        out.reserveCapacity(tokens)
        for t in 0..<tokens {
            out.append(decoder.next(self) { another(t, $0) })
        }
        return out
    }

    /// One generation's state between tokens, so a server can run a request token by
    /// token and interleave it with others (continuous batching) with the same output
    /// as generating it in one go.
    public struct Decoder: Sendable {
        private var state: [Float]
        private var hidden: [Float]
        private var logits: [Float]
        private var sampler: SplitMix64
        /// 0 (greedy: the most likely token) or a softmax temperature.
        public var temperature: Double
        public private(set) var produced = 0

        /// Starts from `input`; `seed` (0: none) varies the start and the sampling.
        public init(model: Model, input: some Collection<UInt8>, seed: UInt64 = 0, temperature: Double = 0) {
            let n = Model.width
            // Seed the state from the input bytes (FNV-1a spread over the vector).
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in input {
                h = (h ^ UInt64(byte)) &* 0x100_0000_01B3
            }
            var rng = SplitMix64(seed: h ^ seed)
            state = (0..<n).map { _ in rng.nextFloat(scale: 1) }
            hidden = [Float](repeating: 0, count: n)
            logits = [Float](repeating: 0, count: n)
            sampler = SplitMix64(seed: seed ^ 0x5A3D_11E5)
            self.temperature = temperature
        }

        /// Runs forward passes (at least one, then while `another(passesSoFar)`), picks
        /// the next token and feeds it back. `passes: false` runs none: the token is read
        /// off the state (a server told to spend no CPU on the model).
        public mutating func next(_ model: Model, passes: Bool = true, another: (Int) -> Bool) -> Int {
            guard passes else { return advance(model, Model.argmax(state)) }
            var done = 0
            repeat {
                model.forward(state, hidden: &hidden, logits: &logits)
                done += 1
            } while another(done)
            return advance(model, temperature > 0 ? sample() : Model.argmax(logits))
        }

        private mutating func advance(_ model: Model, _ token: Int) -> Int {
            // Next step's state: this token's embedding mixed with the current state.
            let n = Model.width
            for i in 0..<n { state[i] = 0.5 * state[i] + model.embedding[token * n + i] }
            produced += 1
            return token
        }

        /// Runs forward passes over the current state without producing a token (the
        /// CPU a prompt's prefill costs).
        public mutating func burn(_ model: Model, while another: (Int) -> Bool) {
            var done = 0
            while another(done) {
                model.forward(state, hidden: &hidden, logits: &logits)
                done += 1
            }
        }

        private mutating func sample() -> Int {
            let scale = Float(1 / temperature)
            let top = logits.max() ?? 0
            let weights = logits.map { exp(($0 - top) * scale) }
            let total = weights.reduce(0, +)
            var pick = Float(Double(sampler.next() >> 11) / Double(1 << 53)) * total
            for i in weights.indices {
                pick -= weights[i]
                if pick <= 0 { return i }
            }
            return Model.width - 1
        }
    }

    /// One token's text as a completion streams it: a syllable, with a space before
    /// every fourth token's, so a run of tokens reads as words. `text` of a sequence is
    /// not this joined: /infer's output format predates it and stays as it was.
    public static func piece(_ token: Int) -> String {
        let consonants = Array("bdfghklmnprstvwz".utf8)
        let vowels = Array("aeiouy".utf8) + Array("ao".utf8)
        let syllable = [consonants[(token / 8) % consonants.count], vowels[token % 8]]
        return String(decoding: (token % 4 == 0 ? [0x20] : []) + syllable, as: UTF8.self)
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
    func forward(_ x: [Float], hidden: inout [Float], logits: inout [Float]) {
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

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return best
    }
}
