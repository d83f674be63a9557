import InferModel
import Platform
import Testing

@Suite struct ModelTests {
    let model = Model()

    @Test func sameInputSameOutput() {
        let a = model.generate(input: Array("hello".utf8), tokens: 8) { _ in 1 }
        let b = Model().generate(input: Array("hello".utf8), tokens: 8) { _ in 1 }
        #expect(a == b)
        #expect(a.count == 8)
        #expect(a.allSatisfy { (0..<Model.width).contains($0) })
    }

    @Test func differentInputsDiffer() {
        let outputs = Set(
            ["a", "b", "hello", "world", ""].map { model.generate(input: Array($0.utf8), tokens: 6) { _ in 1 } })
        #expect(outputs.count >= 4)
    }

    @Test func outputDoesNotDependOnCost() {
        // Calibration changes the pass count per machine; the answer must not change.
        let cheap = model.generate(input: Array("x".utf8), tokens: 5) { _ in 1 }
        let costly = model.generate(input: Array("x".utf8), tokens: 5) { t in 3 + t }
        #expect(cheap == costly)
    }

    @Test func textIsTwoLettersPerToken() {
        #expect(Model.text([0, 8, 127]).count == 6)
        #expect(Model.text([]) == "")
    }

    @Test func passesScaleWithTokensAndWork() {
        let workload = Workload(model: model, calibration: Calibration(passesPerMs: 10))
        #expect(workload.passes(tokens: 1, workMs: 5) == 50)
        #expect(workload.passes(tokens: 4, workMs: 5) == 200)
        #expect(workload.passes(tokens: 2, workMs: 5, costFactor: 1.5) == 150)
        // Never below one pass per token.
        #expect(workload.passes(tokens: 7, workMs: 0.001) == 7)
    }

    @Test func runBurnsItsCPUBudget() {
        let workload = Workload(model: model, calibration: .measure(model: model, rounds: 2, roundMs: 10))
        let one = workload.run(input: [1], tokens: 1, cpuBudgetNanos: workload.budgetNanos(tokens: 1, workMs: 5))
        let eight = workload.run(input: [1], tokens: 8, cpuBudgetNanos: workload.budgetNanos(tokens: 8, workMs: 5))
        #expect(workload.budgetNanos(tokens: 8, workMs: 5) == 40_000_000)
        // At least the budget, and not far past it (generous: a shared machine).
        #expect(one.cpuSeconds >= 0.005 && one.cpuSeconds < 0.05)
        #expect(eight.cpuSeconds >= 0.040 && eight.cpuSeconds < 0.4)
        #expect(eight.passes > one.passes * 3)
        // The output is the model's, whatever the budget.
        let fixed = workload.run(input: [1], tokens: 8, passes: 8)
        #expect(eight.tokens == fixed.tokens)
    }

    @Test func runCostsCPUInProportionToPasses() {
        let workload = Workload(model: model, calibration: .measure(model: model, rounds: 2, roundMs: 10))
        let one = workload.run(input: [1], tokens: 1, passes: workload.passes(tokens: 1, workMs: 5))
        let eight = workload.run(input: [1], tokens: 8, passes: workload.passes(tokens: 8, workMs: 5))
        #expect(one.tokens.count == 1 && eight.tokens.count == 8)
        // Generous bounds: CPU timing on a shared machine is only roughly proportional.
        #expect(eight.cpuSeconds > one.cpuSeconds * 3)
        #expect(eight.cpuSeconds < one.cpuSeconds * 30)
        #expect(one.cpuSeconds > 0.001 && one.cpuSeconds < 0.1)
    }

    @Test func jitterHasMeanOneAndSpread() {
        var rng = SplitMix64(seed: 7)
        let jitter = Jitter(sigma: 0.5)
        let draws = (0..<20_000).map { _ in jitter.factor(using: &rng) }
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - 1) < 0.05)
        #expect(draws.min()! < 0.5 && draws.max()! > 2)
        #expect(Jitter(sigma: 0).factor(using: &rng) == 1)
    }

    @Test func splitMixIsRepeatable() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
    }

    /// Token by token (as the OpenAI endpoints run it) gives what one call gives.
    @Test func decoderStepsMatchGenerate() {
        let model = Model()
        let input = Array("interleave me".utf8)
        let whole = model.generate(input: input, tokens: 12) { _ in 3 }
        var decoder = Model.Decoder(model: model, input: input)
        let stepped = (0..<12).map { _ in decoder.next(model) { $0 < 3 } }
        #expect(stepped == whole && decoder.produced == 12)
        // A seed changes the start; sampling with a temperature is seeded too.
        var seeded = Model.Decoder(model: model, input: input, seed: 9, temperature: 0.8)
        var again = Model.Decoder(model: model, input: input, seed: 9, temperature: 0.8)
        let a = (0..<12).map { _ in seeded.next(model) { _ in false } },
            b = (0..<12).map { _ in again.next(model) { _ in false } }
        #expect(a == b && a != whole)
    }

    /// Words and punctuation, long words in pieces of eight, chats with their overhead.
    @Test func promptTokensCountWordsAndPunctuation() {
        #expect(PromptTokens.count("Hello, world!") == 4)
        #expect(PromptTokens.count("Say this is a test") == 5)
        #expect(PromptTokens.count("") == 0 && PromptTokens.count("   \n\t") == 0)
        #expect(PromptTokens.count("internationalization") == 3)  // 20 letters
        #expect(PromptTokens.count("don't stop") == 4)  // don ' t stop
        #expect(PromptTokens.count("naïve café") == 2)
        #expect(PromptTokens.count(messages: ["You are a helpful assistant.", "Hello!"]) == 3 + (3 + 7) + (3 + 2))
    }

    @Test func piecesReadAsWords() {
        #expect(Model.piece(0) == " ba" && Model.piece(1) == "be" && Model.piece(8) == " da")
        #expect((0..<128).allSatisfy { Model.piece($0).utf8.allSatisfy { $0 == 0x20 || (0x61...0x7A).contains($0) } })
    }
}
