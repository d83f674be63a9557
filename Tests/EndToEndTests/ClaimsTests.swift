import Foundation
import TestSupport
import Testing

/// What ARCHITECTURE.md says about the code, checked against the code.
@Suite struct ClaimsTests {
    /// The code lines (comments left out) of the Swift files under Sources/ that hold `marker`.
    static func codeLines(containing marker: String) throws -> [(file: String, line: String)] {
        let sources = Tools.root + "/Sources"
        let files = FileManager.default.enumerator(atPath: sources)?.compactMap { $0 as? String } ?? []
        var found: [(String, String)] = []
        for file in files.sorted() where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains(marker) {
                let code = line.trimmingCharacters(in: .whitespaces)
                if !code.hasPrefix("//") { found.append((file, code)) }
            }
        }
        return found
    }

    /// The number ARCHITECTURE.md gives for `marker`, written as "N `marker`".
    static func claimedCount(of marker: String, in text: String) throws -> Int? {
        let pattern = #"(\d+)\s+`"# + NSRegularExpression.escapedPattern(for: marker) + "`"
        let regex = try NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return Int(text[range])
    }

    /// "Concurrency the compiler checks": as many `@unchecked Sendable` and
    /// `nonisolated(unsafe)` in Sources/ as ARCHITECTURE.md says, and each type it
    /// excuses named there.
    @Test func uncheckedConcurrencyIsAsClaimed() throws {
        let architecture = try String(contentsOfFile: Tools.root + "/ARCHITECTURE.md", encoding: .utf8)
        for marker in ["@unchecked Sendable", "nonisolated(unsafe)"] {
            let found = try Self.codeLines(containing: marker).map { "\($0.file): \($0.line)" }
            let claimed = try #require(
                try Self.claimedCount(of: marker, in: architecture),
                "ARCHITECTURE.md gives no count of \(marker)")
            #expect(found.count == claimed, "\(marker): ARCHITECTURE.md says \(claimed), Sources/ has \(found)")
        }
        let declaration = try NSRegularExpression(pattern: #"(?:class|struct|enum|actor|extension)\s+(\w+)"#)
        for (file, line) in try Self.codeLines(containing: "@unchecked Sendable") {
            let match = declaration.firstMatch(in: line, range: NSRange(line.startIndex..., in: line))
            let name = try #require(
                match.flatMap { Range($0.range(at: 1), in: line) }.map { String(line[$0]) },
                "\(file): \(line)")
            #expect(architecture.contains("`\(name)`"), "ARCHITECTURE.md does not name \(name) (\(file))")
        }
    }
}
