import Foundation
import TestSupport
import Testing

/// The OpenAI face end to end: infer-serve as an ordinary user, driven by infer-load
/// --api openai into infer-stats, and by the official OpenAI Python client.
@Suite(.serialized, .ownThreads) struct OpenAIProcessTests {
    /// The tools' venv (bin/setup test installs the `openai` package there).
    static let python = Tools.root + "/.build-tools/venv/bin/python"
    static var hasClient: Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? Tools.execute(python, ["-c", "import openai"], privileged: true).status) == 0
    }
    /// Under CI the client test never skips: without the package it runs and fails.
    static var clientMustRun: Bool { hasClient || !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    @Test(.timeLimit(.minutes(2))) func loadAndStatsThroughTheOpenAIFace() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "2"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let result = try Tools.bash(
            #""$0" --host "http://127.0.0.1:$2" --api openai --stream --qps 20 --seconds 2 --max-tokens 8 --prompt-tokens 10:30 --quiet | "$1" --format json"#,
            [Tools.path("infer-load"), Tools.path("infer-stats"), String(port)])
        #expect(result.status == 0, "\(result.stderr)")
        let total = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let requests = total["requests"] as? Int ?? 0
        #expect(requests == 40 && total["successes"] as? Int == 40, "\(total)")
        #expect(total["completions"] as? Int == 40 && total["tokens_out"] as? Int == 40 * 8, "\(total)")
        let ttft = try #require(total["ttft_ms"] as? [String: Any])
        let itl = try #require(total["itl_ms"] as? [String: Any])
        #expect((ttft["count"] as? Int) == 40 && ((itl["p50"] as? NSNumber)?.doubleValue ?? 0) >= 2, "\(ttft) \(itl)")
        // Prompts of 10–30 words in a chat: 16–36 tokens each.
        #expect((16 * 40...36 * 40).contains(total["tokens_in"] as? Int ?? 0), "\(total)")
    }

    @Test(
        .enabled(if: clientMustRun, "the openai Python package is not installed: run bin/setup test"),
        .timeLimit(.minutes(2)))
    func theOfficialClientStreamsAChat() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "2"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let result = try Tools.execute(
            Self.python, [Tools.root + "/Tests/OpenAIClient/check_infer_serve.py", "http://127.0.0.1:\(port)/v1"],
            privileged: true)
        #expect(result.status == 0, "\(result.stderr)")
        let o = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            "\(result.stdout) \(result.stderr)")
        let text = o["stream_text"] as? String ?? ""
        // The client put the streamed tokens together into the text the whole answer has.
        #expect(!text.isEmpty && text == o["whole_text"] as? String, "\(o)")
        #expect(
            o["stream_pieces"] as? Int == 12 && o["stream_finish"] as? String == "length"
                && o["roles"] as? [String] == ["assistant"])
        #expect(o["stream_usage"] as? [Int] == [18, 12, 30] && o["whole_usage"] as? [Int] == [18, 12, 30], "\(o)")
        #expect(
            o["whole_object"] as? String == "chat.completion" && o["completion_object"] as? String == "text_completion")
        #expect(o["completion_usage"] as? Int == 7 && !(o["completion_text"] as? String ?? "").isEmpty)
        #expect(
            o["models"] as? [String] == ["sim-mlp-2x128"] && o["unknown_model"] as? String == "model_not_found", "\(o)")
    }
}
