/// How many tokens a prompt costs: a tokenizer-like count without a vocabulary. Each run
/// of letters, digits and `_` is one token, each other non-space character is one, and
/// runs longer than 8 characters count one token per 8 (as BPE vocabularies split long
/// words). "Hello, world!" is 4; a chat adds 3 per message (its role and separators) and
/// 3 to prime the reply, as OpenAI's chat format documents for its models.
public enum PromptTokens {
    public static func count(_ text: some StringProtocol) -> Int {
        var tokens = 0, run = 0
        func endRun() {
            if run > 0 { tokens += (run + 7) / 8 }
            run = 0
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), 0x80...0xFF:
                // Bytes of a multi-byte character are part of a word, as in most scripts.
                run += 1
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                endRun()
            default:
                endRun()
                tokens += 1
            }
        }
        endRun()
        return tokens
    }

    /// A chat's messages (their text contents).
    public static func count(messages: [String]) -> Int {
        messages.reduce(3) { $0 + 3 + count($1) }
    }
}
